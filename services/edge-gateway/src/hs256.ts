// HS256 JWT verification on node:crypto, synchronously. jose verifies through WebCrypto,
// which runs every HMAC as an async job: in a connection storm that job was a quarter of the
// edge's CPU. This path takes the common token shape (a plain `{alg: "HS256"}` header) and
// checks the same claims jose would; anything unusual in the header goes back to jose.
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { errors, type JWTPayload } from 'jose';

/** The claim checks the edge asks for (the subset of jose's JWTVerifyOptions it uses). */
export interface ClaimRules {
  /** Seconds since the Unix epoch. */
  now: number;
  /** Seconds of tolerated clock skew for exp and nbf. */
  toleranceSec: number;
  requiredClaims: readonly string[];
  issuer?: string | undefined;
  audience?: string | undefined;
}

/** The token is not the plain shape this path verifies: let jose decide (crit, b64, odd encodings). */
export const NOT_PLAIN = Symbol('not a plain HS256 token');

const B64URL = /^[A-Za-z0-9_-]+$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function json(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(Buffer.from(segment, 'base64url')));
  } catch (cause) {
    throw new errors.JWTInvalid(`${what} must be a top-level JSON object`, { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new errors.JWTInvalid(`${what} must be a top-level JSON object`);
  return value as Record<string, unknown>;
}

/** Distinct plain header segments remembered (a few issuers and key ids; more are decoded each time). */
const MAX_PLAIN_HEADERS = 64;

export class Hs256Verifier {
  private readonly key: KeyObject;
  private readonly plainHeaders = new Set<string>();

  constructor(secret: Uint8Array) {
    this.key = createSecretKey(secret);
  }

  /**
   * The verified payload; throws jose's error classes (so refusals map to close codes as
   * jose's do), or returns NOT_PLAIN when the header carries anything besides alg/typ/kid.
   */
  verify(token: string, rules: ClaimRules): JWTPayload | typeof NOT_PLAIN {
    const first = token.indexOf('.');
    const last = token.lastIndexOf('.');
    if (first <= 0 || last === first || last === token.length - 1 || token.indexOf('.', first + 1) !== last) return NOT_PLAIN;
    const h = token.slice(0, first);
    const p = token.slice(first + 1, last);
    const s = token.slice(last + 1);
    // Base64url without padding or stray characters only: Buffer's decoder would skip junk
    // that jose refuses, so such tokens go to jose.
    if (!B64URL.test(h) || !B64URL.test(p) || !B64URL.test(s)) return NOT_PLAIN;
    if (!this.plainHeaders.has(h)) {
      const header = json(h, 'JWS Protected Header');
      for (const k in header) if (k !== 'alg' && k !== 'typ' && k !== 'kid') return NOT_PLAIN;
      if (header['alg'] !== 'HS256') return NOT_PLAIN;
      // Whether a header segment is plain depends on its text alone, and an issuer sends the
      // same one in every token: remembered, it is not decoded and parsed per connect.
      if (this.plainHeaders.size < MAX_PLAIN_HEADERS) this.plainHeaders.add(h);
    }
    const expected = createHmac('sha256', this.key).update(token.slice(0, last)).digest();
    const given = Buffer.from(s, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new errors.JWSSignatureVerificationFailed();
    const claims = json(p, 'JWT Claims Set');
    checkClaims(claims, rules);
    return claims as JWTPayload;
  }
}

function numericDate(claims: Record<string, unknown>, claim: string): number | undefined {
  const value = claims[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw new errors.JWTClaimValidationFailed(`"${claim}" claim must be a number`, claims, claim, 'invalid');
  return value;
}

function unexpected(claims: Record<string, unknown>, claim: string): never {
  throw new errors.JWTClaimValidationFailed(`unexpected "${claim}" claim value`, claims, claim, 'check_failed');
}

/** jose's claim checks (jwt_claims_set.js) for the options the edge uses, in jose's order. */
function checkClaims(claims: Record<string, unknown>, r: ClaimRules): void {
  const presence = [...r.requiredClaims];
  if (r.audience !== undefined) presence.push('aud');
  if (r.issuer !== undefined) presence.push('iss');
  for (const claim of new Set(presence.reverse())) {
    if (!Object.hasOwn(claims, claim)) throw new errors.JWTClaimValidationFailed(`missing required "${claim}" claim`, claims, claim, 'missing');
  }
  if (r.issuer !== undefined && claims['iss'] !== r.issuer) unexpected(claims, 'iss');
  if (r.audience !== undefined) {
    const aud = claims['aud'];
    const present = typeof aud === 'string' ? aud === r.audience : Array.isArray(aud) ? aud.includes(r.audience) : false;
    if (!present) unexpected(claims, 'aud');
  }
  numericDate(claims, 'iat');
  const nbf = numericDate(claims, 'nbf');
  if (nbf !== undefined && nbf > r.now + r.toleranceSec) throw new errors.JWTClaimValidationFailed('"nbf" claim timestamp check failed', claims, 'nbf', 'check_failed');
  const exp = numericDate(claims, 'exp');
  if (exp !== undefined && exp <= r.now - r.toleranceSec) throw new errors.JWTExpired('"exp" claim timestamp check failed', claims, 'exp', 'check_failed');
}

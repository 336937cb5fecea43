// Who a connection is: verifies the JWT from `connect` (or `refresh`) with jose and turns its
// claims into an identity with rights. HS256 with a shared secret, RS256/ES256 with PEM public
// keys or a JWKS URL. Tokenless connections are anonymous when the config allows it.
import { webcrypto } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { CloseCode, type ChannelName } from '@cascade/protocol';
import type { AuthSettings, PublicKey } from './auth-config.js';
import { allowed, NO_GRANTS, parsePatterns, personalChannel, type Action, type Grants, type NamespaceDefaults, type Pattern, type Subject } from './permissions.js';
import type { Authenticate, Identity } from './session.js';
import type { GroupLookup } from '@cascade/nats';
import { Hs256Verifier, NOT_PLAIN } from './hs256.js';

/** User ids: the channel alphabet without ':' (they name `user:<id>`), at most 123 characters so the channel fits 128. */
const USER_RE = /^[A-Za-z0-9_\-@=,/~]{1,123}$/;
/** Anonymous ids are `anon-<client id>`; tokens may not claim that space. */
const ANON_PREFIX = 'anon-';

export type AuthFailure = { ok: false; code: number; reason: string };

/** What the identities of one authenticator share: one object, not a copy in each. */
interface RightsPolicy {
  readonly defaults: NamespaceDefaults;
  readonly groups: GroupLookup | undefined;
  /** Added to a token's expiry (the tolerated clock skew). */
  readonly toleranceMs: number;
}

/**
 * A connection's identity and rights: one object per connection, its own subject, and its
 * decisions a method on the prototype (not a closure per connection: an edge holds very many).
 */
class Rights implements Identity, Subject {
  readonly personal: ChannelName | undefined;

  constructor(
    readonly user: string,
    readonly grants: Grants,
    readonly anonymous: Subject['anonymous'],
    private readonly policy: RightsPolicy,
    personal: boolean,
    /**
     * The token's `exp` claim as it came, in seconds: a small integer, where the expiry in
     * milliseconds would be a heap number of its own (16 B more per connection).
     */
    private readonly exp: number | undefined,
  ) {
    this.personal = personal ? personalChannel(user) : undefined;
  }

  get expiresAt(): number | undefined {
    return this.exp === undefined ? undefined : this.exp * 1000 + this.policy.toleranceMs;
  }

  may(action: Action, channel: ChannelName): boolean {
    return allowed(this, action, channel, this.policy.defaults, this.policy.groups);
  }
}

/** Grants with no pattern: shared, since most tokens name none for one action or both. */
const NO_PATTERNS: readonly Pattern[] = Object.freeze([]);

function failure(code: number, reason: string): AuthFailure {
  return { ok: false, code, reason };
}

/** Maps a jose error to a close code and a reason safe to show the client. */
function refusal(err: unknown): AuthFailure {
  if (err instanceof errors.JWTExpired) return failure(CloseCode.TokenExpired, 'token expired');
  if (err instanceof errors.JWKSTimeout) return failure(CloseCode.ServerError, 'the signing keys could not be fetched in time; retry');
  if (err instanceof errors.JWTClaimValidationFailed) return failure(CloseCode.Unauthorized, `token claim ${err.claim} is not valid: ${err.message}`.slice(0, 120));
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey) return failure(CloseCode.Unauthorized, 'token signature does not verify');
  if (err instanceof errors.JOSEAlgNotAllowed) return failure(CloseCode.Unauthorized, 'token algorithm is not accepted');
  // jose throws its base class for key-set retrieval failures (e.g. the JWKS answered 500).
  if (err instanceof errors.JOSEError && err.constructor === errors.JOSEError) return failure(CloseCode.ServerError, 'the signing keys could not be fetched; retry');
  if (err instanceof errors.JOSEError) return failure(CloseCode.Unauthorized, 'token is malformed');
  // Anything else (a JWKS endpoint down, a network error) is our problem, not the token's.
  return failure(CloseCode.ServerError, 'the token could not be checked right now; retry');
}

export interface AuthenticatorOptions {
  /** The clock, for tests; defaults to Date.now. */
  now?: () => number;
  /** Group membership, asked at every subscribe/publish on `group:` channels; unset = nobody is a member. */
  groups?: GroupLookup;
}

/**
 * The edge's authenticator. Resolves, never rejects: a token that does not verify (forged,
 * wrong key, malformed, wrong issuer/audience, bad claims) is 4501 Unauthorized; an expired one
 * 4006 TokenExpired; a failure to reach the JWKS 4004 ServerError (the client retries).
 */
export function createAuthenticator(settings: AuthSettings, o: AuthenticatorOptions = {}): Authenticate {
  const now = o.now ?? Date.now;
  const policy: RightsPolicy = { defaults: settings.namespaces, groups: o.groups, toleranceMs: settings.clockToleranceMs };
  // One for every anonymous connection.
  const anonymous = settings.anonymous === undefined ? undefined : { actions: settings.anonymous };
  const jwks = settings.jwksUrl === undefined ? undefined : createRemoteJWKSet(settings.jwksUrl, { timeoutDuration: 5000 });
  const byAlg = (alg: string): PublicKey[] => settings.publicKeys.filter((k) => k.alg === alg);
  const accepted = new Set<string>();
  if (settings.hs256Secret !== undefined) accepted.add('HS256');
  for (const k of settings.publicKeys) accepted.add(k.alg);
  if (jwks !== undefined) {
    accepted.add('RS256');
    accepted.add('ES256');
  }

  // HS256 tokens of the plain shape are verified synchronously on node:crypto (hs256.ts): jose's
  // WebCrypto job per token was a quarter of the edge's CPU in a connection storm. The rest go
  // to jose, with the key imported once (jose would import it on every verify).
  const fastHs256 = settings.hs256Secret === undefined ? undefined : new Hs256Verifier(settings.hs256Secret);
  let hs256Key: Promise<webcrypto.CryptoKey> | undefined;
  const hs256 = (): Promise<webcrypto.CryptoKey> =>
    (hs256Key ??= webcrypto.subtle.importKey('raw', settings.hs256Secret!, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']));
  const requiredClaims = settings.requireExp ? ['sub', 'exp'] : ['sub'];

  async function verify(token: string): Promise<JWTPayload> {
    const at = now();
    if (fastHs256 !== undefined) {
      const payload = fastHs256.verify(token, {
        now: Math.floor(at / 1000),
        toleranceSec: settings.clockToleranceMs / 1000,
        requiredClaims,
        issuer: settings.issuer,
        audience: settings.audience,
      });
      if (payload !== NOT_PLAIN) return payload;
    }
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch (err) {
      throw new errors.JWTInvalid('token is not a JWS compact serialization', { cause: err });
    }
    if (alg === undefined || !accepted.has(alg)) throw new errors.JOSEAlgNotAllowed(`alg ${String(alg)} is not accepted`);
    const options: JWTVerifyOptions = {
      algorithms: [alg],
      currentDate: new Date(at),
      clockTolerance: settings.clockToleranceMs / 1000,
      requiredClaims,
      ...(settings.issuer === undefined ? {} : { issuer: settings.issuer }),
      ...(settings.audience === undefined ? {} : { audience: settings.audience }),
    };
    if (alg === 'HS256') return (await jwtVerify(token, await hs256(), options)).payload;
    // Several PEM keys (e.g. during a rotation): the first whose signature verifies wins.
    let lastError: unknown;
    for (const k of byAlg(alg)) {
      try {
        return (await jwtVerify(token, k.key, options)).payload;
      } catch (err) {
        if (!(err instanceof errors.JWSSignatureVerificationFailed)) throw err;
        lastError = err;
      }
    }
    if (jwks !== undefined) return (await jwtVerify(token, jwks, options)).payload;
    throw lastError ?? new errors.JWSSignatureVerificationFailed();
  }

  return async (token, clientId) => {
    if (token === undefined) {
      if (anonymous === undefined) return failure(CloseCode.Unauthorized, 'a token is required: send it in connect.token');
      return { ok: true, identity: new Rights(`${ANON_PREFIX}${clientId}`, NO_GRANTS, anonymous, policy, false, undefined) };
    }
    let payload: JWTPayload;
    try {
      payload = await verify(token);
    } catch (err) {
      return refusal(err);
    }
    const claims = grantsOf(payload);
    if (!claims.ok) return failure(CloseCode.Unauthorized, claims.reason);
    // The connection lives as long as the token does, plus the tolerated clock skew (expiresAt).
    const exp = typeof payload.exp === 'number' ? payload.exp : undefined;
    return { ok: true, identity: new Rights(claims.user, claims.grants, undefined, policy, true, exp) };
  };
}

/** Why `user` cannot be a user id (the rule for a token's `sub`), or undefined when it can. */
export function userIdProblem(user: unknown): string | undefined {
  if (typeof user !== 'string' || !USER_RE.test(user)) return 'must be 1-123 characters of letters, digits and _ - @ = , / ~';
  if (user.startsWith(ANON_PREFIX)) return `must not start with ${ANON_PREFIX}`;
  return undefined;
}

/** Reads and validates the claims Cascade uses: `sub`, `subs`, `pubs`. */
export function grantsOf(payload: JWTPayload): { ok: true; user: string; grants: Grants } | { ok: false; reason: string } {
  const user = payload.sub;
  const bad = userIdProblem(user);
  if (bad !== undefined || typeof user !== 'string') return { ok: false, reason: `token claim sub ${bad ?? 'must be a string'}` };
  const subs = payload['subs'] === undefined ? { ok: true as const, patterns: NO_PATTERNS } : parsePatterns(payload['subs'], 'token claim subs');
  if (!subs.ok) return { ok: false, reason: subs.reason.slice(0, 120) };
  const pubs = payload['pubs'] === undefined ? { ok: true as const, patterns: NO_PATTERNS } : parsePatterns(payload['pubs'], 'token claim pubs');
  if (!pubs.ok) return { ok: false, reason: pubs.reason.slice(0, 120) };
  if (subs.patterns.length === 0 && pubs.patterns.length === 0) return { ok: true, user, grants: NO_GRANTS };
  return { ok: true, user, grants: { subscribe: subs.patterns.length === 0 ? NO_PATTERNS : subs.patterns, publish: pubs.patterns.length === 0 ? NO_PATTERNS : pubs.patterns } };
}

// Development tokens: HS256 JWTs with the claims the edge reads (`sub`, `subs`, `pubs`,
// `exp`), signed with the edge's development secret unless another one is given.
import { SignJWT, decodeJwt, type JWTPayload } from 'jose';
import { UsageError } from './args.js';

/**
 * The edge's built-in development secret (services/edge-gateway/src/auth-config.ts,
 * DEV_HS256_SECRET). Repeated here because a library never imports a service; a unit test
 * checks both stay equal.
 */
export const DEV_SECRET = 'cascade-development-secret-do-not-use-in-production';

/** The edge refuses HS256 secrets shorter than this, so a token signed with one is useless. */
export const MIN_SECRET_LENGTH = 32;

// The edge's rule for `sub` (identity.ts), so the CLI refuses a token the edge would refuse.
const USER_RE = /^[A-Za-z0-9_\-@=,/~]{1,123}$/;

export interface TokenRequest {
  user: string;
  subs?: string[] | undefined;
  pubs?: string[] | undefined;
  ttlMs: number;
  secret: string;
}

export function checkUser(user: string, option = '--user'): string {
  if (!USER_RE.test(user)) throw new UsageError(`${option} must be 1-123 characters of letters, digits and _ - @ = , / ~, got "${user}"`);
  if (user.startsWith('anon-')) throw new UsageError(`${option} must not start with "anon-" (reserved for anonymous connections)`);
  return user;
}

export function checkSecret(secret: string): string {
  if (secret.length < MIN_SECRET_LENGTH) throw new UsageError(`the secret must be at least ${MIN_SECRET_LENGTH} characters (the edge refuses shorter ones)`);
  return secret;
}

export async function mintToken(r: TokenRequest, now = Date.now()): Promise<string> {
  const claims: JWTPayload = {};
  if (r.subs) claims['subs'] = r.subs;
  if (r.pubs) claims['pubs'] = r.pubs;
  const iat = Math.floor(now / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(r.user)
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.max(1, Math.round(r.ttlMs / 1000)))
    .sign(new TextEncoder().encode(r.secret));
}

/** The claims of a token, decoded but not verified (for display). */
export function claimsOf(token: string): JWTPayload {
  return decodeJwt(token);
}

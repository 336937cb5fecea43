// Development tokens (EDGE_DEV_TOKENS=on): `GET /v1/dev/token?user=<id>` hands out an HS256
// token for any user, so a demo page can sign in without a backend. Anyone who reaches the
// port can be anyone: auth-config.ts refuses it in production. Pure apart from signing.
import { SignJWT } from 'jose';
import { ErrorCode } from '@cascade/protocol';
import { userIdProblem } from './identity.js';

/** How long a development token is valid. */
export const DEV_TOKEN_TTL_MS = 60 * 60 * 1000;

/**
 * The rights of a development token, beyond the namespace defaults every connection has
 * (EDGE_NAMESPACES) and the user's own `user:<id>`: subscribe and publish (ephemeral messages
 * included) on the demo namespaces. Presence follows subscriptions.
 */
export const DEV_TOKEN_PATTERNS: readonly string[] = ['chat:*', 'demo:*'];

export interface DevToken {
  token: string;
  /** Expiry, ms since the Unix epoch (like `exp` in `connected`). */
  exp: number;
  user: string;
}

export type DevTokenReply = { status: 200; body: DevToken } | { status: 400; body: { code: number; error: string } };

/** What signs development tokens: the edge's HS256 secret, and the claims its verifier requires. */
export interface DevTokenSigner {
  secret: Uint8Array;
  issuer?: string | undefined;
  audience?: string | undefined;
}

/** Answers `GET /v1/dev/token?<query>`: a signed token for `user`, or 400. */
export async function devToken(query: string, signer: DevTokenSigner, now: number = Date.now()): Promise<DevTokenReply> {
  const params = new URLSearchParams(query);
  const users = params.getAll('user');
  const user = users[0];
  const bad = users.length !== 1 ? 'give exactly one user=<id>' : userIdProblem(user) && `user ${userIdProblem(user)}`;
  if (bad || user === undefined) return { status: 400, body: { code: ErrorCode.BadRequest, error: bad || 'user is required' } };
  const exp = Math.floor((now + DEV_TOKEN_TTL_MS) / 1000);
  const jwt = new SignJWT({ subs: [...DEV_TOKEN_PATTERNS], pubs: [...DEV_TOKEN_PATTERNS] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(user)
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(exp);
  if (signer.issuer !== undefined) jwt.setIssuer(signer.issuer);
  if (signer.audience !== undefined) jwt.setAudience(signer.audience);
  const token = await jwt.sign(signer.secret);
  return { status: 200, body: { token, exp: exp * 1000, user } };
}

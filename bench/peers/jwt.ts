// HS256 JWT verification for the peers, so their connection-storm handshake does the work
// Cascade's does (signature, header, expiry) with Node's crypto, as a hand-written server
// would. Active only when the peer is started with PEER_JWT_SECRET.
import { createHmac, timingSafeEqual } from 'node:crypto';

const SECRET = process.env.PEER_JWT_SECRET;

/** Whether connections must present a token. */
export const authRequired = SECRET !== undefined && SECRET !== '';

/** The token's subject when it is a valid, unexpired HS256 JWT signed with the secret; otherwise undefined. */
export function verifyToken(token: string | undefined | null): string | undefined {
  if (!authRequired || typeof token !== 'string') return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [head, body, sig] = parts as [string, string, string];
  const expected = createHmac('sha256', SECRET!).update(`${head}.${body}`).digest();
  const got = Buffer.from(sig, 'base64url');
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) return undefined;
  try {
    const h = JSON.parse(Buffer.from(head, 'base64url').toString()) as { alg?: unknown };
    const c = JSON.parse(Buffer.from(body, 'base64url').toString()) as { sub?: unknown; exp?: unknown };
    if (h.alg !== 'HS256' || typeof c.sub !== 'string') return undefined;
    if (typeof c.exp === 'number' && c.exp * 1000 < Date.now()) return undefined;
    return c.sub;
  } catch {
    return undefined;
  }
}

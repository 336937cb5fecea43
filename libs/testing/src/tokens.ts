// Credentials for integration tests: HS256 user tokens signed with the edge's test secret, and
// a backend publish over HTTP with the API key, so each test file need not repeat them.
import { SignJWT } from 'jose';

/**
 * An HS256 JWT carrying `claims` (a `sub` among them for a signed-in user), expiring
 * `expSeconds` (default 300; negative for an already expired token) from now.
 */
export function hs256Token(secret: string, claims: Record<string, unknown> & { sub?: string }, o: { expSeconds?: number } = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.floor(Date.now() / 1000) + (o.expSeconds ?? 300))
    .sign(new TextEncoder().encode(secret));
}

/** POST /v1/channels/<channel>/messages as a backend (API key); the caller checks the status. */
export function backendPublish(o: { port: number; apiKey: string }, channel: string, data: unknown, from = 'backend'): Promise<Response> {
  return fetch(`http://127.0.0.1:${o.port}/v1/channels/${encodeURIComponent(channel)}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${o.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ data, from }),
  });
}

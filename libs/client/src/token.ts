// Tokens: where they come from (a fixed string or a callback the SDK calls again for every
// connection and refresh) and when to refresh one. The expiry is the server's `exp` from
// `connected` when it sends one, else the JWT's own `exp` claim, read without verification
// (verifying is the server's job; the client only needs the time).

export type TokenSource = string | (() => Promise<string> | string);

/** A JWT's claims, read without verification; undefined when it is not a JWT we can read. */
function jwtClaims(token: string): Record<string, unknown> | undefined {
  const part = token.split('.')[1];
  if (part === undefined) return undefined;
  try {
    const claims: unknown = JSON.parse(base64UrlDecode(part));
    return typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>) : undefined;
  } catch {
    // Not a JWT we can read: the server decides about it.
    return undefined;
  }
}

/** The `exp` claim of a JWT in ms since the Unix epoch, or undefined when absent or unreadable. */
export function jwtExpiry(token: string): number | undefined {
  const exp = jwtClaims(token)?.['exp'];
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
}

/** The `sub` claim (the user, whose personal channel is `user:<sub>`), or undefined. */
export function jwtSubject(token: string): string | undefined {
  const sub = jwtClaims(token)?.['sub'];
  return typeof sub === 'string' && sub.length > 0 ? sub : undefined;
}

function base64UrlDecode(s: string): string {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(s.length / 4) * 4, '=');
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/**
 * How long to wait before refreshing a token that expires at `exp`: at 80% of its remaining
 * life, but at least 5 s and at most 60 s before the expiry, so a slow token endpoint still
 * answers in time and short-lived tokens are not refreshed in a loop.
 */
export function refreshDelay(exp: number, now: number): number {
  const left = exp - now;
  const lead = Math.min(60_000, Math.max(5_000, left * 0.2));
  return Math.max(0, left - lead);
}

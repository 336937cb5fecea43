// The credential of an `Authorization: Bearer <credential>` header, read the same way by every
// HTTP endpoint (API key, user JWT, SSE). The scheme is case-insensitive (RFC 7235).
const BEARER = /^Bearer +(\S+)\s*$/i;

export function bearerCredential(authorization: string): string | undefined {
  return BEARER.exec(authorization)?.[1];
}

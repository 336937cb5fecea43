import { describe, expect, it } from 'vitest';
import { jwtExpiry, refreshDelay } from './token.js';

const b64url = (s: string) => btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const jwt = (claims: object) => `${b64url('{"alg":"HS256"}')}.${b64url(JSON.stringify(claims))}.sig`;

describe('token', () => {
  it('reads exp from a JWT payload (base64url, no verification)', () => {
    expect(jwtExpiry(jwt({ sub: 'ü-user?>>', exp: 1_800_000_000 }))).toBe(1_800_000_000_000);
  });

  it('gives undefined for tokens without a readable exp', () => {
    expect(jwtExpiry('opaque-token')).toBeUndefined();
    expect(jwtExpiry('a.!!!.c')).toBeUndefined();
    expect(jwtExpiry(jwt({ sub: 'x' }))).toBeUndefined();
    expect(jwtExpiry(jwt({ exp: 'soon' }))).toBeUndefined();
  });

  it('refreshes at 80% of the remaining life, 5 s to 60 s before expiry', () => {
    expect(refreshDelay(100_000, 0)).toBe(80_000);
    expect(refreshDelay(3_600_000, 0)).toBe(3_540_000);
    expect(refreshDelay(10_000, 0)).toBe(5_000);
    expect(refreshDelay(3_000, 0)).toBe(0);
  });
});

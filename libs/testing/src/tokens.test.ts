// Unit tests for the test-token helper: what it signs, with which secret, and when it expires.
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { hs256Token } from './index.js';

const SECRET = 'tokens-unit-test-secret-0123456789abcdef';
const key = new TextEncoder().encode(SECRET);

describe('hs256Token', () => {
  it('signs the claims with HS256 and the given secret, expiring in 300 s by default', async () => {
    const before = Math.floor(Date.now() / 1000);
    const t = await hs256Token(SECRET, { sub: 'alice', subs: ['room:*'] });
    const after = Math.floor(Date.now() / 1000);
    expect(decodeProtectedHeader(t)).toEqual({ alg: 'HS256' });
    const { payload } = await jwtVerify(t, key);
    expect(payload).toMatchObject({ sub: 'alice', subs: ['room:*'] });
    expect(payload.exp).toBeGreaterThanOrEqual(before + 300);
    expect(payload.exp).toBeLessThanOrEqual(after + 300);
    expect(payload.iat).toBeUndefined();
  });

  it('honours expSeconds, allows tokens without sub, and expired tokens fail verification', async () => {
    const before = Math.floor(Date.now() / 1000);
    const t = await hs256Token(SECRET, { pubs: ['x:*'] }, { expSeconds: 600 });
    const after = Math.floor(Date.now() / 1000);
    const long = await jwtVerify(t, key);
    expect(long.payload.sub).toBeUndefined();
    expect(long.payload.exp).toBeGreaterThanOrEqual(before + 600);
    expect(long.payload.exp).toBeLessThanOrEqual(after + 600);
    await expect(jwtVerify(await hs256Token(SECRET, { sub: 'bob' }, { expSeconds: -10 }), key)).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
  });

  it('does not verify with another secret', async () => {
    const t = await hs256Token(SECRET, { sub: 'carol' });
    await expect(jwtVerify(t, new TextEncoder().encode('another-secret-0123456789abcdef0123'))).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '@cascade/testing';
import { checkSecret, checkUser, claimsOf, DEV_SECRET, mintToken } from './token.js';

describe('development tokens', () => {
  it('uses the same development secret as the edge', () => {
    // Read, not imported: a library must not import a service, even for a constant.
    const source = readFileSync(join(repoRoot(), 'services/edge-gateway/src/auth-config.ts'), 'utf8');
    expect(/DEV_HS256_SECRET = '([^']+)'/.exec(source)?.[1]).toBe(DEV_SECRET);
  });

  it('signs sub, subs, pubs, iat and exp with HS256', async () => {
    const now = Date.UTC(2030, 0, 1);
    const token = await mintToken({ user: 'alice', subs: ['chat:*'], pubs: ['chat:room1'], ttlMs: 90_000, secret: DEV_SECRET }, now);
    expect(claimsOf(token)).toEqual({ sub: 'alice', subs: ['chat:*'], pubs: ['chat:room1'], iat: now / 1000, exp: now / 1000 + 90 });
    await expect(jwtVerify(token, new TextEncoder().encode(DEV_SECRET), { currentDate: new Date(now) })).resolves.toBeTruthy();
    expect(claimsOf(await mintToken({ user: 'bob', ttlMs: 1000, secret: DEV_SECRET }))).not.toHaveProperty('subs');
  });

  it("refuses users and secrets the edge would refuse", () => {
    expect(checkUser('a@b.c'.replace('.', '_'))).toBe('a@b_c');
    expect(() => checkUser('a b')).toThrow('--user must be 1-123 characters');
    expect(() => checkUser('x'.repeat(124))).toThrow('--user must be 1-123 characters');
    expect(() => checkUser('anon-1')).toThrow('reserved for anonymous connections');
    expect(() => checkSecret('short')).toThrow('at least 32 characters');
  });
});

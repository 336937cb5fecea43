// Token verification with keys jose generates (HS256, RS256, ES256, a JWKS served locally),
// the claims that become rights, and the start-up checks of the auth configuration.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { loadConfig, ConfigError } from '@cascade/config';
import { CloseCode, type ChannelName } from '@cascade/protocol';
import { authConfig, authSettings, DEV_HS256_SECRET, type AuthSettings } from './auth-config.js';
import { createAuthenticator } from './identity.js';

const NOW = Date.UTC(2026, 0, 1); // the injected clock
const nowSec = Math.floor(NOW / 1000);
const SECRET = 'a-test-secret-that-is-long-enough-1234';
const ch = (s: string) => s as ChannelName;

function settings(env: Record<string, string>): AuthSettings {
  return authSettings(loadConfig(authConfig, env), env);
}

/** exp null: a token without expiry. */
function hs(claims: Record<string, unknown>, secret = SECRET, exp: number | null = nowSec + 60) {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(nowSec);
  if (exp !== null) jwt.setExpirationTime(exp);
  return jwt.sign(new TextEncoder().encode(secret));
}

describe('HS256 tokens', () => {
  const auth = createAuthenticator(settings({ EDGE_JWT_HS256_SECRET: SECRET, EDGE_JWT_CLOCK_TOLERANCE: '0s' }), { now: () => NOW });

  it('turn sub and the subs/pubs claims into an identity with rights and an expiry', async () => {
    const r = await auth(await hs({ sub: 'alice', subs: ['chat:*'], pubs: ['chat:general'] }), 'c1');
    if (!r.ok) throw new Error(r.reason);
    expect(r.identity).toMatchObject({ user: 'alice', personal: 'user:alice', expiresAt: (nowSec + 60) * 1000 });
    expect(r.identity.may('subscribe', ch('chat:x'))).toBe(true);
    expect(r.identity.may('publish', ch('chat:x'))).toBe(false);
    expect(r.identity.may('publish', ch('chat:general'))).toBe(true);
    expect(r.identity.may('subscribe', ch('user:alice'))).toBe(true);
    expect(r.identity.may('subscribe', ch('user:bob'))).toBe(false);
    expect(r.identity.may('subscribe', ch('public:news'))).toBe(true);
  });

  it('refuse expired tokens with 4006 and forged or malformed ones with 4501', async () => {
    expect(await auth(await hs({ sub: 'alice' }, SECRET, nowSec - 1), 'c1')).toMatchObject({ ok: false, code: CloseCode.TokenExpired });
    expect(await auth(await hs({ sub: 'alice' }, 'another-secret-that-is-long-enough-0000'), 'c1')).toMatchObject({ ok: false, code: CloseCode.Unauthorized, reason: 'token signature does not verify' });
    const good = await hs({ sub: 'alice' });
    const [h, , s] = good.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ sub: 'mallory', exp: nowSec + 60 })).toString('base64url')}.${s}`;
    expect(await auth(tampered, 'c1')).toMatchObject({ ok: false, code: CloseCode.Unauthorized });
    expect(await auth('not-a-jwt', 'c1')).toMatchObject({ ok: false, code: CloseCode.Unauthorized });
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"alice"}').toString('base64url')}.`;
    expect(await auth(none, 'c1')).toMatchObject({ ok: false, code: CloseCode.Unauthorized, reason: 'token algorithm is not accepted' });
  });

  it('refuse bad claims: missing or unsafe sub, anon- ids, bad patterns', async () => {
    for (const claims of [{}, { sub: 'a:b' }, { sub: 'a.b' }, { sub: 'x'.repeat(124) }, { sub: 'anon-1' }, { sub: 'a', subs: 'chat:*' }, { sub: 'a', pubs: ['chat.>'] }]) {
      const r = await auth(await hs(claims), 'c1');
      expect(r, JSON.stringify(claims)).toMatchObject({ ok: false, code: CloseCode.Unauthorized });
    }
  });

  it('without a token: refused when anonymous is off, anonymous with defaults otherwise', async () => {
    expect(await auth(undefined, 'c1')).toMatchObject({ ok: true });
    const strict = createAuthenticator(settings({ EDGE_JWT_HS256_SECRET: SECRET, EDGE_ANONYMOUS: 'off' }));
    expect(await strict(undefined, 'c1')).toMatchObject({ ok: false, code: CloseCode.Unauthorized });
    const r = await auth(undefined, 'c9');
    if (!r.ok) throw new Error(r.reason);
    expect(r.identity).toMatchObject({ user: 'anon-c9', personal: undefined, expiresAt: undefined });
    expect(r.identity.may('subscribe', ch('public:x'))).toBe(true);
    expect(r.identity.may('publish', ch('public:x'))).toBe(false);
  });

  it('require exp in production', async () => {
    const prod = createAuthenticator(settings({ NODE_ENV: 'production', EDGE_JWT_HS256_SECRET: SECRET }), { now: () => NOW });
    expect(await prod(await hs({ sub: 'alice' }, SECRET, null), 'c1')).toMatchObject({ ok: false, code: CloseCode.Unauthorized });
    expect(await prod(await hs({ sub: 'alice' }), 'c1')).toMatchObject({ ok: true });
    expect(await prod(undefined, 'c1')).toMatchObject({ ok: false, code: CloseCode.Unauthorized });
    // Outside production a token without exp is accepted and never expires.
    const r = await auth(await hs({ sub: 'alice' }, SECRET, null), 'c1');
    expect(r.ok && r.identity.expiresAt).toBeUndefined();
  });

  it('check issuer and audience when configured, and accept skew within the tolerance', async () => {
    const strict = createAuthenticator(settings({ EDGE_JWT_HS256_SECRET: SECRET, EDGE_JWT_ISSUER: 'https://idp', EDGE_JWT_AUDIENCE: 'cascade' }), { now: () => NOW });
    expect(await strict(await hs({ sub: 'a' }), 'c1')).toMatchObject({ ok: false, code: CloseCode.Unauthorized });
    expect(await strict(await hs({ sub: 'a', iss: 'https://idp', aud: 'cascade' }), 'c1')).toMatchObject({ ok: true });
    // Default tolerance 5 s: expired 3 s ago still passes, and the connection lives until exp + 5 s.
    const r = await strict(await hs({ sub: 'a', iss: 'https://idp', aud: 'cascade' }, SECRET, nowSec - 3), 'c1');
    expect(r.ok && r.identity.expiresAt).toBe((nowSec - 3) * 1000 + 5000);
  });
});

describe('RS256 and ES256 tokens', () => {
  let rsa: CryptoKeyPair;
  let ec: CryptoKeyPair;
  let other: CryptoKeyPair;
  let jwksServer: Server;
  let jwksUrl: string;
  type CryptoKeyPair = { publicKey: CryptoKey; privateKey: CryptoKey };

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    ec = await generateKeyPair('ES256', { extractable: true });
    other = await generateKeyPair('ES256', { extractable: true });
    const keys = [{ ...(await exportJWK(rsa.publicKey)), kid: 'r1', alg: 'RS256' }, { ...(await exportJWK(ec.publicKey)), kid: 'e1', alg: 'ES256' }];
    jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys })));
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', () => r()));
    const address = jwksServer.address();
    jwksUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/jwks.json`;
  });
  afterAll(() => new Promise<void>((r) => (jwksServer ? jwksServer.close(() => r()) : r())));

  const sign = (key: CryptoKey, alg: string, kid?: string) =>
    new SignJWT({ sub: 'bob', pubs: ['chat:*'] }).setProtectedHeader({ alg, ...(kid ? { kid } : {}) }).setExpirationTime('1m').sign(key);

  it('verify with PEM public keys given inline or as a file', async () => {
    const pem = `${await exportSPKI(rsa.publicKey)}\n${await exportSPKI(ec.publicKey)}`;
    const inline = createAuthenticator(settings({ EDGE_JWT_PUBLIC_KEYS: pem }));
    expect(await inline(await sign(rsa.privateKey, 'RS256'), 'c1')).toMatchObject({ ok: true, identity: { user: 'bob' } });
    expect(await inline(await sign(ec.privateKey, 'ES256'), 'c1')).toMatchObject({ ok: true });
    expect(await inline(await sign(other.privateKey, 'ES256'), 'c1')).toMatchObject({ ok: false, code: CloseCode.Unauthorized });
    // No HS256 secret is configured alongside keys, so HS256 tokens are refused outright.
    expect(await inline(await hs({ sub: 'bob' }), 'c1')).toMatchObject({ ok: false, code: CloseCode.Unauthorized, reason: 'token algorithm is not accepted' });
    const dir = mkdtempSync(join(tmpdir(), 'cascade-keys-'));
    writeFileSync(join(dir, 'keys.pem'), pem);
    const fromFile = createAuthenticator(settings({ EDGE_JWT_PUBLIC_KEYS: join(dir, 'keys.pem') }));
    expect(await fromFile(await sign(ec.privateKey, 'ES256'), 'c1')).toMatchObject({ ok: true });
  });

  it('verify with a JWKS URL, and refuse a key it does not hold', async () => {
    const auth = createAuthenticator(settings({ EDGE_JWT_JWKS_URL: jwksUrl }));
    expect(await auth(await sign(rsa.privateKey, 'RS256', 'r1'), 'c1')).toMatchObject({ ok: true, identity: { user: 'bob' } });
    expect(await auth(await sign(ec.privateKey, 'ES256', 'e1'), 'c1')).toMatchObject({ ok: true });
    expect(await auth(await sign(other.privateKey, 'ES256', 'zz'), 'c1')).toMatchObject({ ok: false, code: CloseCode.Unauthorized });
  });

  it('tells the client to retry (4004) when the JWKS cannot be reached', async () => {
    const auth = createAuthenticator(settings({ EDGE_JWT_JWKS_URL: 'http://127.0.0.1:1/jwks.json' }));
    expect(await auth(await sign(rsa.privateKey, 'RS256', 'r1'), 'c1')).toMatchObject({ ok: false, code: CloseCode.ServerError });
  });
});

describe('auth configuration', () => {
  const problems = (env: Record<string, string>): string[] => {
    try {
      settings(env);
      return [];
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return e.problems.map((p) => `${p.variable}: ${p.message}`);
    }
  };

  it('uses the development secret and read-only anonymous access by default outside production', () => {
    const s = settings({});
    expect(s.devSecret).toBe(true);
    expect(new TextDecoder().decode(s.hs256Secret)).toBe(DEV_HS256_SECRET);
    expect([...s.anonymous!]).toEqual(['subscribe']);
    expect(s.requireExp).toBe(false);
  });

  it('refuses to start in production with the development secret, without keys, or with anonymous access', () => {
    expect(problems({ NODE_ENV: 'production', EDGE_JWT_HS256_SECRET: DEV_HS256_SECRET }).join('\n')).toMatch(/EDGE_JWT_HS256_SECRET: the built-in development secret is refused/);
    expect(problems({ NODE_ENV: 'production' }).join('\n')).toMatch(/needs a way to verify tokens/);
    expect(problems({ NODE_ENV: 'production', EDGE_JWT_HS256_SECRET: SECRET, EDGE_ANONYMOUS: 'subscribe' }).join('\n')).toMatch(/EDGE_ANONYMOUS/);
    const ok = settings({ NODE_ENV: 'production', EDGE_JWT_HS256_SECRET: SECRET });
    expect(ok).toMatchObject({ production: true, devSecret: false, anonymous: undefined, requireExp: true });
  });

  it('names the variable of every bad value', () => {
    expect(problems({ EDGE_JWT_HS256_SECRET: 'short' })).toEqual(['EDGE_JWT_HS256_SECRET: expected at least 32 characters, got 5']);
    expect(problems({ EDGE_JWT_PUBLIC_KEYS: '/no/such/file.pem' })[0]).toMatch(/^EDGE_JWT_PUBLIC_KEYS: neither PEM text nor an existing file/);
    expect(problems({ EDGE_JWT_PUBLIC_KEYS: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' })[0]).toMatch(/^EDGE_JWT_PUBLIC_KEYS: key 1 is not a readable PEM/);
    expect(() => loadConfig(authConfig, { EDGE_NAMESPACES: '{"user":["subscribe"]}' })).toThrow(/EDGE_NAMESPACES: namespace "user" has fixed rules/);
    expect(() => loadConfig(authConfig, { EDGE_ANONYMOUS: 'maybe' })).toThrow(/EDGE_ANONYMOUS/);
    expect(() => loadConfig(authConfig, { EDGE_JWT_JWKS_URL: 'ftp://x' })).toThrow(/EDGE_JWT_JWKS_URL: expected an http\(s\) URL/);
  });
});

// Development tokens: what the endpoint hands out verifies with the edge's own authenticator
// and carries the demo rights; bad user ids are refused; the configuration that would make
// it unsafe or unusable stops the edge at start.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '@cascade/config';
import { generateKeyPair, exportSPKI } from 'jose';
import type { ChannelName } from '@cascade/protocol';
import { authConfig, authSettings } from './auth-config.js';
import { createAuthenticator } from './identity.js';
import { DEV_TOKEN_TTL_MS, devToken } from './dev-tokens.js';

const ch = (s: string) => s as ChannelName;

function problems(env: Record<string, string>): string[] {
  try {
    authSettings(loadConfig(authConfig, env), env);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems.map((p) => `${p.variable}: ${p.message}`);
  }
}

describe('development tokens', () => {
  it('mints a token for the user that the edge accepts, with the demo rights, valid one hour', async () => {
    const settings = authSettings(loadConfig(authConfig, { EDGE_DEV_TOKENS: 'on', EDGE_ANONYMOUS: 'off' }), {});
    expect(settings.devTokens).toBe(true);
    const now = Date.now();
    const reply = await devToken('user=alice', { secret: settings.hs256Secret! }, now);
    expect(reply.status).toBe(200);
    if (reply.status !== 200) return;
    expect(reply.body.user).toBe('alice');
    expect(reply.body.exp).toBe(Math.floor((now + DEV_TOKEN_TTL_MS) / 1000) * 1000);
    const auth = await createAuthenticator(settings)(reply.body.token, 'c1');
    expect(auth.ok).toBe(true);
    if (!auth.ok) return;
    const id = auth.identity;
    expect(id.user).toBe('alice');
    expect(id.expiresAt).toBeGreaterThanOrEqual(reply.body.exp);
    for (const c of ['chat:lobby', 'demo:x', 'user:alice']) expect(id.may('subscribe', ch(c))).toBe(true);
    for (const c of ['chat:lobby', 'demo:x']) expect(id.may('publish', ch(c))).toBe(true);
    expect(id.may('subscribe', ch('user:bob'))).toBe(false);
    expect(id.may('publish', ch('orders:1'))).toBe(false);
  });

  it('carries the configured issuer and audience', async () => {
    const env = { EDGE_DEV_TOKENS: 'on', EDGE_JWT_ISSUER: 'me', EDGE_JWT_AUDIENCE: 'cascade' };
    const settings = authSettings(loadConfig(authConfig, env), env);
    const reply = await devToken('user=bob', { secret: settings.hs256Secret!, issuer: settings.issuer, audience: settings.audience });
    if (reply.status !== 200) throw new Error('refused');
    expect((await createAuthenticator(settings)(reply.body.token, 'c1')).ok).toBe(true);
  });

  it('refuses a missing, repeated or invalid user', async () => {
    const secret = new TextEncoder().encode('x'.repeat(32));
    for (const q of ['', 'user=', 'user=a&user=b', 'user=has%20space', 'user=a:b', 'user=anon-1', `user=${'u'.repeat(124)}`]) {
      const r = await devToken(q, { secret });
      expect(r.status, q).toBe(400);
      expect(r.body, q).toMatchObject({ code: 101 });
    }
  });

  it('stops the edge at start in production or without an HS256 secret', async () => {
    expect(problems({ EDGE_DEV_TOKENS: 'on', NODE_ENV: 'production', EDGE_JWT_HS256_SECRET: 'y'.repeat(40), EDGE_ANONYMOUS: 'off' })).toEqual([
      'EDGE_DEV_TOKENS: development tokens are refused when NODE_ENV=production (anyone could mint a token for any user)',
    ]);
    const { publicKey } = await generateKeyPair('ES256');
    const pem = await exportSPKI(publicKey);
    expect(problems({ EDGE_DEV_TOKENS: 'on', EDGE_JWT_PUBLIC_KEYS: pem })[0]).toMatch(/^EDGE_DEV_TOKENS: development tokens need an HS256 secret/);
    expect(problems({ EDGE_DEV_TOKENS: 'on', EDGE_JWT_PUBLIC_KEYS: pem, EDGE_JWT_HS256_SECRET: 'y'.repeat(40) })).toEqual([]);
    expect(problems({ EDGE_DEV_TOKENS: 'off', NODE_ENV: 'production', EDGE_JWT_HS256_SECRET: 'y'.repeat(40), EDGE_ANONYMOUS: 'off' })).toEqual([]);
  });
});

// The demo helpers on a real edge: static files under /demo/ (traversal refused), and
// development tokens that a WebSocket connects with; unsafe configurations stop the edge.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEntry, spawnService, startCascade, startNatsServer, TestWsClient, type CascadeSystem, type NatsServerFixture } from '@cascade/testing';

let nats: NatsServerFixture;
let system: CascadeSystem;
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'edge-demo-'));
  mkdirSync(join(root, 'site', 'js'), { recursive: true });
  writeFileSync(join(root, 'site', 'index.html'), '<!doctype html><title>demo</title>');
  writeFileSync(join(root, 'site', 'js', 'app.js'), 'export const x = 1;');
  writeFileSync(join(root, 'secret.txt'), 'outside the static directory');
  nats = await startNatsServer();
  system = await startCascade({
    natsUrl: nats.url,
    edges: 1,
    services: [],
    env: { EDGE_STATIC_DIR: join(root, 'site'), EDGE_DEV_TOKENS: 'on', EDGE_ANONYMOUS: 'off', EDGE_NAMESPACES: '{"public":["subscribe"]}' },
  });
}, 90_000);

afterAll(async () => {
  await system?.stop();
  await nats?.stop();
});

const base = () => `http://127.0.0.1:${system.edges[0]!.port}`;

/** A GET with the path sent exactly as given (fetch would normalise `..` away). */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: system.edges[0]!.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('static files', () => {
  it('serves the directory under /demo/ and redirects / there', async () => {
    const index = await fetch(`${base()}/demo/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(await index.text()).toBe('<!doctype html><title>demo</title>');
    const js = await fetch(`${base()}/demo/js/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toBe('export const x = 1;');
    const root = await fetch(`${base()}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/demo/');
    expect((await fetch(`${base()}/demo/missing.js`)).status).toBe(404);
  });

  it('refuses paths that leave the directory', async () => {
    for (const p of ['/demo/../secret.txt', '/demo/%2e%2e/secret.txt', '/demo/js/../../secret.txt', '/demo/..%2fsecret.txt']) {
      const r = await rawGet(p);
      expect(r.status, p).toBe(404);
      expect(r.body, p).not.toContain('outside');
    }
  });
});

describe('development tokens', () => {
  it('hands out a token that connects over WebSocket with the demo rights', async () => {
    const r = await fetch(`${base()}/v1/dev/token?user=alice`);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const body = (await r.json()) as { token: string; exp: number; user: string };
    expect(body.user).toBe('alice');
    expect(body.exp).toBeGreaterThan(Date.now() + 59 * 60_000);
    const c = await TestWsClient.connect(system.edges[0]!.url);
    c.send({ t: 1, token: body.token });
    expect(await c.next((f) => f.t === 101)).toMatchObject({ user: 'alice', personal: 'user:alice' });
    c.send({ t: 2, id: 1, ch: 'chat:lobby' });
    expect(await c.next((f) => f.id === 1)).toMatchObject({ t: 102, id: 1 });
    c.send({ t: 2, id: 2, ch: 'orders:eu' });
    expect(await c.next((f) => f.id === 2)).toMatchObject({ t: 106, code: 104 });
    await c.close();
  });

  it('refuses a bad user id with 400', async () => {
    const r = await fetch(`${base()}/v1/dev/token?user=${encodeURIComponent('a b')}`);
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ code: 101 });
    expect((await fetch(`${base()}/v1/dev/token`)).status).toBe(400);
  });
});

describe('refused configurations', () => {
  async function exitOf(env: Record<string, string>) {
    const p = await spawnService({ name: 'edge-gateway', entry: serviceEntry('edge-gateway'), env: { NATS_URL: nats.url, ...env } });
    return { code: (await p.exited).code, output: p.output() };
  }

  it('does not start with development tokens in production, without an HS256 secret, or with a missing static directory', async () => {
    const prod = await exitOf({ EDGE_DEV_TOKENS: 'on', NODE_ENV: 'production', EDGE_JWT_HS256_SECRET: 'a-production-secret-0123456789abcdef', EDGE_ANONYMOUS: 'off' });
    expect(prod.code).toBe(78);
    expect(prod.output).toMatch(/EDGE_DEV_TOKENS: development tokens are refused when NODE_ENV=production/);
    const jwks = await exitOf({ EDGE_DEV_TOKENS: 'on', EDGE_JWT_JWKS_URL: 'http://127.0.0.1:1/jwks.json' });
    expect(jwks.code).toBe(78);
    expect(jwks.output).toMatch(/EDGE_DEV_TOKENS: development tokens need an HS256 secret/);
    const dir = await exitOf({ EDGE_STATIC_DIR: join(root, 'nope') });
    expect(dir.code).toBe(78);
    expect(dir.output).toMatch(/EDGE_STATIC_DIR: .* is not a readable directory/);
  }, 60_000);
});

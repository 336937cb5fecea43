// SSE clients publish over HTTP with their own token: the same permission, size and rate
// checks as a WebSocket publish, `from` from the token, ephemeral messages; and CORS for
// pages on another origin.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hs256Token, startCascade, startNatsServer, type CascadeSystem, type NatsServerFixture } from '@cascade/testing';
import { SseTestClient } from './test-fixtures/sse-client.js';

const SECRET = 'sse-publish-test-secret-0123456789abcdef';
const ORIGIN = 'http://app.example.test:3000';
let nats: NatsServerFixture;
let system: CascadeSystem;
const open: SseTestClient[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({
    natsUrl: nats.url,
    edges: 1,
    services: ['fan-out-worker'],
    env: {
      EDGE_JWT_HS256_SECRET: SECRET,
      EDGE_ANONYMOUS: 'off',
      EDGE_NAMESPACES: '{"public":["subscribe"]}',
      EDGE_MAX_PUBLISH_BYTES: '1KiB',
      EDGE_PUBLISH_RATE: '1',
      EDGE_PUBLISH_BURST: '4',
      EDGE_CORS_ORIGINS: ORIGIN,
    },
  });
}, 90_000);

afterAll(async () => {
  for (const c of open) c.close();
  await system?.stop();
  await nats?.stop();
});

const base = () => `http://127.0.0.1:${system.edges[0]!.port}`;

const token = (sub: string, claims: Record<string, unknown> = { subs: ['chat:*'], pubs: ['chat:*'] }) => hs256Token(SECRET, { ...claims, sub });

const post = (path: string, body: unknown, authorization?: string) =>
  fetch(`${base()}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('HTTP publish with a user token', () => {
  it('stores and delivers a message from the token’s user, and ephemeral messages live', async () => {
    const alice = await token('alice');
    const s = await SseTestClient.open(`${base()}/v1/sse?ch=chat:room&token=${alice}`);
    open.push(s);
    await s.next((e) => e.event === 'connected');
    const r = await post('/v1/channels/chat%3Aroom/messages', { data: { text: 'hello' }, key: 'm1' }, `Bearer ${alice}`);
    expect(r.status).toBe(201);
    expect(await r.json()).toEqual({ ok: true, dup: false });
    const again = await post('/v1/channels/chat%3Aroom/messages', { data: { text: 'hello' }, key: 'm1' }, `Bearer ${alice}`);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ ok: true, dup: true });
    const [m] = await s.messages(1, 10_000);
    expect(m!.json).toMatchObject({ ch: 'chat:room', seq: 1, from: 'alice', key: 'm1', data: { text: 'hello' } });
    const e = await post('/v1/channels/chat%3Aroom/ephemeral', { data: { typing: true } }, `Bearer ${alice}`);
    expect(e.status).toBe(202);
    expect((await s.next((x) => x.event === 'ephemeral')).json).toMatchObject({ ch: 'chat:room', from: 'alice', data: { typing: true } });
  });

  it('refuses what a WebSocket publish would refuse: rights, size, rate; and a sender', async () => {
    const bob = await token('bob');
    expect((await post('/v1/channels/news/messages', { data: 1 }, `Bearer ${bob}`)).status).toBe(403);
    expect((await post('/v1/channels/news/ephemeral', { data: 1 }, `Bearer ${bob}`)).status).toBe(403);
    const big = await post('/v1/channels/chat%3Abig/messages', { data: 'x'.repeat(2000) }, `Bearer ${bob}`);
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ code: 109 });
    expect((await post('/v1/channels/chat%3Ax/messages', { data: 1, from: 'alice' }, `Bearer ${bob}`)).status).toBe(400);
    expect((await post('/v1/channels/chat%3Ax/messages', { data: 1 }, 'Bearer not.a.token')).status).toBe(401);
    // Burst 4 per user (refilling at 1/s), shared with ephemeral messages: of 8 sent at once,
    // at most 4 plus what refilled meanwhile pass; the rest are refused.
    const codes = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => (await post(i % 2 ? '/v1/channels/chat%3Ar/ephemeral' : '/v1/channels/chat%3Ar/messages', { data: i }, `Bearer ${bob}`)).status),
    );
    expect(codes.filter((c) => c === 201 || c === 202).length).toBeGreaterThanOrEqual(4);
    expect(codes.filter((c) => c === 429).length).toBeGreaterThanOrEqual(1);
    expect(codes.every((c) => [201, 202, 429].includes(c))).toBe(true);
    // Another user is not held back by bob's bucket.
    expect((await post('/v1/channels/chat%3Ar/messages', { data: 'carol' }, `Bearer ${await token('carol')}`)).status).toBe(201);
    // Without any token, publishing stays off (no API key is configured).
    expect((await post('/v1/channels/chat%3Ar/messages', { data: 1 })).status).toBe(403);
  });
});

describe('CORS', () => {
  it('answers preflights and marks responses for the allowed origin only', async () => {
    const pre = await fetch(`${base()}/v1/channels/chat%3Aroom/messages`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    expect(pre.headers.get('access-control-allow-methods')).toMatch(/POST/);
    const sse = await SseTestClient.open(`${base()}/v1/sse?ch=chat:cors&token=${await token('dora')}`, { headers: { origin: ORIGIN } });
    open.push(sse);
    expect(sse.res.headers['access-control-allow-origin']).toBe(ORIGIN);
    const refused = await SseTestClient.open(`${base()}/v1/sse?ch=chat:cors`, { headers: { origin: ORIGIN } });
    expect(refused.status).toBe(401);
    expect(refused.res.headers['access-control-allow-origin']).toBe(ORIGIN);
    const other = await fetch(`${base()}/v1/channels/chat%3Aroom/messages`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

// Backends publish over the edge's HTTP server API with an API key; the message is stored,
// numbered and delivered like any other, and the API refuses without the key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCascade, startNatsServer, TestWsClient, type CascadeSystem, type NatsServerFixture } from '@cascade/testing';

const KEY = 'test-api-key-0123456789';
let nats: NatsServerFixture;
let system: CascadeSystem;

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({ natsUrl: nats.url, edges: 1, services: ['fan-out-worker'], env: { EDGE_API_KEY: KEY } });
}, 90_000);

afterAll(async () => {
  await system?.stop();
  await nats?.stop();
});

const post = (path: string, body: unknown, key?: string) =>
  fetch(`http://127.0.0.1:${system.edges[0]!.port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('HTTP publish', () => {
  it('stores and delivers a backend message, once per key', async () => {
    const sub = await TestWsClient.connect(system.edges[0]!.url);
    sub.send({ t: 1 });
    await sub.next((f) => f.t === 101);
    sub.send({ t: 2, id: 1, ch: 'orders:eu' });
    await sub.next((f) => f.id === 1);

    const first = await post('/v1/channels/orders:eu/messages', { data: { id: 7, total: 12.5 }, key: 'order-7', from: 'billing' }, KEY);
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({ ok: true, dup: false });
    const again = await post('/v1/channels/orders:eu/messages', { data: { id: 7, total: 12.5 }, key: 'order-7', from: 'billing' }, KEY);
    expect(await again.json()).toEqual({ ok: true, dup: true });

    const m = await sub.next((f) => f.t === 103, 10_000);
    expect(m).toMatchObject({ ch: 'orders:eu', seq: 1, from: 'billing', key: 'order-7', data: { id: 7, total: 12.5 } });
    await new Promise((r) => setTimeout(r, 300));
    expect(sub.frames.filter((f) => (f as { t: number }).t === 103)).toHaveLength(1);
    await sub.close();
  });

  it('refuses without the key, bad bodies and bad channels', async () => {
    expect((await post('/v1/channels/news/messages', { data: 1 })).status).toBe(401);
    expect((await post('/v1/channels/news/messages', { data: 1 }, 'wrong')).status).toBe(401);
    expect((await post('/v1/channels/news/messages', '{"data":', KEY)).status).toBe(400);
    expect((await post('/v1/channels/bad.name/messages', { data: 1 }, KEY)).status).toBe(400);
    const get = await fetch(`http://127.0.0.1:${system.edges[0]!.port}/v1/channels/news/messages`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(get.status).toBe(405);
  });
});

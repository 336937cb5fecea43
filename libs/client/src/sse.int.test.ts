// SSE mode against the real system: the SDK's subscriptions ride on one EventSource (the
// `eventsource` package, which behaves like a browser's: it reconnects by itself and sends
// Last-Event-ID), publishes go over HTTP with a user token. Edge A serves the SSE client on
// a port the test picked, so it can be killed and started again on the same port; edge B
// carries a WebSocket publisher that keeps going meanwhile.
import { createHmac } from 'node:crypto';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { freePort, startCascade, startNatsServer, uniqueName, type CascadeSystem, type EdgeProcess, type NatsServerFixture } from '@cascade/testing';
import { CascadeClient, type CascadeClientOptions, type EventSourceConstructor, type FetchLike, type Message, type RecoveryImpossible } from './index.js';

const SECRET = 'client-sse-integration-test-secret-0123456789';

function token(sub: string, ttlSec = 3600): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64url');
  const head = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64(JSON.stringify({ sub, exp: Math.floor(Date.now() / 1000) + ttlSec }));
  return `${head}.${body}.${createHmac('sha256', SECRET).update(`${head}.${body}`).digest('base64url')}`;
}

/** Every EventSource the SDK creates, so the test can tell a reconnect by the EventSource from a new one. */
const created: string[] = [];
class TrackedEventSource extends EventSource {
  constructor(url: string) {
    super(url);
    created.push(url);
  }
}

let nats: NatsServerFixture;
let system: CascadeSystem;
/** Edge A's port: the SSE client's; the edge is restarted on it. */
let portA: number;
let edgeA: EdgeProcess;
let edgeB: EdgeProcess;
const clients: CascadeClient[] = [];

function sseClient(o: Partial<CascadeClientOptions> = {}): CascadeClient {
  const c = new CascadeClient({
    url: `http://127.0.0.1:${portA}/`,
    transport: 'sse',
    EventSource: TrackedEventSource as EventSourceConstructor,
    token: () => token('sse-reader'),
    backoff: { initialMs: 50, maxMs: 500 },
    ...o,
  });
  clients.push(c);
  return c;
}

function wsClient(): CascadeClient {
  const c = new CascadeClient({ url: edgeB.url, WebSocket, token: () => token('ws-publisher') });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({
    natsUrl: nats.url,
    edges: 0,
    services: ['fan-out-worker', 'history'],
    // A short `retry:` so the EventSource comes back soon after the edge does.
    env: { EDGE_JWT_HS256_SECRET: SECRET, EDGE_SSE_RETRY: '200ms' },
  });
  portA = await freePort();
  [edgeA, edgeB] = await Promise.all([system.startEdge({ EDGE_PORT: String(portA) }), system.startEdge()]);
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await system?.stop();
  await nats?.stop();
});

describe('@cascade/client in SSE mode against a running system', () => {
  it('delivers every channel of one EventSource; after the edge is killed and restarted on its port, the EventSource itself resumes with nothing lost or duplicated', { timeout: 90_000 }, async () => {
    const ch = `chat:${uniqueName('sse')}`;
    const other = `chat:${uniqueName('sse2')}`;
    const c = sseClient();
    const states: string[] = [];
    c.on('state', (s) => states.push(s));
    const got: Message[] = [];
    const lost: RecoveryImpossible[] = [];
    const subscribed: unknown[] = [];
    const sub = c.subscribe(ch, { onMessage: (m) => got.push(m), onRecoveryImpossible: (i) => lost.push(i), onSubscribed: (i) => subscribed.push(i) });
    const got2: number[] = [];
    c.subscribe(other, { onMessage: (m) => got2.push((m.data as { n: number }).n) });
    const before = created.length;
    await c.connect();
    await sub.ready;
    expect(created.length - before).toBe(1);
    expect(new URL(created.at(-1)!).searchParams.getAll('ch')).toEqual([ch, other]);
    expect(c.info?.user).toBe('sse-reader');

    const pub = wsClient();
    await pub.connect();
    for (let n = 1; n <= 30; n++) await pub.publish(ch, { n });
    await pub.publish(other, { n: 1 });
    await vi.waitFor(() => expect([got.length, got2]).toEqual([30, [1]]));

    await edgeA.process.kill();
    await vi.waitFor(() => expect(c.state).toBe('reconnecting'));
    // Published while the stream is down: the resume must bring them.
    for (let n = 31; n <= 60; n++) await pub.publish(ch, { n });
    edgeA = await system.startEdge({ EDGE_PORT: String(portA) });
    await vi.waitFor(() => expect(c.state).toBe('connected'), { timeout: 20_000 });
    for (let n = 61; n <= 80; n++) await pub.publish(ch, { n });
    await vi.waitFor(() => expect(got.length).toBeGreaterThanOrEqual(80), { timeout: 20_000 });
    await new Promise((r) => setTimeout(r, 200));

    expect(got.map((m) => (m.data as { n: number }).n)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    expect(got.map((m) => m.seq)).toEqual(Array.from({ length: 80 }, (_, i) => got[0]!.seq + i));
    expect(got.every((m) => m.from === 'ws-publisher')).toBe(true);
    expect(lost).toEqual([]);
    // The EventSource reconnected by itself (Last-Event-ID): the SDK made no new one.
    expect(created.length - before).toBe(1);
    expect(subscribed).toEqual([
      { resumed: false, first: true },
      { resumed: true, first: false },
    ]);
    expect(states).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
  });

  it('re-opens with since= when the channel set changes, and misses nothing on the channels it had', async () => {
    const a = `chat:${uniqueName('set-a')}`;
    const b = `chat:${uniqueName('set-b')}`;
    const c = sseClient();
    const got: Message[] = [];
    const onMessage = (m: Message) => got.push(m);
    const ns = (ch: string) => got.filter((m) => m.channel === ch).map((m) => (m.data as { n: number }).n);
    const subA = c.subscribe(a, { onMessage });
    await c.connect();
    await subA.ready;
    const pub = wsClient();
    await pub.connect();
    await pub.publish(a, { n: 1 });
    await vi.waitFor(() => expect(got).toHaveLength(1));
    const before = created.length;
    const subB = c.subscribe(b, { onMessage });
    // Published around the switch: delivered once, from the old stream or replayed by the new one.
    await pub.publish(a, { n: 2 });
    await subB.ready;
    await pub.publish(b, { n: 3 });
    await pub.publish(a, { n: 4 });
    await vi.waitFor(() => expect(got).toHaveLength(4));
    expect([ns(a), ns(b)]).toEqual([[1, 2, 4], [3]]);
    expect(created.length - before).toBe(1);
    const url = new URL(created.at(-1)!);
    expect(url.searchParams.getAll('ch')).toEqual([a, b]);
    expect(url.searchParams.get('since')).toMatch(/^[0-9a-f]+:\d+,$/);
  });

  it('when the token expires mid-stream (event: error 4006), opens a new stream with a fresh token and since=, losing nothing', { timeout: 60_000 }, async () => {
    const ch = `chat:${uniqueName('exp')}`;
    const strict = await system.startEdge({ EDGE_JWT_CLOCK_TOLERANCE: '0s' });
    const issued: number[] = [];
    const c = sseClient({
      url: `http://127.0.0.1:${strict.port}/`,
      // The first token lives 2-3 s (exp is in whole seconds), the next ones an hour.
      token: () => {
        issued.push(Date.now());
        return token('sse-expiring', issued.length === 1 ? 3 : 3600);
      },
    });
    const disconnects: number[] = [];
    c.on('disconnected', (d) => disconnects.push(d.code));
    const got: number[] = [];
    const sub = c.subscribe(ch, { onMessage: (m) => got.push((m.data as { n: number }).n) });
    const before = created.length;
    await c.connect();
    await sub.ready;
    const pub = wsClient();
    await pub.connect();
    let n = 0;
    // Publish right through the expiry and the switch to the new stream, and a little after.
    while (disconnects.length === 0) {
      await pub.publish(ch, { n: ++n });
      await new Promise((r) => setTimeout(r, 50));
      if (n > 400) throw new Error('the stream was not ended at the token expiry');
    }
    for (let i = 0; i < 10; i++) await pub.publish(ch, { n: ++n });
    await vi.waitFor(() => expect(c.state).toBe('connected'), { timeout: 10_000 });
    for (let i = 0; i < 10; i++) await pub.publish(ch, { n: ++n });
    await vi.waitFor(() => expect(got.length).toBeGreaterThanOrEqual(n), { timeout: 10_000 });
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(disconnects).toEqual([4006]);
    expect(issued).toHaveLength(2);
    expect(created.length - before).toBe(2);
    const next = new URL(created.at(-1)!);
    expect(next.searchParams.get('since')).toMatch(/^[0-9a-f]+:\d+$/);
    expect(next.searchParams.get('token')).not.toBe(new URL(created.at(-2)!).searchParams.get('token'));
    expect(c.state).toBe('connected');
  });

  it('publishes over HTTP with the user token: acked, stored once even when the answer is lost and the SDK retries with the same key', async () => {
    const ch = `chat:${uniqueName('http')}`;
    const reader = wsClient();
    await reader.connect();
    const got: Message[] = [];
    const sub = reader.subscribe(ch, { onMessage: (m) => got.push(m) });
    await sub.ready;

    // The first POST reaches the edge and is stored, but its answer is "lost" on the way back.
    const posts: string[] = [];
    const lossy: FetchLike = async (url, init) => {
      const res = await fetch(url, init);
      if (init.method !== 'POST') return res;
      posts.push(`${res.status}`);
      if (posts.length === 1) throw new TypeError('fetch failed: connection reset');
      return res;
    };
    const c = sseClient({ fetch: lossy, token: () => token('http-writer') });
    await c.connect();
    const r = await c.publish(ch, { text: 'once' });
    expect(posts).toEqual(['201', '200']);
    expect(r.dup).toBe(true);
    const again = await c.publish(ch, { text: 'once' }, { key: r.key });
    expect(again).toEqual({ dup: true, key: r.key });
    const fresh = await c.publish(ch, { text: 'sentinel' });
    expect(fresh.dup).toBe(false);
    await vi.waitFor(() => expect(got.at(-1)?.data).toEqual({ text: 'sentinel' }));
    expect(got.map((m) => [m.data, m.from, m.key])).toEqual([
      [{ text: 'once' }, 'http-writer', r.key],
      [{ text: 'sentinel' }, 'http-writer', fresh.key],
    ]);
  });

  it('sends ephemeral messages over HTTP to the channel’s subscribers', async () => {
    const ch = `chat:${uniqueName('eph')}`;
    const reader = wsClient();
    await reader.connect();
    const seen: unknown[] = [];
    const sub = reader.subscribe(ch, { onEphemeral: (m) => seen.push([m.data, m.from]) });
    await sub.ready;
    const c = sseClient({ token: () => token('typist') });
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    await c.connect();
    await vi.waitFor(
      () => {
        expect(c.ephemeral(ch, { typing: true })).toBe(true);
        expect(seen).toContainEqual([{ typing: true }, 'typist']);
      },
      { timeout: 5_000, interval: 200 },
    );
    expect(errors).toEqual([]);
  });
});

// The end-to-end slice against a real nats-server: clients on two edge processes publish
// and subscribe over WebSocket; messages go through JetStream and the fan-out worker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { natsFixture, startCascade, TestWsClient, type CascadeSystem, type NatsFixture } from '@cascade/testing';

let nats: NatsFixture;
let system: CascadeSystem;
let nc: NatsConnection;
const clients: TestWsClient[] = [];

async function client(url: string): Promise<TestWsClient> {
  const c = await TestWsClient.connect(url);
  clients.push(c);
  c.send({ t: 1, v: 1 });
  const hello = await c.next((f) => f.t === 101);
  expect(hello.user).toMatch(/^anon-/);
  return c;
}

async function subscribe(c: TestWsClient, ch: string, id: number): Promise<void> {
  c.send({ t: 2, id, ch });
  expect(await c.next((f) => f.id === id)).toMatchObject({ t: 102, id });
}

beforeAll(async () => {
  nats = await natsFixture();
  system = await startCascade({ natsUrl: nats.url, edges: 2 });
  nc = await connect({ servers: nats.url });
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await nc?.close();
  await system?.stop();
  await nats?.stop();
});

describe('end-to-end slice', () => {
  it('delivers a message published on one edge to every subscriber on both edges', async () => {
    const [e1, e2] = system.edges;
    const a1 = await client(e1!.url);
    const a2 = await client(e1!.url);
    const b1 = await client(e2!.url);
    const publisher = await client(e2!.url);
    for (const [c, id] of [[a1, 1], [a2, 2], [b1, 3]] as const) await subscribe(c, 'chat:room-1', id);

    publisher.send({ t: 4, id: 9, ch: 'chat:room-1', data: { text: 'hello', n: 1 }, key: 'msg-1' });
    expect(await publisher.next((f) => f.id === 9)).toEqual({ t: 102, id: 9 });

    const frames = await Promise.all([a1, a2, b1].map((c) => c.next((f) => f.t === 103)));
    for (const f of frames) {
      expect(f).toMatchObject({ t: 103, ch: 'chat:room-1', seq: 1, from: publisher.frames[0] && (publisher.frames[0] as { user: string }).user, key: 'msg-1', data: { text: 'hello', n: 1 } });
      expect(typeof f.ep).toBe('string');
      expect(typeof f.ts).toBe('number');
    }
    // Every subscriber got the same epoch: one numbering for the channel.
    expect(new Set(frames.map((f) => f.ep)).size).toBe(1);
    // The publisher is not subscribed, so it receives no message frame.
    expect(publisher.frames.some((f) => (f as { t: number }).t === 103)).toBe(false);
  });

  it('numbers messages from publishers on both edges gaplessly and in the same order everywhere', async () => {
    const [e1, e2] = system.edges;
    const s1 = await client(e1!.url);
    const s2 = await client(e2!.url);
    await subscribe(s1, 'orders', 1);
    await subscribe(s2, 'orders', 1);
    const p1 = await client(e1!.url);
    const p2 = await client(e2!.url);
    const total = 40;
    for (let i = 0; i < total / 2; i++) {
      p1.send({ t: 4, id: 100 + i, ch: 'orders', data: `p1-${i}` });
      p2.send({ t: 4, id: 100 + i, ch: 'orders', data: `p2-${i}` });
    }
    const received = async (c: TestWsClient) => {
      const got: Array<{ seq: number; data: string }> = [];
      while (got.length < total) got.push(await c.next((f) => f.t === 103 && f.ch === 'orders', 10_000));
      return got;
    };
    const [r1, r2] = await Promise.all([received(s1), received(s2)]);
    expect(r1.map((f) => f.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(r2.map((f) => f.data)).toEqual(r1.map((f) => f.data));
    // Each publisher's own messages keep their publish order.
    for (const who of ['p1', 'p2']) {
      const mine = r1.map((f) => f.data).filter((d) => d.startsWith(who));
      expect(mine).toEqual(Array.from({ length: total / 2 }, (_, i) => `${who}-${i}`));
    }
  });

  it('stores each message in the history stream with its sequence, epoch and time', async () => {
    const e = system.edges[0]!;
    const s = await client(e.url);
    await subscribe(s, 'audit', 1);
    s.send({ t: 4, id: 2, ch: 'audit', data: 'kept' });
    const live = await s.next((f) => f.t === 103);
    const jsm = await jetstreamManager(nc);
    const stored = await jsm.streams.getMessage(`${system.prefix.toUpperCase()}_HIST`, { last_by_subj: `${system.prefix}.hist.audit` });
    expect(stored).not.toBeNull();
    expect(stored!.header.get('Rt-Seq')).toBe(String(live.seq));
    expect(stored!.header.get('Rt-Epoch')).toBe(live.ep);
    expect(stored!.header.get('Rt-Ts')).toBe(String(live.ts));
  });

  it('acknowledges a repeated idempotency key as a duplicate and delivers it once', async () => {
    const e = system.edges[1]!;
    const s = await client(e.url);
    await subscribe(s, 'dedupe', 1);
    s.send({ t: 4, id: 2, ch: 'dedupe', data: 'once', key: 'same-key' });
    expect(await s.next((f) => f.id === 2)).toEqual({ t: 102, id: 2 });
    s.send({ t: 4, id: 3, ch: 'dedupe', data: 'once', key: 'same-key' });
    expect(await s.next((f) => f.id === 3)).toEqual({ t: 102, id: 3, dup: true });
    s.send({ t: 4, id: 4, ch: 'dedupe', data: 'after' });
    await s.next((f) => f.id === 4);
    const first = await s.next((f) => f.t === 103);
    const second = await s.next((f) => f.t === 103);
    expect([first.data, second.data]).toEqual(['once', 'after']);
    expect(second.seq).toBe(first.seq + 1);
  });

  it('delivers ephemeral frames live without storing or numbering them', async () => {
    const [e1, e2] = system.edges;
    const watcher = await client(e2!.url);
    await subscribe(watcher, 'room:typing', 1);
    const typist = await client(e1!.url);
    typist.send({ t: 5, ch: 'room:typing', data: { typing: true } });
    const f = await watcher.next((x) => x.t === 104);
    expect(f).toMatchObject({ t: 104, ch: 'room:typing', data: { typing: true } });
    expect(f.seq).toBeUndefined();
    const jsm = await jetstreamManager(nc);
    const stored = await jsm.streams.getMessage(`${system.prefix.toUpperCase()}_HIST`, { last_by_subj: `${system.prefix}.hist.room:typing` });
    expect(stored).toBeNull();
  });

  it('answers health requests from every service over NATS', async () => {
    for (const svc of ['edge', 'fanout', 'history', 'presence']) {
      const reply = await nc.request(`${system.prefix}.svc.${svc}.health`, '', { timeout: 5000 });
      expect(JSON.parse(reply.string())).toMatchObject({ service: svc, status: 'ok' });
    }
  });

  it('runs the native uWebSockets.js binary and says so', async () => {
    const e = system.edges[0]!;
    expect(e.process.output()).toContain('uWebSockets.js native binary loaded');
    const res = await fetch(`http://127.0.0.1:${e.port}/healthz`);
    expect(await res.json()).toMatchObject({ status: 'ok', uws: 'native' });
    expect((await fetch(`http://127.0.0.1:${e.port}/readyz`)).status).toBe(200);
  });
});

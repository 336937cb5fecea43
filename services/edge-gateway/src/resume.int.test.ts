// Resume end to end: a subscriber drops off while a publisher keeps going, comes back with
// `since`, and must receive exactly the messages it missed, then the live ones, in order,
// with no duplicate and no gap. A short gap is served from the edge's ring, a long one
// (more than EDGE_RING_SIZE messages) from the history service.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode } from '@msgpack/msgpack';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startCascade, startNatsServer, TestWsClient, type CascadeSystem, type NatsServerFixture } from '@cascade/testing';

const RING = 64;
let nats: NatsServerFixture;
let system: CascadeSystem;
let nc: NatsConnection;
const clients: TestWsClient[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({ natsUrl: nats.url, edges: 2, services: ['fan-out-worker', 'history'], env: { EDGE_RING_SIZE: String(RING) } });
  nc = await connect({ servers: nats.url });
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await nc?.close();
  await system?.stop();
  await nats?.stop();
});

async function client(edge: number): Promise<TestWsClient> {
  const c = await TestWsClient.connect(system.edges[edge]!.url);
  clients.push(c);
  c.send({ t: 1, v: 1 });
  await c.next((f) => f.t === 101);
  return c;
}

/** Publishes 1, 2, 3, ... one after the other (each after the previous reply) until stopped. */
function publisher(c: TestWsClient, ch: string) {
  let sent = 0;
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const id = ++sent;
      c.send({ t: 4, id, ch, data: id });
      // Any answer to this id (an error too) ends the wait, so a refusal fails loudly.
      const answer = await c.next((f) => f.id === id, 10_000);
      if (answer.t !== 102) throw new Error(`publish ${id} refused: ${JSON.stringify(answer)}`);
      await new Promise((r) => setTimeout(r, 4));
    }
  })();
  return {
    get sent() {
      return sent;
    },
    async until(n: number): Promise<void> {
      while (sent < n) await new Promise((r) => setTimeout(r, 5));
    },
    async stop(): Promise<number> {
      stopped = true;
      await done;
      return sent;
    },
  };
}

/** The message frames a client got on `ch`, in arrival order. */
function messages(c: TestWsClient, ch: string): Array<{ seq: number; ep: string; data: number }> {
  return c.frames.filter((f: any) => f.t === 103 && f.ch === ch) as any;
}

async function receivedUpTo(c: TestWsClient, ch: string, seq: number): Promise<void> {
  const until = Date.now() + 15_000;
  while (!messages(c, ch).some((m) => m.seq >= seq)) {
    if (Date.now() > until) throw new Error(`client got ${messages(c, ch).length} messages, not up to seq ${seq}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function historyReads(): Promise<number> {
  const r = await nc.request(`${system.prefix}.svc.history.health`, '', { timeout: 5000 });
  return (JSON.parse(r.string()) as { reads: number }).reads;
}

/**
 * One subscriber's run: subscribe on `first`, take some messages, disconnect, wait for
 * `missed` more to be published, resume on `second`, and check the joined stream.
 */
async function dropAndResume(ch: string, o: { first: number; second: number; missed: number }) {
  // A second subscriber on the first edge keeps the channel (and its ring) alive there.
  const keeper = await client(o.first);
  keeper.send({ t: 2, id: 1, ch });
  await keeper.next((f) => f.id === 1);
  const s1 = await client(o.first);
  s1.send({ t: 2, id: 1, ch });
  await s1.next((f) => f.id === 1);
  const pub = publisher(await client(1), ch);
  await receivedUpTo(s1, ch, 10);
  await s1.close();
  const before = messages(s1, ch);
  const last = before[before.length - 1]!;
  await pub.until(last.seq + o.missed);
  const readsBefore = await historyReads();

  const s2 = await client(o.second);
  s2.send({ t: 2, id: 1, ch, since: { ep: last.ep, seq: last.seq } });
  expect(await s2.next((f) => f.id === 1)).toEqual({ t: 102, id: 1, recovered: true });
  await pub.until(pub.sent + 20); // more live messages after the catch-up
  const total = await pub.stop();
  await receivedUpTo(s2, ch, total);
  const after = messages(s2, ch);
  const all = [...before, ...after];
  expect(all.map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  expect(all.map((m) => m.data)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  expect(new Set(all.map((m) => m.ep)).size).toBe(1);
  // Nothing arrives before the subscribe reply.
  const replyAt = s2.frames.findIndex((f: any) => f.id === 1);
  expect(s2.frames.findIndex((f: any) => f.t === 103)).toBeGreaterThan(replyAt);
  return { readsBefore, readsAfter: await historyReads() };
}

describe('resume with since', () => {
  it('serves a short gap from the edge ring while messages keep arriving', async () => {
    const { readsBefore, readsAfter } = await dropAndResume('resume:ring', { first: 0, second: 0, missed: 5 });
    expect(readsAfter).toBe(readsBefore);
  });

  it('serves a gap longer than the ring from the history service while messages keep arriving', async () => {
    const { readsBefore, readsAfter } = await dropAndResume('resume:long', { first: 0, second: 0, missed: RING + 40 });
    expect(readsAfter).toBeGreaterThan(readsBefore);
  });

  it('resumes on another edge, which has no ring for the channel, from the history service', async () => {
    const { readsBefore, readsAfter } = await dropAndResume('resume:other-edge', { first: 0, second: 1, missed: 5 });
    expect(readsAfter).toBeGreaterThan(readsBefore);
  });

  it('returns stored frames to the resuming client byte for byte', async () => {
    const c = await client(0);
    c.send({ t: 2, id: 1, ch: 'resume:bytes' });
    await c.next((f) => f.id === 1);
    c.send({ t: 4, id: 2, ch: 'resume:bytes', data: { nested: [1, 'two', { three: 3 }] }, key: 'k-1' });
    const live = await c.next((f) => f.t === 103);
    const r = await nc.request(`${system.prefix}.svc.history.read`, new Uint8Array([0x81, 0xa2, 0x63, 0x68, 0xac, ...Buffer.from('resume:bytes')]), { timeout: 5000 });
    const reply = decode(r.data) as { msgs: Uint8Array[] };
    expect(decode(reply.msgs[0]!)).toEqual(live);
  });
});

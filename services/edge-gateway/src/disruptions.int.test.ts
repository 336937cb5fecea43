// Nothing is lost across disruptions, end to end (real NATS, worker, history, edges), while a
// backend keeps publishing through JetStream:
// - the edge heals its own live losses: its NATS connection drops, or the NATS server is
//   killed and restarted (same store, same port); raw WebSocket subscribers, which never ask
//   for gaps themselves, and SSE streams still get every message exactly once, in order. The edge reaches
//   NATS through a TCP relay the test holds down a little longer, so the worker is back and
//   publishing live before the edge: the loss is certain, not a race;
// - a stalled client is closed with 4002 and resumes with `since` to exactly the rest;
// - SIGTERM drains an edge: every client follows the reconnect advice to a second edge and
//   resumes there without loss.
import { afterAll, beforeAll, describe, expect, it, onTestFailed, vi } from 'vitest';
import WebSocket from 'ws';
import { decode, encode } from '@msgpack/msgpack';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { encodeValue, parseChannel } from '@cascade/protocol';
import { Contract, HistoryClient } from '@cascade/nats';
import { startCascade, startNatsServer, startTcpRelay, TestWsClient, type CascadeSystem, type EdgeProcess, type NatsServerFixture, type TcpRelay } from '@cascade/testing';
import { SseTestClient } from './test-fixtures/sse-client.js';

let nats: NatsServerFixture;
let system: CascadeSystem;
let nc: NatsConnection;
/** The edge's way to NATS; while down it cuts every relayed connection and refuses new ones. */
let relay: TcpRelay;
let edge: EdgeProcess;
const clients: TestWsClient[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  // History must reach back over the whole outage: on a loaded machine the publisher can get
  // far ahead of an edge that is still reconnecting, and the default 1,000 per channel would
  // make the heal give up (correctly, with 4004) instead of testing it.
  system = await startCascade({ natsUrl: nats.url, edges: 0, services: ['fan-out-worker', 'history'], env: { RT_HISTORY_MAX_MESSAGES: '100000' } });
  relay = await startTcpRelay({ port: Number(new URL(nats.url).port) });
  edge = await system.startEdge({ NATS_URL: `nats://127.0.0.1:${relay.port}` });
  // The backend publisher reconnects quickly, so it (and the worker) can be back before the
  // edge is and publish while the edge still misses its subscriptions.
  nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 50, reconnectJitter: 0 });
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await nc?.close();
  await system?.stop();
  await relay?.close();
  await nats?.stop();
});

async function subscriber(ch: string, url = edge.url, since?: { ep: string; seq: number }): Promise<TestWsClient> {
  const c = await TestWsClient.connect(url);
  clients.push(c);
  c.send({ t: 1, v: 1 });
  await c.next((f) => f.t === 101);
  c.send({ t: 2, id: 1, ch, ...(since ? { since } : {}) });
  const reply = await c.next((f) => f.id === 1);
  if (since) expect(reply).toEqual({ t: 102, id: 1, recovered: true });
  return c;
}

/**
 * A backend publishing 1, 2, 3, ... through JetStream, each retried with its message id until
 * stored. With `pad`, the data is `[n, <pad characters>]`.
 */
function backendPublisher(ch: string, o: { pad?: number; pauseMs?: number } = {}) {
  const contract = new Contract({ prefix: system.prefix, partitions: 16 });
  const parsed = parseChannel(ch);
  if (!parsed.ok) throw new Error(parsed.reason);
  const subject = contract.ingest(parsed.channel.name);
  const js = jetstream(nc, { timeout: 2000 });
  let sent = 0;
  let stopped = false;
  let failures = 0;
  const padding = 'x'.repeat(o.pad ?? 0);
  const done = (async () => {
    while (!stopped) {
      const n = sent + 1;
      for (;;) {
        try {
          await js.publish(subject, encodeValue(o.pad ? [n, padding] : n), { msgID: `heal-${ch}-${n}` });
          break;
        } catch {
          // NATS is down or JetStream not back yet: the same id makes the retry idempotent.
          failures++;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      sent = n;
      await new Promise((r) => setTimeout(r, o.pauseMs ?? 3));
    }
  })();
  return {
    get sent() {
      return sent;
    },
    get failures() {
      return failures;
    },
    async until(n: number): Promise<void> {
      await vi.waitFor(() => expect(sent).toBeGreaterThanOrEqual(n), { timeout: 30_000, interval: 10 });
    },
    async stop(): Promise<number> {
      stopped = true;
      await done;
      return sent;
    },
  };
}

/** Waits until the history service has stored `seq` messages of `ch`: the worker has emitted them live. */
async function storedUpTo(ch: string, seq: number): Promise<void> {
  const parsed = parseChannel(ch);
  if (!parsed.ok) throw new Error(parsed.reason);
  const history = new HistoryClient(nc, new Contract({ prefix: system.prefix, partitions: 16 }), 2000);
  await vi.waitFor(async () => expect((await history.position(parsed.channel.name)).seq).toBeGreaterThanOrEqual(seq), { timeout: 30_000, interval: 50 });
}

function messages(c: TestWsClient): Array<{ seq: number; ep: string; data: number }> {
  return c.frames.filter((f: any) => f.t === 103) as any;
}

async function metric(line: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${edge.port}/metrics`)).text();
  return Number(line.exec(text)?.[1] ?? 0);
}

/** Checks that a raw subscriber got 1..total exactly once, in order, gapless, and is still connected. */
async function expectEverything(c: TestWsClient, total: number): Promise<void> {
  await vi.waitFor(() => expect(messages(c).length).toBeGreaterThanOrEqual(total), { timeout: 30_000 });
  const got = messages(c);
  expect(got.map((m) => m.data)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  expect(got.map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  expect(new Set(got.map((m) => m.ep)).size).toBe(1);
  expect(c.isOpen).toBe(true);
}

const healedFrames = () => metric(/^cascade_edge_healed_frames_total (\d+)/m);
const reconnectHeals = () => metric(/^cascade_edge_heals_total\{trigger="reconnect",result="healed"\} (\d+)/m);

/** On failure, what the edge logged about NATS and healing. */
function dumpEdgeLogOnFailure(): void {
  onTestFailed(() => {
    const lines = edge.process.output().split('\n').filter((l) => /heal|NATS|history/i.test(l));
    console.log(`edge log (NATS and healing):\n${lines.join('\n')}`);
  });
}

describe('edge healing', () => {
  it("the edge's own NATS connection drops while traffic goes on: its subscribers lose nothing", async () => {
    const ch = 'heal:drop';
    dumpEdgeLogOnFailure();
    const subs = await Promise.all([subscriber(ch), subscriber(ch)]);
    // An SSE stream holds the channel like the WebSockets and is healed the same way.
    const stream = await SseTestClient.open(`http://127.0.0.1:${edge.port}/v1/sse?ch=${ch}`);
    await stream.next((e) => e.event === 'connected');
    const pub = backendPublisher(ch);
    await pub.until(30);
    const healedBefore = await healedFrames();
    relay.down();
    const cut = pub.sent;
    await pub.until(cut + 40);
    await storedUpTo(ch, cut + 40); // numbered and emitted live while the edge is away
    relay.up();
    await pub.until(pub.sent + 30);
    const total = await pub.stop();
    for (const c of subs) await expectEverything(c, total);
    const events = await stream.messages(total, 30_000);
    expect(events.map((e) => e.json.data)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(events.map((e) => e.id)).toEqual(events.map((e) => `${e.json.ep}:${e.json.seq}`));
    expect(stream.isEnded).toBe(false);
    stream.close();
    expect(await healedFrames()).toBeGreaterThanOrEqual(healedBefore + 30);
  }, 60_000);

  it('a NATS server restart under traffic loses nothing (twice)', async () => {
    const ch = 'heal:restart';
    dumpEdgeLogOnFailure();
    const subs = await Promise.all([subscriber(ch), subscriber(ch), subscriber(ch)]);
    const pub = backendPublisher(ch);
    const healsBefore = await reconnectHeals();
    const healedBefore = await healedFrames();
    for (let round = 1; round <= 2; round++) {
      await pub.until(round * 60);
      relay.down();
      await nats.kill();
      await new Promise((r) => setTimeout(r, 300));
      await nats.restart();
      // The worker and the publisher come back first and publish live while the edge cannot.
      const back = pub.sent;
      await pub.until(back + 30);
      await storedUpTo(ch, back + 30);
      relay.up();
      // The edge is back and has healed the channel before the next round cuts it again.
      await vi.waitFor(async () => expect(await reconnectHeals()).toBeGreaterThanOrEqual(healsBefore + round), { timeout: 30_000, interval: 100 });
      await pub.until(pub.sent + 30);
    }
    const total = await pub.stop();
    expect(pub.failures).toBeGreaterThan(0); // the outage was real for the publisher
    for (const c of subs) await expectEverything(c, total);
    expect(await reconnectHeals()).toBeGreaterThanOrEqual(healsBefore + 2);
    expect(await healedFrames()).toBeGreaterThanOrEqual(healedBefore + 2 * 30);
  }, 120_000);
});

describe('slow client', () => {
  it('a stalled client is closed with 4002 and gets exactly what it missed after resuming', async () => {
    const ch = 'slow:resume';
    const slow = new WebSocket(edge.url);
    slow.binaryType = 'nodebuffer';
    await new Promise((resolve, reject) => slow.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => slow.once('close', (code: number) => resolve(code)));
    const slowGot: Array<{ seq: number; ep: string }> = [];
    slow.on('message', (d: Buffer) => {
      const f = decode(d) as { t: number; seq: number; ep: string; id?: number };
      if (f.t === 103) slowGot.push({ seq: f.seq, ep: f.ep });
    });
    const subscribed = new Promise<void>((resolve) => slow.on('message', (d: Buffer) => (decode(d) as { id?: number }).id === 1 && resolve()));
    slow.send(encode({ t: 1 }));
    slow.send(encode({ t: 2, id: 1, ch }));
    await subscribed;
    const fast = await subscriber(ch);
    (slow as unknown as { _socket: { pause(): void } })._socket.pause();

    // ~6 MiB of 20 KiB messages through the real pipeline (so they are in history), far over
    // the 1 MiB per-connection bound, at a pace (~5 MB/s) the four-times-a-second sweep
    // catches before uWS's own backstop (5 MiB, an abrupt 1006) would.
    const pub = backendPublisher(ch, { pad: 20 * 1024, pauseMs: 4 });
    await pub.until(300);
    const total = await pub.stop();
    await vi.waitFor(() => expect(messages(fast).length).toBe(total), { timeout: 30_000 });

    (slow as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await Promise.race([closed, new Promise((r) => setTimeout(() => r('still open after 20 s'), 20_000))])).toBe(4002);
    // What it got is a gapless prefix; it resumes from its last position.
    const got = slowGot.length;
    expect(slowGot.map((m) => m.seq)).toEqual(Array.from({ length: got }, (_, i) => i + 1));
    expect(got).toBeLessThan(total);
    const again = await subscriber(ch, edge.url, slowGot[got - 1]);
    await vi.waitFor(() => expect(messages(again).length).toBeGreaterThanOrEqual(total - got), { timeout: 30_000 });
    await new Promise((r) => setTimeout(r, 200)); // nothing more (no duplicate) arrives
    const rest = messages(again) as unknown as Array<{ seq: number; data: [number, string] }>;
    expect(rest.map((m) => m.seq)).toEqual(Array.from({ length: total - got }, (_, i) => got + i + 1));
    expect(rest.map((m) => m.data[0])).toEqual(Array.from({ length: total - got }, (_, i) => got + i + 1));
  }, 90_000);
});

describe('drain', () => {
  it('SIGTERM on an edge: all its clients follow the advice to a second edge and resume without loss', async () => {
    const ch = 'drain:move';
    const draining = await system.startEdge({ NATS_URL: nats.url, EDGE_DRAIN_WINDOW: '1s', EDGE_DRAIN_GRACE: '10s' });
    const subs = await Promise.all(Array.from({ length: 5 }, () => subscriber(ch, draining.url)));
    const pub = backendPublisher(ch);
    await pub.until(20);
    const stopped = draining.process.stop('SIGTERM', 30_000);
    // Each client follows the advice by hand, as the protocol says: keep reading until the
    // delay is over, close, reconnect to the other edge, resubscribe with its last position.
    const moved = await Promise.all(
      subs.map(async (c) => {
        const advice = await c.next((f) => f.t === 107, 10_000);
        await new Promise((r) => setTimeout(r, advice.delay));
        await c.close();
        const before = messages(c);
        const last = before[before.length - 1]!;
        return { before, after: await subscriber(ch, edge.url, { ep: last.ep, seq: last.seq }) };
      }),
    );
    expect((await stopped).code).toBe(0);
    await pub.until(pub.sent + 20);
    const total = await pub.stop();
    for (const { before, after } of moved) {
      await vi.waitFor(() => expect(before.length + messages(after).length).toBeGreaterThanOrEqual(total), { timeout: 30_000 });
      const all = [...before, ...messages(after)];
      expect(all.map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(all.map((m) => m.data)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    }
  }, 90_000);
});

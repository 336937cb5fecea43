// Where a new subscription starts, end to end: a subscriber that has received no message yet
// is told its start (the subscribe reply over WebSocket, `event: position` over SSE), drops
// off (its TCP connection cut by a relay), and resumes from that start after messages were
// published meanwhile: it gets exactly those, then live ones. Once for an empty channel
// (the start is BEFORE_FIRST, `ep: ''`, `seq: 0`) and once for a channel that already had
// messages, on both transports, on a real edge, fan-out worker and history service.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startCascade, startNatsServer, startTcpRelay, TestWsClient, uniqueName, type CascadeSystem, type NatsServerFixture, type TcpRelay } from '@cascade/testing';
import { SseTestClient } from './test-fixtures/sse-client.js';

let nats: NatsServerFixture;
let system: CascadeSystem;
let relay: TcpRelay;
let publisher: TestWsClient;
let nc: NatsConnection;
let nextId = 1;
const open: Array<{ close(): unknown }> = [];

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({ natsUrl: nats.url, edges: 1, services: ['fan-out-worker', 'history'] });
  relay = await startTcpRelay({ port: system.edges[0]!.port });
  publisher = await ws(system.edges[0]!.url);
  nc = await connect({ servers: nats.url });
}, 90_000);

afterAll(async () => {
  for (const c of open) c.close();
  await relay?.close();
  await nc?.close();
  await system?.stop();
  await nats?.stop();
});

async function ws(url: string): Promise<TestWsClient> {
  const c = await TestWsClient.connect(url);
  open.push({ close: () => c.close().catch(() => undefined) });
  c.send({ t: 1 });
  await c.next((f) => f.t === 101);
  return c;
}

/** Publishes `data` and waits until it is stored (the worker numbers it right after). */
async function publish(ch: string, data: unknown): Promise<void> {
  const id = nextId++;
  publisher.send({ t: 4, id, ch, data });
  expect((await publisher.next((f) => f.id === id, 10_000)).t).toBe(102);
}

/** Waits until the channel's history holds `seq` (the worker appended it). */
async function stored(ch: string, seq: number): Promise<void> {
  const url = `http://127.0.0.1:${system.edges[0]!.port}/v1/channels/${encodeURIComponent(ch)}/position`;
  for (const until = Date.now() + 10_000; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
    const r = (await (await fetch(url)).json()) as { seq: number };
    if (r.seq >= seq) return;
  }
  throw new Error(`${ch} did not reach seq ${seq}`);
}

const settle = () => new Promise((r) => setTimeout(r, 400));

/** Requests the history service answered so far. */
async function historyStats(): Promise<{ reads: number; positions: number }> {
  const r = await nc.request(`${system.prefix}.svc.history.health`, '', { timeout: 5000 });
  return JSON.parse(r.string()) as { reads: number; positions: number };
}

describe('a subscriber that drops off before its first message resumes from its start', () => {
  for (const before of [0, 3]) {
    const what = before === 0 ? 'an empty channel' : 'a channel with messages but none since the subscribe';
    it(`WebSocket, ${what}`, async () => {
      const ch = `start:${uniqueName('ws')}`;
      for (let i = 1; i <= before; i++) await publish(ch, `old${i}`);
      await stored(ch, before);
      const first = await ws(`ws://127.0.0.1:${relay.port}/`);
      first.send({ t: 2, id: 1, ch });
      const reply = await first.next((f) => f.id === 1);
      const start = before === 0 ? { ep: '', seq: 0 } : { ep: expect.stringMatching(/^[0-9a-f]{12}$/), seq: before };
      expect(reply).toEqual({ t: 102, id: 1, ...start });

      relay.cut();
      await first.waitClosed();
      for (let i = 1; i <= 5; i++) await publish(ch, `new${i}`);

      const again = await ws(`ws://127.0.0.1:${relay.port}/`);
      again.send({ t: 2, id: 1, ch, since: { ep: reply.ep, seq: reply.seq } });
      expect(await again.next((f) => f.id === 1)).toEqual({ t: 102, id: 1, recovered: true });
      const got = async (n: number) => {
        await again.next((f) => f.t === 103 && f.seq === before + n);
        return again.frames.filter((f: any) => f.t === 103);
      };
      await got(5);
      await publish(ch, 'live');
      const msgs = await got(6);
      await settle();
      expect(again.frames.filter((f: any) => f.t === 103).map((f: any) => [f.seq, f.data])).toEqual([
        ...[1, 2, 3, 4, 5].map((i) => [before + i, `new${i}`]),
        [before + 6, 'live'],
      ]);
      expect(new Set(msgs.map((m: any) => m.ep)).size).toBe(1);
      expect(first.frames.some((f: any) => f.t === 103)).toBe(false);
    });

    it(`SSE, ${what}`, async () => {
      const ch = `start:${uniqueName('sse')}`;
      const other = `start:${uniqueName('sse-other')}`;
      for (let i = 1; i <= before; i++) await publish(ch, `old${i}`);
      await publish(other, 'o1');
      await stored(ch, before);
      await stored(other, 1);
      const url = `http://127.0.0.1:${relay.port}/v1/sse?ch=${encodeURIComponent(ch)}&ch=${encodeURIComponent(other)}`;
      const first = await SseTestClient.open(url);
      open.push(first);
      const position = await first.next((e) => e.event === 'position');
      // Both entries are filled before any message: the browser's Last-Event-ID covers both.
      const ep = before === 0 ? '' : expect.stringMatching(/^[0-9a-f]{12}$/);
      expect(position.json).toEqual({ positions: [{ ch, ep, seq: before }, { ch: other, ep: expect.any(String), seq: 1 }] });
      expect(position.id).toMatch(before === 0 ? /^:0,[0-9a-f]{12}:1$/ : /^[0-9a-f]{12}:3,[0-9a-f]{12}:1$/);
      expect(first.events.map((e) => e.event)).toEqual(['connected', 'position']);

      relay.cut();
      await first.ended;
      for (let i = 1; i <= 5; i++) await publish(ch, `new${i}`);

      const again = await SseTestClient.open(url, { headers: { 'last-event-id': position.id! } });
      open.push(again);
      await again.messages(5);
      await publish(ch, 'live');
      await again.messages(6);
      await settle();
      const msgs = again.events.filter((e) => e.event === 'message');
      expect(msgs.map((m) => [m.json.ch, m.json.seq, m.json.data])).toEqual([
        ...[1, 2, 3, 4, 5].map((i) => [ch, before + i, `new${i}`]),
        [ch, before + 6, 'live'],
      ]);
      expect(again.events.some((e) => e.event === 'unrecovered')).toBe(false);
      expect(msgs.at(-1)!.id).toBe(`${msgs.at(-1)!.json.ep}:${before + 6},${position.id!.split(',')[1]}`);
    });
  }

  it('tells a subscriber of a channel the node already carries where it starts without asking history, and it misses nothing published right after', async () => {
    const ch = `start:${uniqueName('known')}`;
    const keeper = await ws(system.edges[0]!.url);
    keeper.send({ t: 2, id: 1, ch });
    await keeper.next((f) => f.id === 1);
    await publish(ch, 'a');
    await keeper.next((f) => f.t === 103 && f.seq === 1);
    const c = await ws(system.edges[0]!.url);
    const before = await historyStats();
    // Subscribe and publish back to back: whatever the interleaving, message 2 arrives once.
    c.send({ t: 2, id: 1, ch });
    const pub = publish(ch, 'b');
    const reply = await c.next((f) => f.id === 1);
    await pub;
    expect(reply).toMatchObject({ t: 102, id: 1, seq: expect.any(Number) });
    const after = await historyStats();
    expect([after.positions, after.reads]).toEqual([before.positions, before.reads]);
    await keeper.next((f) => f.t === 103 && f.seq === 2);
    await settle();
    const seqs = c.frames.filter((f: any) => f.t === 103).map((f: any) => f.seq);
    // Started after 1 (then 2 arrives live) or after 2 (then nothing more): never a gap, never twice.
    expect(reply.seq === 1 ? seqs : [2, ...seqs]).toEqual([2]);
  });
});

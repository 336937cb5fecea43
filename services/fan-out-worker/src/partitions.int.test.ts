// Partitioned fan-out against a real nats-server with several worker processes: 10,000
// messages over 100 channels arrive in per-channel order with gapless sequences while
// workers share (and rebalance) the partitions, and a worker killed with SIGKILL
// mid-stream has its partitions taken over with nothing lost, repeated or reordered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Contract, LeaseBucket } from '@cascade/nats';
import {
  startCascade,
  startCascadeService,
  startNatsServer,
  TestWsClient,
  uniquePrefix,
  type CascadeSystem,
  type NatsServerFixture,
  type ServiceProcess,
} from '@cascade/testing';
import {
  channel,
  checkChannel,
  checkExactlyOnce,
  checkPublisherOrder,
  instanceOf,
  leaseHolders,
  LiveWatch,
  publishLoad,
  readHistory,
  waitUntil,
  type Frame,
  type Mark,
} from './int-helpers.js';

// Short leases keep takeover quick in tests: renew every ~1.3 s, lapse after 4 s.
const LEASE_TTL_MS = 4000;
const env = { RT_LEASE_TTL: `${LEASE_TTL_MS}ms` };

let nats: NatsServerFixture;
const connections: NatsConnection[] = [];
const systems: CascadeSystem[] = [];
const extraWorkers: ServiceProcess[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
}, 60_000);

afterAll(async () => {
  await Promise.all(connections.map((c) => c.close()));
  await Promise.all(extraWorkers.map((w) => w.stop('SIGTERM', 5000)));
  await Promise.all(systems.map((s) => s.stop()));
  await nats?.stop();
});

async function natsConnection(): Promise<NatsConnection> {
  const nc = await connect({ servers: nats.url });
  connections.push(nc);
  return nc;
}

async function workers(prefix: string, count: number, edges: number): Promise<{ system: CascadeSystem; all: ServiceProcess[] }> {
  const system = await startCascade({ natsUrl: nats.url, prefix, edges, services: ['fan-out-worker'], env });
  systems.push(system);
  const more = await Promise.all(Array.from({ length: count - 1 }, () => startCascadeService('fan-out-worker', system.env)));
  extraWorkers.push(...more);
  return { system, all: [...system.services.get('fan-out-worker')!, ...more] };
}

async function wsClient(url: string): Promise<TestWsClient> {
  const c = await TestWsClient.connect(url);
  c.send({ t: 1 });
  await c.next((f) => f.t === 101);
  return c;
}

/** Waits until every partition has a lease and `owners` workers hold them, none more than its fair share. */
async function waitBalanced(bucket: LeaseBucket, contract: Contract, owners: number, timeoutMs: number): Promise<string[]> {
  let holders: Array<string | undefined> = [];
  await waitUntil(
    `all partitions held by ${owners} workers, balanced`,
    async () => {
      holders = await leaseHolders(bucket, contract.partitions);
      const shares = [...new Set(holders)].map((h) => holders.filter((x) => x === h).length);
      return holders.every((h) => h !== undefined) && shares.length === owners && Math.max(...shares) <= Math.ceil(contract.partitions / owners);
    },
    timeoutMs,
  );
  return holders as string[];
}

describe('partitioned fan-out', () => {
  it('10,000 messages over 100 channels from several publishers reach every subscriber in order, gapless, once', async () => {
    const prefix = uniquePrefix();
    const contract = new Contract({ prefix, partitions: 16 });
    // Two workers to start with; a third joins mid-stream, so partitions change hands under load.
    const { system } = await workers(prefix, 2, 1);
    const nc = await natsConnection();
    const channels = Array.from({ length: 100 }, (_, i) => channel(`load-${i}`));
    const live = new LiveWatch(nc, contract);
    await nc.flush();

    // WebSocket subscribers through the edge, on ten channels.
    const wsSubscribers = await Promise.all([0, 1].map(() => wsClient(system.edges[0]!.url)));
    for (const [k, s] of wsSubscribers.entries()) {
      for (let i = 0; i < 5; i++) {
        s.send({ t: 2, id: i + 1, ch: channels[k * 5 + i] });
        await s.next((f) => f.t === 102 && f.id === i + 1);
      }
    }

    const published = new Map<string, Mark[]>();
    const started = Date.now();
    // Two WebSocket publishers (100 messages each, on the WebSocket-watched channels) and
    // four JetStream publishers (2,450 each) at the same time: 10,000 in all.
    const wsPublishers = await Promise.all([0, 1].map(() => wsClient(system.edges[0]!.url)));
    const viaWs = wsPublishers.map(async (c, k) => {
      const name = `ws${k}`;
      for (let i = 0; i < 100; i++) {
        const ch = channels[(i + k) % 10]!;
        published.set(ch, [...(published.get(ch) ?? []), { p: name, i }]);
        c.send({ t: 4, id: i + 1, ch, data: { p: name, i } });
        const reply = await c.next((f) => (f.t === 102 || f.t === 106) && f.id === i + 1, 10_000);
        expect(reply.t).toBe(102);
      }
    });
    const viaJs = await Promise.all([0, 1, 2, 3].map(() => natsConnection()));
    const joining = (async () => {
      await waitUntil('a quarter of the stream live', () => live.total >= 2500, 30_000);
      extraWorkers.push(await startCascadeService('fan-out-worker', system.env));
    })();
    await Promise.all([
      joining,
      ...viaWs,
      ...viaJs.map((c, k) => publishLoad({ nc: c, contract, name: `js-${k}`, channels, count: 2450, published })),
    ]);
    const publishedMs = Date.now() - started;
    const total = [...published.values()].reduce((n, l) => n + l.length, 0);
    expect(total).toBe(10_000);

    try {
      await waitUntil('every message live', () => channels.every((ch) => live.distinct(ch) === (published.get(ch)?.length ?? 0)), 60_000);
    } catch (e) {
      const missing = channels.filter((ch) => live.distinct(ch) !== published.get(ch)!.length);
      const info = missing.map((ch) => `${ch}(p${contract.partitionOf(ch)}): ${live.distinct(ch)}/${published.get(ch)!.length}`);
      const logs = [...system.services.get('fan-out-worker')!, ...extraWorkers].map((w) =>
        w.output().split('\n').filter((l) => /"level":(40|50)|partition/.test(l)).slice(-40).join('\n'),
      );
      throw new Error(`${(e as Error).message}\nmissing: ${info.join(', ')}\n${logs.join('\n---\n')}`);
    }
    const deliveredMs = Date.now() - started;

    const received = new Map<string, Mark[]>();
    let repeats = 0;
    for (const ch of channels) {
      const r = checkChannel(ch, live.byChannel.get(ch) ?? []);
      checkPublisherOrder(ch, r.marks);
      received.set(ch, r.marks);
      repeats += r.repeats;
    }
    checkExactlyOnce(published, received);

    // The WebSocket subscribers see the same per-channel sequences.
    for (const [k, s] of wsSubscribers.entries()) {
      for (let i = 0; i < 5; i++) {
        const ch = channels[k * 5 + i]!;
        const want = published.get(ch)!.length;
        await waitUntil(`${ch} on the WebSocket`, () => s.frames.filter((f: any) => f.t === 103 && f.ch === ch).length >= want, 20_000);
        const frames = s.frames.filter((f: any) => f.t === 103 && f.ch === ch).map((f: any) => ({ ...f, bytes: Buffer.from(JSON.stringify(f)) }) as Frame);
        expect(checkChannel(ch, frames).marks).toEqual(received.get(ch));
      }
    }

    const holders = await waitBalanced(await LeaseBucket.open(nc, await jetstreamManager(nc), contract), contract, 3, 20_000);
    const share = [...new Set(holders)].map((h) => holders.filter((x) => x === h).length).sort();
    const losses = [...system.services.get('fan-out-worker')!, ...extraWorkers]
      .flatMap((w) => w.output().split('\n'))
      .filter((l) => l.includes('"msg":"lost partition"'))
      .map((l) => /"why":"([^"]+)"/.exec(l)?.[1]);
    console.log(
      `[fan-out 10k] published in ${publishedMs} ms, all live after ${deliveredMs} ms ` +
        `(${Math.round(10_000 / (deliveredMs / 1000))} msg/s), repeats dropped: ${repeats}, partitions per worker: ${share.join('/')}, ` +
        `leases lost: ${losses.length} ${JSON.stringify([...new Set(losses)].map((w) => [w, losses.filter((x) => x === w).length]))}`,
    );
    await Promise.all([...wsSubscribers, ...wsPublishers].map((c) => c.close()));
    live.stop();
  }, 120_000);

  it('a worker killed with SIGKILL mid-stream: another takes over its partitions, nothing lost, repeated or reordered', async () => {
    const prefix = uniquePrefix();
    const contract = new Contract({ prefix, partitions: 16 });
    const { all } = await workers(prefix, 2, 0);
    const nc = await natsConnection();
    const bucket = await LeaseBucket.open(nc, await jetstreamManager(nc), contract);
    await waitBalanced(bucket, contract, 2, 30_000);
    const [victim, survivor] = all as [ServiceProcess, ServiceProcess];
    const survivorId = instanceOf(survivor.output());

    const channels = Array.from({ length: 30 }, (_, i) => channel(`kill-${i}`));
    const live = new LiveWatch(nc, contract);
    await nc.flush();
    const published = new Map<string, Mark[]>();
    const publishers = await Promise.all([0, 1, 2].map(() => natsConnection()));
    // ~3,000 messages spread over several seconds, so the kill lands mid-stream.
    const publishing = Promise.all(
      publishers.map((c, k) => publishLoad({ nc: c, contract, name: `pub-${k}`, channels, count: 1000, window: 50, pauseMs: 60, published })),
    );
    await waitUntil('a third of the stream live', () => live.total >= 1000, 30_000);
    const killedAt = Date.now();
    await victim.kill();
    await waitUntil(
      'the survivor to hold every partition',
      async () => (await leaseHolders(bucket, contract.partitions)).every((h) => h === survivorId),
      LEASE_TTL_MS + 15_000,
    );
    const takeoverMs = Date.now() - killedAt;
    await publishing;
    await waitUntil('every message live', () => channels.every((ch) => live.distinct(ch) === published.get(ch)!.length), 30_000);

    // History is the record: per channel gapless 1..N, each message once, publisher order kept.
    const history = await readHistory(nc, contract);
    let repeats = 0;
    for (const ch of channels) {
      const frames = history.get(ch) ?? [];
      expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i + 1));
      const stored = checkChannel(ch, frames);
      checkPublisherOrder(ch, stored.marks);
      // Live agrees with history, message for message; repeats are identical and dropped.
      const shown = checkChannel(ch, live.byChannel.get(ch) ?? []);
      expect(shown.marks).toEqual(stored.marks);
      repeats += shown.repeats;
    }
    checkExactlyOnce(published, new Map(channels.map((ch) => [ch, checkChannel(ch, history.get(ch)!).marks])));
    const health = JSON.parse((await nc.request(contract.service('fanout', 'health'))).string()) as Record<string, unknown>;
    console.log(
      `[fan-out kill -9] takeover of all partitions ${takeoverMs} ms after the kill (lease TTL ${LEASE_TTL_MS} ms), ` +
        `repeats dropped: ${repeats}, survivor: stored ${health.stored}, recognised as already stored ${health.redelivered}`,
    );
    expect(takeoverMs).toBeLessThan(LEASE_TTL_MS + 10_000);

    // A worker stopped with SIGTERM drains, hands its leases back and exits cleanly.
    expect(await survivor.stop('SIGTERM', 10_000)).toEqual({ code: 0, signal: null });
    expect((await leaseHolders(bucket, contract.partitions)).every((h) => h === undefined)).toBe(true);
    live.stop();
  }, 120_000);
});

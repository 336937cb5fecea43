// The fan-out worker against a real nats-server: backends publish with a plain NATS client,
// malformed ingest messages are set aside without blocking the stream, and a worker killed
// with SIGKILL is replaced by one that continues the channel's numbering.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { headers, type Msg } from '@nats-io/nats-core';
import { jetstream } from '@nats-io/jetstream';
import { Contract } from '@cascade/nats';
import type { ChannelName } from '@cascade/protocol';
import {
  startCascade,
  startCascadeService,
  startNatsServer,
  TestWsClient,
  uniquePrefix,
  type CascadeSystem,
  type NatsServerFixture,
} from '@cascade/testing';
import { channel } from './int-helpers.js';

const prefix = uniquePrefix();
const contract = new Contract({ prefix, partitions: 16 });
let nats: NatsServerFixture;
let system: CascadeSystem;
let nc: NatsConnection;

const ch = channel;

beforeAll(async () => {
  const m = contract.serverMapping();
  nats = await startNatsServer({ config: `mappings {\n  "${m.from}": "${m.to}"\n}\n` });
  // A short lease TTL: the replacement of a killed worker waits for its leases to lapse.
  system = await startCascade({ natsUrl: nats.url, prefix, edges: 1, services: ['fan-out-worker'], env: { RT_LEASE_TTL: '3s' } });
  nc = await connect({ servers: nats.url });
}, 90_000);

afterAll(async () => {
  await nc?.close();
  await system?.stop();
  await nats?.stop();
});

async function subscriber(channel: string): Promise<TestWsClient> {
  const c = await TestWsClient.connect(system.edges[0]!.url);
  c.send({ t: 1 });
  await c.next((f) => f.t === 101);
  c.send({ t: 2, id: 1, ch: channel });
  await c.next((f) => f.id === 1);
  return c;
}

/** Collects the live frames the worker emits on a channel, straight from NATS. */
function liveFrames(channel: ChannelName): { frames: Msg[]; stop(): void } {
  const frames: Msg[] = [];
  const sub = nc.subscribe(contract.live(channel), { callback: (_e, m) => void frames.push(m) });
  return { frames, stop: () => sub.unsubscribe() };
}

describe('fan-out worker', () => {
  it('delivers what a backend publishes with a plain NATS client, through the mapping or the ingest subject', async () => {
    const s = await subscriber('alerts');
    nc.publish(`${prefix}.pub.alerts`, encode({ level: 'warn' }));
    const h = headers();
    h.set('Rt-From', 'billing-service');
    await jetstream(nc).publish(contract.ingest(ch('alerts')), encode('direct'), { headers: h });
    const first = await s.next((f) => f.t === 103, 10_000);
    const second = await s.next((f) => f.t === 103, 10_000);
    expect(first).toMatchObject({ seq: 1, data: { level: 'warn' } });
    expect(first.from).toBeUndefined();
    expect(second).toMatchObject({ seq: 2, data: 'direct', from: 'billing-service' });
    await s.close();
  });

  it('sets aside malformed ingest messages and keeps delivering the rest in order', async () => {
    const s = await subscriber('mixed');
    const js = jetstream(nc);
    await js.publish(contract.ingest(ch('mixed')), encode('before'));
    await js.publish(contract.ingest(ch('mixed')), new TextEncoder().encode('not msgpack at all'));
    const wrongPartition = (contract.partitionOf(ch('mixed')) + 1) % 16;
    await js.publish(`${prefix}.in.${wrongPartition}.mixed`, encode('misrouted'));
    await js.publish(contract.ingest(ch('mixed')), encode('after'));
    const a = await s.next((f) => f.t === 103, 10_000);
    const b = await s.next((f) => f.t === 103, 10_000);
    expect([a.seq, a.data, b.seq, b.data]).toEqual([1, 'before', 2, 'after']);
    await new Promise((r) => setTimeout(r, 300));
    expect(s.frames.filter((f) => (f as { t: number }).t === 103)).toHaveLength(2);
    await s.close();
  });

  it('a worker started after one was killed with SIGKILL continues the numbering', async () => {
    const channel = ch('ledger');
    const watch = liveFrames(channel);
    const js = jetstream(nc);
    for (let i = 1; i <= 5; i++) await js.publish(contract.ingest(channel), encode(i));
    const until = Date.now() + 10_000;
    while (watch.frames.length < 5 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const [worker] = system.services.get('fan-out-worker')!;
    await worker!.kill();
    // Published while no worker runs: stored in the ingest stream, delivered when one is back.
    for (let i = 6; i <= 10; i++) await js.publish(contract.ingest(channel), encode(i));
    const replacement = await startCascadeService('fan-out-worker', system.env);
    try {
      const until2 = Date.now() + 15_000;
      while (watch.frames.length < 10 && Date.now() < until2) await new Promise((r) => setTimeout(r, 20));
      const { decode } = await import('@msgpack/msgpack');
      const frames = watch.frames.map((m) => decode(m.data) as { seq: number; data: number; ep: string });
      // Every sequence once, in order, one epoch; a redelivered frame may repeat a seq, never skip or fork one.
      const bySeq = new Map(frames.map((f) => [f.seq, f.data]));
      expect([...bySeq.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect([...bySeq.values()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(new Set(frames.map((f) => f.ep)).size).toBe(1);
    } finally {
      watch.stop();
      await replacement.stop();
    }
  });
});

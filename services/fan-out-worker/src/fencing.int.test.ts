// Fencing and leases against a real nats-server: a writer with a stale view of a channel
// (a worker whose lease lapsed but which still runs, or a second worker beside the owner)
// cannot fork the channel's numbering, and the lease bucket admits one owner at a time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Contract, LeaseBucket, defaultStreamSettings, ensureContract } from '@cascade/nats';
import type { ChannelName } from '@cascade/protocol';
import { startNatsServer, uniquePrefix, type NatsServerFixture } from '@cascade/testing';
import { JetStreamHistoryLog } from './history-log.js';
import { channel, checkChannel, ingestMessage, readHistory, waitUntil } from './int-helpers.js';
import { PartitionLease, leaseTimings } from './lease.js';
import { ChannelPositions } from './positions.js';
import { Sequencer } from './sequencer.js';

const LEASE_TTL_MS = 1500;
const contract = new Contract({ prefix: uniquePrefix(), partitions: 4 });
let nats: NatsServerFixture;
let nc: NatsConnection;
let jsm: JetStreamManager;
let history: JetStreamHistoryLog;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
  await ensureContract(nc, jsm, contract, { ...defaultStreamSettings, leaseTtlMs: LEASE_TTL_MS });
  history = new JetStreamHistoryLog(nc, jsm, contract);
}, 60_000);

afterAll(async () => {
  history?.close();
  await nc?.close();
  await nats?.stop();
});

const msg = (ch: ChannelName, p: string, i: number) => ingestMessage(ch, { p, i });
const quiet = { streamRepublishes: true, emit: () => undefined };

async function storedSeqs(ch: ChannelName): Promise<number[]> {
  return ((await readHistory(nc, contract)).get(ch) ?? []).map((f) => f.seq);
}

describe('fencing', () => {
  it('a writer with a stale position is refused by the fence and, re-reading history, appends at the next seq', async () => {
    const ch = channel('fenced');
    const owner = new Sequencer(history, quiet, new ChannelPositions());
    await owner.sequence(msg(ch, 'owner', 1));
    const staleView = await history.head(ch);
    await owner.sequence(msg(ch, 'owner', 2));
    await owner.sequence(msg(ch, 'owner', 3));

    // The raw append from the stale position: the fence refuses it.
    const frame = encode({ t: 103, ch, seq: 2, ep: staleView.epoch, data: 'fork' });
    const forked = await history.append(ch, { seq: 2, epoch: staleView.epoch, ts: 0, frame, dedupeId: 'in:fork' }, staleView.lastStored);
    expect(forked).toEqual({ kind: 'conflict' });

    // A second worker whose cache still holds that stale position.
    const positions = new ChannelPositions();
    positions.set(ch, staleView);
    const stale = new Sequencer(history, quiet, positions);
    expect(await stale.sequence(msg(ch, 'stale', 1))).toMatchObject({ kind: 'stored', seq: 4 });
    expect(await storedSeqs(ch)).toEqual([1, 2, 3, 4]);
  });

  it('two writers racing from the same stale position never give one seq twice', async () => {
    const ch = channel('race');
    await new Sequencer(history, quiet, new ChannelPositions()).sequence(msg(ch, 'seed', 0));
    const start = await history.head(ch);
    const writer = (name: string) => {
      const positions = new ChannelPositions();
      positions.set(ch, start);
      const s = new Sequencer(history, quiet, positions);
      return (async () => {
        for (let i = 1; i <= 20; i++) {
          const m = msg(ch, name, i);
          // 'contended' means the other writer kept winning: try again, as the worker does.
          while ((await s.sequence(m)).kind === 'contended');
        }
      })();
    };
    await Promise.all([writer('a'), writer('b')]);
    const frames = (await readHistory(nc, contract)).get(ch)!;
    expect(frames.map((f) => f.seq)).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
    const { marks } = checkChannel(ch, frames);
    expect(new Set(marks.map((m) => `${m.p}#${m.i}`)).size).toBe(41);
  });

  it('a worker whose lease lapsed writes nothing, even with a fresh position', async () => {
    const ch = channel('lapsed');
    const lease = new PartitionLease(contract.partitionOf(ch), leaseTimings(LEASE_TTL_MS));
    lease.acquired(1, Date.now() - LEASE_TTL_MS);
    const s = new Sequencer(history, quiet, new ChannelPositions(), () => lease.owns(Date.now()));
    expect(await s.sequence(msg(ch, 'late', 1))).toEqual({ kind: 'not-owner' });
    expect(await storedSeqs(ch)).toEqual([]);
  });
});

describe('partition leases in the KV bucket', () => {
  it('admit one owner; renewal needs the current revision; a lapsed or dropped lease can be claimed', async () => {
    const a = await LeaseBucket.open(nc, jsm, contract);
    const b = await LeaseBucket.open(nc, jsm, contract);
    const revA = await a.claim(1, 'worker-a');
    expect(revA).toBeGreaterThan(0);
    expect(await b.claim(1, 'worker-b')).toBeUndefined();
    expect(await b.holder(1)).toEqual({ owner: 'worker-a', revision: revA });

    const renewed = await a.renew(1, 'worker-a', revA!);
    expect(renewed).toBeGreaterThan(revA!);
    // A renewal from a stale revision (a worker that missed a write) fails the CAS.
    expect(await a.renew(1, 'worker-a', revA!)).toBeUndefined();

    // worker-a stops renewing (it died): after the TTL, worker-b's claim succeeds.
    const lapsedAt = Date.now();
    let revB: number | undefined;
    await waitUntil('the lease to lapse', async () => (revB = await b.claim(1, 'worker-b')) !== undefined, LEASE_TTL_MS + 5000);
    expect(Date.now() - lapsedAt).toBeGreaterThan(LEASE_TTL_MS / 2);
    // The old owner, back from a pause, cannot renew what it held.
    expect(await a.renew(1, 'worker-a', renewed!)).toBeUndefined();

    // Dropping frees the partition at once, and only the dropper's own revision is touched.
    await a.drop(renewed!);
    expect((await b.holder(1))?.owner).toBe('worker-b');
    await b.drop(revB!);
    expect(await b.holder(1)).toBeUndefined();
    expect((await a.snapshot()).taken.has(1)).toBe(false);
    expect(await a.claim(1, 'worker-a')).toBeGreaterThan(0);
  });
});

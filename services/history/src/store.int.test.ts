// The JetStream history store against a real nats-server: long ranges streamed through a
// consumer come back complete, ascending and exactly once although other channels'
// messages lie between them in the stream; trimmed and deleted messages are simply
// missing; no consumer outlives a read, whether it succeeded, failed or ran out of time;
// a channel without history has no bounds. Messages are written straight to the history
// subjects, as a fan-out worker stores them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, encode } from '@msgpack/msgpack';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { headers, type Subscription } from '@nats-io/nats-core';
import { Contract, Header, defaultStreamSettings, ensureStream, historyStreamConfig } from '@cascade/nats';
import { parseChannel, type ChannelName } from '@cascade/protocol';
import { startNatsServer, uniquePrefix, type NatsServerFixture } from '@cascade/testing';
import { ConsumerReader } from './consumer-read.js';
import type { StoredFrame } from './query.js';
import { JetStreamHistoryStore } from './store.js';

/** Messages retained per channel in this file's stream. */
const KEEP = 1500;
const EPOCH = 'e-store-test';

let nats: NatsServerFixture;
let nc: NatsConnection;
let jsm: JetStreamManager;
let js: JetStreamClient;
let contract: Contract;
let store: JetStreamHistoryStore;
let creates: Subscription;
let created = 0;
let gets: Subscription;
let got = 0;
const stores: JetStreamHistoryStore[] = [];

function channel(name: string): ChannelName {
  const p = parseChannel(name);
  if (!p.ok) throw new Error(p.reason);
  return p.channel.name;
}

function newStore(o: ConstructorParameters<typeof JetStreamHistoryStore>[3] = {}): JetStreamHistoryStore {
  const s = new JetStreamHistoryStore(nc, jsm, contract, o);
  stores.push(s);
  return s;
}

type Row = [ch: string, seq: number] | [ch: string, seq: number, 'no-seq-header'];

/** Appends the rows in this order (one connection keeps publish order); returns each one's stream sequence. */
async function append(rows: Row[]): Promise<number[]> {
  const acks = rows.map(([ch, seq, bad]) => {
    const h = headers();
    if (bad === undefined) h.set(Header.Seq, String(seq));
    h.set(Header.Epoch, EPOCH);
    return js.publish(contract.history(channel(ch)), encode({ t: 103, ch, seq, ep: EPOCH }), { headers: h });
  });
  return (await Promise.all(acks)).map((a) => a.seq);
}

/** Checks frames against their seqs, and returns the seqs. */
function seqsOf(ch: string, got: StoredFrame[]): number[] {
  for (const f of got) {
    expect(f.epoch).toBe(EPOCH);
    expect(decode(f.frame)).toEqual({ t: 103, ch, seq: f.seq, ep: EPOCH });
  }
  return got.map((f) => f.seq);
}

const span = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function consumerCount(): Promise<number> {
  return (await jsm.streams.info(contract.historyStream)).state.consumer_count;
}

/** Consumer creates seen on the history stream so far (the API requests themselves). */
async function createsSeen(): Promise<number> {
  await nc.flush();
  return created;
}

/** STREAM.MSG.GET requests seen on the history stream so far. */
async function getsSeen(): Promise<number> {
  await nc.flush();
  return got;
}

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url, noAsyncTraces: true });
  jsm = await jetstreamManager(nc);
  js = jetstream(nc);
  contract = new Contract({ prefix: uniquePrefix(), partitions: 16 });
  await ensureStream(jsm, historyStreamConfig(contract, { ...defaultStreamSettings, historyMaxMsgsPerChannel: KEEP }));
  creates = nc.subscribe(`$JS.API.CONSUMER.CREATE.${contract.historyStream}.>`, { callback: () => void created++ });
  gets = nc.subscribe(`$JS.API.STREAM.MSG.GET.${contract.historyStream}`, { callback: () => void got++ });
  store = newStore();
}, 60_000);

afterAll(async () => {
  for (const s of stores) s.close();
  creates?.unsubscribe();
  gets?.unsubscribe();
  await nc?.close();
  await nats?.stop();
});

describe('long ranges', () => {
  const LONG = 'long:a';
  const N = 1200;

  beforeAll(async () => {
    // Between most of the channel's messages lie others', none to two of them: its stream
    // sequences have gaps of every size, and some of its messages are adjacent.
    const rows: Row[] = [];
    for (let i = 1; i <= N; i++) {
      rows.push([LONG, i]);
      if (i % 2 === 0) rows.push(['long:b', i / 2]);
      if (i % 3 === 0) rows.push(['long:c', i / 3]);
    }
    await append(rows);
  }, 60_000);

  it('returns every message of a 1,200-message range once, in order, through one consumer that is gone afterwards', async () => {
    const [createsBefore, getsBefore] = [await createsSeen(), await getsSeen()];
    expect(seqsOf(LONG, await store.range(channel(LONG), 1, N))).toEqual(span(1, N));
    expect(await createsSeen()).toBe(createsBefore + 1);
    // The consumer brought the range: the gets only found its ends.
    expect((await getsSeen()) - getsBefore).toBeLessThan(10);
    expect(await consumerCount()).toBe(0);
  });

  it('starts and ends inside the history, and clamps to what exists', async () => {
    expect(seqsOf(LONG, await store.range(channel(LONG), 150, 1049))).toEqual(span(150, 1049));
    expect(seqsOf(LONG, await store.range(channel(LONG), 1000, 99_999))).toEqual(span(1000, N));
    expect(await store.range(channel(LONG), N + 1, N + 500)).toEqual([]);
    expect(await consumerCount()).toBe(0);
  });

  it('reads a short range with gets, creating no consumer', async () => {
    const before = await createsSeen();
    expect(seqsOf(LONG, await store.range(channel(LONG), 600, 631))).toEqual(span(600, 631));
    expect(seqsOf(LONG, await store.range(channel(LONG), N - 3, N + 3))).toEqual(span(N - 3, N));
    expect(await createsSeen()).toBe(before);
  });

  it('continues over many pulls when each brings only part of the range', async () => {
    // Each frame with its subject and headers takes about 150 bytes: some 25 per pull.
    const small = newStore({ pullBytes: 4096 });
    const getsBefore = await getsSeen();
    expect(seqsOf(LONG, await small.range(channel(LONG), 2, N - 1))).toEqual(span(2, N - 1));
    expect((await getsSeen()) - getsBefore).toBeLessThan(30);
    expect(await consumerCount()).toBe(0);
  });

  it('streams every message when every range goes through a consumer', async () => {
    const always = newStore({ streamAbove: 0 });
    expect(seqsOf(LONG, await always.range(channel(LONG), 700, 702))).toEqual([700, 701, 702]);
    expect(seqsOf(LONG, await always.range(channel(LONG), N - 1, N))).toEqual([N - 1, N]);
    expect(await consumerCount()).toBe(0);
  });
});

describe('trimmed and missing messages', () => {
  it('returns only the retained messages of a range whose start was trimmed', async () => {
    const ch = 'trim:a';
    const rows: Row[] = [];
    for (let i = 1; i <= KEEP + 200; i++) rows.push([ch, i], ['trim:b', i]);
    await append(rows);
    expect(await store.bounds(channel(ch))).toEqual({ epoch: EPOCH, first: 201, last: KEEP + 200 });
    expect(seqsOf(ch, await store.range(channel(ch), 1, KEEP + 200))).toEqual(span(201, KEEP + 200));
    expect(seqsOf(ch, await store.range(channel(ch), 100, 400))).toEqual(span(201, 400));
    expect(await store.range(channel(ch), 1, 200)).toEqual([]);
    expect(await consumerCount()).toBe(0);
  });

  it('leaves out deleted messages, also at the end of the range, without waiting for them', async () => {
    const ch = 'gone:a';
    const rows: Row[] = [];
    for (let i = 1; i <= 200; i++) rows.push([ch, i], ['gone:b', i]);
    const stored = (await append(rows)).filter((_, i) => i % 2 === 0); // the channel's own, by seq - 1
    const gone = [...span(50, 59), ...span(111, 120)];
    for (const seq of gone) await jsm.streams.deleteMessage(contract.historyStream, stored[seq - 1]!, false);
    const kept = (from: number, to: number) => span(from, to).filter((s) => !gone.includes(s));
    expect(seqsOf(ch, await store.range(channel(ch), 1, 200))).toEqual(kept(1, 200));
    expect(seqsOf(ch, await store.range(channel(ch), 1, 120))).toEqual(kept(1, 120));
    expect(seqsOf(ch, await store.range(channel(ch), 45, 115))).toEqual(kept(45, 115));
    expect(await consumerCount()).toBe(0);
  });

  it('a consumer read stops when the consumer has nothing more, short of what was asked', async () => {
    const ch = 'dry:a';
    const stored = await append(span(1, 10).map((i): Row => [ch, i]));
    const reader = new ConsumerReader(nc, jsm, contract.historyStream, { pullBytes: 1 << 20, inactiveMs: 30_000 });
    const got: number[] = [];
    // Asks for 100 with a deadline far off: it must come back with the 10 there are, not fail at the deadline.
    await reader.read(contract.history(channel(ch)), stored[0]!, 100, Date.now() + 20_000, (m) => {
      got.push(m.stored);
      return true;
    });
    expect(got).toEqual(stored);
    expect(await consumerCount()).toBe(0);
  });
});

describe('no consumer outlives a read', () => {
  const ch = 'fail:a';

  beforeAll(async () => {
    const rows: Row[] = [];
    for (let i = 1; i <= 300; i++) rows.push(i === 150 ? [ch, i, 'no-seq-header'] : [ch, i], ['fail:b', i]);
    await append(rows);
  });

  it('when a streamed message is not a valid history message', async () => {
    const before = await createsSeen();
    await expect(store.range(channel(ch), 1, 300)).rejects.toThrow(/lacks valid Rt-Seq/);
    expect(await createsSeen()).toBe(before + 1);
    expect(await consumerCount()).toBe(0);
  });

  it('when the read runs out of time', async () => {
    // A budget of 0 ms is spent before the first pull, whatever the machine's speed.
    const late = newStore({ readTimeoutMs: 0 });
    const before = await createsSeen();
    await expect(late.range(channel(ch), 1, 140)).rejects.toThrow(/out of time/);
    expect(await createsSeen()).toBe(before + 1);
    expect(await consumerCount()).toBe(0);
  });
});

describe('bounds', () => {
  it('has none for a channel without history, and reads nothing from it', async () => {
    expect(await store.bounds(channel('empty:never'))).toBeNull();
    expect(await store.bounds(channel('user:nobody'))).toBeNull();
    expect(await store.range(channel('empty:never'), 1, 1000)).toEqual([]);
  });

  it("tells a channel's oldest and newest retained seq", async () => {
    await append(span(1, 3).map((i): Row => ['bounds:a', i]));
    expect(await store.bounds(channel('bounds:a'))).toEqual({ epoch: EPOCH, first: 1, last: 3 });
  });
});

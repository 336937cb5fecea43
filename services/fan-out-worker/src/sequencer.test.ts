import { decode, encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { Contract } from '@cascade/nats';
import type { ChannelName } from '@cascade/protocol';
import type { AppendResult, HistoryEntry, HistoryLog } from './history-log.js';
import { readIngest, type IngestMessage, type RawIngest } from './ingest.js';
import { ChannelPositions, type ChannelPosition } from './positions.js';
import { Sequencer, type LiveOutput } from './sequencer.js';

/** An in-memory HistoryLog with the same fence and dedupe guarantees as the JetStream one. */
class MemoryLog implements HistoryLog {
  entries: Array<{ channel: string; entry: HistoryEntry; stored: number }> = [];
  private epochs = 0;
  head = async (channel: ChannelName): Promise<ChannelPosition> => {
    const last = this.entries.filter((e) => e.channel === channel).at(-1);
    return last ? { epoch: last.entry.epoch, seq: last.entry.seq, lastStored: last.stored } : { epoch: `ep${++this.epochs}`, seq: 0, lastStored: 0 };
  };
  append = async (channel: ChannelName, entry: HistoryEntry, expectedLast: number): Promise<AppendResult> => {
    const dup = this.entries.find((e) => e.entry.dedupeId === entry.dedupeId);
    if (dup) return { kind: 'duplicate', stored: dup.stored, frame: dup.entry.frame };
    const last = this.entries.filter((e) => e.channel === channel).at(-1);
    if ((last?.stored ?? 0) !== expectedLast) return { kind: 'conflict' };
    const stored = this.entries.length + 1;
    this.entries.push({ channel, entry, stored });
    return { kind: 'stored', stored };
  };
}

class Live implements LiveOutput {
  frames: Array<{ channel: string; frame: any; excludeClient?: string | undefined }> = [];
  constructor(public streamRepublishes = false) {}
  emit(channel: string, frame: Uint8Array, excludeClient?: string) {
    this.frames.push({ channel, frame: decode(frame), excludeClient });
  }
}

let ingestSeq = 0;
const msg = (channel: string, data: unknown, extra: Partial<IngestMessage> = {}): IngestMessage => ({
  channel: channel as ChannelName,
  payload: encode(data),
  from: 'alice',
  key: undefined,
  excludeClient: undefined,
  ts: 1000,
  ingestSeq: ++ingestSeq,
  ...extra,
});

describe('Sequencer', () => {
  it('numbers each channel from 1 without gaps and emits the stored frame live', async () => {
    const log = new MemoryLog();
    const live = new Live();
    const s = new Sequencer(log, live, new ChannelPositions());
    for (let i = 0; i < 5; i++) {
      await s.sequence(msg('a', i));
      await s.sequence(msg('b', `b${i}`));
    }
    const a = live.frames.filter((f) => f.channel === 'a').map((f) => f.frame);
    expect(a.map((f) => f.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(a.map((f) => f.data)).toEqual([0, 1, 2, 3, 4]);
    expect(a[0]).toEqual({ t: 103, ch: 'a', seq: 1, ep: a[0].ep, ts: 1000, from: 'alice', data: 0 });
    expect(live.frames.filter((f) => f.channel === 'b').map((f) => f.frame.seq)).toEqual([1, 2, 3, 4, 5]);
    // Live bytes are the stored bytes.
    expect(decode(log.entries[0]!.entry.frame)).toEqual(live.frames[0]!.frame);
  });

  it('continues the numbering of history when its cache is empty (a restarted worker)', async () => {
    const log = new MemoryLog();
    await new Sequencer(log, new Live(), new ChannelPositions()).sequence(msg('a', 1));
    const live = new Live();
    await new Sequencer(log, live, new ChannelPositions()).sequence(msg('a', 2));
    expect(live.frames[0]!.frame.seq).toBe(2);
  });

  it('re-reads history when another writer moved the channel on, and never forks it', async () => {
    const log = new MemoryLog();
    const positions = new ChannelPositions();
    const live = new Live();
    const s = new Sequencer(log, live, positions);
    await s.sequence(msg('a', 1));
    // Another writer appends seq 2 behind this worker's back.
    await new Sequencer(log, new Live(), new ChannelPositions()).sequence(msg('a', 'other'));
    const r = await s.sequence(msg('a', 3));
    expect(r).toMatchObject({ kind: 'stored', seq: 3 });
    expect(log.entries.map((e) => e.entry.seq)).toEqual([1, 2, 3]);
  });

  it('recognises a redelivered message, stores nothing and re-emits the stored frame', async () => {
    const log = new MemoryLog();
    const live = new Live();
    const s = new Sequencer(log, live, new ChannelPositions());
    const m = msg('a', 'x');
    await s.sequence(m);
    expect(await s.sequence(m)).toEqual({ kind: 'redelivered' });
    expect(log.entries).toHaveLength(1);
    expect(live.frames.map((f) => f.frame.seq)).toEqual([1, 1]);
    expect(await s.sequence(msg('a', 'y'))).toMatchObject({ kind: 'stored', seq: 2 });
  });

  it('writes nothing once the partition is no longer owned', async () => {
    const log = new MemoryLog();
    const live = new Live();
    let owner = true;
    const s = new Sequencer(log, live, new ChannelPositions(), () => owner);
    await s.sequence(msg('a', 1));
    owner = false;
    expect(await s.sequence(msg('a', 2))).toEqual({ kind: 'not-owner' });
    expect(log.entries).toHaveLength(1);
    expect(live.frames).toHaveLength(1);
  });

  it('stores the excluded connection with the message and emits it with the live frame', async () => {
    const log = new MemoryLog();
    const live = new Live();
    await new Sequencer(log, live, new ChannelPositions()).sequence(msg('a', 1, { excludeClient: 'c7' }));
    expect(log.entries[0]!.entry.excludeClient).toBe('c7');
    expect(live.frames[0]!.excludeClient).toBe('c7');
  });

  it('leaves a stored message to the stream when it republishes, and still emits a redelivered one', async () => {
    const log = new MemoryLog();
    const live = new Live(true);
    const s = new Sequencer(log, live, new ChannelPositions());
    const m = msg('a', 'x', { excludeClient: 'c1' });
    let acks = 0;
    expect(await s.sequence(m, () => acks++)).toMatchObject({ kind: 'stored', seq: 1 });
    // Stored, so ackable; the stream sent it live (with the stored exclude id), not us.
    expect(acks).toBe(1);
    expect(live.frames).toEqual([]);
    expect(log.entries[0]!.entry.excludeClient).toBe('c1');
    // A redelivery is not stored again, so the stream does not republish it: we emit the stored bytes.
    expect(await s.sequence(m, () => acks++)).toEqual({ kind: 'redelivered' });
    expect(acks).toBe(2);
    expect(live.frames).toEqual([{ channel: 'a', frame: expect.objectContaining({ seq: 1, data: 'x' }), excludeClient: 'c1' }]);
    // The mode is read at every append: once it says the stream lost RePublish, the next append is emitted.
    live.streamRepublishes = false;
    expect(await s.sequence(msg('a', 'y'))).toMatchObject({ kind: 'stored', seq: 2 });
    expect(live.frames.map((f) => f.frame.seq)).toEqual([1, 2]);
  });

  it('acks nothing and emits nothing for an append the fence refused', async () => {
    const log = new MemoryLog();
    log.append = async () => ({ kind: 'conflict' });
    const live = new Live();
    let acks = 0;
    expect(await new Sequencer(log, live, new ChannelPositions()).sequence(msg('a', 1), () => acks++)).toEqual({ kind: 'contended' });
    expect([acks, live.frames.length]).toEqual([0, 0]);
  });

  it('gives up with contended when the fence keeps failing', async () => {
    const log = new MemoryLog();
    log.append = async () => ({ kind: 'conflict' });
    expect(await new Sequencer(log, new Live(), new ChannelPositions()).sequence(msg('a', 1))).toEqual({ kind: 'contended' });
  });
});

describe('ChannelPositions', () => {
  it('evicts the least recently used channel beyond its capacity', () => {
    const p = new ChannelPositions(2);
    p.set('a', { epoch: 'e', seq: 1, lastStored: 1 });
    p.set('b', { epoch: 'e', seq: 1, lastStored: 2 });
    p.get('a');
    p.set('c', { epoch: 'e', seq: 1, lastStored: 3 });
    expect(p.get('b')).toBeUndefined();
    expect(p.get('a')).toBeDefined();
    expect(p.size).toBe(2);
  });
});

describe('readIngest', () => {
  const c = new Contract({ prefix: 'rt', partitions: 8 });
  const raw = (o: Partial<RawIngest> & { headers?: Record<string, string> }): RawIngest => ({
    subject: c.ingest('news' as ChannelName),
    data: encode({ x: 1 }),
    header: (n) => o.headers?.[n],
    ingestSeq: 5,
    timestampMs: 1234,
    ...o,
  });

  it('reads a well-formed ingest message', () => {
    expect(readIngest(c, raw({ headers: { 'Rt-From': 'bob', 'Rt-Key': 'k1' } }))).toEqual({
      ok: true,
      message: { channel: 'news', payload: encode({ x: 1 }), from: 'bob', key: 'k1', excludeClient: undefined, ts: 1234, ingestSeq: 5 },
    });
  });

  it.each([
    ['a subject outside the contract', { subject: 'rt.hist.news' }],
    ['a channel in the wrong partition', { subject: `rt.in.${(c.partitionOf('news' as ChannelName) + 1) % 8}.news` }],
    ['an invalid channel', { subject: 'rt.in.0.bad$name' }],
    ['an empty payload', { data: new Uint8Array() }],
    ['a payload that is not one msgpack value', { data: new TextEncoder().encode('hello world') }],
    ['a bad sender header', { headers: { 'Rt-From': 'has space' } }],
    ['a bad key header', { headers: { 'Rt-Key': 'k'.repeat(200) } }],
  ])('refuses %s', (_what, o) => {
    expect(readIngest(c, raw(o)).ok).toBe(false);
  });
});

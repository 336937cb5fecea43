import { describe, expect, it } from 'vitest';
import { ErrorCode, type ChannelName } from '@cascade/protocol';
import { HistoryQuery, checkContinuation, type ChannelBounds, type HistoryStore, type StoredFrame } from './query.js';

/** Retained messages first..last of one epoch; frame bytes = [seq]. */
class MemoryStore implements HistoryStore {
  constructor(private readonly b: ChannelBounds | null) {}
  ranges: Array<[number, number]> = [];
  async bounds(): Promise<ChannelBounds | null> {
    return this.b;
  }
  async range(_ch: ChannelName, from: number, to: number): Promise<StoredFrame[]> {
    this.ranges.push([from, to]);
    if (!this.b) return [];
    const out: StoredFrame[] = [];
    for (let s = Math.max(from, this.b.first); s <= Math.min(to, this.b.last); s++) out.push({ seq: s, epoch: this.b.epoch, frame: new Uint8Array([s]) });
    return out;
  }
}

const ch = 'chat:x' as ChannelName;
const seqs = (msgs: Uint8Array[]) => msgs.map((m) => m[0]);

describe('checkContinuation', () => {
  const pos = { ep: 'e1', seq: 50, first: 11 };
  it('accepts a position inside the retained range of the current epoch', () => {
    expect(checkContinuation(pos, 'e1', 10)).toBeUndefined();
    expect(checkContinuation(pos, 'e1', 30)).toBeUndefined();
    expect(checkContinuation(pos, 'e1', 50)).toBeUndefined();
  });
  it('refuses another epoch, an aged-out position and one ahead of the head, with the current position', () => {
    for (const [ep, seq] of [['e0', 30], ['e1', 9], ['e1', 51]] as const) {
      expect(checkContinuation(pos, ep, seq)).toMatchObject({ ok: false, code: ErrorCode.RecoveryImpossible, ep: 'e1', seq: 50, first: 11 });
    }
  });
  it('treats seq 0 as "from the start": fine on an empty channel or a fully retained epoch', () => {
    expect(checkContinuation({ ep: '', seq: 0, first: 0 }, 'old', 0)).toBeUndefined();
    expect(checkContinuation({ ep: 'e1', seq: 5, first: 1 }, '', 0)).toBeUndefined();
    expect(checkContinuation(pos, '', 0)).toMatchObject({ code: ErrorCode.RecoveryImpossible });
    expect(checkContinuation({ ep: '', seq: 0, first: 0 }, 'old', 7)).toMatchObject({ code: ErrorCode.RecoveryImpossible, ep: '', seq: 0 });
  });
});

describe('HistoryQuery', () => {
  const store = () => new MemoryStore({ epoch: 'e1', first: 11, last: 50 });

  it('reports the position of a channel and of an empty one', async () => {
    expect(await new HistoryQuery(store()).position(ch)).toEqual({ ok: true, ep: 'e1', seq: 50, first: 11 });
    expect(await new HistoryQuery(new MemoryStore(null)).position(ch)).toEqual({ ok: true, ep: '', seq: 0, first: 0 });
  });

  it('reads forward in pages, from the oldest retained by default', async () => {
    const q = new HistoryQuery(store());
    const p1 = await q.read({ ch, limit: 15 });
    expect(p1.ok && seqs(p1.msgs)).toEqual(Array.from({ length: 15 }, (_, i) => 11 + i));
    expect(p1.ok && p1.next).toBe(26);
    const p2 = await q.read({ ch, from: 40, limit: 15 });
    expect(p2.ok && seqs(p2.msgs)).toEqual(Array.from({ length: 11 }, (_, i) => 40 + i));
    expect(p2.ok && p2.next).toBeUndefined();
    const past = await q.read({ ch, from: 51 });
    expect(past).toEqual({ ok: true, ep: 'e1', seq: 50, first: 11, msgs: [] });
  });

  it('reads backward from the newest, newest first, with the next page below', async () => {
    const q = new HistoryQuery(store());
    const p1 = await q.read({ ch, dir: 'back', limit: 3 });
    expect(p1.ok && seqs(p1.msgs)).toEqual([50, 49, 48]);
    expect(p1.ok && p1.next).toBe(47);
    const last = await q.read({ ch, dir: 'back', from: 12, limit: 10 });
    expect(last.ok && seqs(last.msgs)).toEqual([12, 11]);
    expect(last.ok && last.next).toBeUndefined();
  });

  it('continues a resume position and refuses one that cannot be continued', async () => {
    const q = new HistoryQuery(store());
    const ok = await q.read({ ch, ep: 'e1', from: 21, limit: 5 });
    expect(ok.ok && seqs(ok.msgs)).toEqual([21, 22, 23, 24, 25]);
    expect(await q.read({ ch, ep: 'e1', from: 5 })).toMatchObject({ ok: false, code: ErrorCode.RecoveryImpossible, ep: 'e1', seq: 50 });
    expect(await q.read({ ch, ep: 'zz', from: 21 })).toMatchObject({ ok: false, code: ErrorCode.RecoveryImpossible, ep: 'e1', seq: 50 });
    const upToDate = await q.read({ ch, ep: 'e1', from: 51 });
    expect(upToDate).toEqual({ ok: true, ep: 'e1', seq: 50, first: 11, msgs: [] });
  });

  it('refuses a continuation when the start was trimmed between bounds and range', async () => {
    const racing: HistoryStore = {
      bounds: async () => ({ epoch: 'e1', first: 11, last: 50 }),
      range: async () => [{ seq: 30, epoch: 'e1', frame: new Uint8Array([30]) }],
    };
    expect(await new HistoryQuery(racing).read({ ch, ep: 'e1', from: 21 })).toMatchObject({ ok: false, code: ErrorCode.RecoveryImpossible });
  });
});

describe('HistoryQuery byte bound', () => {
  it('cuts a page at the byte bound (at least one message) and points to the rest', async () => {
    const q = new HistoryQuery(new MemoryStore({ epoch: 'e1', first: 1, last: 10 }), 3);
    const fwd = await q.read({ ch, limit: 10 });
    expect(fwd.ok && seqs(fwd.msgs)).toEqual([1, 2, 3]);
    expect(fwd.ok && fwd.next).toBe(4);
    const back = await q.read({ ch, dir: 'back', limit: 10 });
    expect(back.ok && seqs(back.msgs)).toEqual([10, 9, 8]);
    expect(back.ok && back.next).toBe(7);
    const one = await new HistoryQuery(new MemoryStore({ epoch: 'e1', first: 1, last: 10 }), 0).read({ ch, limit: 10 });
    expect(one.ok && seqs(one.msgs)).toEqual([1]);
  });
});

import { describe, expect, it } from 'vitest';
import { PositionTracker } from './position.js';

const m = (seq: number, ep = 'e1') => ({ ep, seq });
const seqs = (xs: { seq: number }[]) => xs.map((x) => x.seq);

describe('PositionTracker', () => {
  it('takes the first message as the baseline, whatever its seq, then delivers in order', () => {
    const t = new PositionTracker();
    expect(seqs(t.offer(m(41)).deliver)).toEqual([41]);
    expect(seqs(t.offer(m(42)).deliver)).toEqual([42]);
    expect(t.position).toEqual({ ep: 'e1', seq: 42 });
  });

  it('drops redeliveries (seq <= last in the same epoch), even after higher seqs', () => {
    const t = new PositionTracker({ ep: 'e1', seq: 5 });
    expect(t.offer(m(5)).duplicate).toBe(true);
    expect(t.offer(m(3)).duplicate).toBe(true);
    expect(seqs(t.offer(m(6)).deliver)).toEqual([6]);
    expect(t.offer(m(6))).toEqual({ deliver: [], duplicate: true });
  });

  it('holds messages past a gap, reports the missing range, and releases them in order once filled', () => {
    const t = new PositionTracker({ ep: 'e1', seq: 1 });
    expect(t.offer(m(4)).deliver).toEqual([]);
    expect(t.offer(m(5)).deliver).toEqual([]);
    expect(t.offer(m(4)).duplicate).toBe(true);
    expect(t.gap()).toEqual({ ep: 'e1', after: 1, upTo: 3 });
    expect(seqs(t.offer(m(2)).deliver)).toEqual([2]);
    expect(t.gap()).toEqual({ ep: 'e1', after: 2, upTo: 3 });
    expect(seqs(t.offer(m(3)).deliver)).toEqual([3, 4, 5]);
    expect(t.gap()).toBeUndefined();
    expect(t.position).toEqual({ ep: 'e1', seq: 5 });
  });

  it('skip gives the gap up: held messages are delivered in order and the position moves past the hole', () => {
    const t = new PositionTracker({ ep: 'e1', seq: 1 });
    t.offer(m(7));
    t.offer(m(5));
    expect(seqs(t.skip())).toEqual([5, 7]);
    expect(t.position).toEqual({ ep: 'e1', seq: 7 });
    expect(t.gap()).toBeUndefined();
  });

  it('reports an epoch change, delivering what it held of the old epoch first', () => {
    const t = new PositionTracker({ ep: 'e1', seq: 1 });
    t.offer(m(3));
    const r = t.offer(m(1, 'e2'));
    expect(r.deliver).toEqual([m(3), m(1, 'e2')]);
    expect(r.epochChanged).toEqual({ previous: { ep: 'e1', seq: 1 }, current: { ep: 'e2', seq: 1 } });
    expect(t.position).toEqual({ ep: 'e2', seq: 1 });
  });

  it('reset moves to a position the server names and releases what follows it', () => {
    const t = new PositionTracker({ ep: 'e1', seq: 1 });
    t.offer(m(9));
    t.offer(m(11));
    expect(seqs(t.reset({ ep: 'e1', seq: 8 }))).toEqual([9]);
    expect(t.gap()).toEqual({ ep: 'e1', after: 9, upTo: 10 });
    expect(seqs(t.reset(undefined))).toEqual([11]);
  });

  it('says when too much is held behind a gap', () => {
    const t = new PositionTracker({ ep: 'e1', seq: 0 }, 2);
    t.offer(m(2));
    t.offer(m(3));
    expect(t.overflowed).toBe(false);
    t.offer(m(4));
    expect(t.overflowed).toBe(true);
    expect(t.heldCount).toBe(3);
  });

  it('continues "before the first message" (seq 0) in whatever epoch comes, without calling it an epoch change', () => {
    const t = new PositionTracker({ ep: '', seq: 0 });
    const r = t.offer(m(1, 'e9'));
    expect([seqs(r.deliver), r.epochChanged]).toEqual([[1], undefined]);
    expect(t.position).toEqual({ ep: 'e9', seq: 1 });

    const gap = new PositionTracker({ ep: '', seq: 0 });
    expect(gap.offer(m(3, 'e9')).deliver).toEqual([]);
    expect(gap.gap()).toEqual({ ep: 'e9', after: 0, upTo: 2 });
    expect(seqs(gap.offer(m(1, 'e9')).deliver)).toEqual([1]);
    expect(seqs(gap.offer(m(2, 'e9')).deliver)).toEqual([2, 3]);
  });
});

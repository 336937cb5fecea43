import { describe, expect, it } from 'vitest';
import { encodeFrameWithPayload, encodeServerFrame, encodeValue, type ChannelName } from '@cascade/protocol';
import { framePosition } from './frame-position.js';
import { FrameRing, RecentFrames } from './ring.js';

const ch = 'chat:r' as ChannelName;
function messageFrame(seq: number, ep = 'e1', data: unknown = { n: seq }): Uint8Array {
  return encodeFrameWithPayload({ t: 103, ch, seq, ep, ts: 1_795_374_083_598, from: 'u1', key: undefined }, encodeValue(data));
}
const f = (seq: number, ep = 'e1') => ({ seq, ep, frame: messageFrame(seq, ep) });

describe('framePosition', () => {
  it('reads t, seq and ep of message frames without touching data', () => {
    expect(framePosition(messageFrame(7))).toEqual({ t: 103, seq: 7, ep: 'e1' });
    expect(framePosition(messageFrame(70_000, 'abcdef012345', { big: 'x'.repeat(5000) }))).toEqual({ t: 103, seq: 70_000, ep: 'abcdef012345' });
    expect(framePosition(messageFrame(2 ** 40))).toMatchObject({ seq: 2 ** 40 });
  });
  it('tells other frames apart and refuses what is not a map', () => {
    const eph = encodeFrameWithPayload({ t: 104, ch, ts: 1, from: 'u' }, encodeValue({ typing: true }));
    expect(framePosition(eph)).toEqual({ t: 104 });
    expect(framePosition(encodeServerFrame({ t: 105, ch, count: 2 }))).toEqual({ t: 105 });
    expect(framePosition(encodeValue([1, 2]))).toBeUndefined();
    expect(framePosition(new Uint8Array())).toBeUndefined();
    expect(framePosition(messageFrame(3).subarray(0, 12))).toBeUndefined();
  });
});

describe('FrameRing', () => {
  it('keeps the newest frames up to its capacity', () => {
    const r = new FrameRing(3);
    for (let s = 1; s <= 5; s++) r.push(f(s));
    expect([r.first, r.last, r.size, r.epoch]).toEqual([3, 5, 3, 'e1']);
    expect(r.after('e1', 2)!.map((x) => x.seq)).toEqual([3, 4, 5]);
    expect(r.after('e1', 4)!.map((x) => x.seq)).toEqual([5]);
    expect(r.after('e1', 5)).toEqual([]);
  });
  it('does not cover positions before its first frame, past its last, or of another epoch', () => {
    const r = new FrameRing(3);
    for (let s = 1; s <= 5; s++) r.push(f(s));
    expect(r.after('e1', 1)).toBeUndefined();
    expect(r.after('e1', 6)).toBeUndefined();
    expect(r.after('e0', 4)).toBeUndefined();
    expect(new FrameRing(2).after('e1', 0)).toBeUndefined();
  });
  it('ignores redelivered frames and restarts on a gap or a new epoch', () => {
    const r = new FrameRing(5);
    for (const s of [1, 2, 3, 2, 3]) r.push(f(s));
    expect([r.first, r.last]).toEqual([1, 3]);
    r.push(f(5));
    expect([r.first, r.last, r.size]).toEqual([5, 5, 1]);
    r.push(f(1, 'e2'));
    expect([r.first, r.last, r.epoch]).toEqual([1, 1, 'e2']);
  });
});

describe('RecentFrames', () => {
  it('splits the stream exactly at the tap: the ring before, the tap after', () => {
    const recent = new RecentFrames(10);
    for (let s = 1; s <= 4; s++) recent.record(ch, messageFrame(s));
    const tap = recent.tap(ch, { ep: 'e1', seq: 2 });
    expect(tap.covered!.map((x) => x.seq)).toEqual([3, 4]);
    recent.record(ch, messageFrame(5));
    recent.record(ch, encodeFrameWithPayload({ t: 104, ch, ts: 1, from: 'u' }, encodeValue(1)));
    expect(tap.take()!.position).toEqual({ t: 103, seq: 5, ep: 'e1' });
    expect(tap.take()!.position).toEqual({ t: 104 });
    expect(tap.take()).toBeUndefined();
    tap.close();
    recent.record(ch, messageFrame(6));
    expect(tap.take()).toBeUndefined();
  });
  it('drops a channel ring when the channel is idle, and keeps none with capacity 0', () => {
    const recent = new RecentFrames(10);
    recent.record(ch, messageFrame(1));
    expect(recent.channels).toBe(1);
    recent.drop(ch);
    expect(recent.tap(ch, { ep: 'e1', seq: 0 }).covered).toBeUndefined();
    const none = new RecentFrames(0);
    none.record(ch, messageFrame(1));
    expect(none.channels).toBe(0);
    const tap = none.tap(ch, { ep: 'e1', seq: 0 });
    none.record(ch, messageFrame(2));
    expect(tap.covered).toBeUndefined();
    expect(tap.take()!.position?.seq).toBe(2);
  });
});

describe('FrameRing byte bound', () => {
  it('evicts the oldest frames beyond its byte budget, keeping at least the newest', () => {
    const size = f(1).frame.length;
    const r = new FrameRing(100, size * 3);
    for (let s = 1; s <= 10; s++) r.push(f(s));
    expect([r.first, r.last, r.size]).toEqual([8, 10, 3]);
    expect(r.bytes).toBe(size * 3);
    const tiny = new FrameRing(100, 1);
    tiny.push(f(1));
    tiny.push(f(2));
    expect([tiny.first, tiny.last]).toEqual([2, 2]);
  });
});

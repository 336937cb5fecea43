// Token buckets with an injected clock: burst, refill, cap, and the bounded per-channel map.
import { describe, expect, it } from 'vitest';
import { KeyedBuckets, TokenBucket } from './rate-limit.js';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('TokenBucket', () => {
  it('allows the burst at once, then the sustained rate', () => {
    const c = clock();
    const b = new TokenBucket({ perSecond: 10, burst: 3 }, c.now);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    expect(b.waitMs).toBe(100);
    c.advance(99);
    expect(b.take()).toBe(false);
    c.advance(1);
    expect(b.take()).toBe(true);
    expect(b.take()).toBe(false);
  });

  it('never refills above the burst, and survives a clock stepping back', () => {
    const c = clock();
    const b = new TokenBucket({ perSecond: 100, burst: 2 }, c.now);
    c.advance(60_000);
    expect(b.idle).toBe(true);
    expect([b.take(), b.take(), b.take()]).toEqual([true, true, false]);
    c.advance(-5_000);
    expect(b.take()).toBe(false);
    c.advance(10);
    expect(b.take()).toBe(true);
  });

  it('refuses nonsense rates', () => {
    expect(() => new TokenBucket({ perSecond: 0, burst: 1 })).toThrow(RangeError);
    expect(() => new TokenBucket({ perSecond: 1, burst: 0 })).toThrow(RangeError);
  });
});

describe('KeyedBuckets', () => {
  it('limits each key separately', () => {
    const c = clock();
    const k = new KeyedBuckets({ perSecond: 1, burst: 2 }, 100, c.now);
    expect([k.take('a'), k.take('a'), k.take('a')]).toEqual([true, true, false]);
    expect(k.take('b')).toBe(true);
    c.advance(1000);
    expect(k.take('a')).toBe(true);
  });

  it('stays within maxKeys: idle buckets go first, then the least recently used', () => {
    const c = clock();
    const k = new KeyedBuckets({ perSecond: 1, burst: 1 }, 3, c.now);
    for (const key of ['a', 'b', 'c']) expect(k.take(key)).toBe(true);
    // All three are empty (busy): a fourth key evicts the least recently used, 'a'.
    expect(k.take('d')).toBe(true);
    expect(k.size).toBe(3);
    expect(k.take('b')).toBe(false);
    // 'a' starts over with a full bucket: bounded memory, at worst a little permissive.
    expect(k.take('a')).toBe(true);
    c.advance(5000);
    // Everything refilled: one sweep drops every idle bucket.
    expect(k.take('e')).toBe(true);
    expect(k.size).toBe(1);
  });
});

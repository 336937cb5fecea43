import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('draws each delay uniformly below an exponentially growing, capped ceiling (full jitter)', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, random: () => 0.999 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([99, 199, 399, 799, 999, 999]);
    expect(b.attempts).toBe(6);
  });

  it('can return zero (full jitter starts at 0) and starts small again after reset', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    b.next();
    b.next();
    expect(b.next()).toBe(0);
    b.reset();
    expect(b.cap()).toBe(100);
  });

  it('refuses nonsense settings', () => {
    expect(() => new Backoff({ initialMs: 0 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 100, maxMs: 50 })).toThrow(RangeError);
  });
});

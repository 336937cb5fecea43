import { describe, expect, it } from 'vitest';
import { ChannelRefcounts } from './refcounts.js';

describe('ChannelRefcounts', () => {
  it('reports the first acquire and the last release per channel', () => {
    const r = new ChannelRefcounts();
    expect(r.acquire('a')).toBe(true);
    expect(r.acquire('a')).toBe(false);
    expect(r.acquire('b')).toBe(true);
    expect(r.count('a')).toBe(2);
    expect(r.channels).toBe(2);
    expect(r.release('a')).toBe(false);
    expect(r.release('a')).toBe(true);
    expect(r.count('a')).toBe(0);
    expect(r.channels).toBe(1);
    expect(r.acquire('a')).toBe(true);
  });

  it('treats a release without an acquire as a bug', () => {
    expect(() => new ChannelRefcounts().release('nope')).toThrow(/no subscribers/);
  });
});

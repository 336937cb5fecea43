import { describe, expect, it } from 'vitest';
import type { ChannelName } from '@cascade/protocol';
import { DirectChannels, isDirectChannel } from './direct-channels.js';

const ch = (s: string) => s as ChannelName;

const holders = (d: DirectChannels<{ n: number }>, channel: string) => {
  const h = d.of(ch(channel));
  return h === undefined ? [] : Array.isArray(h) ? h.map((x) => x.n) : [(h as { n: number }).n];
};

describe('DirectChannels', () => {
  it('is for the personal namespace only', () => {
    expect(isDirectChannel(ch('user:42'))).toBe(true);
    expect(isDirectChannel(ch('user:42:inbox'))).toBe(true);
    expect(isDirectChannel(ch('users:42'))).toBe(false);
    expect(isDirectChannel(ch('chat:user:42'))).toBe(false);
  });

  it('keeps one holder without an array, several in join order, and forgets an emptied channel', () => {
    const d = new DirectChannels<{ n: number }>();
    const [a, b, c] = [{ n: 1 }, { n: 2 }, { n: 3 }];
    d.add(ch('user:u'), a);
    expect(d.of(ch('user:u'))).toBe(a);
    d.add(ch('user:u'), a);
    expect(d.count(ch('user:u'))).toBe(1);
    d.add(ch('user:u'), b);
    d.add(ch('user:u'), c);
    d.add(ch('user:u'), b);
    expect(holders(d, 'user:u')).toEqual([1, 2, 3]);
    // A copy: removing while going through it leaves it whole.
    const copy = d.copyOf(ch('user:u'));
    for (const h of copy) d.remove(ch('user:u'), h);
    expect(copy.map((h) => h.n)).toEqual([1, 2, 3]);
    expect(d.count(ch('user:u'))).toBe(0);
    for (const h of copy) d.add(ch('user:u'), h);
    expect(d.remove(ch('user:u'), b)).toBe(true);
    expect(d.remove(ch('user:u'), b)).toBe(false);
    expect(holders(d, 'user:u')).toEqual([1, 3]);
    expect(d.remove(ch('user:u'), a)).toBe(true);
    // Back to one holder: kept without the array again.
    expect(d.of(ch('user:u'))).toBe(c);
    expect(d.remove(ch('user:other'), c)).toBe(false);
    expect(d.remove(ch('user:u'), c)).toBe(true);
    expect(d.of(ch('user:u'))).toBeUndefined();
    expect([d.count(ch('user:u')), d.size]).toEqual([0, 0]);
  });
});

import { describe, expect, it } from 'vitest';
import { decodeServerFrame, type ChannelName } from '@cascade/protocol';
import { TokenBucket } from './budget.js';
import { ChannelPresenceBatcher } from './channel-frames.js';

const ch = (s: string) => s as ChannelName;
const decode = (bytes: Uint8Array) => {
  const d = decodeServerFrame(bytes);
  if (!d.ok) throw d.error;
  return d.frame;
};
const always = () => true;

describe('ChannelPresenceBatcher', () => {
  it('sends one frame per changed channel with joins, leaves and the count', () => {
    const counts = new Map([['room:1', 2], ['room:2', 0]]);
    const b = new ChannelPresenceBatcher(100, (c) => counts.get(c) ?? 0);
    b.join(ch('room:1'), 'u1', 'c1');
    b.join(ch('room:1'), 'u2', 'c2');
    b.leave(ch('room:2'), 'u3', 'c3');
    const out = b.flush(always);
    expect(out.map((f) => [f.ch, decode(f.frame)])).toEqual([
      ['room:1', { t: 105, ch: 'room:1', join: [{ user: 'u1', client: 'c1' }, { user: 'u2', client: 'c2' }], count: 2 }],
      ['room:2', { t: 105, ch: 'room:2', leave: [{ user: 'u3', client: 'c3' }], count: 0 }],
    ]);
    expect(b.flush(always)).toEqual([]);
  });

  it('cancels a join and a leave of the same user within one batch', () => {
    const b = new ChannelPresenceBatcher(100, () => 1);
    b.join(ch('room:1'), 'u1', 'c1');
    b.leave(ch('room:1'), 'u1', 'c1');
    b.leave(ch('room:2'), 'u2', 'c2');
    b.join(ch('room:2'), 'u2', 'c9');
    expect(b.flush(always)).toEqual([]);
    expect(b.backlog).toBe(0);
  });

  it('gives only the count for a large channel or a large batch', () => {
    const b = new ChannelPresenceBatcher(3, (c) => (c === 'big:1' ? 500 : 4));
    b.join(ch('big:1'), 'u1', 'c1');
    for (let i = 0; i < 10; i++) b.join(ch('wave:1'), `u${i}`, `c${i}`);
    b.leave(ch('wave:1'), 'u0', 'c0');
    const frames = b.flush(always).map((f) => decode(f.frame));
    expect(frames).toEqual([
      { t: 105, ch: 'big:1', count: 500 },
      { t: 105, ch: 'wave:1', count: 4 },
    ]);
  });

  it('keeps coalescing what the budget does not allow yet, oldest channel first', () => {
    const b = new ChannelPresenceBatcher(100, () => 1);
    b.join(ch('a'), 'u1', 'c1');
    b.join(ch('b'), 'u1', 'c1');
    b.join(ch('c'), 'u1', 'c1');
    let grant = 1;
    expect(b.flush(() => grant-- > 0).map((f) => f.ch)).toEqual(['a']);
    b.join(ch('b'), 'u2', 'c2');
    b.join(ch('a'), 'u3', 'c3');
    grant = 2;
    const out = b.flush(() => grant-- > 0);
    expect(out.map((f) => f.ch)).toEqual(['b', 'c']);
    expect(decode(out[0]!.frame)).toMatchObject({ join: [{ user: 'u1' }, { user: 'u2' }] });
    expect(b.flush(always).map((f) => f.ch)).toEqual(['a']);
  });
});

describe('TokenBucket', () => {
  it('grants a burst, then the rate', () => {
    const t = new TokenBucket(10, 5, 0);
    expect(Array.from({ length: 7 }, () => t.take(0)).filter(Boolean)).toHaveLength(5);
    expect(t.take(50)).toBe(false);
    expect(t.take(100)).toBe(true);
    expect(Array.from({ length: 20 }, () => t.take(10_000)).filter(Boolean)).toHaveLength(5);
    // A clock going backwards grants nothing extra.
    expect(t.take(0)).toBe(false);
  });
});

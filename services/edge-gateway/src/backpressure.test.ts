import { describe, expect, it } from 'vitest';
import { SlowConsumerSweep } from './backpressure.js';

describe('SlowConsumerSweep', () => {
  it('checks every connection once per cycle and closes those over the limit', () => {
    const buffered = new Map<string, number>(Array.from({ length: 10 }, (_, i) => [`c${i}`, i === 3 || i === 8 ? 5000 : 10]));
    const sockets = [...buffered.keys()];
    // Removal as the transport does it: the last one moves into the gap.
    const remove = (s: string) => {
      const i = sockets.indexOf(s);
      const last = sockets.pop()!;
      if (last !== s) sockets[i] = last;
    };
    const closed: string[] = [];
    const checked: string[] = [];
    const sweep = new SlowConsumerSweep<string>(
      {
        connections: () => sockets,
        bufferedBytes: (s) => {
          checked.push(s);
          return buffered.get(s)!;
        },
        closeSlow: (s) => {
          closed.push(s);
          remove(s);
        },
      },
      1000,
      5,
    );
    for (let i = 0; i < 5; i++) sweep.tick();
    expect(new Set(checked).size).toBe(10);
    expect(closed.sort()).toEqual(['c3', 'c8']);
  });

  it('copes with an empty node and with connections coming and going', () => {
    const sockets: number[] = [];
    const sweep = new SlowConsumerSweep<number>({ connections: () => sockets, bufferedBytes: () => 2, closeSlow: () => undefined }, 1, 4);
    expect(sweep.tick()).toBe(0);
    sockets.push(1, 2);
    expect(sweep.tick()).toBe(1);
    sockets.splice(0, 1);
    expect(sweep.tick() + sweep.tick()).toBeGreaterThanOrEqual(1);
  });
});

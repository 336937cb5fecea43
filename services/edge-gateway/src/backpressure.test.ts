import { describe, expect, it } from 'vitest';
import { SlowConsumerSweep } from './backpressure.js';

describe('SlowConsumerSweep', () => {
  it('checks every connection once per cycle and closes those over the limit', () => {
    const buffered = new Map<string, number>(Array.from({ length: 10 }, (_, i) => [`c${i}`, i === 3 || i === 8 ? 5000 : 10]));
    const sockets = new Set(buffered.keys());
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
          sockets.delete(s);
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
    const sockets = new Set<number>();
    const sweep = new SlowConsumerSweep<number>({ connections: () => sockets, bufferedBytes: () => 2, closeSlow: () => undefined }, 1, 4);
    expect(sweep.tick()).toBe(0);
    sockets.add(1).add(2);
    expect(sweep.tick()).toBe(1);
    sockets.delete(1);
    expect(sweep.tick() + sweep.tick()).toBeGreaterThanOrEqual(1);
  });
});

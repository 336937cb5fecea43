import { describe, expect, it } from 'vitest';
import { planPartitions, preference, type PartitionView } from './assignment.js';

const view = (o: Partial<PartitionView>): PartitionView => ({
  partitions: 16,
  self: 'w1',
  workers: 1,
  owned: new Set(),
  taken: new Set(),
  ...o,
});
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('planPartitions', () => {
  it('a lone worker claims every partition', () => {
    const plan = planPartitions(view({}));
    expect(plan.target).toBe(16);
    expect([...plan.acquire].sort((a, b) => a - b)).toEqual(range(16));
    expect(plan.release).toEqual([]);
  });

  it('aims for ceil(P / W) and never claims a taken partition', () => {
    const plan = planPartitions(view({ workers: 3, taken: new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]) }));
    expect(plan.target).toBe(6);
    expect([...plan.acquire].sort((a, b) => a - b)).toEqual([12, 13, 14, 15]);
  });

  it('gives up its surplus when a worker joins, least preferred first', () => {
    const owned = new Set(range(16));
    const plan = planPartitions(view({ workers: 2, owned, taken: owned }));
    expect(plan.target).toBe(8);
    expect(plan.acquire).toEqual([]);
    expect(plan.release).toHaveLength(8);
    const kept = range(16).filter((p) => !plan.release.includes(p));
    const worstKept = Math.min(...kept.map((p) => preference('w1', p)));
    expect(plan.release.every((p) => preference('w1', p) < worstKept)).toBe(true);
  });

  it('holds steady at its target', () => {
    const owned = new Set([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(planPartitions(view({ workers: 2, owned, taken: owned }))).toEqual({ target: 8, acquire: [], release: [] });
  });

  it('workers ranking the same free partitions mostly want different ones', () => {
    const first = (self: string) => planPartitions(view({ self, workers: 4 })).acquire;
    const picks = ['a', 'b', 'c', 'd'].map(first);
    const overlap = picks[0]!.filter((p) => picks[1]!.includes(p)).length;
    expect(overlap).toBeLessThan(4);
  });

  it('converges: simulated workers joining and leaving end with every partition owned once, balanced', () => {
    const owners = new Map<number, string>();
    const round = (workers: string[]) => {
      for (const self of workers) {
        const owned = new Set([...owners].filter(([, w]) => w === self).map(([p]) => p));
        const plan = planPartitions(view({ self, workers: workers.length, owned, taken: new Set(owners.keys()) }));
        for (const p of plan.release) owners.delete(p);
        for (const p of plan.acquire) owners.set(p, self);
      }
    };
    for (let i = 0; i < 3; i++) round(['a']);
    for (let i = 0; i < 3; i++) round(['a', 'b', 'c']);
    const counts = (ws: string[]) => ws.map((w) => [...owners.values()].filter((o) => o === w).length);
    expect(owners.size).toBe(16);
    expect(counts(['a', 'b', 'c']).every((n) => n <= 6 && n >= 4)).toBe(true);
    // 'b' dies: its leases lapse, the others take its partitions.
    for (const [p, w] of owners) if (w === 'b') owners.delete(p);
    for (let i = 0; i < 2; i++) round(['a', 'c']);
    expect(owners.size).toBe(16);
    expect(counts(['a', 'c'])).toEqual([8, 8]);
  });
});

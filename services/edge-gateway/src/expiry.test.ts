import { afterEach, describe, expect, it, vi } from 'vitest';
import { Expiries, type Expiring } from './expiry.js';

afterEach(() => {
  vi.useRealTimers();
});

function entry(log: string[], name: string): Expiring {
  return { expired: () => log.push(name) };
}

describe('Expiries', () => {
  it('calls each entry once its deadline passed, earliest first, on one timer', async () => {
    vi.useFakeTimers({ now: 1_000 });
    const e = new Expiries();
    const log: string[] = [];
    e.add(entry(log, 'b'), 3_000);
    e.add(entry(log, 'a'), 2_000);
    e.add(entry(log, 'a2'), 2_000);
    e.add(entry(log, 'c'), 5_000);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(log).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(log).toEqual(['a', 'a2']);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(log).toEqual(['a', 'a2', 'b']);
    expect(e.size).toBe(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(log).toEqual(['a', 'a2', 'b', 'c']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('forgets removed entries (a refresh moved them, the connection closed), and re-arms for an earlier one', async () => {
    vi.useFakeTimers({ now: 0 });
    const e = new Expiries();
    const log: string[] = [];
    const a = entry(log, 'a');
    e.add(a, 10_000);
    e.remove(a, 10_000);
    e.add(a, 20_000);
    e.add(entry(log, 'early'), 5_000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(log).toEqual(['early']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(log).toEqual(['early', 'a']);
    expect(e.size).toBe(0);
  });

  it('lets an entry add a new deadline while it is told, and waits past the longest timer', async () => {
    vi.useFakeTimers({ now: 0 });
    const e = new Expiries();
    const log: string[] = [];
    const again: Expiring = { expired: () => (log.push('once'), e.add(entry(log, 'twice'), 2_000)) };
    e.add(again, 1_000);
    const far = 2 ** 31 + 5_000;
    e.add(entry(log, 'far'), far);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(log).toEqual(['once', 'twice']);
    await vi.advanceTimersByTimeAsync(far - 2_000);
    expect(log).toEqual(['once', 'twice', 'far']);
  });
});

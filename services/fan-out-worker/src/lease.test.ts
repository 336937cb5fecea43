import { describe, expect, it } from 'vitest';
import { PartitionLease, leaseTimings } from './lease.js';

describe('PartitionLease', () => {
  const t = leaseTimings(9000);

  it('renews every third of the TTL', () => {
    expect(t).toEqual({ ttlMs: 9000, renewEveryMs: 3000 });
    expect(leaseTimings(1000).renewEveryMs).toBe(333);
  });

  it('is owned from acquisition until one renew interval before the earliest expiry', () => {
    const l = new PartitionLease(3, t);
    expect(l.owns(0)).toBe(false);
    l.acquired(7, 1000);
    expect(l.revision).toBe(7);
    expect(l.owns(1000)).toBe(true);
    // Expiry is at least 1000 + 9000; we stop at 10000 - 3000.
    expect(l.owns(6999)).toBe(true);
    expect(l.owns(7000)).toBe(false);
  });

  it('stays lost once the deadline was seen to pass, even if a late renewal lands', () => {
    const l = new PartitionLease(0, t);
    l.acquired(1, 0);
    expect(l.owns(6000)).toBe(false);
    // A renewal sent before the deadline, answered after a writer saw the lapse.
    l.renewed(2, 5999);
    expect(l.owns(6001)).toBe(false);
    expect(l.isHeld).toBe(false);
  });

  it('moves the deadline with every renewal, counted from when the renewal was sent', () => {
    const l = new PartitionLease(0, t);
    l.acquired(1, 0);
    l.renewed(5, 3000);
    expect(l.revision).toBe(5);
    expect(l.owns(8999)).toBe(true);
    expect(l.owns(9000)).toBe(false);
  });

  it('is not owned after it was lost, and a late renewal does not revive it', () => {
    const l = new PartitionLease(0, t);
    l.acquired(1, 0);
    l.lost();
    expect(l.owns(1)).toBe(false);
    l.renewed(2, 10);
    expect(l.owns(11)).toBe(false);
    expect(l.isHeld).toBe(false);
  });
});

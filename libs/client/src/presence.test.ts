import { describe, expect, it } from 'vitest';
import { presenceList } from './presence.js';

describe('presenceList', () => {
  it('keeps well-formed members, with count and partial on the array', () => {
    const l = presenceList({ members: [{ user: 'a', client: 'c1', extra: 1 }, { user: 2 }, null, { user: 'b', client: 'c2' }], count: 2 });
    expect([...l]).toEqual([{ user: 'a', client: 'c1' }, { user: 'b', client: 'c2' }]);
    expect([l.count, l.partial]).toEqual([2, false]);
  });

  it('a large channel: no entries, the count only; a missing count is the list length', () => {
    const big = presenceList({ count: 5000, partial: true });
    expect([big.length, big.count, big.partial]).toEqual([0, 5000, true]);
    expect(presenceList({ members: [{ user: 'a', client: 'c' }] }).count).toBe(1);
  });
});

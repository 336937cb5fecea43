import { describe, expect, it } from 'vitest';
import { SmallMap } from './small-map.js';

describe('SmallMap', () => {
  it('behaves like a Map while small and after it grew into one', () => {
    for (const n of [3, 20]) {
      const m = new SmallMap<string, number>();
      const ref = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        m.set(`k${i}`, i);
        ref.set(`k${i}`, i);
      }
      m.set('k1', 100);
      ref.set('k1', 100);
      expect(m.size).toBe(ref.size);
      for (const k of ['k0', 'k1', `k${n - 1}`, 'nope']) expect([m.has(k), m.get(k)]).toEqual([ref.has(k), ref.get(k)]);
      expect(m.delete('k0')).toBe(true);
      expect(m.delete('k0')).toBe(false);
      ref.delete('k0');
      expect(m.keys()).toEqual([...ref.keys()]);
      // keys() is a copy: deleting while going through it is safe.
      for (const k of m.keys()) m.delete(k);
      expect(m.size).toBe(0);
      m.set('x', 1);
      m.clear();
      expect([m.size, m.get('x')]).toEqual([0, undefined]);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { smallGet, smallHas, smallKeys, smallRemove, smallSet, smallSize, type SmallMap } from './small-map.js';

describe('SmallMap', () => {
  it('behaves like a Map while small and after it grew into one', () => {
    for (const n of [3, 20]) {
      let m: SmallMap<string, number> = undefined;
      const ref = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        m = smallSet(m, `k${i}`, i);
        ref.set(`k${i}`, i);
      }
      m = smallSet(m, 'k1', 100);
      ref.set('k1', 100);
      expect(m instanceof Map).toBe(n > 8);
      expect(smallSize(m)).toBe(ref.size);
      for (const k of ['k0', 'k1', `k${n - 1}`, 'nope']) expect([smallHas(m, k), smallGet(m, k)]).toEqual([ref.has(k), ref.get(k)]);
      m = smallRemove(m, 'k0');
      expect(smallHas(m, 'k0')).toBe(false);
      m = smallRemove(m, 'k0');
      ref.delete('k0');
      expect(smallKeys(m)).toEqual([...ref.keys()]);
      // keys are a copy: removing while going through them is safe.
      for (const k of smallKeys(m)) m = smallRemove(m, k);
      expect([smallSize(m), smallGet(m, 'k1')]).toEqual([0, undefined]);
    }
  });

  it('keeps the flat array exactly sized, and an empty map is nothing', () => {
    let m: SmallMap<string, number> = smallSet(undefined, 'a', 1);
    m = smallSet(m, 'b', 2);
    expect(m).toEqual(['a', 1, 'b', 2]);
    m = smallRemove(smallRemove(m, 'a'), 'b');
    expect(m).toBeUndefined();
  });
});

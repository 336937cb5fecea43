// A map for the few entries most connections hold (their subscriptions): one flat array of
// key, value pairs, sized exactly, until it holds more than a handful; then a Map. An empty or
// one-subscription connection costs a few dozen bytes instead of a Map and its hash table,
// which matters at hundreds of thousands of idle connections per node.
//
// It is a value, not an object around one: the owner keeps the SmallMap in a field of its own
// and stores back what `set` and `remove` return (an object around the array was 40 B more per
// connection).

/** Entries kept in the flat array; beyond this a Map takes over (lookups stay O(1)). */
const FLAT_MAX = 8;

/** [k0, v0, k1, v1, ...] while small, a Map when large, undefined when empty. */
export type SmallMap<K, V> = unknown[] | Map<K, V> | undefined;

export function smallSize<K, V>(m: SmallMap<K, V>): number {
  return m === undefined ? 0 : m instanceof Map ? m.size : m.length / 2;
}

export function smallGet<K, V>(m: SmallMap<K, V>, key: K): V | undefined {
  if (m instanceof Map) return m.get(key);
  if (m) for (let i = 0; i < m.length; i += 2) if (m[i] === key) return m[i + 1] as V;
  return undefined;
}

export function smallHas<K, V>(m: SmallMap<K, V>, key: K): boolean {
  if (m instanceof Map) return m.has(key);
  if (m) for (let i = 0; i < m.length; i += 2) if (m[i] === key) return true;
  return false;
}

/** `m` with `key` set to `value` (the same map, changed, or a new one). */
export function smallSet<K, V>(m: SmallMap<K, V>, key: K, value: V): SmallMap<K, V> {
  if (m instanceof Map) return m.set(key, value);
  if (m) {
    for (let i = 0; i < m.length; i += 2) {
      if (m[i] === key) {
        m[i + 1] = value;
        return m;
      }
    }
    if (m.length / 2 >= FLAT_MAX) {
      const map = new Map<K, V>();
      for (let i = 0; i < m.length; i += 2) map.set(m[i] as K, m[i + 1] as V);
      return map.set(key, value);
    }
  }
  // A new array of exactly the size needed: a push, and a spread too, would over-allocate
  // (V8 gives [...f, k, v] room for 20 elements); concat allocates the exact length.
  return m ? m.concat([key, value]) : [key, value];
}

/** `m` without `key` (the same map, changed, or a new one). */
export function smallRemove<K, V>(m: SmallMap<K, V>, key: K): SmallMap<K, V> {
  if (m instanceof Map) {
    m.delete(key);
    return m;
  }
  if (m) {
    for (let i = 0; i < m.length; i += 2) {
      if (m[i] !== key) continue;
      return m.length === 2 ? undefined : m.slice(0, i).concat(m.slice(i + 2));
    }
  }
  return m;
}

/** The keys now (a copy: the map may be changed while they are used). */
export function smallKeys<K, V>(m: SmallMap<K, V>): K[] {
  if (m instanceof Map) return [...m.keys()];
  const out: K[] = [];
  if (m) for (let i = 0; i < m.length; i += 2) out.push(m[i] as K);
  return out;
}

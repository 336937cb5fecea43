// A map for the few entries most connections hold (their subscriptions): one flat array of
// key, value pairs, sized exactly, until it holds more than a handful; then a Map. An empty or
// one-subscription connection costs a few dozen bytes instead of a Map and its hash table,
// which matters at hundreds of thousands of idle connections per node.

/** Entries kept in the flat array; beyond this a Map takes over (lookups stay O(1)). */
const FLAT_MAX = 8;

export class SmallMap<K, V> {
  /** [k0, v0, k1, v1, ...] while small; undefined when empty or when `map` is in use. */
  private flat: unknown[] | undefined;
  private map: Map<K, V> | undefined;

  get size(): number {
    return this.map ? this.map.size : (this.flat?.length ?? 0) / 2;
  }

  get(key: K): V | undefined {
    if (this.map) return this.map.get(key);
    const f = this.flat;
    if (f) for (let i = 0; i < f.length; i += 2) if (f[i] === key) return f[i + 1] as V;
    return undefined;
  }

  has(key: K): boolean {
    if (this.map) return this.map.has(key);
    const f = this.flat;
    if (f) for (let i = 0; i < f.length; i += 2) if (f[i] === key) return true;
    return false;
  }

  set(key: K, value: V): void {
    if (this.map) {
      this.map.set(key, value);
      return;
    }
    const f = this.flat;
    if (f) {
      for (let i = 0; i < f.length; i += 2) {
        if (f[i] === key) {
          f[i + 1] = value;
          return;
        }
      }
      if (f.length / 2 >= FLAT_MAX) {
        this.map = new Map<K, V>();
        for (let i = 0; i < f.length; i += 2) this.map.set(f[i] as K, f[i + 1] as V);
        this.map.set(key, value);
        this.flat = undefined;
        return;
      }
    }
    // A new array of exactly the size needed: a push, and a spread too, would over-allocate
    // (V8 gives [...f, k, v] room for 20 elements); concat allocates the exact length.
    this.flat = f ? f.concat([key, value]) : [key, value];
  }

  /** Removes `key`; true when it was there. */
  delete(key: K): boolean {
    if (this.map) return this.map.delete(key);
    const f = this.flat;
    if (!f) return false;
    for (let i = 0; i < f.length; i += 2) {
      if (f[i] !== key) continue;
      this.flat = f.length === 2 ? undefined : f.slice(0, i).concat(f.slice(i + 2));
      return true;
    }
    return false;
  }

  clear(): void {
    this.flat = undefined;
    this.map = undefined;
  }

  /** The keys now (a copy: the map may be changed while they are used). */
  keys(): K[] {
    if (this.map) return [...this.map.keys()];
    const f = this.flat;
    const out: K[] = [];
    if (f) for (let i = 0; i < f.length; i += 2) out.push(f[i] as K);
    return out;
  }
}

// Token expiry for every connection of a node with one timer: connections are kept in buckets
// by their exact expiry time (tokens issued together share one), and a single timer is armed
// for the earliest bucket. A setTimeout per connection would cost a Timeout object and a
// timer-list entry each, which adds up at hundreds of thousands of connections per node.
// The clock is injected, so the arithmetic is tested without waiting.

/** Something with a deadline; told when it passed (it checks whether it still applies). */
export interface Expiring {
  expired(): void;
}

/** setTimeout's largest delay (~24.8 days); later deadlines re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Expiries {
  private readonly buckets = new Map<number, Set<Expiring>>();
  /** The buckets' times, ascending. */
  private times: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires (Infinity when none is armed). */
  private armedFor = Number.POSITIVE_INFINITY;

  constructor(private readonly now: () => number = () => Date.now()) {}

  /** Entries waiting. */
  get size(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.size;
    return n;
  }

  /** Calls `x.expired()` once `at` (ms since the epoch) has passed, unless removed before. */
  add(x: Expiring, at: number): void {
    let bucket = this.buckets.get(at);
    if (!bucket) {
      this.buckets.set(at, (bucket = new Set()));
      this.times.splice(this.indexOf(at), 0, at);
    }
    bucket.add(x);
    if (at < this.armedFor) this.arm();
  }

  /** Forgets `x`'s deadline `at` (a refresh moved it, or the connection closed). */
  remove(x: Expiring, at: number): void {
    const bucket = this.buckets.get(at);
    if (!bucket?.delete(x) || bucket.size > 0) return;
    this.buckets.delete(at);
    this.times.splice(this.indexOf(at), 1);
    // An armed timer for an empty bucket finds nothing due and re-arms: no need to move it now.
  }

  /** First index whose time is >= `at`. */
  private indexOf(at: number): number {
    let lo = 0;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.times[mid]! < at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const next = this.times[0];
    this.armedFor = next ?? Number.POSITIVE_INFINITY;
    if (next === undefined) return;
    this.timer = setTimeout(() => this.fire(), Math.max(0, Math.min(next - this.now(), MAX_TIMER_MS)));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = this.now();
    while (this.times.length > 0 && this.times[0]! <= now) {
      const at = this.times.shift()!;
      const bucket = this.buckets.get(at);
      this.buckets.delete(at);
      // Each one may add or remove entries (a close removes, a late refresh adds): allowed.
      for (const x of bucket ?? []) x.expired();
    }
    if (this.timer === undefined) this.arm();
  }
}

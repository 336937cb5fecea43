// Token buckets for publish rates: one per connection, and one per channel per node kept in
// a bounded map. The clock is injected, so the arithmetic is tested without waiting.

export type Clock = () => number;

export interface Rate {
  /** Tokens added per second (sustained rate). */
  perSecond: number;
  /** Bucket size: how many may be spent at once after a quiet period. */
  burst: number;
}

/** A classic token bucket: starts full, refills continuously, never above `burst`. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: Rate,
    private readonly now: Clock = Date.now,
  ) {
    if (!(rate.perSecond > 0) || !(rate.burst >= 1)) throw new RangeError('a rate needs perSecond > 0 and burst >= 1');
    this.tokens = rate.burst;
    this.last = now();
  }

  /** Takes one token; false (and nothing taken) when the bucket is empty. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** True when the bucket is full again, i.e. indistinguishable from a fresh one. */
  get idle(): boolean {
    this.refill();
    return this.tokens >= this.rate.burst;
  }

  /** Milliseconds until one token is available (0 when one is). */
  get waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate.perSecond) * 1000);
  }

  private refill(): void {
    const t = this.now();
    // A clock that steps back (NTP) must not drain the bucket.
    const elapsed = Math.max(0, t - this.last);
    this.last = t;
    this.tokens = Math.min(this.rate.burst, this.tokens + (elapsed / 1000) * this.rate.perSecond);
  }
}

/**
 * One bucket per key (channel), at most `maxKeys` of them. A full bucket equals a fresh one,
 * so idle buckets are dropped first; when every bucket is busy the least recently used goes
 * (that key starts over with a full bucket: memory stays bounded, at worst a little permissive).
 */
export class KeyedBuckets {
  private readonly buckets = new Map<string, TokenBucket>();
  private nextSweep = 0;

  constructor(
    private readonly rate: Rate,
    private readonly maxKeys = 10_000,
    private readonly now: Clock = Date.now,
  ) {}

  take(key: string): boolean {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) this.evict();
      bucket = new TokenBucket(this.rate, this.now);
    } else {
      this.buckets.delete(key);
    }
    // Re-inserting keeps the map in least-recently-used order.
    this.buckets.set(key, bucket);
    return bucket.take();
  }

  get size(): number {
    return this.buckets.size;
  }

  private evict(): void {
    // A full sweep is O(keys): at most once a second, so a flood of new keys stays cheap.
    const t = this.now();
    if (t >= this.nextSweep) {
      this.nextSweep = t + 1000;
      for (const [key, bucket] of this.buckets) if (bucket.idle) this.buckets.delete(key);
    }
    while (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (oldest.done === true) break;
      this.buckets.delete(oldest.value);
    }
  }
}

// Latency histogram with log-linear buckets (16 per power of two, like HdrHistogram at ~6%
// precision): fixed size, so workers ship plain arrays to the parent and counts just add up.

const SUB_BITS = 4;
const SUB = 1 << SUB_BITS;
const LINEAR = 2 * SUB; // values below this (µs) get their own bucket
const MAX_EXP = 40;
export const BUCKETS = LINEAR + (MAX_EXP - SUB_BITS - 1) * SUB;

function indexOf(us: number): number {
  if (us < LINEAR) return us < 0 ? 0 : Math.floor(us);
  const v = Math.floor(us);
  const e = 31 - Math.clz32(v > 0x7fffffff ? 0x7fffffff : v);
  const sub = (v >>> (e - SUB_BITS)) & (SUB - 1);
  const i = LINEAR + (e - SUB_BITS - 1) * SUB + sub;
  return i < BUCKETS ? i : BUCKETS - 1;
}

/** The lowest value (µs) a bucket holds. */
function lowerBound(i: number): number {
  if (i < LINEAR) return i;
  const e = Math.floor((i - LINEAR) / SUB) + SUB_BITS + 1;
  const sub = (i - LINEAR) % SUB;
  return (SUB + sub) * 2 ** (e - SUB_BITS);
}

export class Histogram {
  readonly counts: Float64Array;
  total = 0;
  max = 0;

  constructor(counts?: ArrayLike<number>) {
    this.counts = new Float64Array(BUCKETS);
    if (counts !== undefined) this.add(counts);
  }

  recordUs(us: number): void {
    this.counts[indexOf(us)]! += 1;
    this.total += 1;
    if (us > this.max) this.max = us;
  }

  add(counts: ArrayLike<number>, max = 0): void {
    for (let i = 0; i < BUCKETS; i++) {
      const c = counts[i] ?? 0;
      this.counts[i]! += c;
      this.total += c;
    }
    if (max > this.max) this.max = max;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.max = 0;
  }

  /** The value (ms) below which fraction q of the samples lie; NaN when empty. */
  quantileMs(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      // The bucket's midpoint: its error is at most half a bucket (~3%).
      if (seen >= rank) return Math.min((lowerBound(i) + (lowerBound(i + 1) - lowerBound(i)) / 2) / 1000, this.max / 1000);
    }
    return this.max / 1000;
  }
}

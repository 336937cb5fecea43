// Ticker statistics, free of the DOM: delivery latency percentiles over the last N samples,
// and messages per second over a sliding time window.

/** The last `size` latency samples (ms); percentiles by nearest rank. */
export class LatencyWindow {
  private readonly samples: number[] = [];

  constructor(readonly size = 200) {}

  add(ms: number): void {
    if (!Number.isFinite(ms)) return;
    this.samples.push(ms);
    if (this.samples.length > this.size) this.samples.shift();
  }

  get count(): number {
    return this.samples.length;
  }

  /** The samples, oldest first (for a sparkline). */
  values(): readonly number[] {
    return this.samples;
  }

  /** Nearest-rank percentile (p in 0..100); undefined without samples. */
  percentile(p: number): number | undefined {
    if (this.samples.length === 0) return undefined;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const rank = Math.ceil((Math.min(100, Math.max(0, p)) / 100) * sorted.length);
    return sorted[Math.max(0, rank - 1)];
  }
}

/** Counts events in the last `windowMs` and reports them per second. */
export class RateMeter {
  private readonly times: number[] = [];

  constructor(readonly windowMs = 3_000) {}

  add(now: number): void {
    this.times.push(now);
    this.trim(now);
  }

  perSecond(now: number): number {
    this.trim(now);
    return (this.times.length * 1000) / this.windowMs;
  }

  private trim(now: number): void {
    const from = now - this.windowMs;
    let drop = 0;
    while (drop < this.times.length && this.times[drop]! <= from) drop++;
    if (drop > 0) this.times.splice(0, drop);
  }
}

/** SVG polyline points for a sparkline of `values` in a width × height box (max at the top). */
export function sparklinePoints(values: readonly number[], width: number, height: number): string {
  if (values.length === 0) return '';
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values
    .map((v, i) => `${(i * step).toFixed(1)},${(height - (Math.max(0, v) / max) * height).toFixed(1)}`)
    .join(' ');
}

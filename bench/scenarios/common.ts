// Small helpers the scenarios share: waiting and latency percentiles.
import type { Histogram } from '../load/histogram.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let pauseScale = 1;
/**
 * The quick run shortens the fixed pauses (warm-ups, settling before a memory reading, the
 * wait for a GC) by this factor; the waits that watch for deliveries to stop are not scaled.
 */
export function setPauseScale(scale: number): void {
  pauseScale = scale;
}
/** A fixed duration (a pause, a warm-up), shortened in the quick run. */
export const scaled = (ms: number) => Math.round(ms * pauseScale);
export const pause = (ms: number) => sleep(scaled(ms));

export interface LatencySummary {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export function summarize(h: Histogram): LatencySummary {
  return { samples: h.total, p50Ms: h.quantileMs(0.5), p99Ms: h.quantileMs(0.99), p999Ms: h.quantileMs(0.999), maxMs: h.max / 1000 };
}

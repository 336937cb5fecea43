// Small helpers the scenarios share: waiting and latency percentiles.
import type { Histogram } from '../load/histogram.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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

// Cascade's full pipeline latency: client publish → edge → JetStream RT_IN → fan-out worker
// (numbering, history) → core NATS → edge → subscribers, at fixed publish rates well below
// saturation, so the percentiles show the pipeline's own delay rather than queueing.
import { LoadGenerator } from '../load/generator.js';
import { nowUs } from '../load/payload.js';
import { GENERATOR_CORE, startTarget } from '../targets/targets.js';
import { sleep, summarize, type LatencySummary } from './common.js';

export interface PipelineRun extends LatencySummary {
  rate: number;
  subscribers: number;
  sent: number;
  deliveredRatio: number;
  publishErrors: number;
}

export async function runPipeline(o: { subscribers: number; rates: number[]; durationMs: number }): Promise<PipelineRun[]> {
  const t = await startTarget('cascade');
  const gen = new LoadGenerator(GENERATOR_CORE);
  try {
    const opened = await gen.subscribe(t.target, 'bench:pipeline', o.subscribers, 'Cascade pipeline');
    if (opened.failed > 0) throw new Error(`${opened.failed} subscribers failed: ${opened.errors.join('; ')}`);
    await gen.openPublisher(t.target, 'bench:pipeline');
    await gen.publish(50, 500);
    await sleep(500);
    const runs: PipelineRun[] = [];
    for (const rate of o.rates) {
      await sleep(500);
      await gen.reset(nowUs());
      const pub = await gen.publish(rate, o.durationMs);
      await sleep(1000);
      const d = await gen.deliveries();
      const run = { rate, subscribers: opened.opened, sent: pub.sent, deliveredRatio: d.delivered / (pub.sent * opened.opened), publishErrors: pub.errors, ...summarize(d.hist) };
      process.stdout.write(`    ${rate} pub/s: ${(run.deliveredRatio * 100).toFixed(1)}% delivered, p50 ${run.p50Ms.toFixed(2)} ms, p99 ${run.p99Ms.toFixed(2)} ms, p99.9 ${run.p999Ms.toFixed(2)} ms\n`);
      runs.push(run);
    }
    return runs;
  } finally {
    await gen.stop();
    await t.stop();
  }
}

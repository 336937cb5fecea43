// Cascade's full pipeline latency: client publish → edge → JetStream RT_IN → fan-out worker
// (numbering, history) → core NATS → edge → subscribers, at fixed publish rates well below
// saturation, so the percentiles show the pipeline's own delay rather than queueing. A NATS
// tap in the orchestrator reads the payload's send time from each copy on the way (the
// ingest subject, the history subject, the live subject), which splits the delay by hop.
// Two reference rows: the same path to a single subscriber (no fan-out cost), and raw
// uWebSockets.js fanning out to the same number of subscribers (what delivering to 1,000
// sockets and reading them on this machine costs without any pipeline: the floor).
//
// With many subscribers, a few of them (PROBES) sit in a receiver process of their own. The
// rest are read by the generator's workers, hundreds of sockets each on one core, so the last
// of 1,000 copies is read only after the 999 before it: that serial reading, an artifact of
// running every client on one machine, is part of the "all deliveries" percentiles. The
// probes are idle between messages, so no other socket's read comes first in their loop;
// they still share the generator's core with its other workers (and Cascade's NATS and
// worker), so their percentiles are nearer what a subscriber sees, not a clean measure of it.
// Both are reported.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { LoadGenerator } from '../load/generator.js';
import { Histogram } from '../load/histogram.js';
import { findT0, nowUs } from '../load/payload.js';
import { startProfiles, startTarget, type TargetName } from '../targets/targets.js';
import { pause, sleep, summarize, type LatencySummary } from './common.js';

export interface PipelineRun extends LatencySummary {
  /** 'cascade' (durable path) or 'uws' (the raw uWS floor). Absent in runs recorded before it existed: cascade. */
  target?: TargetName;
  rate: number;
  subscribers: number;
  sent: number;
  deliveredRatio: number;
  publishErrors: number;
  /** Cascade: latency from the send time to each copy seen on NATS (ingest stored, history appended, live emitted). */
  hops?: { ingest: LatencySummary; history: LatencySummary; live: LatencySummary };
  /** The probe subscribers' latency alone (among `subscribers`; a receiver process of their own). */
  probes?: LatencySummary & { count: number };
}

/** Subscribers, out of a large audience, read by a receiver process of their own (see the header). */
const PROBES = 20;
const probesFor = (subscribers: number) => (subscribers >= 100 ? PROBES : 0);

type Hop = 'ingest' | 'history' | 'live';

/** Subscribes to the system's ingest, history and live subjects and times each copy from its t0. */
async function tap(url: string, prefix: string): Promise<{ nc: NatsConnection; hist: Record<Hop, Histogram>; since: { us: number } }> {
  const nc = await connect({ servers: url, name: 'bench-pipeline-tap' });
  const hist: Record<Hop, Histogram> = { ingest: new Histogram(), history: new Histogram(), live: new Histogram() };
  const since = { us: Number.POSITIVE_INFINITY };
  for (const [hop, subject] of [
    ['ingest', `${prefix}.in.>`],
    ['history', `${prefix}.hist.>`],
    ['live', `${prefix}.live.>`],
  ] as const) {
    nc.subscribe(subject, {
      callback: (_e, m) => {
        const at = nowUs();
        const b = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
        const i = findT0(b, 0);
        if (i < 0) return;
        const t0 = b.readDoubleBE(i);
        if (t0 >= since.us) hist[hop].recordUs(at - t0);
      },
    });
  }
  await nc.flush();
  return { nc, hist, since };
}

async function measure(gen: LoadGenerator, target: TargetName, rate: number, subscribers: number, durationMs: number, taps?: Awaited<ReturnType<typeof tap>>): Promise<PipelineRun> {
  await pause(500);
  const since = nowUs();
  await gen.reset(since);
  if (taps) {
    for (const h of Object.values(taps.hist)) h.reset();
    taps.since.us = since;
  }
  const pub = await gen.publish(rate, durationMs);
  await sleep(1000);
  const d = await gen.deliveries();
  const probes = probesFor(subscribers) > 0 ? await gen.probeDeliveries() : undefined;
  const run: PipelineRun = {
    target,
    rate,
    subscribers,
    sent: pub.sent,
    deliveredRatio: d.delivered / Math.max(1, pub.sent * subscribers),
    publishErrors: pub.errors,
    ...summarize(d.hist),
    ...(taps ? { hops: { ingest: summarize(taps.hist.ingest), history: summarize(taps.hist.history), live: summarize(taps.hist.live) } } : {}),
    ...(probes ? { probes: { count: probesFor(subscribers), ...summarize(probes.hist) } } : {}),
  };
  const hops = run.hops ? ` (ingest p50 ${run.hops.ingest.p50Ms.toFixed(1)}, history ${run.hops.history.p50Ms.toFixed(1)}, live ${run.hops.live.p50Ms.toFixed(1)} ms)` : '';
  const probed = run.probes ? `; probes p50 ${run.probes.p50Ms.toFixed(2)} ms, p99 ${run.probes.p99Ms.toFixed(2)} ms` : '';
  process.stdout.write(
    `    ${target} ${rate} pub/s → ${subscribers}: ${(run.deliveredRatio * 100).toFixed(1)}% delivered, p50 ${run.p50Ms.toFixed(2)} ms, p99 ${run.p99Ms.toFixed(2)} ms, p99.9 ${run.p999Ms.toFixed(2)} ms${hops}${probed}\n`,
  );
  return run;
}

async function open(gen: LoadGenerator, t: Awaited<ReturnType<typeof startTarget>>, ch: string, n: number, label: string): Promise<void> {
  const probes = probesFor(n);
  const opened = await gen.subscribe(t.target, ch, n - probes, label);
  if (opened.failed > 0) throw new Error(`${opened.failed} subscribers failed: ${opened.errors.join('; ')}`);
  if (probes > 0) await gen.openProbes(t.target, ch, probes);
  await gen.openPublisher(t.target, ch);
  await gen.publish(50, 500);
  await pause(500);
}

export async function runPipeline(gen: LoadGenerator, o: { subscribers: number; rates: number[]; durationMs: number; baseline: boolean }): Promise<PipelineRun[]> {
  const runs: PipelineRun[] = [];
  const t = await startTarget('cascade');
  const taps = await tap(t.nats!.url, t.nats!.prefix);
  startProfiles(t);
  try {
    // The path alone: one subscriber.
    await open(gen, t, 'bench:pipeline-one', 1, 'Cascade pipeline, 1 subscriber');
    runs.push(await measure(gen, 'cascade', o.rates[0]!, 1, o.durationMs, taps));
    await gen.closeAll();
    await open(gen, t, 'bench:pipeline', o.subscribers, 'Cascade pipeline');
    for (const rate of o.rates) runs.push(await measure(gen, 'cascade', rate, o.subscribers, o.durationMs, taps));
  } finally {
    await taps.nc.close();
    await gen.closeAll();
    await t.stop();
  }
  if (o.baseline) {
    const u = await startTarget('uws');
    try {
      await open(gen, u, 'bench:pipeline', o.subscribers, 'raw uWS floor');
      runs.push(await measure(gen, 'uws', o.rates[0]!, o.subscribers, o.durationMs));
    } finally {
      await gen.closeAll();
      await u.stop();
    }
  }
  return runs;
}

// Broadcast fan-out: one channel, N subscribers, one publisher of 100-byte messages. The
// publish rate doubles each step until a system falls behind: fewer than 95% of the expected
// deliveries arrive by the end of the step plus a short drain, or p99 latency passes the
// limit. The last step it passed is its sustained rate.
import { LoadGenerator } from '../load/generator.js';
import { nowUs } from '../load/payload.js';
import { cpuSeconds, rssBytes } from '../system/proc.js';
import { LABELS, startProfiles, startTarget, type RunningTarget, type TargetName } from '../targets/targets.js';
import { scaled, sleep, summarize, type LatencySummary } from './common.js';

export interface FanoutOptions {
  subscribers: number;
  stepMs: number;
  maxDrainMs: number;
  maxSteps: number;
  /** Deliveries per second of the first step. */
  startDeliveries: number;
  p99LimitMs: number;
  /** Failed steps repeated once before they count (noise on a shared machine). */
  maxRetries: number;
}

export interface FanoutStep extends LatencySummary {
  rate: number;
  sent: number;
  expected: number;
  delivered: number;
  deliveredRatio: number;
  deliveriesPerSec: number;
  /** Share of a core the server process used during the step (1 = one full core). */
  serverCpu: number;
  /** The same for the system's other processes (Cascade: NATS and the fan-out worker). */
  helperCpu: number;
  /** The same for all generator processes together. */
  generatorCpu: number;
  /**
   * Deliveries per CPU-second of the server process: what one dedicated core would sustain
   * at this load. Robust to other processes competing for the cores, unlike deliveries/s.
   */
  deliveriesPerServerCpuSec: number;
  /** The same counting every process of the system (Cascade: edge + NATS + fan-out worker). */
  deliveriesPerSystemCpuSec: number;
  /** Subscribers still connected at the end of the step. */
  open: number;
  publishErrors: number;
  ok: boolean;
  why?: string;
  /** This step repeated a failed one (noise on a shared machine is given a second chance). */
  retried?: boolean;
}

export interface FanoutResult {
  target: TargetName;
  label: string;
  subscribers: number;
  connectMs: number;
  steps: FanoutStep[];
  best?: FanoutStep;
  /** Highest deliveries per server CPU-second among steps that delivered ≥ 95%. */
  efficiency?: number;
  /** The same over all the system's processes. */
  systemEfficiency?: number;
  serverRssBytes: number;
  notes: string[];
}

const CHANNEL = 'bench:fanout';
const DELIVERED_OK = 0.95;

export async function runFanout(gen: LoadGenerator, name: TargetName, o: FanoutOptions): Promise<FanoutResult> {
  const t = await startTarget(name);
  try {
    const opened = await gen.subscribe(t.target, CHANNEL, o.subscribers, `${LABELS[name]} fan-out`);
    if (opened.failed > 0) throw new Error(`${opened.failed} of ${o.subscribers} subscribers failed: ${opened.errors.join('; ')}`);
    await gen.openPublisher(t.target, CHANNEL);
    // A short warm-up lets JITs and buffers settle before the first measured step (which
    // waits for the warm-up's deliveries to stop).
    await gen.publish(Math.max(1, Math.round(o.startDeliveries / o.subscribers / 2)), scaled(500));
    startProfiles(t);
    const search = await searchRate(gen, t, { ...o, connections: o.subscribers, deliveriesPerPublish: o.subscribers });
    return {
      target: name,
      label: LABELS[name],
      subscribers: opened.opened,
      connectMs: opened.ms,
      ...search,
      serverRssBytes: rssBytes(t.serverPid),
      notes: t.notes,
    };
  } finally {
    await gen.closeAll();
    await t.stop();
  }
}

export interface StepOptions {
  stepMs: number;
  maxDrainMs: number;
  p99LimitMs: number;
  /** Subscriber connections open (a step fails once fewer than 95% remain). */
  connections: number;
  /** Deliveries each publish should cause (subscribers of its channel). */
  deliveriesPerPublish: number;
  /** Publishes go round-robin over this many channels (many small channels). */
  spread?: number;
}

/**
 * The stepping search shared by fan-out and many-small-channels: the publish rate doubles
 * from `startDeliveries / deliveriesPerPublish` each step until the system falls behind; a
 * failed step is repeated (up to maxRetries), a first failure searches downwards, and one
 * step at √2 × the last good rate refines the figure.
 */
export async function searchRate(
  gen: LoadGenerator,
  t: RunningTarget,
  o: StepOptions & { maxSteps: number; maxRetries: number; startDeliveries: number },
): Promise<{ steps: FanoutStep[]; best?: FanoutStep; efficiency?: number; systemEfficiency?: number }> {
  const steps: FanoutStep[] = [];
  let rate = Math.max(1, Math.round(o.startDeliveries / o.deliveriesPerPublish));
  let lastOk: number | undefined;
  let refined = false;
  let retries = 0;
  let retryNext = false;
  for (let i = 0; i < o.maxSteps; i++) {
    const step = await runStep(gen, t.serverPids, Object.values(t.helperPids), rate, o, steps.at(-1));
    if (retryNext) step.retried = true;
    retryNext = false;
    steps.push(step);
    process.stdout.write(
      `    ${String(rate).padStart(6)} pub/s: ${(step.deliveredRatio * 100).toFixed(1)}% delivered, ${fmtRate(step.deliveriesPerSec)} deliveries/s, p99 ${step.p99Ms.toFixed(1)} ms, server CPU ${(step.serverCpu * 100).toFixed(0)}%, generator ${(step.generatorCpu * 100).toFixed(0)}%, ${fmtRate(step.deliveriesPerServerCpuSec)} deliveries/server-CPU-s${step.ok ? '' : `  ← ${step.why}`}${step.retried ? ' (retry)' : ''}\n`,
    );
    // Once the server has dropped subscribers, later steps would measure fewer of them.
    if (step.open < o.connections * DELIVERED_OK) break;
    if (step.ok) {
      lastOk = rate;
      rate *= 2;
      continue;
    }
    // The machine is shared: a failed step is run once more before it counts.
    if (retries < o.maxRetries && !step.retried) {
      retries += 1;
      retryNext = true;
      continue;
    }
    // Even the first rate was too much: search downwards instead.
    if (lastOk === undefined) {
      if (rate <= 1) break;
      rate = Math.max(1, Math.floor(rate / 4));
      continue;
    }
    // One step between the last pass and this failure sharpens the figure by √2.
    if (refined) break;
    refined = true;
    rate = Math.round(lastOk * Math.SQRT2);
    if (rate <= lastOk) break;
  }
  const best = steps.filter((s) => s.ok).sort((a, b) => b.deliveriesPerSec - a.deliveriesPerSec)[0];
  const eff = steps.filter((s) => s.deliveredRatio >= DELIVERED_OK && Number.isFinite(s.deliveriesPerServerCpuSec)).map((s) => s.deliveriesPerServerCpuSec);
  const sysEff = steps.filter((s) => s.deliveredRatio >= DELIVERED_OK && Number.isFinite(s.deliveriesPerSystemCpuSec)).map((s) => s.deliveriesPerSystemCpuSec);
  return {
    steps,
    ...(best ? { best } : {}),
    ...(eff.length > 0 ? { efficiency: Math.max(...eff) } : {}),
    ...(sysEff.length > 0 ? { systemEfficiency: Math.max(...sysEff) } : {}),
  };
}

/**
 * Waits until the previous step's late deliveries have stopped arriving (the count still for
 * 450 ms), at most `maxMs`. A failed step can leave seconds of messages buffered (up to the
 * server's per-socket limit, 1 MiB × every subscriber): a step started on top of that backlog
 * would count nothing of its own in time and fail for the previous step's sake.
 */
async function quiesce(gen: LoadGenerator, maxMs: number): Promise<void> {
  let last = -1;
  const end = performance.now() + maxMs;
  for (let still = 0; still < 3 && performance.now() < end; ) {
    await sleep(150);
    const d = await gen.deliveries();
    const total = d.delivered + d.stale;
    still = total === last ? still + 1 : 0;
    last = total;
  }
}

const sumCpu = (pids: number[]) => pids.reduce((a, p) => a + (cpuSeconds(p) || 0), 0);

async function runStep(gen: LoadGenerator, serverPids: number[], helperPids: number[], rate: number, o: StepOptions, previous: FanoutStep | undefined): Promise<FanoutStep> {
  // A step that got every delivery it expected left no backlog; after the warm-up or a short
  // step, wait up to 10 drains (quick: 3 s, full: 15 s).
  if (previous === undefined || previous.delivered < previous.expected) await quiesce(gen, Math.max(3000, 10 * o.maxDrainMs));
  await gen.reset(nowUs());
  const cpu0 = sumCpu(serverPids);
  const helpers0 = sumCpu(helperPids);
  const gen0 = sumCpu(gen.pids());
  const started = performance.now();
  const pub = await gen.publish(rate, o.stepMs, o.spread);
  const expected = pub.sent * o.deliveriesPerPublish;
  // Drain: wait until everything arrived or the count stops moving (bounded by maxDrainMs).
  let d = await gen.deliveries();
  const drainEnd = performance.now() + o.maxDrainMs;
  let still = 0;
  while (d.delivered < expected && performance.now() < drainEnd && still < 3) {
    await sleep(150);
    const next = await gen.deliveries();
    still = next.delivered === d.delivered ? still + 1 : 0;
    d = next;
  }
  const wall = (performance.now() - started) / 1000;
  const cpuSec = sumCpu(serverPids) - cpu0;
  const cpu = cpuSec / wall;
  const helperSec = sumCpu(helperPids) - helpers0;
  const helperCpu = helperSec / wall;
  const generatorCpu = (sumCpu(gen.pids()) - gen0) / wall;
  const lat = summarize(d.hist);
  const ratio = expected === 0 ? 0 : d.delivered / expected;
  let why: string | undefined;
  if (d.open < o.connections * DELIVERED_OK) why = `server dropped ${o.connections - d.open} subscribers (${d.lostReasons.join('; ')})`;
  else if (ratio < DELIVERED_OK) why = `only ${(ratio * 100).toFixed(1)}% delivered`;
  else if (lat.p99Ms > o.p99LimitMs) why = `p99 over ${o.p99LimitMs} ms`;
  else if (d.lost > 0) why = `${d.lost} subscribers lost (${d.lostReasons.join('; ')})`;
  else if (pub.errors > 0) why = `${pub.errors} publishes refused`;
  return {
    rate,
    sent: pub.sent,
    expected,
    delivered: d.delivered,
    deliveredRatio: ratio,
    // Deliveries over the publishing window: a step passes only if (almost) all arrived.
    deliveriesPerSec: Math.min(d.delivered, expected) / (o.stepMs / 1000),
    serverCpu: cpu,
    helperCpu,
    generatorCpu,
    deliveriesPerServerCpuSec: cpuSec > 0 ? d.delivered / cpuSec : Number.NaN,
    deliveriesPerSystemCpuSec: cpuSec + helperSec > 0 ? d.delivered / (cpuSec + helperSec) : Number.NaN,
    open: d.open,
    publishErrors: pub.errors,
    ...lat,
    ok: why === undefined,
    ...(why === undefined ? {} : { why }),
  };
}

export function fmtRate(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);
}

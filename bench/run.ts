// Entry of `npm run bench` (full sizes) and `npm run bench:quick` (small sizes, ~2 min of
// scenarios on a quiet machine): runs each scenario against each system in turn, one system
// at a time, and writes bench/results/ (JSON, markdown, SVG). Options: --only=cascade,uws
// --scenarios=fanout,idle (fanout, pipeline, idle, storm, channels, resume)
// --subscribers=10000 (fan-out sizes)  --no-save (print the tables, write nothing)
// --render=bench/results/<run>.json (only re-render latest.md and the charts from a stored
// run). BENCH_HELPERS_CORE: see targets/targets.ts.
import { loadavg } from 'node:os';
import { describeMachine } from './report/machine.js';
import type { Results, RunError } from './report/results.js';
import { renderStored, writeResults } from './report/write.js';
import { renderMarkdown } from './report/markdown.js';
import { runChannels } from './scenarios/channels.js';
import { runFanout, type FanoutOptions } from './scenarios/fanout.js';
import { runIdle, type IdleResult } from './scenarios/idle.js';
import { runPipeline } from './scenarios/pipeline.js';
import { runResume } from './scenarios/resume.js';
import { runStorm } from './scenarios/storm.js';
import { setPauseScale } from './scenarios/common.js';
import { LoadGenerator } from './load/generator.js';
import { pin } from './system/proc.js';
import { writeProfileReports } from './tools/profile-summary.js';
import { GENERATOR_CORE, type TargetName } from './targets/targets.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const opt = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]?.split(',').filter(Boolean);

const SIZES = quick
  ? {
      fanoutSubs: [1000],
      // Starts at 320 publishes/s (320k deliveries/s): three steps reach 1,280/s, where the
      // fast systems begin to differ.
      fanoutStart: 320_000,
      channelsStart: 8000,
      stepMs: 400,
      maxDrainMs: 300,
      maxSteps: 3,
      maxRetries: 0,
      pipelineMs: 600,
      idle: 1500,
      settleMs: 300,
      // The forced GC's reading after the quick run's usual GC wait.
      idleCollectedAfterMs: undefined,
      idleMulti: undefined,
      storm: 1000,
      stormConcurrency: 32,
      channels: { channels: 400, perConnection: 2, maxSteps: 2 },
      resume: { missed: 1000, trials: 1 },
      // Fixed pauses and warm-ups (GC waits, settling) at a quarter: the two-minute budget.
      pauseScale: 0.25,
      // Reference rows beyond the issue's peers (raw uWS batched, Cascade anonymous) are
      // left to the full run.
      extraRows: false,
      watchdogMs: 10 * 60_000,
    }
  : {
      fanoutSubs: [1000, 10_000],
      fanoutStart: 40_000,
      channelsStart: 4000,
      stepMs: 2000,
      maxDrainMs: 1500,
      maxSteps: 12,
      maxRetries: 2,
      pipelineMs: 10_000,
      // One server process may hold 20,000 open files: 19,000 connections is as far as one goes.
      idle: 19_000,
      settleMs: 2000,
      // The forced GC's reading 30 s after it: V8 gives freed pages back to the system over
      // seconds, so a reading right after the GC still counts part of the burst's garbage.
      idleCollectedAfterMs: 30_000,
      // 50,000 over 3 server processes (Cascade: 3 edges behind one NATS; the Node peers: 3
      // copies each). nats-server is one process and one process holds 19,000 here.
      idleMulti: { n: 50_000, instances: 3, targets: ['cascade', 'uws', 'ws', 'socketio'] as TargetName[] },
      storm: 19_000,
      stormConcurrency: 64,
      channels: { channels: 20_000, perConnection: 4, maxSteps: 10 },
      resume: { missed: 1000, trials: 5 },
      pauseScale: 1,
      extraRows: true,
      watchdogMs: 60 * 60_000,
    };
setPauseScale(SIZES.pauseScale);
const FANOUT_TARGETS: TargetName[] = ['cascade', 'cascade-ephemeral', 'uws', 'uws-batched', 'ws', 'socketio', 'nats-ws'].filter((t) => SIZES.extraRows || t !== 'uws-batched') as TargetName[];
// The issue's scenario: authenticated, each connection in its user's channel and one shared
// channel, for every system; Cascade once more anonymous on the shared channel only, for reference.
const IDLE_RUNS: [TargetName, boolean][] = [['cascade', true], ...(SIZES.extraRows ? [['cascade', false] as [TargetName, boolean]] : []), ['uws', true], ['ws', true], ['socketio', true], ['nats-ws', true]];
const only = opt('only') as TargetName[] | undefined;
const subscribersOpt = opt('subscribers')?.map(Number);
if (subscribersOpt?.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--subscribers takes positive integers, e.g. --subscribers=1000,10000');
const ALL_SCENARIOS = ['fanout', 'pipeline', 'idle', 'storm', 'channels', 'resume'];
const scenarios = opt('scenarios') ?? ALL_SCENARIOS;
const unknown = scenarios.filter((x) => !ALL_SCENARIOS.includes(x));
if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${ALL_SCENARIOS.join(', ')}`);
const STORM_TARGETS: TargetName[] = ['cascade', 'uws', 'ws', 'socketio', 'nats-ws'];
const selected = (list: TargetName[]) => list.filter((t) => only === undefined || only.includes(t));

// Whatever happens, the run ends: children are killed by system/children.ts on exit.
const watchdog = setTimeout(() => {
  process.stderr.write(`bench: still running after ${SIZES.watchdogMs / 60_000} min, giving up\n`);
  process.exit(2);
}, SIZES.watchdogMs);
watchdog.unref();

const stored = opt('render')?.[0];
if (stored !== undefined) {
  process.stdout.write(renderStored(stored));
  process.exit(0);
}

const startedAt = new Date().toISOString();
// Read before pinning: nproc counts only the cores this process may use.
const machine = describeMachine();
// The orchestrator stays off the server core too.
pin(process.pid, GENERATOR_CORE);
const errors: RunError[] = [];
const results: Results = {
  startedAt,
  finishedAt: '',
  mode: quick ? 'quick' : 'full',
  command: `npm run ${quick ? 'bench:quick' : 'bench'}${args.filter((a) => a !== '--quick').map((a) => ` -- ${a}`).join('')}`,
  machine,
  loadAverageAtEnd: [],
  fanout: [],
  pipeline: [],
  idle: [],
  storm: [],
  channels: [],
  resume: [],
  durations: {},
  errors,
};
const durations = results.durations!;
// One load generator (its worker processes) for the whole run: forking them per scenario
// and system would cost more than some scenarios take.
const gen = new LoadGenerator(GENERATOR_CORE);
// Its worker processes start while the first system starts (errors show at first use).
gen.prepare(Math.max(SIZES.idle, SIZES.storm, ...SIZES.fanoutSubs)).catch(() => undefined);
/** Runs one scenario and records its wall-clock time (the quick run's budget is about 2 minutes). */
async function timed(name: string, f: () => Promise<void>): Promise<void> {
  const began = performance.now();
  try {
    await f();
  } finally {
    durations[name] = Math.round((performance.now() - began) / 100) / 10;
    process.stdout.write(`  (${name}: ${durations[name]} s)\n`);
  }
}

async function attempt<T>(scenario: string, target: string, f: () => Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`  ✗ ${scenario} / ${target}: ${message}\n`);
    errors.push({ scenario, target, message });
    return undefined;
  }
}

process.stdout.write(`cascade bench (${results.mode}): ${machine.nproc} × ${machine.cpuModel}, Node ${machine.node}, ${machine.natsServer}, load ${machine.loadAverageAtStart.join(' ')}\n`);

if (scenarios.includes('fanout')) {
  await timed('fanout', async () => {
    for (const subscribers of subscribersOpt ?? SIZES.fanoutSubs) {
      const o: FanoutOptions = { subscribers, stepMs: SIZES.stepMs, maxDrainMs: SIZES.maxDrainMs, maxSteps: SIZES.maxSteps, maxRetries: SIZES.maxRetries, startDeliveries: SIZES.fanoutStart, p99LimitMs: 1000 };
      process.stdout.write(`\n== fan-out, ${subscribers} subscribers\n`);
      for (const t of selected(FANOUT_TARGETS)) {
        const r = await attempt('fanout', `${t} ${subscribers}`, () => runFanout(gen, t, o));
        if (r !== undefined) results.fanout.push(r);
      }
    }
  });
}

if (scenarios.includes('pipeline') && selected(['cascade']).length > 0) {
  await timed('pipeline', async () => {
    process.stdout.write('\n== Cascade pipeline latency, 1000 subscribers (+ 1 subscriber, + the raw uWS floor)\n');
    const runs = await attempt('pipeline', 'cascade', () => runPipeline(gen, { subscribers: 1000, rates: [100, 1000], durationMs: SIZES.pipelineMs, baseline: selected(['uws']).length > 0 }));
    if (runs !== undefined) results.pipeline.push(...runs);
  });
}

const idleLine = (r: IdleResult) =>
  `    ${r.label}: ${(r.bytesPerConnection / 1024).toFixed(1)} KiB per connection${r.quietBytesPerConnection === undefined ? '' : `, ${(r.quietBytesPerConnection / 1024).toFixed(1)} KiB after ${(r.quietMs ?? 0) / 1000} s idle`}, ${((r.collectedBytesPerConnection ?? Number.NaN) / 1024).toFixed(1)} KiB ${((r.collectedAfterMs ?? 1500) / 1000).toFixed(1)} s after a full GC\n`;

if (scenarios.includes('idle')) {
  await timed('idle', async () => {
    process.stdout.write(`\n== idle density, ${SIZES.idle} connections\n`);
    for (const [t, auth] of IDLE_RUNS.filter(([t]) => selected([t]).length > 0)) {
      const r = await attempt('idle', `${t}${auth ? ' (token)' : ''}`, () => runIdle(gen, t, SIZES.idle, { auth, settleMs: SIZES.settleMs, collectedAfterMs: SIZES.idleCollectedAfterMs }));
      if (r !== undefined) {
        results.idle.push(r);
        process.stdout.write(idleLine(r));
      }
    }
    const m = SIZES.idleMulti;
    if (m !== undefined) {
      process.stdout.write(`\n== idle density, ${m.n} connections over ${m.instances} server processes\n`);
      for (const t of selected(m.targets)) {
        const r = await attempt('idle', `${t} ×${m.instances}`, () => runIdle(gen, t, m.n, { auth: true, instances: m.instances, settleMs: SIZES.settleMs, collectedAfterMs: SIZES.idleCollectedAfterMs }));
        if (r !== undefined) {
          results.idle.push(r);
          process.stdout.write(idleLine(r));
        }
      }
    }
  });
}

if (scenarios.includes('storm')) {
  await timed('storm', async () => {
    process.stdout.write(`\n== connection storm, ${SIZES.storm} authenticated connects\n`);
    for (const t of selected(STORM_TARGETS)) {
      const r = await attempt('storm', t, () => runStorm(gen, t, SIZES.storm, SIZES.stormConcurrency));
      if (r !== undefined) {
        results.storm!.push(r);
        process.stdout.write(`    ${r.label}: ${Math.round(r.connectsPerSec)} connects/s, handshake p50 ${r.handshake.p50Ms.toFixed(1)} ms, p99 ${r.handshake.p99Ms.toFixed(1)} ms, ${Math.round(r.connectsPerServerCpuSec)} connects per server CPU-s\n`);
      }
    }
  });
}

if (scenarios.includes('channels')) {
  await timed('channels', async () => {
    const c = SIZES.channels;
    process.stdout.write(`\n== many small channels: ${c.channels} channels × 2 subscribers (${(2 * c.channels) / c.perConnection} connections, ${c.perConnection} channels each)\n`);
    for (const t of selected(FANOUT_TARGETS)) {
      const r = await attempt('channels', t, () =>
        runChannels(gen, t, { channels: c.channels, perConnection: c.perConnection, stepMs: SIZES.stepMs, maxDrainMs: SIZES.maxDrainMs, maxSteps: c.maxSteps, maxRetries: SIZES.maxRetries, startDeliveries: SIZES.channelsStart, p99LimitMs: 1000 }),
      );
      if (r !== undefined) results.channels!.push(r);
    }
  });
}

if (scenarios.includes('resume') && selected(['cascade']).length > 0) {
  await timed('resume', async () => {
    process.stdout.write(`\n== resume: catching up ${SIZES.resume.missed} missed messages\n`);
    const r = await attempt('resume', 'cascade', () => runResume(SIZES.resume));
    if (r !== undefined) results.resume!.push(...r);
  });
}

results.finishedAt = new Date().toISOString();
results.loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
await gen.stop();
// Profiles written by the services (BENCH_PROFILE_DIR): a short text summary next to each.
const profileDir = process.env.BENCH_PROFILE_DIR;
if (profileDir) {
  writeProfileReports(profileDir, 30);
  process.stdout.write(`\nCPU profiles, their summaries (*.top.txt) and flame graphs (*.flame.svg) are in ${profileDir}\n`);
}
durations.total = Math.round(Object.values(durations).reduce((a, b) => a + b, 0) * 10) / 10;
process.stdout.write(`\n${args.includes('--no-save') ? renderMarkdown(results) : writeResults(results)}`);
process.exitCode = errors.length > 0 ? 1 : 0;

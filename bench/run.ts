// Entry of `npm run bench` (full sizes) and `npm run bench:quick` (small sizes, < 2 min):
// runs each scenario against each system in turn, one system at a time, and writes
// bench/results/ (JSON, markdown, SVG). Options: --only=cascade,uws  --scenarios=fanout,idle
// --subscribers=10000 (fan-out sizes)  --render=bench/results/<run>.json (only re-render
// latest.md and the charts from a stored run). BENCH_HELPERS_CORE: see targets/targets.ts.
import { loadavg } from 'node:os';
import { describeMachine } from './report/machine.js';
import type { Results, RunError } from './report/results.js';
import { renderStored, writeResults } from './report/write.js';
import { runFanout, type FanoutOptions } from './scenarios/fanout.js';
import { runIdle } from './scenarios/idle.js';
import { runPipeline } from './scenarios/pipeline.js';
import { pin } from './system/proc.js';
import { GENERATOR_CORE, type TargetName } from './targets/targets.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const opt = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]?.split(',').filter(Boolean);

const SIZES = quick
  ? { fanoutSubs: [1000], stepMs: 1000, maxDrainMs: 600, maxSteps: 7, maxRetries: 1, pipelineMs: 3000, idle: 5000, watchdogMs: 10 * 60_000 }
  : // 18,000 idle connections: every server here is one process under the 20,000 open-files limit.
    { fanoutSubs: [1000, 10_000], stepMs: 2000, maxDrainMs: 1500, maxSteps: 12, maxRetries: 2, pipelineMs: 10_000, idle: 18_000, watchdogMs: 45 * 60_000 };

const FANOUT_TARGETS: TargetName[] = ['cascade', 'cascade-ephemeral', 'uws', 'ws', 'socketio', 'nats-ws'];
// Cascade twice: anonymous (one shared channel, like the peers) and with tokens (+ personal channel).
const IDLE_RUNS: [TargetName, boolean][] = [['cascade', false], ['cascade', true], ['uws', false], ['ws', false], ['socketio', false], ['nats-ws', false]];
const only = opt('only') as TargetName[] | undefined;
const subscribersOpt = opt('subscribers')?.map(Number);
if (subscribersOpt?.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--subscribers takes positive integers, e.g. --subscribers=1000,10000');
const scenarios = opt('scenarios') ?? ['fanout', 'pipeline', 'idle'];
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
  errors,
};

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
  for (const subscribers of subscribersOpt ?? SIZES.fanoutSubs) {
    const o: FanoutOptions = { subscribers, stepMs: SIZES.stepMs, maxDrainMs: SIZES.maxDrainMs, maxSteps: SIZES.maxSteps, maxRetries: SIZES.maxRetries, startDeliveries: 40_000, p99LimitMs: 1000 };
    process.stdout.write(`\n== fan-out, ${subscribers} subscribers\n`);
    for (const t of selected(FANOUT_TARGETS)) {
      const r = await attempt('fanout', `${t} ${subscribers}`, () => runFanout(t, o));
      if (r !== undefined) results.fanout.push(r);
    }
  }
}

if (scenarios.includes('pipeline') && selected(['cascade']).length > 0) {
  process.stdout.write('\n== Cascade pipeline latency, 1000 subscribers\n');
  const runs = await attempt('pipeline', 'cascade', () => runPipeline({ subscribers: 1000, rates: [100, 1000], durationMs: SIZES.pipelineMs }));
  if (runs !== undefined) results.pipeline.push(...runs);
}

if (scenarios.includes('idle')) {
  process.stdout.write(`\n== idle density, ${SIZES.idle} connections\n`);
  for (const [t, auth] of IDLE_RUNS.filter(([t]) => selected([t]).length > 0)) {
    const r = await attempt('idle', `${t}${auth ? ' (token)' : ''}`, () => runIdle(t, SIZES.idle, auth));
    if (r !== undefined) {
      results.idle.push(r);
      process.stdout.write(`    ${r.label}: ${(r.bytesPerConnection / 1024).toFixed(1)} KiB per connection\n`);
    }
  }
}

results.finishedAt = new Date().toISOString();
results.loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
process.stdout.write(`\n${writeResults(results)}`);
process.exitCode = errors.length > 0 ? 1 : 0;

// A small reproduction of the pipeline-latency scenario that also times each hop: a NATS
// client watches the ingest subject (edge → JetStream), the history subject (worker's append)
// and the live subject (worker's emit), reading the payload's t0 from each copy, while the
// generator's subscribers time the end of the path. With --profile the edge and the fan-out
// worker run under `node --cpu-prof` and the profiles are summarised (top self time).
//   node --import tsx bench/tools/pipeline-probe.ts [--subscribers=1000] [--rate=100] [--seconds=5] [--profile=dir]
//     [--target=cascade|cascade-ephemeral|uws|...] (peers: end to end only)
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { LoadGenerator } from '../load/generator.js';
import { Histogram } from '../load/histogram.js';
import { findT0, nowUs } from '../load/payload.js';
import { sleep } from '../scenarios/common.js';
import { cpuSeconds, pin } from '../system/proc.js';
import { GENERATOR_CORE, startTarget, type TargetName } from '../targets/targets.js';
import { writeProfileReports } from './profile-summary.js';

const args = process.argv.slice(2);
const num = (name: string, dflt: number) => {
  const v = args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} takes a positive number`);
  return n;
};
const subscribers = num('subscribers', 1000);
const rate = num('rate', 100);
const seconds = num('seconds', 5);
const targetName = (args.find((a) => a.startsWith('--target='))?.split('=')[1] ?? 'cascade') as TargetName;
const profileDir = args.find((a) => a.startsWith('--profile='))?.split('=')[1];

pin(process.pid, GENERATOR_CORE);
const profAbs = profileDir === undefined ? undefined : resolve(profileDir);
if (profAbs !== undefined) mkdirSync(profAbs, { recursive: true });
const PRELOAD = fileURLToPath(new URL('./cpu-prof-preload.mjs', import.meta.url));
// Node 20 refuses --cpu-prof in NODE_OPTIONS; a preloaded module runs the same profiler.
const t = await startTarget(targetName, profAbs === undefined ? {} : { serviceEnv: { NODE_OPTIONS: `--import=${PRELOAD}`, BENCH_CPU_PROF_DIR: profAbs, BENCH_CPU_PROF_ON_SIGNAL: '1' } });
const gen = new LoadGenerator(GENERATOR_CORE);
const hops = { ingest: new Histogram(), history: new Histogram(), live: new Histogram() };
let counting = false;
try {
  const nc = t.nats === undefined ? undefined : await connect({ servers: t.nats.url, name: 'pipeline-probe' });
  const prefix = t.nats?.prefix ?? '';
  for (const [hop, subject] of [
    ['ingest', `${prefix}.in.>`],
    ['history', `${prefix}.hist.>`],
    ['live', `${prefix}.live.>`],
  ] as const) {
    nc?.subscribe(subject, {
      callback: (_err, m) => {
        const at = nowUs();
        const buf = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
        const i = findT0(buf, 0);
        if (counting && i >= 0) hops[hop].recordUs(at - buf.readDoubleBE(i));
      },
    });
  }
  await nc?.flush();
  const opened = await gen.subscribe(t.target, 'bench:probe', subscribers, 'probe subscribers');
  if (opened.failed > 0) throw new Error(`${opened.failed} subscribers failed: ${opened.errors.join('; ')}`);
  await gen.openPublisher(t.target, 'bench:probe');
  await gen.publish(50, 500);
  await sleep(1000);
  await gen.reset(nowUs());
  counting = true;
  // Profile the measured window only (see cpu-prof-preload.mjs).
  if (profAbs !== undefined) for (const pid of [t.serverPid, t.helperPids['fan-out-worker']]) if (pid !== undefined) process.kill(pid, 'SIGUSR2');
  const pids = { server: [t.serverPid], ...Object.fromEntries(Object.entries(t.helperPids).map(([k, v]) => [k, [v]])), generator: gen.pids() };
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, v]) => [k, v.reduce((a, p) => a + cpuSeconds(p), 0)]));
  const syscw = (pid: number | undefined) => (pid === undefined ? Number.NaN : Number(/syscw: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1]));
  const writes0 = { worker: syscw(t.helperPids['fan-out-worker']), nats: syscw(t.helperPids['nats-server']), edge: syscw(t.serverPid) };
  const w0 = performance.now();
  const pub = await gen.publish(rate, seconds * 1000);
  const wall = (performance.now() - w0) / 1000;
  const writes = `write syscalls per publish: edge ${((syscw(t.serverPid) - writes0.edge) / rate / seconds).toFixed(1)}, fan-out worker ${((syscw(t.helperPids['fan-out-worker']) - writes0.worker) / rate / seconds).toFixed(1)}, nats-server ${((syscw(t.helperPids['nats-server']) - writes0.nats) / rate / seconds).toFixed(1)}`;
  const cpu = Object.entries(pids).map(([k, v]) => `${k} ${((v.reduce((a, p) => a + cpuSeconds(p), 0) - cpu0[k]!) / wall * 100).toFixed(0)}%`);
  await sleep(1000);
  counting = false;
  const d = await gen.deliveries();
  const row = (name: string, h: Histogram) =>
    `${name.padEnd(28)} n=${String(h.total).padStart(7)}  p50 ${h.quantileMs(0.5).toFixed(2).padStart(8)} ms  p90 ${h.quantileMs(0.9).toFixed(2).padStart(8)} ms  p99 ${h.quantileMs(0.99).toFixed(2).padStart(8)} ms  max ${(h.max / 1000).toFixed(2).padStart(8)} ms`;
  const lines = [
    `pipeline probe: ${subscribers} subscribers, ${rate} publishes/s for ${seconds} s, ${pub.sent} sent, ${pub.errors} refused`,
    'latency from the publisher\'s send time (t0) to:',
    row('ingest subject (edge→JS)', hops.ingest),
    row('history subject (append)', hops.history),
    row('live subject (emit)', hops.live),
    row('subscribers (end to end)', d.hist),
    `CPU while publishing (share of one core): ${cpu.join(', ')}`,
    writes,
    `delivered ${((d.delivered / Math.max(1, pub.sent * opened.opened)) * 100).toFixed(1)}%`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  await nc?.close();
} finally {
  await gen.stop();
  await t.stop();
}
if (profAbs !== undefined) {
  // The services wrote their profiles on exit: a summary and a flame graph of each (pid in the file name).
  for (const [f, text] of writeProfileReports(profAbs, 25)) process.stdout.write(`\n== ${f}\n${text}`);
}

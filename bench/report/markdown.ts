// Renders a run as markdown: one table per scenario with each peer's figure and Cascade's
// ratio to it, then the issue's targets marked met or missed.
import type { ChannelsResult } from '../scenarios/channels.js';
import type { FanoutResult } from '../scenarios/fanout.js';
import type { IdleResult } from '../scenarios/idle.js';
import type { PipelineRun } from '../scenarios/pipeline.js';
import type { StormResult } from '../scenarios/storm.js';
import type { Results } from './results.js';

const ms = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : v < 10 ? v.toFixed(2) : v.toFixed(0));
const int = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : Math.round(v).toLocaleString('en-US'));
const mib = (b: number) => (Number.isFinite(b) ? (b / 2 ** 20).toFixed(0) : 'n/a');
const kib = (b: number) => (Number.isFinite(b) ? (b / 1024).toFixed(1) : 'n/a');
// A non-positive denominator (e.g. an RSS that shrank by GC while connections were added) is
// below what the measurement can resolve: no ratio rather than a meaningless one.
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0 ? 'n/a' : `${(a / b).toFixed(2)}×`);

/** Results written before `systemEfficiency` existed still carry what it is derived from. */
function systemEfficiency(r: FanoutResult): number | undefined {
  if (r.systemEfficiency !== undefined) return r.systemEfficiency;
  const v = r.steps
    .filter((s) => s.deliveredRatio >= 0.95 && Number.isFinite(s.deliveriesPerServerCpuSec) && s.serverCpu + s.helperCpu > 0)
    .map((s) => (s.deliveriesPerServerCpuSec * s.serverCpu) / (s.serverCpu + s.helperCpu));
  return v.length > 0 ? Math.max(...v) : undefined;
}

function fanoutTable(rows: FanoutResult[]): string[] {
  const get = (t: string) => rows.find((r) => r.target === t);
  const cWall = get('cascade')?.best?.deliveriesPerSec;
  const cEff = get('cascade')?.efficiency;
  const eEff = get('cascade-ephemeral')?.efficiency;
  const cascadeRow = get('cascade');
  const cSys = cascadeRow ? systemEfficiency(cascadeRow) : undefined;
  const out = [
    '| System | publishes/s sustained | deliveries/s | p50 ms | p99 ms | p99.9 ms | server CPU | deliveries per server CPU-s | per CPU-s, all processes | server RSS MiB | Cascade ÷ this, deliveries/s | Cascade ÷ this, per server CPU-s | Cascade ÷ this, per CPU-s all processes | Cascade ephemeral ÷ this, per server CPU-s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const b = r.best;
    out.push(
      `| ${r.label} | ${int(b?.rate)} | ${int(b?.deliveriesPerSec)} | ${ms(b?.p50Ms)} | ${ms(b?.p99Ms)} | ${ms(b?.p999Ms)} | ${b ? `${(b.serverCpu * 100).toFixed(0)}%` : 'n/a'} | ${int(r.efficiency)} | ${int(systemEfficiency(r))} | ${mib(r.serverRssBytes)} | ${ratio(cWall, b?.deliveriesPerSec)} | ${ratio(cEff, r.efficiency)} | ${ratio(cSys, systemEfficiency(r))} | ${ratio(eEff, r.efficiency)} |`,
    );
  }
  const stops = rows.map((r) => {
    const last = r.steps.at(-1);
    const helper = r.steps.some((s) => s.helperCpu > 0) ? `; NATS + worker used up to ${(Math.max(...r.steps.map((s) => s.helperCpu)) * 100).toFixed(0)}% of a core` : '';
    const gen = `generator up to ${(Math.max(...r.steps.map((s) => s.generatorCpu)) * 100).toFixed(0)}%`;
    return `${r.label}: ${last && !last.ok ? `stopped at ${int(last.rate)} publishes/s (${last.why}; server CPU ${(last.serverCpu * 100).toFixed(0)}%, ${gen}${helper})` : `never fell behind within the step limit (${gen}${helper})`}`;
  });
  out.push('', ...stops.map((s) => `- ${s}`));
  return out;
}

function check(ok: boolean | undefined): string {
  return ok === undefined ? '? (not measured)' : ok ? 'met' : '**missed**';
}

export function renderMarkdown(r: Results): string {
  const lines: string[] = [
    `# Benchmark results (${r.mode})`,
    '',
    `Run ${r.startedAt} → ${r.finishedAt}. Machine: ${r.machine.nproc} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, Node ${r.machine.node}, ${r.machine.natsServer}, ${r.machine.uws}; load average ${r.machine.loadAverageAtStart.join(' / ')} at start, ${r.loadAverageAtEnd.join(' / ')} at end (shared machine: compare ratios within this run, not absolute figures).`,
    '',
  ];
  const sizes = [...new Set(r.fanout.map((f) => f.subscribers))].sort((a, b) => a - b);
  for (const n of sizes) {
    lines.push(`## Broadcast fan-out, one channel, ${int(n)} subscribers, 100-byte messages`, '', ...fanoutTable(r.fanout.filter((f) => f.subscribers === n)), '');
  }
  if (r.pipeline.length > 0) lines.push(...pipelineTable(r.pipeline));
  if (r.idle.length > 0) {
    const authed = idleAuthed(r.idle);
    const quietRun = r.idle.find((i) => i.quietMs !== undefined);
    const quietS = (quietRun?.quietMs ?? 30_000) / 1000;
    const gcAfterMs = [...new Set(r.idle.map((i) => i.collectedAfterMs ?? 1500))];
    const gcAfter = gcAfterMs.map((ms) => `${ms / 1000} s`).join(' / ');
    // One column per reading the run has; each is compared with the Cascade row of its size.
    type Figure = (i: IdleResult) => number | undefined;
    const figures: Array<[string, Figure]> = [
      ['KiB per connection', (i) => i.bytesPerConnection],
      ['KiB per connection, 2nd half', (i) => i.marginalBytesPerConnection],
      ...(quietRun ? [[`after ${quietS} s idle: KiB per connection`, (i) => i.quietBytesPerConnection] as [string, Figure]] : []),
      ['after a full GC: KiB per connection', (i) => i.collectedBytesPerConnection],
      // Runs before 2026-12-04 18:30 UTC forced a GC at the half-way reading too.
      ...(r.idle.some((i) => i.collectedMarginalBytesPerConnection !== undefined) ? [['2nd half', (i) => i.collectedMarginalBytesPerConnection] as [string, Figure]] : []),
    ];
    const compared = figures.filter(([name]) => !name.includes('2nd half'));
    lines.push(
      authed
        ? '## Idle density (silent; authenticated, each connection in its user\'s channel and one shared channel; Cascade anonymous on the shared channel only, for reference)'
        : '## Idle density (connected and subscribed to one shared channel, silent)',
      '',
      `| System | connections | server processes | RSS before MiB | RSS after MiB | ${figures.map(([name]) => name).join(' | ')} | ${compared.map(([name]) => `Cascade (${authed ? 'token' : 'anonymous'}) ÷ this, ${name.replace(': KiB per connection', '')}`).join(' | ')} |`,
      `|---|---:|---:|---:|---:|${'---:|'.repeat(figures.length + compared.length)}`,
    );
    for (const i of r.idle) {
      const ref = idleRun(r.idle, 'cascade', authed, i.instances ?? 1);
      const cells = figures.map(([, f]) => (f(i) === undefined ? '' : kib(f(i)!)));
      const ratios = compared.map(([, f]) => (f(i) === undefined || ref === undefined ? '' : ratio(f(ref), f(i))));
      lines.push(`| ${i.label} | ${int(i.connections)} | ${i.instances ?? 1} | ${mib(i.rssBeforeBytes)} | ${mib(i.rssAfterBytes)} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
    }
    lines.push(
      '',
      `Growth over the server's RSS before the first connection, after a full GC. The first columns are read shortly after the last connect (full run: 2 s, quick: 0.3 s)${quietRun ? `; "after ${quietS} s idle" once the connections sat idle that long, nothing forced` : ''}; "after a full GC" last, ${gcAfter} after Node servers (Cascade's edge, the uWS, ws and Socket.IO peers) collected on a signal (bench/tools/gc-preload.mjs; nats-server is not asked), since V8 gives freed pages back over seconds. The first columns count what a burst of connects left as garbage too; the GC column what the connections themselves hold.`,
    );
    const helpers = r.idle.filter((i) => Object.keys(i.helperRssDeltaBytes).length > 0);
    for (const h of helpers) lines.push('', `${h.label}: other processes grew by ${Object.entries(h.helperRssDeltaBytes).map(([k, v]) => `${k} ${mib(v)} MiB`).join(', ')} (not counted above).`);
    lines.push('');
  }
  if ((r.storm ?? []).length > 0) lines.push(...stormTable(r.storm!));
  if ((r.channels ?? []).length > 0) lines.push(...channelsTable(r.channels!));
  if ((r.resume ?? []).length > 0) {
    lines.push(
      `## Resume: catching up ${int(r.resume![0]!.missed)} missed messages (Cascade)`,
      '',
      '| path | trials | median, reconnect → last missed ms | max ms | median, subscribe → last missed ms | messages/s in the catch-up |',
      '|---|---:|---:|---:|---:|---:|',
    );
    for (const x of r.resume!) lines.push(`| ${x.path}: ${x.notes.join('; ')} | ${x.trials.length} | ${ms(x.medianTotalMs)} | ${ms(x.maxTotalMs)} | ${ms(x.medianCatchUpMs)} | ${int(x.messagesPerSec)} |`);
    lines.push('');
  }
  lines.push('## Targets of issue 7', '', '| target | measured | status |', '|---|---|---|');
  for (const n of sizes) {
    const run = (t: string) => r.fanout.find((f) => f.subscribers === n && f.target === t);
    for (const [peer, want, text] of [
      ['uws', 0.9, '≥ 90% of raw uWS'],
      ['uws-batched', 0.9, '≥ 90% of raw uWS batched per loop turn (not in the issue: the ceiling of what the edge does)'],
      ['ws', 15, '≥ 15× ws'],
      ['socketio', 20, '≥ 20× Socket.IO'],
    ] as const) {
      const p = run(peer);
      if (p === undefined) continue;
      // Cascade's durable path and the edge's own fan-out (ephemeral), wall clock and per server CPU-second.
      const cells = (['cascade', 'cascade-ephemeral'] as const).flatMap((c) => {
        const x = run(c);
        if (x === undefined) return [];
        const wall = x.best?.deliveriesPerSec !== undefined && p.best?.deliveriesPerSec !== undefined ? x.best.deliveriesPerSec / p.best.deliveriesPerSec : undefined;
        const cpu = x.efficiency !== undefined && p.efficiency !== undefined ? x.efficiency / p.efficiency : undefined;
        const name = c === 'cascade' ? 'durable' : 'edge fan-out (ephemeral)';
        return [{ text: `${name}: ${ratio(x.best?.deliveriesPerSec, p.best?.deliveriesPerSec)} wall clock, ${ratio(x.efficiency, p.efficiency)} per server CPU-s`, status: `${name} ${check(wall === undefined ? undefined : wall >= want)} / ${check(cpu === undefined ? undefined : cpu >= want)}` }];
      });
      if (cells.length > 0) lines.push(`| fan-out ${text} (${int(n)} subs) | ${cells.map((x) => x.text).join('; ')} | ${cells.map((x) => x.status).join('; ')} |`);
    }
  }
  const authed = idleAuthed(r.idle);
  for (const instances of [...new Set(r.idle.map((i) => i.instances ?? 1))]) {
    const ci = idleRun(r.idle, 'cascade', authed, instances);
    const ui = idleRun(r.idle, 'uws', authed, instances);
    if (ci === undefined || ui === undefined) continue;
    const c = ci.bytesPerConnection;
    const u = ui.bytesPerConnection;
    const what = authed ? 'authenticated, user channel + shared channel' : 'Cascade anonymous, same shared channel';
    const where = `${int(ci.connections)} connections${instances > 1 ? ` over ${instances} processes` : ''}`;
    lines.push(`| idle memory per connection ≤ 1.5× raw uWS (${what}, ${where}), RSS as it is | ${ratio(c, u)}${u <= 0 ? ` (uWS grew ${kib(u)} KiB/conn: below noise)` : ''} | ${check(u > 0 ? c / u <= 1.5 : undefined)} |`);
    const cq = ci.quietBytesPerConnection;
    const uq = ui.quietBytesPerConnection;
    if (cq !== undefined && uq !== undefined) lines.push(`| idle memory per connection ≤ 1.5× raw uWS (${what}, ${where}), RSS after ${(ci.quietMs ?? 0) / 1000} s idle | ${ratio(cq, uq)} | ${check(uq > 0 ? cq / uq <= 1.5 : undefined)} |`);
    const cg = ci.collectedBytesPerConnection;
    const ug = ui.collectedBytesPerConnection;
    if (cg !== undefined && ug !== undefined) lines.push(`| idle memory per connection ≤ 1.5× raw uWS (${what}, ${where}), RSS after a full GC | ${ratio(cg, ug)} | ${check(ug > 0 ? cg / ug <= 1.5 : undefined)} |`);
  }
  const p100 = r.pipeline.find((p) => (p.target ?? 'cascade') === 'cascade' && p.rate === 100 && p.subscribers >= 1000);
  lines.push(`| pipeline p99 < 5 ms at 100 publishes/s to 1,000 subscribers, all deliveries as the one-core generator read them | ${p100 ? `${ms(p100.p99Ms)} ms` : 'n/a'} | ${check(p100 ? p100.p99Ms < 5 : undefined)} |`);
  if (p100?.probes) lines.push(`| pipeline p99 < 5 ms at 100 publishes/s to 1,000 subscribers, at probe subscribers (nearer a client's view) | ${ms(p100.probes.p99Ms)} ms | ${check(p100.probes.p99Ms < 5)} |`);
  const cs = r.storm?.find((x) => x.target === 'cascade');
  if (cs !== undefined) {
    lines.push(`| 10,000 authenticated connects/s (${int(cs.requested)} connections), wall clock | ${int(cs.connectsPerSec)}/s | ${check(cs.connectsPerSec >= 10_000)} |`);
    lines.push(`| 10,000 authenticated connects/s, per server CPU-second (what one dedicated core would do) | ${int(cs.connectsPerServerCpuSec)}/CPU-s | ${check(Number.isFinite(cs.connectsPerServerCpuSec) ? cs.connectsPerServerCpuSec >= 10_000 : undefined)} |`);
  }
  if (r.durations !== undefined) {
    lines.push('', `Scenario time: ${Object.entries(r.durations).map(([k, v]) => `${k} ${v} s`).join(', ')}.`);
  }
  if (r.errors.length > 0) {
    lines.push('', '## Errors', '');
    for (const e of r.errors) lines.push(`- ${e.scenario} / ${e.target}: ${e.message.split('\n')[0]}`);
  }
  lines.push('');
  return lines.join('\n');
}

/** Whether the peers held a user channel (runs recorded before that compare Cascade anonymous). */
function idleAuthed(idle: IdleResult[]): boolean {
  return idle.some((i) => i.target !== 'cascade' && i.personalChannels);
}

/** The idle run of `target` with or without user channels, at `instances` server processes. */
function idleRun(idle: IdleResult[], target: string, personal: boolean, instances: number): IdleResult | undefined {
  return idle.find((i) => i.target === target && i.personalChannels === personal && (i.instances ?? 1) === instances);
}

function pipelineTable(runs: PipelineRun[]): string[] {
  const hop = (h: PipelineRun['hops'], k: 'ingest' | 'history' | 'live') => (h ? `${ms(h[k].p50Ms)} / ${ms(h[k].p99Ms)}` : '');
  const out = [
    '## Cascade full pipeline latency (publish → JetStream → worker → NATS → edge → subscribers)',
    '',
    'The hop columns are the latency (p50 / p99 ms) from the send time to the copy a NATS tap sees: the ingest subject (the edge published into JetStream), the history subject (the worker appended), the live subject (the copy went live). The raw uWS row is the floor: the same fan-out with no pipeline behind it. "All deliveries" counts every copy as the generator read it: its workers read hundreds of sockets each on one core, so the last of 1,000 copies waits for the 999 reads before it. "Probes" are a few of the subscribers read by a process of their own, idle between messages, so no other socket is read before them in their loop; it shares the generator\'s core, so they are nearer what a subscriber sees, not a clean measure of it.',
    '',
    '| system | publishes/s | subscribers | delivered | all deliveries p50 ms | p99 ms | p99.9 ms | max ms | probes p50 / p99 / p99.9 ms | → ingest | → history | → live |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const p of runs) {
    const name = (p.target ?? 'cascade') === 'cascade' ? 'Cascade' : 'raw uWebSockets.js (floor)';
    const probes = p.probes ? `${ms(p.probes.p50Ms)} / ${ms(p.probes.p99Ms)} / ${ms(p.probes.p999Ms)} (${p.probes.count})` : '';
    out.push(`| ${name} | ${int(p.rate)} | ${int(p.subscribers)} | ${(p.deliveredRatio * 100).toFixed(1)}% | ${ms(p.p50Ms)} | ${ms(p.p99Ms)} | ${ms(p.p999Ms)} | ${ms(p.maxMs)} | ${probes} | ${hop(p.hops, 'ingest')} | ${hop(p.hops, 'history')} | ${hop(p.hops, 'live')} |`);
  }
  out.push('');
  return out;
}

function stormTable(rows: StormResult[]): string[] {
  const c = rows.find((x) => x.target === 'cascade');
  const out = [
    `## Connection storm: ${int(rows[0]!.requested)} clients connect at once`,
    '',
    '| System | token verified | opened | failed | connects/s | handshake p50 ms | p99 ms | server CPU µs per connect | connects per server CPU-s | server RSS after MiB | Cascade ÷ this, connects/s | Cascade ÷ this, per server CPU-s |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const x of rows) {
    out.push(
      `| ${x.label} | ${x.authenticated ? 'yes' : 'no'} | ${int(x.opened)} | ${int(x.failed)} | ${int(x.connectsPerSec)} | ${ms(x.handshake.p50Ms)} | ${ms(x.handshake.p99Ms)} | ${int((x.serverCpuSec / Math.max(1, x.opened)) * 1e6)} | ${int(x.connectsPerServerCpuSec)} | ${mib(x.rssAfterBytes)} | ${ratio(c?.connectsPerSec, x.connectsPerSec)} | ${ratio(c?.connectsPerServerCpuSec, x.connectsPerServerCpuSec)} |`,
    );
  }
  out.push('', '- Server CPU is read from /proc in 10 ms ticks: for small runs the per-connect figures are coarse.');
  for (const x of rows) if (x.notes.length > 0) out.push(`- ${x.label}: ${x.notes.join('; ')}`);
  out.push('');
  return out;
}

function channelsTable(rows: ChannelsResult[]): string[] {
  const get = (t: string) => rows.find((r) => r.target === t);
  const cWall = get('cascade')?.best?.deliveriesPerSec;
  const cEff = get('cascade')?.efficiency;
  const first = rows[0]!;
  const out = [
    `## Many small channels: ${int(first.channels)} channels × 2 subscribers (${int(first.connections)} connections, ${first.perConnection} channels each), publishes round-robin over the channels`,
    '',
    '| System | publishes/s sustained | deliveries/s | p50 ms | p99 ms | p99.9 ms | server CPU | deliveries per server CPU-s | per CPU-s, all processes | server RSS MiB | Cascade ÷ this, deliveries/s | Cascade ÷ this, per server CPU-s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const b = r.best;
    out.push(
      `| ${r.label} | ${int(b?.rate)} | ${int(b?.deliveriesPerSec)} | ${ms(b?.p50Ms)} | ${ms(b?.p99Ms)} | ${ms(b?.p999Ms)} | ${b ? `${(b.serverCpu * 100).toFixed(0)}%` : 'n/a'} | ${int(r.efficiency)} | ${int(r.systemEfficiency)} | ${mib(r.serverRssBytes)} | ${ratio(cWall, b?.deliveriesPerSec)} | ${ratio(cEff, r.efficiency)} |`,
    );
  }
  out.push('');
  for (const r of rows) {
    const last = r.steps.at(-1);
    out.push(`- ${r.label}: ${last && !last.ok ? `stopped at ${int(last.rate)} publishes/s (${last.why})` : 'never fell behind within the step limit'}; warm-up (one message per channel) ${(r.warmupMs / 1000).toFixed(1)} s`);
  }
  out.push('');
  return out;
}

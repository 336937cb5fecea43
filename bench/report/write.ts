// Writes a run: bench/results/<timestamp>.json, latest.json, latest.md and one SVG chart per
// scenario (latest-*.svg), and prints the markdown.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderMarkdown } from './markdown.js';
import type { Results } from './results.js';
import { barChart } from './svg.js';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

function charts(r: Results): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of [...new Set(r.fanout.map((f) => f.subscribers))]) {
    out[`latest-fanout-${n}.svg`] = barChart({
      title: `Broadcast fan-out to ${n.toLocaleString('en-US')} subscribers: sustained deliveries/s`,
      unit: '/s',
      bars: r.fanout.filter((f) => f.subscribers === n).map((f) => ({ label: f.label, value: f.best?.deliveriesPerSec ?? 0, highlight: f.target.startsWith('cascade') })),
      note: `${r.mode} run ${r.startedAt}; server on core 0, generator on core 1; higher is better`,
      format: (v) => Math.round(v).toLocaleString('en-US'),
    });
  }
  for (const n of [...new Set(r.fanout.map((f) => f.subscribers))]) {
    out[`latest-fanout-${n}-per-cpu.svg`] = barChart({
      title: `Fan-out to ${n.toLocaleString('en-US')} subscribers: deliveries per server CPU-second`,
      unit: '/CPU-s',
      bars: r.fanout.filter((f) => f.subscribers === n).map((f) => ({ label: f.label, value: f.efficiency ?? 0, highlight: f.target.startsWith('cascade') })),
      note: `${r.mode} run ${r.startedAt}; robust to other load on the machine; higher is better`,
      format: (v) => Math.round(v).toLocaleString('en-US'),
    });
  }
  if (r.pipeline.length > 0) {
    out['latest-pipeline.svg'] = barChart({
      title: 'Pipeline latency (Cascade durable path; raw uWS fan-out as the floor)',
      unit: 'ms',
      bars: r.pipeline.flatMap((p) => {
        const who = `${(p.target ?? 'cascade') === 'cascade' ? 'Cascade' : 'uWS'} ${p.rate}/s→${p.subscribers}`;
        return [
          { label: `${who} p50`, value: p.p50Ms },
          { label: `${who} p99`, value: p.p99Ms, highlight: (p.target ?? 'cascade') === 'cascade' },
        ];
      }),
      note: `${r.mode} run ${r.startedAt}; lower is better`,
      format: (v) => v.toFixed(2),
    });
  }
  if (r.idle.length > 0) {
    out['latest-idle.svg'] = barChart({
      title: `Idle memory per connection (${[...new Set(r.idle.map((i) => i.requested.toLocaleString('en-US')))].join(' / ')} connections)`,
      unit: 'KiB',
      bars: r.idle.map((i) => ({ label: `${i.label} (${Math.round(i.connections / 1000)}k)`, value: (i.quietBytesPerConnection ?? i.bytesPerConnection) / 1024, highlight: i.target === 'cascade' })),
      note: `${r.mode} run ${r.startedAt}; server RSS growth / connections${r.idle.some((i) => i.quietMs !== undefined) ? ', after the connections sat idle (no forced GC)' : ', read just after the connects'}; lower is better`,
      format: (v) => v.toFixed(1),
    });
  }
  const storm = r.storm ?? [];
  if (storm.length > 0) {
    out['latest-storm.svg'] = barChart({
      title: `Connection storm, ${storm[0]!.requested.toLocaleString('en-US')} clients: connects per server CPU-second`,
      unit: '/CPU-s',
      bars: storm.map((x) => ({ label: `${x.label}${x.authenticated ? '' : ' (no token)'}`, value: x.connectsPerServerCpuSec, highlight: x.target === 'cascade' })),
      note: `${r.mode} run ${r.startedAt}; authenticated handshakes (HS256 JWT) except NATS; higher is better`,
      format: (v) => Math.round(v).toLocaleString('en-US'),
    });
  }
  const channels = r.channels ?? [];
  if (channels.length > 0) {
    out['latest-channels.svg'] = barChart({
      title: `${channels[0]!.channels.toLocaleString('en-US')} channels × 2 subscribers: sustained deliveries/s`,
      unit: '/s',
      bars: channels.map((c) => ({ label: c.label, value: c.best?.deliveriesPerSec ?? 0, highlight: c.target.startsWith('cascade') })),
      note: `${r.mode} run ${r.startedAt}; publishes round-robin over the channels; higher is better`,
      format: (v) => Math.round(v).toLocaleString('en-US'),
    });
  }
  const resume = r.resume ?? [];
  if (resume.length > 0) {
    out['latest-resume.svg'] = barChart({
      title: `Cascade resume: time to catch up ${resume[0]!.missed.toLocaleString('en-US')} missed messages (median)`,
      unit: 'ms',
      bars: resume.flatMap((x) => [
        { label: `${x.path}: reconnect → last`, value: x.medianTotalMs, highlight: true },
        { label: `${x.path}: subscribe → last`, value: x.medianCatchUpMs },
      ]),
      note: `${r.mode} run ${r.startedAt}; lower is better`,
      format: (v) => v.toFixed(1),
    });
  }
  return out;
}

/** Re-renders latest.md and the charts from a stored run (after a change to the report). */
export function renderStored(file: string): string {
  const r = JSON.parse(readFileSync(file, 'utf8')) as Results;
  const md = renderMarkdown(r);
  writeFileSync(join(RESULTS_DIR, 'latest.md'), md);
  for (const [name, svg] of Object.entries(charts(r))) writeFileSync(join(RESULTS_DIR, name), svg);
  return md;
}

export function writeResults(r: Results): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = `${JSON.stringify(r, null, 2)}\n`;
  const stamp = r.startedAt.replace(/[:.]/g, '-');
  writeFileSync(join(RESULTS_DIR, `${stamp}-${r.mode}.json`), json);
  writeFileSync(join(RESULTS_DIR, 'latest.json'), json);
  const md = renderMarkdown(r);
  writeFileSync(join(RESULTS_DIR, 'latest.md'), md);
  for (const [file, svg] of Object.entries(charts(r))) writeFileSync(join(RESULTS_DIR, file), svg);
  return md;
}

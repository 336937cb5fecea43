// `cascade stats`: one edge node at a glance, from its GET /healthz and GET /metrics:
// connections, subscriptions, frames in and out, publishes, drops.
import { durationOption, Failure, parse, urlOption } from '../args.js';
import type { Command } from '../command.js';
import { bytes, count, table, toJson } from '../format.js';
import { httpGet, jsonBody } from '../http.js';
import { parsePrometheus, summarize } from '../metrics.js';
import { HTTP_HELP } from './history.js';

function split(r: Record<string, number>): string {
  const parts = Object.entries(r).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${count(v)}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

function sum(r: Record<string, number>): number {
  return Object.values(r).reduce((a, v) => a + v, 0);
}

export const statsCommand: Command = {
  name: 'stats',
  help: `Usage: cascade stats [options]

Shows one edge node's health (GET /healthz) and a summary of its Prometheus metrics
(GET /metrics): connections, subscriptions, frames in and out, publishes, drops. With
--json: {"health": {...}, "metrics": {...}}.

Options:
${HTTP_HELP}
  --json             print health and the metric summary as JSON

Example:
  npx cascade stats --http http://127.0.0.1:8080`,
  async run(argv, ctx) {
    const { values } = parse('stats', argv, { http: { type: 'string' }, timeout: { type: 'string' } }, { min: 0, max: 0 });
    const out = ctx.output(values['json'] === true);
    const base = urlOption(values, 'http', ctx.env['CASCADE_HTTP'] ?? 'http://127.0.0.1:8080', ['http:', 'https:']);
    const timeoutMs = durationOption(values, 'timeout', 100, 600_000) ?? 5000;
    const healthUrl = new URL('/healthz', base);
    const metricsUrl = new URL('/metrics', base);
    const [h, m] = await Promise.all([httpGet(healthUrl, { timeoutMs }), httpGet(metricsUrl, { timeoutMs })]);
    if (h.status !== 200) throw new Failure(`${healthUrl.href} answered ${h.status}: ${h.text.slice(0, 120).trim()}`);
    if (m.status !== 200) throw new Failure(`${metricsUrl.href} answered ${m.status}: ${m.text.slice(0, 120).trim()}`);
    const health = jsonBody(healthUrl, h) as Record<string, unknown>;
    const metrics = summarize(parsePrometheus(m.text));
    if (out.json) {
      out.value(toJson({ health, metrics }));
      return 0;
    }
    const s = out.style;
    const status = String(health['status'] ?? '?');
    out.line(`${s.bold(String(health['instance'] ?? base.host))}  ${status === 'ok' ? s.green(status) : s.red(status)}  uws ${String(health['uws'] ?? '?')}  ${s.dim(base.origin)}`);
    const rows = [
      ['connections', `${count(metrics.connections)}`, s.dim(`${count(metrics.connectionsOpened)} opened since start`)],
      ['subscriptions', `${count(metrics.subscriptions)}`, s.dim(`${count(metrics.natsSubscriptions)} live channels (NATS subscriptions)`)],
      ['frames in', count(metrics.framesIn), s.dim('from clients')],
      ['frames out', count(metrics.framesOut), s.dim(`to clients, from ${count(metrics.liveFrames)} live frames`)],
      ['publishes', count(sum(metrics.publishes)), s.dim(`${split(metrics.publishes).trim()}${metrics.publishMeanMs === undefined ? '' : ` mean ack ${metrics.publishMeanMs.toFixed(1)} ms`}`)],
      ['drops', count(sum(metrics.drops)), sum(metrics.drops) > 0 ? s.yellow(split(metrics.drops).trim()) : ''],
      ['disconnects', count(sum(metrics.disconnects)), s.dim(split(metrics.disconnects).trim())],
      ['send buffers', bytes(metrics.sendBufferBytes), s.dim('unsent, all connections')],
    ];
    for (const line of table(rows)) out.line(`  ${line}`);
    return 0;
  },
};

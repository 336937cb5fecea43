// Reading the edge's Prometheus text (/metrics) into numbers, and the summary `stats`
// shows: the counters an operator looks at first, labelled series summed or split.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text exposition format; comments and unparsable lines are skipped. */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    if (!Number.isNaN(value)) samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}

export interface EdgeSummary {
  connections: number;
  connectionsOpened: number;
  subscriptions: number;
  natsSubscriptions: number;
  framesIn: number;
  framesOut: number;
  liveFrames: number;
  publishes: Record<string, number>;
  drops: Record<string, number>;
  disconnects: Record<string, number>;
  sendBufferBytes: number;
  /** Mean time to a durable publish ack since start (the histogram's sum / count); undefined before any publish. */
  publishMeanMs: number | undefined;
}

function total(samples: Sample[], name: string): number {
  return samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
}

function byLabel(samples: Sample[], name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) if (s.name === name) out[s.labels[label] ?? ''] = (out[s.labels[label] ?? ''] ?? 0) + s.value;
  return out;
}

export function summarize(samples: Sample[]): EdgeSummary {
  const count = total(samples, 'cascade_edge_publish_seconds_count');
  const sum = total(samples, 'cascade_edge_publish_seconds_sum');
  return {
    connections: total(samples, 'cascade_edge_connections'),
    connectionsOpened: total(samples, 'cascade_edge_connections_opened_total'),
    subscriptions: total(samples, 'cascade_edge_subscriptions'),
    natsSubscriptions: total(samples, 'cascade_edge_nats_subscriptions'),
    framesIn: total(samples, 'cascade_edge_frames_in_total'),
    framesOut: total(samples, 'cascade_edge_frames_out_total'),
    liveFrames: total(samples, 'cascade_edge_live_frames_total'),
    publishes: byLabel(samples, 'cascade_edge_publishes_total', 'result'),
    drops: byLabel(samples, 'cascade_edge_drops_total', 'reason'),
    disconnects: byLabel(samples, 'cascade_edge_disconnects_total', 'code'),
    sendBufferBytes: total(samples, 'cascade_edge_send_buffer_bytes'),
    publishMeanMs: count > 0 ? (sum / count) * 1000 : undefined,
  };
}

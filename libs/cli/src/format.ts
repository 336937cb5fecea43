// Pure formatting: the readable lines people see and the JSON values scripts get. No I/O
// here, so every shape is unit-tested; colours are passed in (off for pipes and --json).

/** ANSI styles, or no-ops when colour is off. */
export interface Style {
  dim(s: string): string;
  bold(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  red(s: string): string;
  cyan(s: string): string;
}

const wrap = (code: number) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;
export const COLOR: Style = { dim: wrap(2), bold: wrap(1), green: wrap(32), yellow: wrap(33), red: wrap(31), cyan: wrap(36) };
const same = (s: string) => s;
export const PLAIN: Style = { dim: same, bold: same, green: same, yellow: same, red: same, cyan: same };

/** JSON text where binary values (msgpack bin) are base64 strings, as the edge's HTTP API does. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v));
}

/** What `tail` and `history` print per message. */
export interface MessageView {
  channel: string;
  seq: number;
  ep: string;
  ts: number;
  from?: string | undefined;
  key?: string | undefined;
  data: unknown;
}

/** The same keys in the same order whatever the source (SDK message or HTTP history frame). */
export function messageJson(m: MessageView): Record<string, unknown> {
  return { channel: m.channel, seq: m.seq, ep: m.ep, ts: m.ts, ...(m.from === undefined ? {} : { from: m.from }), ...(m.key === undefined ? {} : { key: m.key }), data: m.data };
}

/** Local wall-clock time with milliseconds: the day is rarely in doubt while tailing. */
export function clock(ts: number): string {
  const d = new Date(ts);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** `12:00:01.234  chat:room1  #3  alice  {"text":"hi"}` */
export function messageLine(m: MessageView, s: Style): string {
  return [s.dim(clock(m.ts)), s.cyan(m.channel), s.bold(`#${m.seq}`), m.from ?? s.dim('-'), toJson(m.data)].join('  ');
}

/** Converts a message frame of the HTTP history API (`{t, ch, seq, ep, ts, from, key, data}`). */
export function fromHistoryFrame(f: Record<string, unknown>): MessageView {
  return {
    channel: String(f['ch']),
    seq: Number(f['seq']),
    ep: String(f['ep']),
    ts: Number(f['ts']),
    from: typeof f['from'] === 'string' ? f['from'] : undefined,
    key: typeof f['key'] === 'string' ? f['key'] : undefined,
    data: f['data'],
  };
}

/** "1.2 s", "340 ms", "2 m 5 s": elapsed time for summaries. */
export function elapsed(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} m ${Math.round((ms % 60_000) / 1000)} s`;
}

/** "3 minutes ago", for last-seen times. */
export function ago(ts: number, now: number): string {
  const s = Math.max(0, Math.round((now - ts) / 1000));
  if (s < 2) return 'now';
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} days ago`;
}

/** Aligns rows of cells into columns separated by two spaces (the last column is not padded). */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(c))));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - visibleLength(c)))).join('  ').trimEnd());
}

/** Length on screen: colour codes take no room. */
function visibleLength(s: string): number {
  return s.replace(/\x1b\[[0-9;]*m/g, '').length;
}

/** Numbers with thousands separators, so counters read at a glance. */
export function count(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(2);
}

/** "1.5 KiB" */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

// Argument parsing and validation shared by every command: node:util parseArgs plus value
// checks that fail with a UsageError (exit code 2) naming the option and what it expects.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseChannel } from '@cascade/protocol';

/** A mistake in how the command was called: printed with a hint, exit code 2. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Something that went wrong while doing the work (unreachable server, refusal): exit code 1. */
export class Failure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'Failure';
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

/**
 * Parses `argv` strictly: unknown options, missing values and stray positionals become a
 * UsageError instead of node's TypeError text.
 */
export function parse(command: string, argv: string[], options: Options, positionals: { min: number; max: number }): { values: Values; positionals: string[] } {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] };
  } catch (err) {
    // node's messages are clear but long ("Unknown option '--x'. To specify a positional
    // argument starting with a '-', place it at the end of the command after '--'...").
    const text = err instanceof Error ? err.message.split('. ')[0]! : String(err);
    throw new UsageError(text.replace(/\.$/, ''), command);
  }
  if (parsed.values.help === true) return parsed;
  const n = parsed.positionals.length;
  if (n < positionals.min) throw new UsageError(`missing argument${positionals.min - n > 1 ? 's' : ''}`, command);
  if (n > positionals.max) throw new UsageError(`unexpected argument "${parsed.positionals[positionals.max]}"`, command);
  return parsed;
}

export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(values: Values, name: string): boolean {
  return values[name] === true;
}

/** An integer option within [min, max]; undefined when absent. */
export function intOption(values: Values, name: string, min: number, max: number): number | undefined {
  const raw = str(values, name);
  if (raw === undefined) return undefined;
  if (!/^\d{1,16}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "30s", "5m", "1h", "2d", or a bare number of seconds; returns milliseconds. */
export function parseDuration(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNITS[m[2] ?? 's']!;
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

export function durationOption(values: Values, name: string, minMs: number, maxMs: number): number | undefined {
  const raw = str(values, name);
  if (raw === undefined) return undefined;
  const ms = parseDuration(raw);
  if (ms === undefined || ms < minMs || ms > maxMs) {
    throw new UsageError(`--${name} must be a duration like 30s, 5m or 1h (from ${formatMs(minMs)} to ${formatMs(maxMs)}), got "${raw}"`);
  }
  return ms;
}

function formatMs(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** A channel name, checked with the protocol's rules before anything is sent. */
export function channelArg(raw: string, what = 'channel'): string {
  const parsed = parseChannel(raw);
  if (!parsed.ok) throw new UsageError(`${what} "${raw}" is not valid: ${parsed.reason}`);
  return parsed.channel.name;
}

/** A comma-separated list ("chat:*,public:*"), blanks dropped. */
export function listOption(values: Values, name: string): string[] | undefined {
  const raw = str(values, name);
  if (raw === undefined) return undefined;
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) throw new UsageError(`--${name} must list at least one item, comma-separated`);
  return items;
}

/** A URL option with one of the given schemes; the scheme is what tells ws:// from http://. */
export function urlOption(values: Values, name: string, fallback: string, schemes: string[]): URL {
  const raw = str(values, name) ?? fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--${name} must be a URL like ${schemes[0]}//127.0.0.1:8080, got "${raw}"`);
  }
  if (!schemes.includes(url.protocol)) throw new UsageError(`--${name} must start with ${schemes.map((s) => `${s}//`).join(' or ')}, got "${raw}"`);
  return url;
}

/**
 * A resume position: "<epoch>:<seq>" as printed by `tail` and `history`, or "0" for "from
 * the oldest retained message" (seq 0 continues in any epoch when history starts at 1).
 */
export function parseSince(raw: string): { ep: string; seq: number } {
  if (/^\d+$/.test(raw) && Number(raw) === 0) return { ep: '', seq: 0 };
  const i = raw.lastIndexOf(':');
  const ep = i > 0 ? raw.slice(0, i) : '';
  const seq = raw.slice(i + 1);
  if (i <= 0 || !/^\d{1,16}$/.test(seq) || !Number.isSafeInteger(Number(seq)) || ep.length > 64) {
    throw new UsageError(`--since must be <epoch>:<seq> (as tail --json prints them) or 0, got "${raw}"`);
  }
  return { ep, seq: Number(seq) };
}

/** JSON text from the command line; a bare word is a common mistake, so the hint says how to quote. */
export function jsonArg(raw: string, what = 'data'): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    // Not JSON: say how to write a string rather than guessing what was meant.
    throw new UsageError(`${what} must be JSON, got ${raw.length > 40 ? `${raw.slice(0, 40)}...` : raw} (a string needs JSON quotes: '"hello"')`);
  }
}

// The SSE transport's wire format, as pure functions (docs/protocol.md, "SSE"): the edge's
// HTTP base URL derived from the configured one, the `GET /v1/sse` URL, the position vector
// carried in `id:` and `since=`, strict parsing of every event's JSON, and the mapping of
// HTTP answers to registry codes. No I/O: sse-transport.ts does that.
import { CloseCode, ErrorCode, FrameType, type MessageFrame, type PresenceMember, type StreamPosition } from '@cascade/protocol';

/** `ws(s)://` and `http(s)://` URLs of an edge, normalised to `http(s)://host[:port]/path/`. Throws TypeError otherwise. */
export function httpBase(url: string, relativeTo?: string): string {
  let u: URL;
  try {
    u = new URL(url, relativeTo);
  } catch {
    throw new TypeError(`not a URL: ${url}`);
  }
  if (u.protocol === 'ws:') u.protocol = 'http:';
  else if (u.protocol === 'wss:') u.protocol = 'https:';
  else if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`an edge URL must be ws:, wss:, http: or https:, not ${u.protocol}`);
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  u.search = '';
  u.hash = '';
  return u.toString();
}

export interface StreamRequest {
  channels: readonly string[];
  token?: string;
  /** The position vector to resume from (`since=`), when any channel has a position. */
  since?: string;
  presence?: boolean;
}

/** `GET /v1/sse?ch=..&ch=..[&token=..][&since=..][&presence=1]` under an edge base URL. */
export function streamUrl(base: string, r: StreamRequest): string {
  const q = new URLSearchParams();
  for (const ch of r.channels) q.append('ch', ch);
  if (r.token !== undefined) q.set('token', r.token);
  if (r.since !== undefined) q.set('since', r.since);
  if (r.presence) q.set('presence', '1');
  return `${base}v1/sse?${q.toString()}`;
}

/** `POST /v1/channels/<ch>/messages` or `/ephemeral` under an edge base URL. */
export function channelUrl(base: string, channel: string, what: 'messages' | 'ephemeral' | 'presence'): string {
  return `${base}v1/channels/${encodeURIComponent(channel)}/${what}`;
}

/**
 * Positions the edge accepts in a vector: an epoch of 1-64 characters (it refuses longer
 * ones, as in a WebSocket `since`) and a seq, or the empty epoch with seq 0 (BEFORE_FIRST,
 * the start of a channel that had no message yet: `:0`).
 */
export function vectorSafePosition(p: StreamPosition): boolean {
  return typeof p.ep === 'string' && p.ep.length <= 64 && Number.isSafeInteger(p.seq) && p.seq >= 0 && (p.ep !== '' || p.seq === 0);
}

/**
 * The positions of a stream's channels, in the order of its `ch` parameters: `ep:seq`
 * joined by `,`, empty for a channel without a position. Epochs are percent-encoded (the
 * fan-out worker's are hex, which stays as it is), so a `,` or `:` in one cannot split the
 * vector. Undefined when no channel has a position (then `since=` is left out).
 */
export function encodeVector(positions: readonly (StreamPosition | undefined)[]): string | undefined {
  if (!positions.some((p) => p !== undefined)) return undefined;
  return positions.map((p) => (p ? `${encodeURIComponent(p.ep)}:${p.seq}` : '')).join(',');
}

/** Parses a position vector of `count` channels; undefined when it does not parse or has another length. */
export function parseVector(v: string, count: number): (StreamPosition | undefined)[] | undefined {
  const parts = v.split(',');
  if (parts.length !== count) return undefined;
  const out: (StreamPosition | undefined)[] = [];
  for (const p of parts) {
    if (p === '') {
      out.push(undefined);
      continue;
    }
    const m = /^([^,:]*):(\d{1,16})$/.exec(p);
    const seq = m ? Number(m[2]) : NaN;
    let ep: string;
    try {
      ep = m ? decodeURIComponent(m[1]!) : '';
    } catch {
      return undefined;
    }
    if (!m || !vectorSafePosition({ ep, seq })) return undefined;
    out.push({ ep, seq });
  }
  return out;
}

// ---- event data (all of it is outside input: parse strictly, drop what does not fit) ----

function json(data: unknown): Record<string, unknown> | undefined {
  if (typeof data !== 'string') return undefined;
  try {
    const v: unknown = JSON.parse(data);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const optStr = (v: unknown): boolean => v === undefined || typeof v === 'string';

/** A stored message (an event without `event:` line). */
export function parseMessage(data: unknown): MessageFrame | undefined {
  const o = json(data);
  if (!o || !isStr(o.ch) || !isStr(o.ep) || !isSeq(o.seq) || o.seq < 1 || typeof o.ts !== 'number') return undefined;
  if (!optStr(o.from) || !optStr(o.key) || !optStr(o.grp) || !('data' in o)) return undefined;
  return {
    t: FrameType.Message,
    ch: o.ch,
    seq: o.seq,
    ep: o.ep,
    ts: o.ts,
    ...(o.from === undefined ? {} : { from: o.from as string }),
    ...(o.key === undefined ? {} : { key: o.key as string }),
    ...(o.grp === undefined ? {} : { grp: o.grp as string }),
    data: o.data,
  };
}

export interface SseConnected {
  client: string;
  user: string;
  exp?: number;
}

export function parseConnected(data: unknown): SseConnected | undefined {
  const o = json(data);
  if (!o || typeof o.client !== 'string' || typeof o.user !== 'string') return undefined;
  if (o.exp !== undefined && typeof o.exp !== 'number') return undefined;
  return { client: o.client, user: o.user, ...(o.exp === undefined ? {} : { exp: o.exp }) };
}

/**
 * `event: position`, sent once at the start of every stream (its id is the whole vector):
 * where each channel starts. `position` is absent for a channel the edge could not place
 * (its history service was unreachable): it starts live, without a position.
 */
export function parsePositions(data: unknown): Array<{ ch: string; position?: StreamPosition }> | undefined {
  const o = json(data);
  if (!o || !Array.isArray(o.positions)) return undefined;
  const out: Array<{ ch: string; position?: StreamPosition }> = [];
  for (const e of o.positions as unknown[]) {
    const p = e as { ch?: unknown; ep?: unknown; seq?: unknown } | null;
    if (typeof p !== 'object' || p === null || !isStr(p.ch)) return undefined;
    if (p.ep === undefined && p.seq === undefined) {
      out.push({ ch: p.ch });
      continue;
    }
    if (typeof p.ep !== 'string' || !isSeq(p.seq) || !vectorSafePosition({ ep: p.ep, seq: p.seq })) return undefined;
    out.push({ ch: p.ch, position: { ep: p.ep, seq: p.seq } });
  }
  return out;
}

/** `event: unrecovered`: the channel's resume was impossible; live delivery continues after `ep:seq`. */
export function parseUnrecovered(data: unknown): { ch: string; position: StreamPosition } | undefined {
  const o = json(data);
  if (!o || !isStr(o.ch) || !isStr(o.ep) || !isSeq(o.seq)) return undefined;
  return { ch: o.ch, position: { ep: o.ep, seq: o.seq } };
}

export function parseEphemeral(data: unknown): { ch: string; ts: number; from?: string; data: unknown } | undefined {
  const o = json(data);
  if (!o || !isStr(o.ch) || typeof o.ts !== 'number' || !optStr(o.from) || !('data' in o)) return undefined;
  return { ch: o.ch, ts: o.ts, ...(o.from === undefined ? {} : { from: o.from as string }), data: o.data };
}

function members(v: unknown): PresenceMember[] | undefined {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return undefined;
  const out: PresenceMember[] = [];
  for (const m of v) {
    const o = m as { user?: unknown; client?: unknown } | null;
    if (typeof o !== 'object' || o === null || typeof o.user !== 'string' || typeof o.client !== 'string') return undefined;
    out.push({ user: o.user, client: o.client });
  }
  return out;
}

export function parsePresence(data: unknown): { ch: string; join: PresenceMember[]; leave: PresenceMember[]; count?: number } | undefined {
  const o = json(data);
  if (!o || !isStr(o.ch)) return undefined;
  const join = members(o.join);
  const leave = members(o.leave);
  if (!join || !leave || (o.count !== undefined && !isSeq(o.count))) return undefined;
  return { ch: o.ch, join, leave, ...(o.count === undefined ? {} : { count: o.count as number }) };
}

/** `event: error`: the edge ends the response after it. */
export function parseStreamError(data: unknown): { code: number; msg: string; ch?: string } | undefined {
  const o = json(data);
  if (!o || typeof o.code !== 'number' || !Number.isInteger(o.code)) return undefined;
  return { code: o.code, msg: typeof o.msg === 'string' ? o.msg : '', ...(isStr(o.ch) ? { ch: o.ch } : {}) };
}

/** `event: reconnect` (drain): the edge ends the response after `delay` ms. */
export function parseReconnect(data: unknown): { delay: number; reason: string } | undefined {
  const o = json(data);
  if (!o || typeof o.delay !== 'number' || !(o.delay >= 0)) return undefined;
  return { delay: o.delay, reason: typeof o.reason === 'string' ? o.reason : '' };
}

// ---- HTTP answers ----

export interface HttpFailure {
  status: number;
  /** A registry code: the body's when it names one, else the nearest for the status. */
  code: number;
  msg: string;
  ch?: string;
}

function codeForStatus(status: number): number {
  switch (status) {
    case 400:
    case 404:
    case 405:
      return ErrorCode.BadRequest;
    case 401:
      return CloseCode.Unauthorized;
    case 403:
      return ErrorCode.PermissionDenied;
    case 413:
      return ErrorCode.PayloadTooLarge;
    case 429:
      return ErrorCode.RateLimited;
    case 504:
      return ErrorCode.Timeout;
    default:
      return status >= 500 ? ErrorCode.Unavailable : ErrorCode.Internal;
  }
}

/** The edge's refusal (`{"code", "error"}` JSON body, or anything else) as a registry code and text. */
export function httpFailure(status: number, bodyText: string): HttpFailure {
  const o = json(bodyText);
  const code = o && typeof o.code === 'number' && Number.isInteger(o.code) ? o.code : codeForStatus(status);
  const msg = o && typeof o.error === 'string' ? o.error : `HTTP ${status}`;
  return { status, code, msg, ...(o && isStr(o.ch) ? { ch: o.ch } : {}) };
}

/**
 * Whether an HTTP publish that failed like this may succeed when sent again with the same
 * key: network failures (status 0), 5xx, 429, and an expired token (after fetching a fresh one).
 */
export function retryableHttp(f: { status: number; code: number }): boolean {
  if (f.status === 0 || f.status >= 500 || f.status === 429 || f.status === 408) return true;
  return f.status === 401 && f.code === CloseCode.TokenExpired;
}

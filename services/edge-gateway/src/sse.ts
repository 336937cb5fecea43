// The SSE wire format of `GET /v1/sse` (docs/protocol.md section 18): the request's
// parameters, the position vector carried in every stored message's `id:` and in `since=`,
// and the text of each event. Live frames are turned into event text once per frame and the
// bytes are shared by every subscriber. Pure: no I/O.
import { CloseCode, ErrorCode, FrameType, parseChannel, MAX_TOKEN_LENGTH, type ChannelName, type StreamPosition } from '@cascade/protocol';
import { bearerCredential } from './bearer.js';
import { framePosition } from './frame-position.js';
import { msgpackMapToJson } from './msgpack-json.js';

export type SsePosition = StreamPosition | undefined;

/** The keep-alive comment (EDGE_SSE_KEEPALIVE). */
export const KEEPALIVE = ': ka\n\n';

/** Epochs longer than this are refused in a vector, as in a WebSocket `since`. */
const MAX_EPOCH_LENGTH = 64;
// The epoch may be empty: `:0` is the position of a channel without messages (BEFORE_FIRST).
const ENTRY_RE = /^([^:,]*):(\d{1,16})$/;

/**
 * One channel's part of a vector: `<ep>:<seq>`, or '' without a position. Epochs made by the
 * fan-out worker are hex; anything else is percent-encoded, so a `,`, `:` or line break can
 * never split the vector or the event.
 */
export function formatPosition(p: SsePosition): string {
  return p === undefined ? '' : `${encodeURIComponent(p.ep)}:${p.seq}`;
}

export function formatPositionVector(positions: readonly SsePosition[]): string {
  return positions.map(formatPosition).join(',');
}

/** Parses a vector for `count` channels (Last-Event-ID or `since=`). */
export function parsePositionVector(text: string, count: number): { ok: true; positions: SsePosition[] } | { ok: false; error: string } {
  const parts = text.split(',');
  if (parts.length !== count) return { ok: false, error: `the position vector has ${parts.length} entries for ${count} channels` };
  const positions: SsePosition[] = [];
  for (const part of parts) {
    if (part === '') {
      positions.push(undefined);
      continue;
    }
    const m = ENTRY_RE.exec(part);
    let ep: string | undefined;
    try {
      ep = m ? decodeURIComponent(m[1]!) : undefined;
    } catch {
      ep = undefined;
    }
    const seq = m ? Number(m[2]) : NaN;
    if (ep === undefined || ep.length > MAX_EPOCH_LENGTH || !Number.isSafeInteger(seq) || (ep === '' && seq !== 0)) {
      return { ok: false, error: `position ${JSON.stringify(part.slice(0, 80))} is not <epoch>:<seq>` };
    }
    positions.push({ ep, seq });
  }
  return { ok: true, positions };
}

/** The text of one event; `json` is a single line (JSON.stringify never emits a line break). */
export function sseEvent(name: string | undefined, json: string, id?: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}${name === undefined ? '' : `event: ${name}\n`}data: ${json}\n\n`;
}

export function retryField(ms: number): string {
  return `retry: ${ms}\n\n`;
}

/**
 * `event: position`, the first event after `connected` (and any `unrecovered`): where each
 * channel starts, with the whole vector as its `id:`, so the browser's Last-Event-ID covers
 * every channel before the first message arrives.
 */
export function positionEvent(channels: readonly ChannelName[], positions: readonly SsePosition[]): string {
  const entries = channels.map((ch, i) => {
    const p = positions[i];
    return p === undefined ? { ch } : { ch, ep: p.ep, seq: p.seq };
  });
  return sseEvent('position', JSON.stringify({ positions: entries }), formatPositionVector(positions));
}

/** `event: error` (the stream ends after it). */
export function errorEvent(code: number, msg: string, ch?: string): string {
  return sseEvent('error', JSON.stringify(ch === undefined ? { code, msg } : { code, msg, ch }));
}

/**
 * A live frame as SSE, built once and shared by every subscriber. Stored messages carry
 * their position (each subscriber adds its own `id:` line before `bytes`); ephemeral and
 * presence events are complete as they are.
 */
export type SseFrame =
  | { t: typeof FrameType.Message; ep: string; seq: number; bytes: Uint8Array }
  | { t: typeof FrameType.EphemeralMessage | typeof FrameType.Presence; bytes: Uint8Array };

const OMIT_T: ReadonlySet<string> = new Set(['t']);
const OMIT_MESSAGE: ReadonlySet<string> = new Set(['t', 'skip']);

/** The SSE form of a server frame, or undefined for frames SSE does not carry (or that do not decode). */
export function sseFrameOf(channel: ChannelName, frame: Uint8Array): SseFrame | undefined {
  const p = framePosition(frame);
  if (p === undefined) return undefined;
  if (p.t === FrameType.Message) {
    if (p.ep === undefined || p.seq === undefined) return undefined;
    let json: string;
    try {
      json = msgpackMapToJson(frame, OMIT_MESSAGE);
    } catch {
      // The message still takes its place in the sequence, so the stream has no hole.
      json = JSON.stringify({ ch: channel, seq: p.seq, ep: p.ep, data: null });
    }
    return { t: FrameType.Message, ep: p.ep, seq: p.seq, bytes: Buffer.from(`data: ${json}\n\n`) };
  }
  if (p.t === FrameType.EphemeralMessage || p.t === FrameType.Presence) {
    let json: string;
    try {
      json = msgpackMapToJson(frame, OMIT_T);
    } catch {
      return undefined;
    }
    return { t: p.t, bytes: Buffer.from(sseEvent(p.t === FrameType.Presence ? 'presence' : 'ephemeral', json)) };
  }
  return undefined;
}

export interface SseRequest {
  channels: ChannelName[];
  /** From `Authorization: Bearer` (wins) or `token=`; undefined = anonymous. */
  token: string | undefined;
  /** One entry per channel: where to resume from (Last-Event-ID wins over `since=`). */
  positions: SsePosition[];
  presence: boolean;
}

export type SseRequestResult = { ok: true; request: SseRequest } | { ok: false; status: 400 | 401; code: number; error: string };

function bad(code: number, error: string): SseRequestResult {
  return { ok: false, status: 400, code, error };
}

/** Reads and checks the request: channels, token, resume position, presence. */
export function parseSseRequest(r: { query: string; lastEventId: string; authorization: string; maxSubscriptions: number }): SseRequestResult {
  const q = new URLSearchParams(r.query);
  const raw = q.getAll('ch');
  if (raw.length === 0) return bad(ErrorCode.BadRequest, 'name at least one channel: ?ch=<channel>');
  if (raw.length > r.maxSubscriptions) return bad(ErrorCode.SubscriptionLimit, `at most ${r.maxSubscriptions} channels per stream`);
  const channels: ChannelName[] = [];
  const seen = new Set<string>();
  for (const c of raw) {
    const parsed = parseChannel(c);
    if (!parsed.ok) return bad(ErrorCode.InvalidChannel, `channel ${JSON.stringify(c.slice(0, 130))}: ${parsed.reason}`);
    if (seen.has(parsed.channel.name)) return bad(ErrorCode.BadRequest, `channel ${parsed.channel.name} is named twice`);
    seen.add(parsed.channel.name);
    channels.push(parsed.channel.name);
  }
  const tokens = q.getAll('token');
  if (tokens.length > 1) return bad(ErrorCode.BadRequest, 'give one token');
  const bearer = bearerCredential(r.authorization);
  const token = bearer ?? tokens[0];
  if (token !== undefined && (token === '' || token.length > MAX_TOKEN_LENGTH)) {
    return { ok: false, status: 401, code: CloseCode.Unauthorized, error: token === '' ? 'the token is empty' : `the token is longer than ${MAX_TOKEN_LENGTH} characters` };
  }
  const since = q.getAll('since');
  if (since.length > 1) return bad(ErrorCode.BadRequest, 'give one since');
  const vector = r.lastEventId !== '' ? r.lastEventId : since[0] || undefined;
  let positions: SsePosition[] = channels.map(() => undefined);
  if (vector !== undefined) {
    const parsed = parsePositionVector(vector, channels.length);
    if (!parsed.ok) return bad(ErrorCode.BadRequest, `${r.lastEventId !== '' ? 'Last-Event-ID' : 'since'}: ${parsed.error}`);
    positions = parsed.positions;
  }
  const presence = q.getAll('presence');
  if (presence.length > 1 || (presence.length === 1 && presence[0] !== '1' && presence[0] !== '0')) return bad(ErrorCode.BadRequest, 'presence must be 1 or 0');
  return { ok: true, request: { channels, token, positions, presence: presence[0] === '1' } };
}

// The history service's request-reply API (`<prefix>.svc.history.<verb>`), shared by the
// service and its callers (edge): request and reply shapes, their strict validation, and
// a small NATS client. Bodies are msgpack, because replies carry stored frames as bytes.
import { Decoder } from '@msgpack/msgpack';
import { ErrorCode, encodeValue, parseChannel, type ChannelName } from '@cascade/protocol';
import type { NatsConnection } from '@nats-io/nats-core';
import { PositionBatch, type BatchAnswer } from './position-batch.js';
import { NoRespondersError, Requester } from './requests.js';
import type { Contract } from './subjects.js';

/** Most messages one read returns; larger `limit`s are refused, not clamped silently. */
export const MAX_HISTORY_LIMIT = 1000;
export const DEFAULT_HISTORY_LIMIT = 100;
const MAX_EPOCH_LENGTH = 64;
// One decoder with fixed bounds (a reply holds up to MAX_HISTORY_LIMIT stored frames).
// Not @cascade/protocol's decodeValue: that one caches a decoder per input length.
const decoder = new Decoder({ maxStrLength: 1 << 20, maxArrayLength: MAX_HISTORY_LIMIT + 16, maxMapLength: 64 });

function decodeValue(body: Uint8Array): { ok: true; frame: unknown } | { ok: false } {
  try {
    return { ok: true, frame: decoder.decode(body) };
  } catch {
    // Any decoding failure means the same thing to the caller: not one valid value.
    return { ok: false };
  }
}

export const HistoryVerb = { Read: 'read', Position: 'position', Positions: 'positions' } as const;

/** Channels one `positions` request names at most. */
export const MAX_POSITIONS = 500;

/**
 * read: messages of one channel, at most `limit`.
 * - `dir: 'fwd'` (default): ascending from seq `from` (default: the oldest retained).
 * - `dir: 'back'`: descending from seq `from` (default: the newest).
 * - `ep`: the epoch the caller's `from` belongs to. When given and it is not the channel's
 *   current epoch, or `from` (fwd) lies before the oldest retained message, the reply is
 *   `RecoveryImpossible` with the current position: the caller cannot get a gap-free
 *   continuation and must reload. Resume is `{ep, from: seq + 1}`.
 */
export interface HistoryReadRequest {
  ch: ChannelName;
  from?: number;
  ep?: string;
  limit?: number;
  dir?: 'fwd' | 'back';
}

export interface HistoryPositionRequest {
  ch: ChannelName;
}

/** positions: the position of each channel, answered in the same order (1 to MAX_POSITIONS distinct channels). */
export interface HistoryPositionsRequest {
  chs: ChannelName[];
}

/**
 * Where a channel's history stands. `ep` '' and `seq` 0: nothing stored (a channel never
 * written, or whose history aged out entirely: its next message starts a new epoch).
 * `first`: seq of the oldest retained message (0 when none).
 */
export interface HistoryPosition {
  ep: string;
  seq: number;
  first: number;
}

export interface HistoryReadResult extends HistoryPosition {
  /** The stored `message` frames (msgpack maps), in the direction read. */
  msgs: Uint8Array[];
  /** Seq to pass as `from` for the next page in the same direction; absent when there is none. */
  next?: number;
}

export type HistoryError = {
  ok: false;
  /** An ErrorCode: BadRequest, InvalidChannel, RecoveryImpossible, Unavailable, Internal. */
  code: number;
  msg: string;
} & Partial<HistoryPosition>;

export type HistoryReply<T> = ({ ok: true } & T) | HistoryError;

/** The reply to `positions`: one entry per channel asked, each as the `position` reply would be. */
export interface HistoryPositionsResult {
  positions: HistoryReply<HistoryPosition>[];
}

function isPlainMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

type Parsed<T> = { ok: true; request: T } | HistoryError;

function bad(code: number, msg: string): HistoryError {
  return { ok: false, code, msg };
}

function decodeMap(body: Uint8Array): { ok: true; map: Record<string, unknown> } | HistoryError {
  const decoded = decodeValue(body);
  if (!decoded.ok) return bad(ErrorCode.BadRequest, 'request is not one msgpack value');
  if (!isPlainMap(decoded.frame)) return bad(ErrorCode.BadRequest, 'request must be a msgpack map');
  return { ok: true, map: decoded.frame };
}

function channelOf(m: Record<string, unknown>): { ok: true; ch: ChannelName } | HistoryError {
  const ch = parseChannel(m['ch']);
  return ch.ok ? { ok: true, ch: ch.channel.name } : bad(ErrorCode.InvalidChannel, ch.reason);
}

/** Strictly validates a read request body; every bad field is named in the error. */
export function parseReadRequest(body: Uint8Array): Parsed<HistoryReadRequest> {
  const m = decodeMap(body);
  if (!m.ok) return m;
  const map = m.map;
  const ch = channelOf(map);
  if (!ch.ok) return ch;
  const request: HistoryReadRequest = { ch: ch.ch };
  const { from, ep, limit, dir } = map;
  if (from !== undefined && from !== null) {
    if (!isSeq(from)) return bad(ErrorCode.BadRequest, 'from must be a non-negative integer');
    request.from = from;
  }
  if (ep !== undefined && ep !== null) {
    if (typeof ep !== 'string' || ep.length > MAX_EPOCH_LENGTH) return bad(ErrorCode.BadRequest, `ep must be a string of at most ${MAX_EPOCH_LENGTH} characters`);
    request.ep = ep;
  }
  if (limit !== undefined && limit !== null) {
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY_LIMIT) {
      return bad(ErrorCode.BadRequest, `limit must be an integer from 1 to ${MAX_HISTORY_LIMIT}`);
    }
    request.limit = limit;
  }
  if (dir !== undefined && dir !== null) {
    if (dir !== 'fwd' && dir !== 'back') return bad(ErrorCode.BadRequest, "dir must be 'fwd' or 'back'");
    request.dir = dir;
  }
  return { ok: true, request };
}

export function parsePositionRequest(body: Uint8Array): Parsed<HistoryPositionRequest> {
  const m = decodeMap(body);
  if (!m.ok) return m;
  const ch = channelOf(m.map);
  return ch.ok ? { ok: true, request: { ch: ch.ch } } : ch;
}

/** Strictly validates a positions request: every channel valid, none twice, 1 to MAX_POSITIONS of them. */
export function parsePositionsRequest(body: Uint8Array): Parsed<HistoryPositionsRequest> {
  const m = decodeMap(body);
  if (!m.ok) return m;
  const chs = m.map['chs'];
  if (!Array.isArray(chs) || chs.length < 1 || chs.length > MAX_POSITIONS) return bad(ErrorCode.BadRequest, `chs must be an array of 1 to ${MAX_POSITIONS} channels`);
  const seen = new Set<ChannelName>();
  for (let i = 0; i < chs.length; i++) {
    const ch = parseChannel(chs[i]);
    if (!ch.ok) return bad(ErrorCode.InvalidChannel, `chs[${i}]: ${ch.reason}`);
    if (seen.has(ch.channel.name)) return bad(ErrorCode.BadRequest, `chs[${i}]: ${ch.channel.name} is named twice`);
    seen.add(ch.channel.name);
  }
  return { ok: true, request: { chs: [...seen] } };
}

export function encodeHistoryMessage(value: HistoryReadRequest | HistoryPositionRequest | HistoryPositionsRequest | HistoryReply<unknown>): Uint8Array {
  return encodeValue(value);
}

/** Thrown by HistoryClient when the service answered with an error reply. */
export class HistoryRequestError extends Error {
  override readonly name = 'HistoryRequestError';
  constructor(readonly reply: HistoryError) {
    super(reply.msg);
  }

  /** The channel's position, when the error carries it (RecoveryImpossible does). */
  get position(): HistoryPosition | undefined {
    const { ep, seq, first } = this.reply;
    return ep !== undefined && seq !== undefined ? { ep, seq, first: first ?? 0 } : undefined;
  }
}

function decodeReply<T>(body: Uint8Array): HistoryReply<T> {
  const decoded = decodeValue(body);
  if (!decoded.ok || !isPlainMap(decoded.frame) || typeof decoded.frame['ok'] !== 'boolean') {
    throw new Error('history service sent a reply that is not a msgpack map with ok');
  }
  return decoded.frame as HistoryReply<T>;
}

/** Checks a `positions` reply entry by entry: each a position or an error reply. */
function parsePositionsResult(r: HistoryPositionsResult, count: number): Array<BatchAnswer<HistoryPosition>> {
  const entries: unknown = (r as { positions?: unknown }).positions;
  if (!Array.isArray(entries) || entries.length !== count) throw new Error(`history sent a positions reply without ${count} entries`);
  return entries.map((e: unknown): BatchAnswer<HistoryPosition> => {
    if (!isPlainMap(e)) throw new Error('history sent a positions entry that is not a map');
    if (e['ok'] === true && typeof e['ep'] === 'string' && isSeq(e['seq']) && isSeq(e['first'])) {
      return { ok: true, position: { ep: e['ep'], seq: e['seq'], first: e['first'] } };
    }
    if (e['ok'] === false && typeof e['code'] === 'number' && typeof e['msg'] === 'string') {
      return { ok: false, error: new HistoryRequestError({ ok: false, code: e['code'], msg: e['msg'] }) };
    }
    throw new Error('history sent a positions entry that is neither a position nor an error');
  });
}

/**
 * Calls the history service. Guarantees: resolves with the service's answer or throws
 * HistoryRequestError (the service refused: bad request, recovery impossible) or another
 * Error (no service, timeout: the outcome says nothing about the channel).
 */
export class HistoryClient {
  // Every connect with a token asks for its personal channel's position: the requests go
  // through one reply subscription (requests.ts), not nats.js's per-request machinery, and
  // the positions asked in one event-loop turn go as one `positions` request (position-batch.ts).
  private readonly requests: Requester;
  private readonly positions: PositionBatch<HistoryPosition>;

  constructor(
    nc: NatsConnection,
    private readonly contract: Contract,
    timeoutMs = 5000,
  ) {
    this.requests = new Requester(nc, timeoutMs);
    this.positions = new PositionBatch<HistoryPosition>({
      fetch: (chs) => this.fetchPositions(chs),
      schedule: (flush) => setImmediate(flush),
      maxBatch: MAX_POSITIONS,
    });
  }

  async read(request: HistoryReadRequest): Promise<HistoryReadResult> {
    return this.call<HistoryReadResult>(HistoryVerb.Read, request);
  }

  /** Sent at the end of the turn, with the other positions asked in it, as one request. */
  position(ch: ChannelName): Promise<HistoryPosition> {
    return this.positions.position(ch);
  }

  private async fetchPositions(chs: readonly ChannelName[]): Promise<Array<BatchAnswer<HistoryPosition>>> {
    let result: HistoryPositionsResult;
    try {
      result = await this.call<HistoryPositionsResult>(HistoryVerb.Positions, { chs: [...chs] });
    } catch (e) {
      // A history service older than `positions` (a rolling upgrade) does not listen on it:
      // ask it channel by channel, as before.
      if (!(e instanceof NoRespondersError)) throw e;
      return Promise.all(
        chs.map((ch) =>
          this.call<HistoryPosition>(HistoryVerb.Position, { ch }).then(
            (position): BatchAnswer<HistoryPosition> => ({ ok: true, position }),
            (error: Error): BatchAnswer<HistoryPosition> => ({ ok: false, error }),
          ),
        ),
      );
    }
    return parsePositionsResult(result, chs.length);
  }

  private async call<T>(verb: string, request: HistoryReadRequest | HistoryPositionRequest | HistoryPositionsRequest): Promise<T> {
    const msg = await this.requests.request(this.contract.service('history', verb), encodeHistoryMessage(request));
    const reply = decodeReply<T>(msg.data);
    if (!reply.ok) throw new HistoryRequestError(reply);
    const { ok: _ok, ...rest } = reply;
    return rest as unknown as T;
  }
}

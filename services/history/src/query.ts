// The history service's query logic, free of I/O: where a channel stands, which sequence
// range a read covers, and whether a resume position can still be served. The JetStream
// adapter (store.ts) only answers "bounds" and "range" questions for it.
import { ErrorCode, type ChannelName } from '@cascade/protocol';
import {
  DEFAULT_HISTORY_LIMIT,
  type HistoryError,
  type HistoryPosition,
  type HistoryReadRequest,
  type HistoryReadResult,
} from '@cascade/nats';

/** One stored message of a channel: its place in the channel's numbering and its frame bytes. */
export interface StoredFrame {
  seq: number;
  epoch: string;
  /** The finished client `message` frame, as stored and as sent live. */
  frame: Uint8Array;
}

/** The oldest and newest retained messages of a channel (all of one epoch). */
export interface ChannelBounds {
  epoch: string;
  first: number;
  last: number;
}

/**
 * Guarantees the query relies on: a channel's retained messages share one epoch and form
 * a contiguous seq range [first, last] (history is trimmed from the oldest end only);
 * `range(ch, from, to)` returns the retained messages with from <= seq <= to, ascending.
 * A message trimmed between `bounds` and `range` is simply missing from the result.
 */
export interface HistoryStore {
  bounds(channel: ChannelName): Promise<ChannelBounds | null>;
  range(channel: ChannelName, from: number, to: number): Promise<StoredFrame[]>;
}

export type QueryResult<T> = ({ ok: true } & T) | HistoryError;

export function positionOf(b: ChannelBounds | null): HistoryPosition {
  return b ? { ep: b.epoch, seq: b.last, first: b.first } : { ep: '', seq: 0, first: 0 };
}

function impossible(pos: HistoryPosition, why: string): HistoryError {
  return { ok: false, code: ErrorCode.RecoveryImpossible, msg: why, ...pos };
}

/**
 * Whether a reader that holds everything up to `seq` of epoch `ep` can be given a gap-free
 * continuation; undefined when it can, else the refusal. Seq 0 means "nothing yet": it is
 * served from the start when the whole epoch is still retained (any `ep`, '' included, as
 * a client that never saw a message has no epoch), or when the channel has no history.
 */
export function checkContinuation(pos: HistoryPosition, ep: string, seq: number): HistoryError | undefined {
  if (pos.seq === 0) {
    return seq === 0 ? undefined : impossible(pos, 'the channel has no history any more; reload and continue live');
  }
  if (seq === 0) {
    return pos.first === 1 ? undefined : impossible(pos, 'the start of the epoch is no longer retained; reload and continue live');
  }
  if (ep !== pos.ep) return impossible(pos, `epoch ${ep} is not the channel's current epoch; reload and continue live`);
  if (seq > pos.seq) return impossible(pos, `seq ${seq} is ahead of the channel's newest message ${pos.seq}; reload and continue live`);
  if (seq < pos.first - 1) return impossible(pos, `messages after seq ${seq} are no longer retained (oldest is ${pos.first}); reload and continue live`);
  return undefined;
}

/** The longest prefix of `frames` within `maxBytes` (at least one frame, so a read always progresses). */
function withinBytes(frames: StoredFrame[], maxBytes: number): StoredFrame[] {
  let total = 0;
  for (let i = 0; i < frames.length; i++) {
    total += frames[i]!.frame.length;
    if (total > maxBytes && i > 0) return frames.slice(0, i);
  }
  return frames;
}

export class HistoryQuery {
  constructor(
    private readonly store: HistoryStore,
    /** Frame bytes one reply carries at most (it must fit in a NATS message); the rest is the next page. */
    private readonly maxReplyBytes = 512 * 1024,
  ) {}

  async position(channel: ChannelName): Promise<QueryResult<HistoryPosition>> {
    return { ok: true, ...positionOf(await this.store.bounds(channel)) };
  }

  async read(r: HistoryReadRequest): Promise<QueryResult<HistoryReadResult>> {
    const pos = positionOf(await this.store.bounds(r.ch));
    const limit = r.limit ?? DEFAULT_HISTORY_LIMIT;
    const dir = r.dir ?? 'fwd';
    if (r.ep !== undefined && dir === 'fwd') {
      // A forward read with an epoch is a continuation: "everything after from - 1".
      const refused = checkContinuation(pos, r.ep, Math.max(0, (r.from ?? 1) - 1));
      if (refused) return refused;
    } else if (r.ep !== undefined && r.ep !== pos.ep && pos.seq > 0) {
      return impossible(pos, `epoch ${r.ep} is not the channel's current epoch`);
    }
    if (pos.seq === 0) return { ok: true, ...pos, msgs: [] };

    if (dir === 'fwd') {
      const from = Math.max(r.from ?? pos.first, pos.first);
      if (from > pos.seq) return { ok: true, ...pos, msgs: [] };
      const to = Math.min(pos.seq, from + limit - 1);
      const got = withinBytes((await this.store.range(r.ch, from, to)).filter((m) => m.epoch === pos.ep), this.maxReplyBytes);
      if (r.ep !== undefined && got[0]?.seq !== from) {
        // Trimmed between reading the bounds and the range: the continuation has a hole.
        return impossible(pos, `messages from seq ${from} were trimmed while reading; reload and continue live`);
      }
      const last = got.length > 0 ? got[got.length - 1]!.seq : to;
      // A page cut short by the byte bound continues after its last message.
      return { ok: true, ...pos, msgs: got.map((m) => m.frame), ...(last < pos.seq ? { next: last + 1 } : {}) };
    }
    const from = Math.min(r.from ?? pos.seq, pos.seq);
    if (from < pos.first) return { ok: true, ...pos, msgs: [] };
    const to = Math.max(pos.first, from - limit + 1);
    const got = withinBytes((await this.store.range(r.ch, to, from)).filter((m) => m.epoch === pos.ep).reverse(), this.maxReplyBytes);
    const oldest = got.length > 0 ? got[got.length - 1]!.seq : to;
    return { ok: true, ...pos, msgs: got.map((m) => m.frame), ...(oldest > pos.first ? { next: oldest - 1 } : {}) };
  }
}

// Starting a subscription at an exact position: deliver every message after it, then the
// live ones, in order, with no gap and no duplicate, even while messages keep arriving. The
// position is the client's (`since`: resume), or, for a new subscription, the channel's
// newest message now, which the reply tells the client so that it can resume from there.
// The channel is live first; a tap buffers its frames while the catch-up comes from the ring
// or the history service; the socket joins the channel's live fan-out only once the tap is
// drained. Transport-free: it talks to ports, so it is unit-tested.
import { BEFORE_FIRST, ErrorCode, FrameType, type ChannelName, type StreamPosition } from '@cascade/protocol';
import { HistoryRequestError, type HistoryPosition, type HistoryReadRequest, type HistoryReadResult } from '@cascade/nats';
import type { RecentFrames } from './ring.js';

/** The history service as resume needs it (HistoryClient in production). Throws HistoryRequestError on refusal. */
export interface HistoryReader {
  read(request: HistoryReadRequest): Promise<HistoryReadResult>;
  /** The channel's newest position (`''`, 0 when it has no history). */
  position(ch: ChannelName): Promise<HistoryPosition>;
}

/**
 * What the node knows of a live channel's position (ChannelHealer): `known` is the last
 * message it forwarded to its local subscribers, read in the same synchronous step as a
 * subscriber joins, so no round trip is needed; `learned` tells it a position a subscription
 * started at when it knew none (read from history), so the next subscriber needs none either.
 */
export interface ChannelPositions {
  known(channel: ChannelName): StreamPosition | undefined;
  learned(channel: ChannelName, position: StreamPosition): void;
}

/**
 * How the subscribe is answered:
 * - `recovered: true`: `since` can be continued, the catch-up follows;
 * - `recovered: false`: it cannot, live delivery continues after `position`;
 * - no `recovered` (a subscription without `since`): it starts after `position`, the
 *   channel's newest message now; `position` is undefined only when the node did not know
 *   it and the history service could not tell (the subscription then starts live, unplaced).
 */
export type ResumeReply =
  | { recovered: true }
  | { recovered: false; position: StreamPosition }
  | { recovered?: undefined; position: StreamPosition | undefined };

/** The connection side of one resuming subscription. */
export interface ResumeTarget {
  /** Whether the subscription is still the connection's current one (not unsubscribed, not closed). */
  current(): boolean;
  /**
   * Answers the subscribe request. A returned promise holds the catch-up and the live frames
   * (buffered meanwhile) until it settles: an SSE stream waits until every channel has its start.
   */
  reply(outcome: ResumeReply): void | Promise<void>;
  send(frame: Uint8Array): void;
  /** Joins the channel's live fan-out: from now on frames reach the socket directly. */
  join(): void;
  /** Resolves when the socket's unsent bytes are low enough to send more (flow control). */
  drained(): Promise<void>;
}

export type ResumeOutcome =
  /** `unplaced`: why the start could not be told (history unreachable); the subscription is live all the same. */
  | { kind: 'live'; unplaced?: unknown }
  /** The subscription ended meanwhile (unsubscribe, close); `replied` tells if the request was answered. */
  | { kind: 'aborted'; replied: boolean }
  /** History could not be read. Before the reply: the subscribe failed; after: the stream has a hole. */
  | { kind: 'failed'; replied: boolean; error: unknown };

export interface ResumeOptions {
  channel: ChannelName;
  /** The client's position; undefined: a new subscription, starting at the channel's newest message. */
  since: StreamPosition | undefined;
  recent: RecentFrames;
  history: HistoryReader;
  /** The node's own knowledge of channel positions; unset = always ask the history service. */
  positions?: ChannelPositions | undefined;
  target: ResumeTarget;
  /** Messages per history read (the service's bound is 1000). */
  pageSize?: number;
}

const DEFAULT_PAGE = 500;
/** Frames sent between two looks at the socket's unsent bytes. */
const PACE = 32;

/** Runs the catch-up for one subscription whose channel is already live on this node. */
export async function resumeSubscription(o: ResumeOptions): Promise<ResumeOutcome> {
  const { channel, since, target } = o;
  const page = o.pageSize ?? DEFAULT_PAGE;
  // The tap opens in the same synchronous step as the node's position is read: every frame
  // the node forwarded before is at or below that position, every later one is in the tap.
  const tap = o.recent.tap(channel, since);
  const known = since === undefined ? o.positions?.known(channel) : undefined;
  let replied = false;
  // The last position the client has been sent (or had): every frame sent must be the next one.
  let at: StreamPosition;

  /** Sends stored frames in order, pausing whenever the socket has enough unsent bytes. */
  const sendAll = async (frames: readonly Uint8Array[], ep: string): Promise<boolean> => {
    for (let i = 0; i < frames.length; i++) {
      target.send(frames[i]!);
      at = { ep, seq: at.seq + 1 };
      if (i % PACE === PACE - 1) {
        await target.drained();
        if (!target.current()) return false;
      }
    }
    return true;
  };

  const sendPages = async (first: HistoryReadResult): Promise<boolean> => {
    let r: HistoryReadResult = first;
    for (;;) {
      if (!(await sendAll(r.msgs, r.ep))) return false;
      if (r.next === undefined || r.msgs.length === 0) return true;
      await target.drained();
      if (!target.current()) return false;
      r = await o.history.read({ ch: channel, ep: at.ep, from: at.seq + 1, limit: page });
      if (!target.current()) return false;
    }
  };

  /** Fills at.seq+1 .. to-1 from history (a live frame `to` arrived before them). */
  const fill = async (ep: string, to: number): Promise<boolean> => {
    while (at.seq + 1 < to) {
      const r = await o.history.read({ ch: channel, ep, from: at.seq + 1, limit: Math.min(page, to - 1 - at.seq) });
      if (!target.current()) return false;
      if (r.msgs.length === 0) throw new Error(`history has no messages from seq ${at.seq + 1} of ${channel}`);
      if (!(await sendAll(r.msgs, ep))) return false;
    }
    return true;
  };

  /** Answers, then waits for the target's go-ahead (an SSE stream's other channels). */
  const answer = async (r: ResumeReply): Promise<boolean> => {
    if (!target.current()) return false;
    const wait = target.reply(r);
    replied = true;
    if (wait) await wait;
    return target.current();
  };

  try {
    let first: HistoryReadResult | undefined;
    if (since === undefined) {
      if (known) at = { ep: known.ep, seq: known.seq };
      else {
        let head: HistoryPosition;
        try {
          head = await o.history.position(channel);
        } catch (error) {
          // No start to tell: the subscription still works, unplaced (as before starts were
          // told), rather than failing every subscribe while the history service is away.
          if (!(await answer({ position: undefined }))) return { kind: 'aborted', replied };
          for (let item = tap.take(); item; item = tap.take()) target.send(item.frame);
          tap.close();
          target.join();
          return { kind: 'live', unplaced: error };
        }
        at = head.seq > 0 ? { ep: head.ep, seq: head.seq } : { ...BEFORE_FIRST };
      }
      if (!(await answer({ position: { ...at } }))) return { kind: 'aborted', replied };
    } else if (tap.covered) {
      // The ring's epoch: a `since` with seq 0 is covered by a ring that starts at seq 1, whatever its epoch.
      const ep = tap.covered[0]?.ep ?? since.ep;
      at = { ep, seq: since.seq };
      first = { ep, seq: 0, first: 0, msgs: tap.covered.map((f) => f.frame) };
      if (!(await answer({ recovered: true }))) return { kind: 'aborted', replied };
    } else {
      let reply: ResumeReply;
      try {
        first = await o.history.read({ ch: channel, ep: since.ep, from: since.seq + 1, limit: page });
        // seq 0 (nothing yet) continues in whatever epoch the channel has or gets.
        at = { ep: first.seq > 0 ? first.ep : since.ep, seq: since.seq };
        reply = { recovered: true };
      } catch (e) {
        const position = e instanceof HistoryRequestError && e.reply.code === ErrorCode.RecoveryImpossible ? e.position : undefined;
        if (!position) return { kind: 'failed', replied, error: e };
        at = { ep: position.ep, seq: position.seq };
        reply = { recovered: false, position: { ...at } };
      }
      if (!(await answer(reply))) return { kind: 'aborted', replied };
    }
    if (first && !(await sendPages(first))) return { kind: 'aborted', replied };

    // Live frames that arrived meanwhile: drop what was already sent, fill holes from history.
    for (;;) {
      if (!target.current()) return { kind: 'aborted', replied };
      const item = tap.take();
      if (!item) break;
      const p = item.position;
      if (p?.t !== FrameType.Message || p.seq === undefined || p.ep === undefined) {
        target.send(item.frame); // ephemeral and presence frames carry no position
        continue;
      }
      if (p.ep !== at.ep && at.seq > 0) {
        // The channel's history was reset meanwhile: the new epoch tells the client so.
        target.send(item.frame);
        at = { ep: p.ep, seq: p.seq };
        continue;
      }
      if (p.seq <= at.seq) continue;
      if (p.seq > at.seq + 1 && !(await fill(p.ep, p.seq))) return { kind: 'aborted', replied };
      target.send(item.frame);
      at = { ep: p.ep, seq: p.seq };
    }
    // Nothing is buffered and nothing can arrive before join() returns: the switch is exact.
    // The node learns where this subscription stands, if it knew nothing of the channel yet.
    o.positions?.learned(channel, at);
    tap.close();
    target.join();
    return { kind: 'live' };
  } catch (error) {
    return { kind: 'failed', replied, error };
  } finally {
    tap.close();
  }
}

// Resuming a subscription from a client's position: deliver every message after `since`,
// then the live ones, in order, with no gap and no duplicate, even while messages keep
// arriving. The channel is live first; a tap buffers its frames while the catch-up comes
// from the ring or the history service; the socket joins the channel's live fan-out only
// once the tap is drained. Transport-free: it talks to ports, so it is unit-tested.
import { ErrorCode, FrameType, type ChannelName, type StreamPosition } from '@cascade/protocol';
import { HistoryRequestError, type HistoryReadRequest, type HistoryReadResult } from '@cascade/nats';
import type { RecentFrames } from './ring.js';

/** The history service as resume needs it (HistoryClient in production). Throws HistoryRequestError on refusal. */
export interface HistoryReader {
  read(request: HistoryReadRequest): Promise<HistoryReadResult>;
}

/** The connection side of one resuming subscription. */
export interface ResumeTarget {
  /** Whether the subscription is still the connection's current one (not unsubscribed, not closed). */
  current(): boolean;
  /** Answers the subscribe request: recovered, or not with the position live delivery continues after. */
  reply(outcome: { recovered: true } | { recovered: false; position: StreamPosition }): void;
  send(frame: Uint8Array): void;
  /** Joins the channel's live fan-out: from now on frames reach the socket directly. */
  join(): void;
  /** Resolves when the socket's unsent bytes are low enough to send more (flow control). */
  drained(): Promise<void>;
}

export type ResumeOutcome =
  | { kind: 'live' }
  /** The subscription ended meanwhile (unsubscribe, close); `replied` tells if the request was answered. */
  | { kind: 'aborted'; replied: boolean }
  /** History could not be read. Before the reply: the subscribe failed; after: the stream has a hole. */
  | { kind: 'failed'; replied: boolean; error: unknown };

export interface ResumeOptions {
  channel: ChannelName;
  since: StreamPosition;
  recent: RecentFrames;
  history: HistoryReader;
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
  const tap = o.recent.tap(channel, since);
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

  try {
    let first: HistoryReadResult | undefined;
    let recovered = true;
    if (tap.covered) {
      at = { ep: since.ep, seq: since.seq };
      first = { ep: since.ep, seq: 0, first: 0, msgs: tap.covered.map((f) => f.frame) };
    } else {
      try {
        first = await o.history.read({ ch: channel, ep: since.ep, from: since.seq + 1, limit: page });
        // seq 0 (nothing yet) continues in whatever epoch the channel has or gets.
        at = { ep: first.seq > 0 ? first.ep : since.ep, seq: since.seq };
      } catch (e) {
        const position = e instanceof HistoryRequestError && e.reply.code === ErrorCode.RecoveryImpossible ? e.position : undefined;
        if (!position) return { kind: 'failed', replied, error: e };
        recovered = false;
        at = { ep: position.ep, seq: position.seq };
      }
    }
    if (!target.current()) return { kind: 'aborted', replied };
    target.reply(recovered ? { recovered: true } : { recovered: false, position: { ...at } });
    replied = true;
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
    tap.close();
    target.join();
    return { kind: 'live' };
  } catch (error) {
    return { kind: 'failed', replied, error };
  } finally {
    tap.close();
  }
}

// The ordered write of one message: take the channel's next sequence, build the client
// frame once, append it to history behind the fence; the same bytes then go live, sent by
// the history stream itself as it stores them (JetStream RePublish) or, on a stream without
// it, by the worker once the append is stored. Either way a message goes live only after it
// is stored, so live never runs ahead of history.
import { FrameType, encodeFrameWithPayload, type ChannelName } from '@cascade/protocol';
import type { HistoryLog } from './history-log.js';
import type { IngestMessage } from './ingest.js';
import type { ChannelPositions } from './positions.js';

/** Where finished frames go live (core NATS `<prefix>.live.<ch>` in production). */
export interface LiveOutput {
  /**
   * True while the history stream publishes every message it stores live by itself
   * (RePublish): a successful append then needs no emit. Read at every append; it follows
   * the stream's config within the live mode's refresh (`LIVE_MODE_REFRESH_MS`), so a stream
   * that loses RePublish leaves at most that long for the edges' heal to repair.
   */
  readonly streamRepublishes: boolean;
  /** `excludeClient`: the connection that must not get this frame (its edge sends it a skip notice). */
  emit(channel: ChannelName, frame: Uint8Array, excludeClient?: string): void;
}

export type SequenceOutcome =
  | { kind: 'stored'; seq: number; epoch: string }
  | { kind: 'redelivered' }
  /** The fence kept failing: another writer is active on this channel. Retry later. */
  | { kind: 'contended' }
  /** This worker no longer owns the channel's partition: nothing was written. */
  | { kind: 'not-owner' };

const FENCE_RETRIES = 3;

export class Sequencer {
  constructor(
    private readonly history: HistoryLog,
    private readonly live: LiveOutput,
    private readonly positions: ChannelPositions,
    /** Asked before every append: a worker whose partition lease lapsed must not write. */
    private readonly owns: () => boolean = () => true,
  ) {}

  /**
   * `emitted` is called synchronously once the message is stored and live (republished by
   * the stream before its PubAck left the server, or emitted here), or was recognised as
   * stored before and emitted again, so the caller can ack in the same tick: a live frame
   * of ours and the ack then leave in one write to NATS instead of two.
   */
  async sequence(m: IngestMessage, emitted?: () => void): Promise<SequenceOutcome> {
    for (let attempt = 0; attempt < FENCE_RETRIES; attempt++) {
      const pos = this.positions.get(m.channel) ?? (await this.history.head(m.channel));
      if (!this.owns()) return { kind: 'not-owner' };
      const seq = pos.seq + 1;
      const frame = encodeFrameWithPayload(
        { t: FrameType.Message, ch: m.channel, seq, ep: pos.epoch, ts: m.ts, from: m.from, key: m.key, grp: m.group },
        m.payload,
      );
      const entry = { seq, epoch: pos.epoch, ts: m.ts, frame, dedupeId: `in:${m.ingestSeq}`, excludeClient: m.excludeClient };
      const r = await this.history.append(m.channel, entry, pos.lastStored);
      if (r.kind === 'stored') {
        this.positions.set(m.channel, { epoch: pos.epoch, seq, lastStored: r.stored });
        // With RePublish the server already sent it live (with Rt-Exclude-Client, stored
        // alongside), ahead of the PubAck we just got.
        if (!this.live.streamRepublishes) this.live.emit(m.channel, frame, m.excludeClient);
        emitted?.();
        return { kind: 'stored', seq, epoch: pos.epoch };
      }
      // Our cached position is stale either way: read it back from history next time.
      this.positions.forget(m.channel);
      if (r.kind === 'duplicate') {
        // Stored by an earlier delivery that may have died before emitting it (or before the
        // stream had RePublish): emit the stored bytes again, whatever the mode; the stream
        // republishes only what it stores, never a duplicate. Subscribers drop a sequence
        // they already have.
        this.live.emit(m.channel, r.frame, m.excludeClient);
        emitted?.();
        return { kind: 'redelivered' };
      }
    }
    return { kind: 'contended' };
  }
}

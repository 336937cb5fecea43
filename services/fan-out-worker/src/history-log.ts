// The history port: a fenced, append-only log per channel. The JetStream adapter keeps
// every message on `<prefix>.hist.<ch>` in the history stream, with its sequence, epoch,
// time and (for an `echo: false` publish) the excluded connection in headers and the
// finished client frame as body; a history stream with RePublish sends exactly that, body
// and headers, live as it stores it.
import { randomBytes } from 'node:crypto';
import type { JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { Header, JetStreamPublishError, JetStreamPublisher, type Contract } from '@cascade/nats';
import type { ChannelName } from '@cascade/protocol';
import type { ChannelPosition } from './positions.js';

export interface HistoryEntry {
  seq: number;
  epoch: string;
  /** Publish time, ms since the Unix epoch. */
  ts: number;
  /** The encoded client frame, delivered as is. */
  frame: Uint8Array;
  /** Identifies the ingest message, so a redelivered one is recognised instead of stored twice. */
  dedupeId: string;
  /**
   * The connection that must not get this message live (`echo: false`). Stored with it, so
   * the stream's live copy (RePublish) carries it; history readers ignore it.
   */
  excludeClient?: string | undefined;
}

export type AppendResult =
  | { kind: 'stored'; stored: number }
  /** This ingest message was stored before (a redelivery); `frame` is what was stored. */
  | { kind: 'duplicate'; stored: number; frame: Uint8Array }
  /** The channel's newest stored message is not `expectedLast`: another writer appended, or history was reset. */
  | { kind: 'conflict' };

/**
 * Guarantees: `append` stores the entry only if the channel's newest stored message is
 * still the one named by `expectedLast` (so two writers can never both extend a channel
 * from the same position), and stores each `dedupeId` at most once within the stream's
 * duplicate window. `head` reads the newest stored position; for a channel with nothing
 * stored it returns seq 0 in a fresh epoch.
 */
export interface HistoryLog {
  head(channel: ChannelName): Promise<ChannelPosition>;
  append(channel: ChannelName, entry: HistoryEntry, expectedLast: number): Promise<AppendResult>;
}

const WRONG_LAST_SEQUENCE = 10071;

export function freshEpoch(): string {
  return randomBytes(6).toString('hex');
}

export class JetStreamHistoryLog implements HistoryLog {
  private readonly publisher: JetStreamPublisher;

  constructor(
    nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly contract: Contract,
    private readonly newEpoch: () => string = freshEpoch,
  ) {
    this.publisher = new JetStreamPublisher(nc);
  }

  async head(channel: ChannelName): Promise<ChannelPosition> {
    const last = await this.jsm.streams.getMessage(this.contract.historyStream, { last_by_subj: this.contract.history(channel) });
    if (!last) return { epoch: this.newEpoch(), seq: 0, lastStored: 0 };
    const seq = Number(last.header.get(Header.Seq));
    const epoch = last.header.get(Header.Epoch);
    if (!Number.isSafeInteger(seq) || seq < 1 || !epoch) {
      // Not written by a fan-out worker: refuse to guess a numbering from it.
      throw new Error(`history message ${last.seq} on ${channel} lacks valid ${Header.Seq}/${Header.Epoch} headers`);
    }
    return { epoch, seq, lastStored: last.seq };
  }

  async append(channel: ChannelName, entry: HistoryEntry, expectedLast: number): Promise<AppendResult> {
    const h = natsHeaders();
    h.set(Header.Seq, String(entry.seq));
    h.set(Header.Epoch, entry.epoch);
    h.set(Header.Time, String(entry.ts));
    if (entry.excludeClient !== undefined) h.set(Header.ExcludeClient, entry.excludeClient);
    // The fence and the dedupe id, as JetStream's own headers (what js.publish's
    // `expect.lastSubjectSequence` and `msgID` set).
    h.set(Header.MsgId, entry.dedupeId);
    h.set('Nats-Expected-Last-Subject-Sequence', String(expectedLast));
    try {
      const ack = await this.publisher.publish(this.contract.history(channel), entry.frame, h);
      if (!ack.duplicate) return { kind: 'stored', stored: ack.seq };
      const original = await this.jsm.streams.getMessage(this.contract.historyStream, { seq: ack.seq });
      if (!original) return { kind: 'conflict' };
      return { kind: 'duplicate', stored: ack.seq, frame: original.data };
    } catch (e) {
      if (e instanceof JetStreamPublishError && e.errCode === WRONG_LAST_SEQUENCE) return { kind: 'conflict' };
      throw e;
    }
  }

  /** Stops the PubAck subscription and its timeout sweep. */
  close(): void {
    this.publisher.close();
  }
}

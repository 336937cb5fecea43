// The JetStream adapter of the history store: reads a channel's messages from the history
// stream (`<prefix>.hist.<ch>`). Positions and short ranges use single-message gets by
// subject from the stream leader (msg-get.ts); nats-server 2.9 has no batch get, so a range
// is located by a bounded search on stream sequences, then walked, and a long one is
// streamed from its first message through a short-lived consumer (consumer-read.ts).
import type { JetStreamManager } from '@nats-io/jetstream';
import type { MsgHdrs, NatsConnection } from '@nats-io/nats-core';
import { Header, type Contract } from '@cascade/nats';
import type { ChannelName } from '@cascade/protocol';
import { ConsumerReader, type ConsumerReadLog } from './consumer-read.js';
import { LeaderGets } from './msg-get.js';
import type { ChannelBounds, HistoryStore, StoredFrame } from './query.js';

interface Located extends StoredFrame {
  /** The message's sequence in the history stream. */
  stored: number;
}

function located(m: { stored: number; header: MsgHdrs | undefined; data: Uint8Array }, channel: string): Located {
  const seq = Number(m.header?.get(Header.Seq));
  const epoch = m.header?.get(Header.Epoch);
  if (!Number.isSafeInteger(seq) || seq < 1 || !epoch) {
    // Not written by a fan-out worker: serving it would hand clients a frame without a place.
    throw new Error(`history message ${m.stored} on ${channel} lacks valid ${Header.Seq}/${Header.Epoch} headers`);
  }
  return { seq, epoch, frame: m.data, stored: m.stored };
}

export interface JetStreamHistoryStoreOptions {
  /**
   * Ranges of more messages than this stream through a consumer; shorter ones are walked
   * with gets. A consumer costs a create and a delete (in a cluster both are proposals to
   * the meta leader, which every stream and consumer change of the cluster goes through),
   * then streams; a get costs one round trip to the stream leader and nothing else.
   * Measured on one nats-server 2.9.10 with the channel interleaved with another: the two
   * take the same time at 24-32 messages, the consumer costs the server more CPU up to
   * about 64 (1,000: 47 ms against 137 ms). A reconnect herd is mostly resumes of a few
   * messages each; at 32 those create no consumers at all, and only real catch-ups pay a
   * create. Default 32.
   */
  streamAbove?: number;
  /** Longest a get may wait for its answer. Default 4 s. */
  getTimeoutMs?: number;
  /** Longest a range may take once its bounds are known; past it the read fails. Default 4 s (the edge gives up after 5 s). */
  readTimeoutMs?: number;
  /** Most bytes one consumer pull brings; above the stream's largest message. Default 8 MiB. */
  pullBytes?: number;
  log?: ConsumerReadLog;
}

/**
 * Reads go to the stream leader (STREAM.MSG.GET), not to direct get on any replica: a
 * frame an edge has seen live must already be readable here, or a resume could leave a
 * hole between history and the live stream. A long range is streamed by a consumer, which
 * may sit on a replica that is behind: the read ends only at `to`, at the channel's newest
 * message as the leader named it when the read began, or at a message past them, and
 * whatever the consumer did not deliver is read from the leader.
 */
export class JetStreamHistoryStore implements HistoryStore {
  private readonly gets: LeaderGets;
  private readonly consumers: ConsumerReader;
  private readonly streamAbove: number;
  private readonly readTimeoutMs: number;

  constructor(nc: NatsConnection, jsm: JetStreamManager, private readonly contract: Contract, o: JetStreamHistoryStoreOptions = {}) {
    this.streamAbove = o.streamAbove ?? 32;
    this.readTimeoutMs = o.readTimeoutMs ?? 4000;
    const apiPrefix = jsm.getOptions().apiPrefix ?? '$JS.API';
    this.gets = new LeaderGets(nc, apiPrefix, contract.historyStream, o.getTimeoutMs ?? 4000);
    // Idle for 30 s, a read consumer is past any read's deadline: the server removes it.
    this.consumers = new ConsumerReader(nc, jsm, contract.historyStream, { pullBytes: o.pullBytes ?? 8 * 1024 * 1024, inactiveMs: 30_000 }, o.log);
  }

  /** Fails reads in flight and every later one. */
  close(): void {
    this.gets.close();
  }

  private async nextAtOrAfter(subject: string, stored: number, channel: string): Promise<Located | null> {
    const m = await this.gets.get({ next_by_subj: subject, seq: Math.max(1, stored) });
    return m ? located(m, channel) : null;
  }

  private async ends(channel: ChannelName): Promise<{ first: Located; last: Located } | null> {
    const subject = this.contract.history(channel);
    // The newest first: for a channel without history that is the only get, and the server
    // answers it from its per-subject index.
    const lastMsg = await this.gets.get({ last_by_subj: subject });
    if (!lastMsg) return null;
    const last = located(lastMsg, channel);
    const first = (await this.nextAtOrAfter(subject, 1, channel)) ?? last;
    // One epoch per channel's retained history (a new one starts only on an empty
    // history); should an older epoch linger, only the newest message is served.
    return { first: first.epoch === last.epoch ? first : last, last };
  }

  async bounds(channel: ChannelName): Promise<ChannelBounds | null> {
    const e = await this.ends(channel);
    return e ? { epoch: e.last.epoch, first: e.first.seq, last: e.last.seq } : null;
  }

  async range(channel: ChannelName, from: number, to: number): Promise<StoredFrame[]> {
    const e = await this.ends(channel);
    if (!e || to < from) return [];
    const start = Math.max(from, e.first.seq);
    const end = Math.min(to, e.last.seq);
    if (start > end) return [];
    const deadline = Date.now() + this.readTimeoutMs;
    const subject = this.contract.history(channel);
    const head = await this.locate(subject, channel, start, e.first, e.last);
    if (!head) return [];

    const out: StoredFrame[] = [];
    let prevSeq = 0;
    let prevStored = head.stored;
    let complete = false;
    // Takes the next message in stream order; false once nothing after it belongs in the
    // range. The range ends at `end` or at the newest message when the read began; a
    // message of another epoch (the channel was emptied and restarted meanwhile), out of
    // order, or past `end` (what lay between was trimmed) ends it too, without being taken.
    const take = (m: Located): boolean => {
      if (m.epoch !== e.last.epoch || m.seq <= prevSeq || m.seq > end) {
        complete = true;
        return false;
      }
      if (m.seq >= start) out.push({ seq: m.seq, epoch: m.epoch, frame: m.frame });
      prevSeq = m.seq;
      prevStored = m.stored;
      complete = m.seq === end || m.stored >= e.last.stored;
      return !complete;
    };
    take(head);

    if (!complete && end - start + 1 > this.streamAbove) {
      await this.consumers.read(subject, prevStored + 1, end - prevSeq, deadline, (m) => take(located(m, channel)));
    }
    // What the consumer did not deliver (or all of a short range) comes from the leader.
    while (!complete) {
      if (Date.now() > deadline) throw new Error(`history read of ${channel} ${from}..${to}: out of time at seq ${prevSeq}`);
      const m = await this.nextAtOrAfter(subject, prevStored + 1, channel);
      if (!m) break;
      take(m);
    }
    return out;
  }

  /**
   * The stored message with channel seq `target` (or the first after it, if it was
   * trimmed meanwhile). Channel seqs grow with stream seqs, one stream seq at least per
   * channel seq, so `target` lies in [first.stored + (target - first.seq), last.stored -
   * (last.seq - target)]; a channel written alone is found with one get, others by
   * bisection of that interval.
   */
  private async locate(subject: string, channel: string, target: number, first: Located, last: Located): Promise<Located | null> {
    if (target <= first.seq) return first;
    if (target >= last.seq) return last;
    let lo = first.stored + (target - first.seq);
    let hi = last.stored - (last.seq - target);
    let probe = lo;
    let best: Located | null = null;
    while (lo <= hi) {
      const m = await this.nextAtOrAfter(subject, probe, channel);
      if (!m || m.seq > target) {
        if (m) best = m;
        hi = probe - 1;
      } else if (m.seq === target) {
        return m;
      } else {
        lo = Math.max(lo, m.stored + (target - m.seq));
      }
      probe = Math.floor((lo + hi) / 2);
      if (probe < lo) probe = lo;
    }
    // Not found between the bounds: trimmed while searching; continue from what follows.
    return best ?? this.nextAtOrAfter(subject, lo, channel);
  }
}

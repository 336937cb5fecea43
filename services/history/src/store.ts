// The JetStream adapter of the history store: reads a channel's messages from the history
// stream (`<prefix>.hist.<ch>`) with single-message gets by subject. nats-server 2.9 has no
// batch get, so a range is located by a bounded search on stream sequences, then walked.
import type { JetStreamManager, MsgRequest, StoredMsg } from '@nats-io/jetstream';
import { Header, type Contract } from '@cascade/nats';
import type { ChannelName } from '@cascade/protocol';
import type { ChannelBounds, HistoryStore, StoredFrame } from './query.js';

interface Located extends StoredFrame {
  /** The message's sequence in the history stream. */
  stored: number;
}

function located(m: StoredMsg, channel: string): Located {
  const seq = Number(m.header.get(Header.Seq));
  const epoch = m.header.get(Header.Epoch);
  if (!Number.isSafeInteger(seq) || seq < 1 || !epoch) {
    // Not written by a fan-out worker: serving it would hand clients a frame without a place.
    throw new Error(`history message ${m.seq} on ${channel} lacks valid ${Header.Seq}/${Header.Epoch} headers`);
  }
  return { seq, epoch, frame: m.data, stored: m.seq };
}

/**
 * Reads go to the stream leader (STREAM.MSG.GET), not to direct get on any replica: a
 * frame an edge has seen live must already be readable here, or a resume could leave a
 * hole between history and the live stream.
 */
export class JetStreamHistoryStore implements HistoryStore {
  constructor(
    private readonly jsm: JetStreamManager,
    private readonly contract: Contract,
  ) {}

  private async nextAtOrAfter(subject: string, stored: number, channel: string): Promise<Located | null> {
    // STREAM.MSG.GET takes next_by_subj since nats-server 2.9; the client's type only
    // lists seq and last_by_subj for it.
    const query = { next_by_subj: subject, seq: Math.max(1, stored) } as unknown as MsgRequest;
    const m = await this.jsm.streams.getMessage(this.contract.historyStream, query);
    return m ? located(m, channel) : null;
  }

  private async ends(channel: ChannelName): Promise<{ first: Located; last: Located } | null> {
    const subject = this.contract.history(channel);
    const lastMsg = await this.jsm.streams.getMessage(this.contract.historyStream, { last_by_subj: subject });
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
    const subject = this.contract.history(channel);
    let m = await this.locate(subject, channel, start, e.first, e.last);
    const out: StoredFrame[] = [];
    while (m && m.seq <= end) {
      if (m.seq >= start) out.push({ seq: m.seq, epoch: m.epoch, frame: m.frame });
      if (m.seq === end) break;
      m = await this.nextAtOrAfter(subject, m.stored + 1, channel);
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

// Join and leave notices for channel subscribers, batched per channel: changes collect
// until the next flush (one frame per channel per batch interval at most), a join and a
// leave of the same user cancel out, and a channel whose batch or membership outgrows the
// member limit is sent as a count only. Pending work per channel is bounded by the member
// limit, so a storm coalesces in place instead of queueing.
import { FrameType, encodeServerFrame, type ChannelName, type PresenceMember } from '@cascade/protocol';

interface PendingChannel {
  joins: Map<string, string>;
  leaves: Map<string, string>;
  /** Too many changes to list: only the count will be sent. */
  countOnly: boolean;
}

export interface PresenceFrameOut {
  ch: ChannelName;
  /** An encoded PresenceFrame (t:105), ready for `<prefix>.live.<ch>`. */
  frame: Uint8Array;
}

export class ChannelPresenceBatcher {
  // Insertion order is the order channels first changed: flushing from the front under a
  // budget serves the longest-waiting channel first, so none starves.
  private readonly pending = new Map<ChannelName, PendingChannel>();

  constructor(
    private readonly maxMembers: number,
    private readonly countOf: (ch: ChannelName) => number,
  ) {}

  join(ch: ChannelName, user: string, client: string): void {
    const p = this.channel(ch);
    if (p.countOnly || p.leaves.delete(user)) return;
    p.joins.set(user, client);
    this.limit(p);
  }

  leave(ch: ChannelName, user: string, client: string): void {
    const p = this.channel(ch);
    if (p.countOnly || p.joins.delete(user)) return;
    p.leaves.set(user, client);
    this.limit(p);
  }

  /** Channels waiting for a frame. */
  get backlog(): number {
    return this.pending.size;
  }

  /** Frames for waiting channels, oldest first, while `take()` grants budget; the rest keep waiting. */
  flush(take: () => boolean): PresenceFrameOut[] {
    const out: PresenceFrameOut[] = [];
    for (const [ch, p] of this.pending) {
      if (!p.countOnly && p.joins.size === 0 && p.leaves.size === 0) {
        this.pending.delete(ch);
        continue;
      }
      if (!take()) break;
      this.pending.delete(ch);
      const count = this.countOf(ch);
      if (p.countOnly || count > this.maxMembers) {
        out.push({ ch, frame: encodeServerFrame({ t: FrameType.Presence, ch, count }) });
        continue;
      }
      const join = members(p.joins);
      const leave = members(p.leaves);
      out.push({
        ch,
        frame: encodeServerFrame({ t: FrameType.Presence, ch, ...(join.length > 0 ? { join } : {}), ...(leave.length > 0 ? { leave } : {}), count }),
      });
    }
    return out;
  }

  private channel(ch: ChannelName): PendingChannel {
    let p = this.pending.get(ch);
    if (!p) {
      p = { joins: new Map(), leaves: new Map(), countOnly: false };
      this.pending.set(ch, p);
    }
    return p;
  }

  private limit(p: PendingChannel): void {
    if (p.joins.size + p.leaves.size <= this.maxMembers) return;
    p.countOnly = true;
    p.joins.clear();
    p.leaves.clear();
  }
}

function members(m: Map<string, string>): PresenceMember[] {
  return [...m].map(([user, client]) => ({ user, client }));
}

// The edge's side of the presence contract, without I/O: it records connection and
// subscription changes, coalesces them into numbered delta reports, keeps the digest for
// heartbeats, and cuts snapshots. An edge publishes what it returns (docs/presence.md).
import type { ChannelName } from '@cascade/protocol';
import {
  PresenceDigest,
  PresenceLimits,
  isPresenceClientId,
  isPresenceUserId,
  type DeltaReport,
  type HeartbeatReport,
  type PresenceOp,
  type SnapshotConnection,
  type SnapshotPart,
} from './presence-api.js';

/**
 * One connection's record. Its channels are an exact-size array, not a Set: a connection
 * holds few, and an edge holds very many connections (a Set with its hash table was ~220 B
 * of an idle connection's ~1 KiB).
 */
interface EdgeConnection {
  user: string;
  channels: readonly ChannelName[];
}

const NO_CHANNELS: readonly ChannelName[] = Object.freeze([]);

export class PresenceReporter {
  private readonly conns = new Map<string, EdgeConnection>();
  private readonly digest = new PresenceDigest();
  private pending: PresenceOp[] = [];
  /** Clients whose connect is still in `pending`: if they go before the flush, nothing is sent about them. */
  private readonly unsent = new Set<string>();
  private readonly cancelled = new Set<string>();
  private seq = 0;

  constructor(private readonly maxOpsPerDelta: number = PresenceLimits.maxOpsPerDelta) {}

  /** Open connections. */
  get connections(): number {
    return this.conns.size;
  }

  /** Changes waiting for the next flush. */
  get pendingOps(): number {
    return this.pending.length;
  }

  /**
   * A connection the contract cannot carry (an id with control characters or too long) is
   * left out of presence, so the service never drops a whole report for it.
   */
  connect(client: string, user: string): void {
    if (this.conns.has(client) || !isPresenceClientId(client) || !isPresenceUserId(user)) return;
    this.conns.set(client, { user, channels: NO_CHANNELS });
    this.digest.addConnection(client, user);
    this.pending.push(['c', client, user]);
    this.unsent.add(client);
  }

  /** The connection closed; it leaves all its channels with it. */
  disconnect(client: string): void {
    const c = this.conns.get(client);
    if (!c) return;
    for (const ch of c.channels) this.digest.removeSubscription(client, ch);
    this.digest.removeConnection(client, c.user);
    this.conns.delete(client);
    if (this.unsent.delete(client)) this.cancelled.add(client);
    else this.pending.push(['d', client]);
  }

  join(client: string, ch: ChannelName): void {
    const c = this.conns.get(client);
    if (!c || c.channels.includes(ch)) return;
    // concat allocates the exact length; a spread would leave room for 20.
    c.channels = c.channels.concat([ch]);
    this.digest.addSubscription(client, ch);
    this.pending.push(['j', client, ch]);
  }

  leave(client: string, ch: ChannelName): void {
    const c = this.conns.get(client);
    const at = c === undefined ? -1 : c.channels.indexOf(ch);
    if (!c || at < 0) return;
    c.channels = c.channels.length === 1 ? NO_CHANNELS : c.channels.slice(0, at).concat(c.channels.slice(at + 1));
    this.digest.removeSubscription(client, ch);
    this.pending.push(['l', client, ch]);
  }

  /** The delta reports to publish now, in order (none when nothing changed). */
  flush(now: number): DeltaReport[] {
    const ops = this.cancelled.size === 0 ? this.pending : this.pending.filter((op) => !this.cancelled.has(op[1]));
    this.pending = [];
    this.unsent.clear();
    this.cancelled.clear();
    const reports: DeltaReport[] = [];
    for (let i = 0; i < ops.length; i += this.maxOpsPerDelta) {
      reports.push({ seq: ++this.seq, ts: now, ops: ops.slice(i, i + this.maxOpsPerDelta) });
    }
    return reports;
  }

  /** Pending deltas (publish them first, in order), then the heartbeat describing the state after them. */
  heartbeat(now: number, every: number): { deltas: DeltaReport[]; heartbeat: HeartbeatReport } {
    const deltas = this.flush(now);
    return {
      deltas,
      heartbeat: { seq: this.seq, ts: now, every, conns: this.digest.conns, subs: this.digest.subs, digest: this.digest.value },
    };
  }

  /** Pending deltas (publish them first), then the full state as snapshot parts for the reply subject. */
  snapshot(now: number, maxConnsPerPart: number = PresenceLimits.maxConnsPerSnapshotPart): { deltas: DeltaReport[]; parts: SnapshotPart[] } {
    const deltas = this.flush(now);
    const all: SnapshotConnection[] = [];
    for (const [client, c] of this.conns) all.push([client, c.user, [...c.channels]]);
    const parts = Math.max(1, Math.ceil(all.length / maxConnsPerPart));
    return {
      deltas,
      parts: Array.from({ length: parts }, (_, part) => ({
        seq: this.seq,
        part,
        parts,
        conns: all.slice(part * maxConnsPerPart, (part + 1) * maxConnsPerPart),
      })),
    };
  }
}

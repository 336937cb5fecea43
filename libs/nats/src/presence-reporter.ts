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
 * One connection's record: its user, then its channels, in one exact-size array. Not an
 * object holding a Set, nor an object holding an array: a connection holds few channels, and
 * an edge holds very many connections (a Set with its hash table was ~220 B of an idle
 * connection's ~1 KiB; the object around the array was 48 B more).
 */
type EdgeConnection = readonly [user: string, ...channels: ChannelName[]];

/** The channels of a record (a copy). */
const channelsOf = (c: EdgeConnection): ChannelName[] => c.slice(1) as ChannelName[];

/** Whether a record holds `ch` (index 0 is the user, never a channel). */
const holds = (c: EdgeConnection, ch: ChannelName): boolean => c.indexOf(ch, 1) > 0;

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
    this.conns.set(client, [user]);
    this.digest.addConnection(client, user);
    this.pending.push(['c', client, user]);
    this.unsent.add(client);
  }

  /** The connection closed; it leaves all its channels with it. */
  disconnect(client: string): void {
    const c = this.conns.get(client);
    if (!c) return;
    for (let i = 1; i < c.length; i++) this.digest.removeSubscription(client, c[i] as ChannelName);
    this.digest.removeConnection(client, c[0]);
    this.conns.delete(client);
    if (this.unsent.delete(client)) this.cancelled.add(client);
    else this.pending.push(['d', client]);
  }

  join(client: string, ch: ChannelName): void {
    const c = this.conns.get(client);
    if (!c || holds(c, ch)) return;
    // concat allocates the exact length; a spread would leave room for 20.
    this.conns.set(client, c.concat([ch]) as unknown as EdgeConnection);
    this.digest.addSubscription(client, ch);
    this.pending.push(['j', client, ch]);
  }

  leave(client: string, ch: ChannelName): void {
    const c = this.conns.get(client);
    const at = c === undefined ? -1 : c.indexOf(ch, 1);
    if (!c || at < 1) return;
    this.conns.set(client, c.slice(0, at).concat(c.slice(at + 1)) as unknown as EdgeConnection);
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
    for (const [client, c] of this.conns) all.push([client, c[0], channelsOf(c)]);
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

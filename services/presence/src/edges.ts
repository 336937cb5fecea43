// Every edge's connection table as the edge reported it: applies numbered delta reports in
// order, compares heartbeats' digests with its own copy, and falls back to a full snapshot
// from the edge when they disagree, a delta went missing, or the edge is new to this
// process (how a restarted service rebuilds its state). An edge that stops reporting for
// the timeout is dead: its connections close, and their users enter the grace period.
import type { ChannelName } from '@cascade/protocol';
import { PresenceDigest, type DeltaReport, type HeartbeatReport, type PresenceOp, type SnapshotConnection } from '@cascade/nats';
import type { PresenceRegistry } from './registry.js';

export interface EdgeTableOptions {
  edgeTimeoutMs: number;
  /** A snapshot request unanswered this long is asked again at the next heartbeat. */
  snapshotTimeoutMs: number;
  /** Deltas kept while a snapshot is awaited; beyond it they are dropped and the state resynced. */
  maxBufferedDeltas: number;
}

/** What the table asks of the outside world. */
export interface EdgeTablePorts {
  requestSnapshot(edge: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

interface Connection {
  user: string;
  channels: Set<ChannelName>;
}

interface EdgeState {
  conns: Map<string, Connection>;
  digest: PresenceDigest;
  /** Seq of the last delta applied. */
  seq: number;
  heardAt: number;
  /** Waiting for a snapshot: deltas are buffered, not applied. */
  syncing: boolean;
  requestedAt: number | undefined;
  buffered: DeltaReport[];
}

export interface EdgeTableStats {
  edges: number;
  connections: number;
  syncing: number;
  snapshotsRequested: number;
  deadEdges: number;
  ignoredOps: number;
}

export class EdgeTable {
  private readonly edges = new Map<string, EdgeState>();
  readonly counters = { snapshotsRequested: 0, deadEdges: 0, ignoredOps: 0 };

  constructor(
    private readonly registry: PresenceRegistry,
    private readonly o: EdgeTableOptions,
    private readonly ports: EdgeTablePorts,
  ) {}

  delta(edge: string, d: DeltaReport, now: number): void {
    let e = this.edges.get(edge);
    if (!e) {
      e = this.add(edge, now);
      // Seq 1 is an edge's first report: nothing happened before it, so no snapshot is needed.
      if (d.seq === 1) this.applyDelta(edge, e, d, now);
      else this.resync(edge, e, now, d);
      return;
    }
    e.heardAt = now;
    if (e.syncing) {
      this.buffer(e, d);
    } else if (d.seq === e.seq + 1) {
      this.applyDelta(edge, e, d, now);
    } else if (d.seq === 1) {
      // The edge restarted under the same id: its old connections are gone.
      this.clear(edge, e, now);
      this.applyDelta(edge, e, d, now);
    } else if (d.seq > e.seq) {
      this.ports.warn({ edge, expected: e.seq + 1, got: d.seq }, 'presence delta missing; asking the edge for a snapshot');
      this.resync(edge, e, now, d);
    }
    // d.seq <= e.seq: a repeat of one already applied.
  }

  heartbeat(edge: string, hb: HeartbeatReport, now: number): void {
    let e = this.edges.get(edge);
    if (!e) {
      e = this.add(edge, now);
      // An edge that never sent a delta has nothing to tell; any other needs a snapshot.
      if (hb.seq !== 0 || hb.conns !== 0) this.resync(edge, e, now);
      return;
    }
    e.heardAt = now;
    if (e.syncing) {
      if (e.requestedAt === undefined || now - e.requestedAt >= this.o.snapshotTimeoutMs) this.request(edge, e, now);
      return;
    }
    // The edge flushes its deltas before each heartbeat, on the same connection, so by now
    // every delta up to hb.seq has arrived: the digests must agree.
    if (hb.seq !== e.seq || hb.digest !== e.digest.value || hb.conns !== e.digest.conns || hb.subs !== e.digest.subs) {
      this.ports.warn({ edge, seq: e.seq, reportedSeq: hb.seq, conns: e.digest.conns, reportedConns: hb.conns }, 'presence state of an edge diverged; asking for a snapshot');
      this.resync(edge, e, now);
    }
  }

  /** The edge said goodbye (shutting down): same as its death, without waiting for the timeout. */
  bye(edge: string, now: number): void {
    const e = this.edges.get(edge);
    if (!e) return;
    this.clear(edge, e, now);
    this.edges.delete(edge);
  }

  /**
   * The edge's full state as of delta `seq`. The table is brought to it with the
   * differences reported as changes (connections new to this process are `silent` when the
   * service just started, since they were most likely online already), then the deltas
   * buffered meanwhile are applied.
   */
  snapshot(edge: string, seq: number, conns: readonly SnapshotConnection[], now: number, silent: boolean): void {
    const e = this.edges.get(edge) ?? this.add(edge, now);
    e.heardAt = now;
    const target = new Map<string, SnapshotConnection>();
    for (const c of conns) target.set(c[0], c);
    for (const [client, c] of e.conns) {
      const t = target.get(client);
      if (!t || t[1] !== c.user) this.close(edge, e, client, now);
    }
    for (const [client, user, channels] of target.values()) {
      const want = new Set(channels);
      if (!e.conns.has(client)) this.open(edge, e, client, user, now, silent);
      const have = e.conns.get(client)!;
      for (const ch of have.channels) if (!want.has(ch)) this.leave(edge, e, client, ch, now);
      for (const ch of want) this.join(edge, e, client, ch, now, silent);
    }
    e.seq = seq;
    e.syncing = false;
    e.requestedAt = undefined;
    const buffered = e.buffered.sort((a, b) => a.seq - b.seq);
    e.buffered = [];
    for (const [i, d] of buffered.entries()) {
      if (d.seq <= e.seq) continue;
      if (d.seq !== e.seq + 1) {
        this.resync(edge, e, now);
        e.buffered = buffered.slice(i);
        return;
      }
      this.applyDelta(edge, e, d, now);
    }
  }

  /** The snapshot request failed (no responder, timeout, bad reply): ask again at the next heartbeat. */
  snapshotFailed(edge: string): void {
    const e = this.edges.get(edge);
    if (e) e.requestedAt = undefined;
  }

  /** Ends edges not heard from within the timeout. */
  expire(now: number): void {
    for (const [edge, e] of this.edges) {
      if (now - e.heardAt <= this.o.edgeTimeoutMs) continue;
      this.ports.warn({ edge, connections: e.conns.size, silentForMs: now - e.heardAt }, 'edge stopped reporting: its connections are gone');
      this.counters.deadEdges++;
      this.clear(edge, e, now);
      this.edges.delete(edge);
    }
  }

  /** True while some edge's state is being rebuilt from a snapshot. */
  get syncing(): boolean {
    for (const e of this.edges.values()) if (e.syncing) return true;
    return false;
  }

  get stats(): EdgeTableStats {
    let connections = 0;
    let syncing = 0;
    for (const e of this.edges.values()) {
      connections += e.conns.size;
      if (e.syncing) syncing++;
    }
    return { edges: this.edges.size, connections, syncing, ...this.counters };
  }

  private add(edge: string, now: number): EdgeState {
    const e: EdgeState = { conns: new Map(), digest: new PresenceDigest(), seq: 0, heardAt: now, syncing: false, requestedAt: undefined, buffered: [] };
    this.edges.set(edge, e);
    return e;
  }

  private resync(edge: string, e: EdgeState, now: number, pending?: DeltaReport): void {
    e.syncing = true;
    if (pending) this.buffer(e, pending);
    if (e.requestedAt === undefined || now - e.requestedAt >= this.o.snapshotTimeoutMs) this.request(edge, e, now);
  }

  private request(edge: string, e: EdgeState, now: number): void {
    e.requestedAt = now;
    this.counters.snapshotsRequested++;
    this.ports.requestSnapshot(edge);
  }

  private buffer(e: EdgeState, d: DeltaReport): void {
    // A full buffer is dropped: the deltas after the snapshot then show a gap, which resyncs.
    if (e.buffered.length >= this.o.maxBufferedDeltas) e.buffered = [];
    e.buffered.push(d);
  }

  private applyDelta(edge: string, e: EdgeState, d: DeltaReport, now: number): void {
    for (const op of d.ops) this.apply(edge, e, op, now);
    e.seq = d.seq;
  }

  private apply(edge: string, e: EdgeState, op: PresenceOp, now: number): void {
    switch (op[0]) {
      case 'c': {
        const existing = e.conns.get(op[1]);
        if (existing?.user === op[2]) return this.ignored();
        if (existing) this.close(edge, e, op[1], now);
        this.open(edge, e, op[1], op[2], now, false);
        return;
      }
      case 'd':
        if (!e.conns.has(op[1])) return this.ignored();
        this.close(edge, e, op[1], now);
        return;
      case 'j':
        if (!e.conns.has(op[1]) || e.conns.get(op[1])!.channels.has(op[2])) return this.ignored();
        this.join(edge, e, op[1], op[2], now, false);
        return;
      case 'l':
        if (!e.conns.get(op[1])?.channels.has(op[2])) return this.ignored();
        this.leave(edge, e, op[1], op[2], now);
        return;
    }
  }

  // An op that does not fit the table (unknown client, repeated join) means the two
  // diverged; the next heartbeat's digest shows it and a snapshot repairs it.
  private ignored(): void {
    this.counters.ignoredOps++;
  }

  private open(edge: string, e: EdgeState, client: string, user: string, now: number, silent: boolean): void {
    e.conns.set(client, { user, channels: new Set() });
    e.digest.addConnection(client, user);
    this.registry.connectionOpened(user, edge, client, now, silent);
  }

  private close(edge: string, e: EdgeState, client: string, now: number): void {
    const c = e.conns.get(client);
    if (!c) return;
    for (const ch of [...c.channels]) this.leave(edge, e, client, ch, now);
    e.conns.delete(client);
    e.digest.removeConnection(client, c.user);
    this.registry.connectionClosed(c.user, edge, client, now);
  }

  private join(edge: string, e: EdgeState, client: string, ch: ChannelName, now: number, silent: boolean): void {
    const c = e.conns.get(client)!;
    if (c.channels.has(ch)) return;
    c.channels.add(ch);
    e.digest.addSubscription(client, ch);
    this.registry.subscribed(ch, c.user, edge, client, now, silent);
  }

  private leave(edge: string, e: EdgeState, client: string, ch: ChannelName, now: number): void {
    const c = e.conns.get(client)!;
    if (!c.channels.delete(ch)) return;
    e.digest.removeSubscription(client, ch);
    this.registry.unsubscribed(ch, c.user, edge, client, now);
  }

  private clear(edge: string, e: EdgeState, now: number): void {
    for (const client of [...e.conns.keys()]) this.close(edge, e, client, now);
    e.seq = 0;
    e.buffered = [];
  }
}

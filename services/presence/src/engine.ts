// The presence service's logic in one place, without I/O: edge reports go in, queries are
// answered from memory, and tick(now) — called once per batch interval — ends dead edges
// and due grace periods and returns what to publish: presence frames (under the budget) and
// batched events for backends.
import { parseChannel, type ChannelName } from '@cascade/protocol';
import {
  PRESENCE_EVENT_KINDS,
  PresenceLimits,
  type ByeReport,
  type DeltaReport,
  type HeartbeatReport,
  type MembersAnswer,
  type PresenceEvent,
  type PresenceEventBatch,
  type PresenceEventKind,
  type QueryError,
  type SnapshotConnection,
  type StatusAnswer,
} from '@cascade/nats';
import { TokenBucket } from './budget.js';
import { ChannelPresenceBatcher, type PresenceFrameOut } from './channel-frames.js';
import { EdgeTable, type EdgeTablePorts } from './edges.js';
import { PresenceRegistry, type PresenceChange } from './registry.js';

export interface PresenceSettings {
  graceMs: number;
  edgeTimeoutMs: number;
  snapshotTimeoutMs: number;
  maxMembers: number;
  /** Namespaces without channel presence ('' = channels without a namespace). */
  disabledNamespaces: ReadonlySet<string>;
  /** Presence frames per second, all channels together. */
  frameRate: number;
  lastSeenCapacity: number;
  maxBufferedDeltas?: number;
}

export interface Outbox {
  frames: PresenceFrameOut[];
  events: PresenceEventBatch[];
}

export class PresenceEngine {
  readonly registry: PresenceRegistry;
  readonly edges: EdgeTable;
  private readonly frames: ChannelPresenceBatcher;
  private readonly budget: TokenBucket;
  private events = emptyEvents();
  private readonly startedAt: number;
  readonly counters = { framesSent: 0, eventsSent: 0, ticksOverBudget: 0 };

  constructor(
    private readonly s: PresenceSettings,
    ports: EdgeTablePorts,
    now: number,
  ) {
    this.startedAt = now;
    this.registry = new PresenceRegistry(
      { graceMs: s.graceMs, lastSeenCapacity: s.lastSeenCapacity, tracks: (ch) => this.tracks(ch) },
      (change) => this.changed(change),
    );
    this.edges = new EdgeTable(this.registry, { edgeTimeoutMs: s.edgeTimeoutMs, snapshotTimeoutMs: s.snapshotTimeoutMs, maxBufferedDeltas: s.maxBufferedDeltas ?? 1000 }, ports);
    this.frames = new ChannelPresenceBatcher(s.maxMembers, (ch) => this.registry.memberCount(ch));
    // A burst of one second's budget, so a quiet service can answer a sudden wave at once.
    this.budget = new TokenBucket(s.frameRate, s.frameRate, now);
  }

  /** Whether a channel has channel presence (its namespace is not switched off). */
  tracks(ch: ChannelName): boolean {
    const colon = ch.indexOf(':');
    return !this.s.disabledNamespaces.has(colon < 0 ? '' : ch.slice(0, colon));
  }

  /**
   * During the first edge timeout after start, edges the service has not heard yet are
   * still unknown: answers may miss their connections, and connections learned from their
   * snapshots are taken as already online (no connect or join events).
   */
  warmingUp(now: number): boolean {
    return now - this.startedAt < this.s.edgeTimeoutMs;
  }

  delta(edge: string, d: DeltaReport, now: number): void {
    this.edges.delta(edge, d, now);
  }

  heartbeat(edge: string, hb: HeartbeatReport, now: number): void {
    this.edges.heartbeat(edge, hb, now);
  }

  bye(edge: string, _bye: ByeReport, now: number): void {
    this.edges.bye(edge, now);
  }

  snapshot(edge: string, seq: number, conns: readonly SnapshotConnection[], now: number): void {
    this.edges.snapshot(edge, seq, conns, now, this.warmingUp(now));
  }

  snapshotFailed(edge: string): void {
    this.edges.snapshotFailed(edge);
  }

  /** Once per batch interval: ends dead edges and due grace periods, and returns what to publish. */
  tick(now: number): Outbox {
    this.edges.expire(now);
    this.registry.expire(now);
    const events: PresenceEventBatch[] = [];
    for (const kind of PRESENCE_EVENT_KINDS) {
      const list = this.events[kind];
      for (let i = 0; i < list.length; i += PresenceLimits.maxEventsPerMessage) {
        events.push({ kind, events: list.slice(i, i + PresenceLimits.maxEventsPerMessage) });
      }
    }
    this.events = emptyEvents();
    const frames = this.frames.flush(() => this.budget.take(now));
    this.counters.framesSent += frames.length;
    this.counters.eventsSent += events.length;
    if (this.frames.backlog > 0) this.counters.ticksOverBudget++;
    return { frames, events };
  }

  status(users: readonly string[], now: number): StatusAnswer {
    const answer: StatusAnswer = { users: {}, partial: this.partial(now) };
    for (const user of users) answer.users[user] = this.registry.status(user, now);
    return answer;
  }

  members(ch: string, now: number): MembersAnswer | QueryError {
    const parsed = parseChannel(ch);
    if (!parsed.ok) return { error: parsed.reason };
    const name = parsed.channel.name;
    if (!this.tracks(name)) return { error: `channel presence is switched off for namespace "${parsed.channel.namespace}"` };
    const count = this.registry.memberCount(name);
    const partial = this.partial(now);
    if (count > this.s.maxMembers) return { ch, count, partial };
    return { ch, count, members: this.registry.members(name), partial };
  }

  partial(now: number): boolean {
    return this.warmingUp(now) || this.edges.syncing;
  }

  get stats(): Record<string, unknown> {
    return { ...this.edges.stats, ...this.registry.stats, ...this.counters, framesWaiting: this.frames.backlog };
  }

  private changed(c: PresenceChange): void {
    const event: PresenceEvent = { user: c.user, ...(c.ch === undefined ? {} : { ch: c.ch }), edge: c.edge, client: c.client, ts: c.ts };
    this.events[c.kind].push(event);
    if (c.ch === undefined) return;
    if (c.kind === 'join') this.frames.join(c.ch, c.user, c.client);
    else if (c.kind === 'leave') this.frames.leave(c.ch, c.user, c.client);
  }
}

function emptyEvents(): Record<PresenceEventKind, PresenceEvent[]> {
  return { connect: [], disconnect: [], join: [], leave: [] };
}

// Who is online and who is in which channel, aggregated over every edge, with the debounce:
// a user (or a channel member) whose last connection (or subscription) goes stays present
// for the grace period and is reported gone only if nothing came back anywhere by then.
// No I/O and no timers: time comes in as `now`, and expire(now) ends due grace periods.
import type { ChannelName } from '@cascade/protocol';
import type { ChannelMember, PresenceEventKind, UserStatus } from '@cascade/nats';

/** A change the service reports (to backends, and join/leave to channel subscribers). */
export interface PresenceChange {
  kind: PresenceEventKind;
  user: string;
  ch?: ChannelName;
  edge: string;
  client: string;
  ts: number;
}

export interface RegistryOptions {
  graceMs: number;
  /** Whether a channel has channel presence (false: its subscriptions are not tracked at all). */
  tracks(ch: ChannelName): boolean;
  /** Offline users whose last-seen time is kept. */
  lastSeenCapacity: number;
}

interface Origin {
  edge: string;
  client: string;
}

interface OnlineUser {
  conns: number;
  /** Connections per edge. */
  edges: Map<string, number>;
  /** The connection that changed last: named in the user's events. */
  last: Origin;
  /** When the connection count last dropped to zero. */
  closedAt: number;
}

interface Member {
  /** client -> edge of every connection of the user subscribed to the channel. */
  clients: Map<string, string>;
  last: Origin;
  closedAt: number;
}

export class PresenceRegistry {
  private readonly users = new Map<string, OnlineUser>();
  private readonly channels = new Map<ChannelName, Map<string, Member>>();
  // Deadlines are `now + grace` with a constant grace, so insertion order is deadline order
  // (an entry that restarts its grace is deleted and re-added): expiry reads from the front.
  private readonly offlineDue = new Map<string, number>();
  private readonly leaveDue = new Map<string, { ch: ChannelName; user: string; due: number }>();
  private readonly lastSeen = new Map<string, number>();

  constructor(
    private readonly o: RegistryOptions,
    private readonly report: (change: PresenceChange) => void,
  ) {}

  /** `silent`: known to be already online before (state recovered after a restart), so no connect event. */
  connectionOpened(user: string, edge: string, client: string, now: number, silent = false): void {
    let u = this.users.get(user);
    if (!u) {
      u = { conns: 0, edges: new Map(), last: { edge, client }, closedAt: now };
      this.users.set(user, u);
      if (!silent) this.report({ kind: 'connect', user, edge, client, ts: now });
    } else if (u.conns === 0) {
      // Back within the grace period: for everyone else the user never left.
      this.offlineDue.delete(user);
    }
    u.conns++;
    u.edges.set(edge, (u.edges.get(edge) ?? 0) + 1);
    u.last = { edge, client };
  }

  connectionClosed(user: string, edge: string, client: string, now: number): void {
    const u = this.users.get(user);
    if (!u || u.conns === 0) return;
    u.conns--;
    const onEdge = (u.edges.get(edge) ?? 1) - 1;
    if (onEdge > 0) u.edges.set(edge, onEdge);
    else u.edges.delete(edge);
    u.last = { edge, client };
    if (u.conns === 0) {
      u.closedAt = now;
      this.offlineDue.delete(user);
      this.offlineDue.set(user, now + this.o.graceMs);
    }
  }

  subscribed(ch: ChannelName, user: string, edge: string, client: string, now: number, silent = false): void {
    if (!this.o.tracks(ch)) return;
    let members = this.channels.get(ch);
    if (!members) {
      members = new Map();
      this.channels.set(ch, members);
    }
    let m = members.get(user);
    if (!m) {
      m = { clients: new Map(), last: { edge, client }, closedAt: now };
      members.set(user, m);
      if (!silent) this.report({ kind: 'join', user, ch, edge, client, ts: now });
    } else if (m.clients.size === 0) {
      this.leaveDue.delete(memberKey(ch, user));
    }
    m.clients.set(client, edge);
    m.last = { edge, client };
  }

  unsubscribed(ch: ChannelName, user: string, edge: string, client: string, now: number): void {
    const m = this.channels.get(ch)?.get(user);
    if (!m || !m.clients.delete(client)) return;
    m.last = { edge, client };
    if (m.clients.size === 0) {
      m.closedAt = now;
      const key = memberKey(ch, user);
      this.leaveDue.delete(key);
      this.leaveDue.set(key, { ch, user, due: now + this.o.graceMs });
    }
  }

  /** Ends every grace period due by `now`: those users go offline, those members leave. */
  expire(now: number): void {
    for (const [user, due] of this.offlineDue) {
      if (due > now) break;
      this.offlineDue.delete(user);
      const u = this.users.get(user);
      if (!u || u.conns > 0) continue;
      this.users.delete(user);
      this.rememberLastSeen(user, u.closedAt);
      this.report({ kind: 'disconnect', user, ...u.last, ts: u.closedAt });
    }
    for (const [key, { ch, user, due }] of this.leaveDue) {
      if (due > now) break;
      this.leaveDue.delete(key);
      const members = this.channels.get(ch);
      const m = members?.get(user);
      if (!members || !m || m.clients.size > 0) continue;
      members.delete(user);
      if (members.size === 0) this.channels.delete(ch);
      this.report({ kind: 'leave', user, ch, ...m.last, ts: m.closedAt });
    }
  }

  status(user: string, now: number): UserStatus {
    const u = this.users.get(user);
    if (u) return { online: true, lastSeen: u.conns > 0 ? now : u.closedAt, connections: u.conns, edges: Object.fromEntries(u.edges) };
    return { online: false, lastSeen: this.lastSeen.get(user) ?? null, connections: 0, edges: {} };
  }

  /** Members of a channel, those in their grace period included. */
  members(ch: ChannelName): ChannelMember[] {
    const members = this.channels.get(ch);
    if (!members) return [];
    return [...members].map(([user, m]) => ({ user, clients: [...m.clients.keys()] }));
  }

  memberCount(ch: ChannelName): number {
    return this.channels.get(ch)?.size ?? 0;
  }

  get stats(): { users: number; channels: number; pendingOffline: number; pendingLeaves: number; lastSeen: number } {
    return {
      users: this.users.size,
      channels: this.channels.size,
      pendingOffline: this.offlineDue.size,
      pendingLeaves: this.leaveDue.size,
      lastSeen: this.lastSeen.size,
    };
  }

  private rememberLastSeen(user: string, ts: number): void {
    if (this.o.lastSeenCapacity === 0) return;
    this.lastSeen.delete(user);
    this.lastSeen.set(user, ts);
    if (this.lastSeen.size > this.o.lastSeenCapacity) {
      const oldest = this.lastSeen.keys().next();
      if (!oldest.done) this.lastSeen.delete(oldest.value);
    }
  }
}

function memberKey(ch: ChannelName, user: string): string {
  return `${ch}\u0000${user}`;
}

// Group membership (docs/architecture.md, "Groups"): the `<prefix>_groups` KV bucket's key
// layout, the rules for group names and member ids, the group API's wire shapes
// (`<prefix>.svc.groups.<verb>`, JSON) and a membership cache kept current by a KV watch,
// shared by the fan-out worker (fan-out decisions) and the edge (subscribe permission).
import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection, QueuedIterator } from '@nats-io/nats-core';
import { parseChannel, type ChannelName } from '@cascade/protocol';
import type { Contract } from './subjects.js';

/** Group channels are `group:<name>`; `group:<name>:<more>` share the group's membership rule. */
export const GROUP_NAMESPACE = 'group';
/** Default largest group fanned out into members' personal channels (GROUP_FANOUT_THRESHOLD). */
export const DEFAULT_GROUP_FANOUT_THRESHOLD = 500;
/** Users one add/remove request may name. */
export const MAX_USERS_PER_REQUEST = 1000;

// Names and ids use the channel alphabet without ':' (they sit after a namespace). A group
// name is at most 122 characters so `group:<name>` fits the 128 of a channel name; user ids
// follow the token `sub` rule (identity.ts), anonymous ids are never members.
const GROUP_RE = /^[A-Za-z0-9_\-@=,/~]{1,122}$/;
const USER_RE = /^[A-Za-z0-9_\-@=,/~]{1,123}$/;

export function isGroupName(v: unknown): v is string {
  return typeof v === 'string' && GROUP_RE.test(v);
}

export function isMemberId(v: unknown): v is string {
  return typeof v === 'string' && USER_RE.test(v) && !v.startsWith('anon-');
}

/** `group:<name>` for a valid group name. */
export function groupChannel(group: string): ChannelName {
  const parsed = isGroupName(group) ? parseChannel(`${GROUP_NAMESPACE}:${group}`) : undefined;
  if (!parsed?.ok) throw new RangeError(`${JSON.stringify(group)} is not a group name`);
  return parsed.channel.name;
}

/** The group whose membership guards `channel` (`group:g` and `group:g:x` -> `g`), else undefined. */
export function groupOf(channel: string): string | undefined {
  if (!channel.startsWith(`${GROUP_NAMESPACE}:`)) return undefined;
  const rest = channel.slice(GROUP_NAMESPACE.length + 1);
  const colon = rest.indexOf(':');
  const name = colon < 0 ? rest : rest.slice(0, colon);
  return isGroupName(name) ? name : undefined;
}

/** The group a publish on `channel` is addressed to: only the exact `group:<name>` fans out. */
export function fanoutGroupOf(channel: string): string | undefined {
  const g = groupOf(channel);
  return g !== undefined && channel.length === GROUP_NAMESPACE.length + 1 + g.length ? g : undefined;
}

// KV keys allow `- / _ = .` and alphanumerics; names and ids may also hold `@ , ~`. Those
// and `=` itself are written as `=XX` (hex), so keys stay readable and decode exactly.
function escapeKeyPart(s: string): string {
  return s.replace(/[=@,~]/g, (c) => `=${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function unescapeKeyPart(s: string): string {
  return s.replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** One key per member, `<group>.<user>`: concurrent adds and removes never contend. */
export function memberKey(group: string, user: string): string {
  return `${escapeKeyPart(group)}.${escapeKeyPart(user)}`;
}

/** The (group, user) a bucket key names, or undefined for a key this layout never writes. */
export function parseMemberKey(key: string): { group: string; user: string } | undefined {
  const parts = key.split('.');
  if (parts.length !== 2) return undefined;
  const group = unescapeKeyPart(parts[0]!);
  const user = unescapeKeyPart(parts[1]!);
  if (!isGroupName(group) || !isMemberId(user) || memberKey(group, user) !== key) return undefined;
  return { group, user };
}

/** Who is in which group. Pure state, fed by the watch (or by tests). */
export class MembershipIndex {
  private readonly groups = new Map<string, Set<string>>();

  /** Applies one member entry; true when it changed the group. */
  apply(group: string, user: string, member: boolean): boolean {
    let set = this.groups.get(group);
    if (member) {
      if (set?.has(user)) return false;
      if (!set) this.groups.set(group, (set = new Set()));
      set.add(user);
      return true;
    }
    if (!set?.delete(user)) return false;
    if (set.size === 0) this.groups.delete(group);
    return true;
  }

  has(group: string, user: string): boolean {
    return this.groups.get(group)?.has(user) ?? false;
  }

  size(group: string): number {
    return this.groups.get(group)?.size ?? 0;
  }

  /** The members, sorted (stable for API answers and fan-out order). */
  members(group: string): string[] {
    return [...(this.groups.get(group) ?? [])].sort();
  }
}

/** Membership questions the edge's permission check asks (synchronously, from the cache). */
export interface GroupLookup {
  has(group: string, user: string): boolean;
}

const sleep = (ms: number, unref = false) =>
  new Promise<void>((r) => {
    const t = setTimeout(r, ms);
    if (unref) t.unref();
  });

export interface GroupMembershipOptions {
  /** Told of every membership change the watch applies (the edge ends a removed member's subscriptions). */
  onChange?: (group: string, user: string, member: boolean) => void;
  /** The watch failed; it is restarted after a second. */
  onError?: (err: unknown) => void;
  /** How long `open` waits for the cache to load. */
  syncTimeoutMs?: number;
}

/**
 * The bucket plus a cache of all memberships kept by a KV watch. Guarantees: after `sync()`
 * resolves, the cache reflects every change stored in the bucket before `sync()` was called
 * (read-your-writes for a publish that follows a membership change); `add`/`remove` write one
 * key per user, so concurrent changes to different members never conflict and the last write
 * for one member wins.
 */
export class GroupMembership implements GroupLookup {
  private readonly index = new MembershipIndex();
  /** Highest bucket revision the watch has applied. */
  private seen = 0;
  private watcher: QueuedIterator<KvWatchEntry> | undefined;
  private stopped = false;

  private constructor(
    private readonly kv: KV,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly o: GroupMembershipOptions,
  ) {}

  /** Opens the bucket, starts the watch and waits until the cache holds the bucket's state. */
  static async open(nc: NatsConnection, jsm: JetStreamManager, contract: Contract, o: GroupMembershipOptions = {}): Promise<GroupMembership> {
    const name = contract.buckets.groups;
    const m = new GroupMembership(await new Kvm(nc).open(name), jsm, `KV_${name}`, o);
    void m.run();
    await m.sync(o.syncTimeoutMs);
    return m;
  }

  /**
   * Keeps the watch running: all keys, current values first, then every change. The ordered
   * consumer behind a watch recreates itself after a disconnect; if the watch still ends or
   * fails, a new one resumes after the last revision applied, so no change is skipped.
   */
  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const watcher = await this.kv.watch(this.seen === 0 ? { key: '>' } : { key: '>', resumeFromRevision: this.seen + 1 });
        this.watcher = watcher;
        if (this.stopped) watcher.stop();
        for await (const e of watcher) this.applyEntry(e);
      } catch (err) {
        this.o.onError?.(err);
      }
      if (!this.stopped) await sleep(1000, true);
    }
  }

  private applyEntry(e: KvWatchEntry): void {
    const k = parseMemberKey(e.key);
    if (k) {
      const member = e.operation === 'PUT';
      if (this.index.apply(k.group, k.user, member)) this.o.onChange?.(k.group, k.user, member);
    }
    this.seen = Math.max(this.seen, e.revision);
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.stop();
  }

  has(group: string, user: string): boolean {
    return this.index.has(group, user);
  }

  size(group: string): number {
    return this.index.size(group);
  }

  members(group: string): string[] {
    return this.index.members(group);
  }

  /** The newest bucket revision the cache reflects. */
  get revision(): number {
    return this.seen;
  }

  /** Waits until the cache reflects everything the bucket stored before this call. Costs one stream info. */
  async sync(timeoutMs = 5000): Promise<number> {
    const info = await this.jsm.streams.info(this.stream);
    await this.waitFor(info.state.last_seq, timeoutMs);
    return this.seen;
  }

  /** Waits until the cache has applied `revision`; throws after `timeoutMs`. */
  async waitFor(revision: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.seen < revision) {
      if (Date.now() > deadline) throw new Error(`group membership cache is behind the bucket (at ${this.seen}, need ${revision})`);
      await sleep(2);
    }
  }

  /** Adds the users (idempotent); resolves once stored. */
  async add(group: string, users: readonly string[]): Promise<void> {
    await Promise.all(users.map((u) => this.kv.put(memberKey(group, u), '1')));
  }

  /** Removes the users (idempotent: removing a non-member writes a marker and changes nothing). */
  async remove(group: string, users: readonly string[]): Promise<void> {
    await Promise.all(users.map((u) => this.kv.delete(memberKey(group, u))));
  }
}

// ---- The group API: `<prefix>.svc.groups.<verb>`, JSON request and reply. ----

export const GroupVerb = { Add: 'add', Remove: 'remove', Members: 'members' } as const;
export type GroupVerb = (typeof GroupVerb)[keyof typeof GroupVerb];

export function groupsSubject(contract: Contract, verb: GroupVerb | '*'): string {
  return `${contract.prefix}.svc.groups.${verb}`;
}

export interface GroupRequest {
  group: string;
  /** add/remove: the users to change (1..MAX_USERS_PER_REQUEST, no duplicates needed). */
  users: string[];
}

/**
 * `add`/`remove`: `{ok, group, count, rev}` after the change is stored; `members`: also
 * `members` and `mode` ("inbox": messages fan out into members' personal channels,
 * "channel": stored once in `group:<g>`, members subscribe to it). `rev` is the bucket
 * revision the answer reflects (an edge waits for it before admitting subscribes).
 */
export type GroupReply =
  | { ok: true; group: string; count: number; rev: number; members?: string[]; mode?: 'inbox' | 'channel' }
  | { ok: false; code: number; msg: string };

/** Validates a request body of `verb`; the reason names the bad field. */
export function parseGroupRequest(verb: GroupVerb, body: unknown): { ok: true; request: GroupRequest } | { ok: false; reason: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, reason: 'the request must be a JSON object' };
  const b = body as Record<string, unknown>;
  if (!isGroupName(b['group'])) return { ok: false, reason: 'group must be 1-122 characters of A-Z a-z 0-9 _ - @ = , / ~' };
  if (verb === GroupVerb.Members) return { ok: true, request: { group: b['group'], users: [] } };
  const users = b['users'];
  if (!Array.isArray(users) || users.length === 0 || users.length > MAX_USERS_PER_REQUEST) {
    return { ok: false, reason: `users must be an array of 1 to ${MAX_USERS_PER_REQUEST} user ids` };
  }
  const bad = users.find((u) => !isMemberId(u));
  if (bad !== undefined) return { ok: false, reason: `${JSON.stringify(bad)} is not a user id (1-123 characters of A-Z a-z 0-9 _ - @ = , / ~, not anon-...)` };
  return { ok: true, request: { group: b['group'], users: [...new Set(users as string[])] } };
}

export class GroupRequestError extends Error {
  constructor(readonly reply: { code: number; msg: string }) {
    super(reply.msg);
  }
}

/** Client of the group API (the edge's HTTP API, backends in TypeScript). */
export class GroupsClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly contract: Contract,
    private readonly timeoutMs = 5000,
  ) {}

  async call(verb: GroupVerb, request: { group: string; users?: string[] }): Promise<Extract<GroupReply, { ok: true }>> {
    const m = await this.nc.request(groupsSubject(this.contract, verb), JSON.stringify(request), { timeout: this.timeoutMs });
    const reply = m.json<GroupReply>();
    if (!reply.ok) throw new GroupRequestError(reply);
    return reply;
  }
}

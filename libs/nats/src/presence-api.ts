// The presence contract between edges, the presence service and backends: subjects, JSON
// message shapes, their validation, and the state digest both sides compute the same way.
// docs/presence.md is the prose twin; an edge implements it with PresenceReporter.
import { parseChannel, type ChannelName } from '@cascade/protocol';
import type { Contract } from './subjects.js';

/** Bounds every presence message is checked against; breaking one drops the message. */
export const PresenceLimits = {
  /** Longest edge id (it is one subject token). */
  maxEdgeIdLength: 128,
  maxClientIdLength: 128,
  maxUserLength: 256,
  /** Operations in one delta report; an edge splits larger batches over several seqs. */
  maxOpsPerDelta: 10_000,
  /** Connections in one snapshot part; an edge splits larger snapshots into parts. */
  maxConnsPerSnapshotPart: 5_000,
  /** Channels one connection may list in a snapshot. */
  maxChannelsPerConnection: 10_000,
  /** Users in one status query. */
  maxUsersPerStatusQuery: 1_000,
  /** Events in one backend event message. */
  maxEventsPerMessage: 1_000,
} as const;

const EDGE_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;
const TEXT_RE = /^[^\u0000-\u001f\u007f]+$/;

/** True when `edge` may be used as the edge token of presence subjects. */
export function isEdgeId(edge: unknown): edge is string {
  return typeof edge === 'string' && EDGE_ID_RE.test(edge);
}

/** Turns a process instance name (which may hold '.' from a hostname) into a valid edge id. */
export function edgeIdOf(instance: string): string {
  const id = instance.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, PresenceLimits.maxEdgeIdLength);
  return id.length > 0 ? id : 'edge';
}

export type PresenceReportKind = 'delta' | 'heartbeat' | 'bye';
export type PresenceEventKind = 'connect' | 'disconnect' | 'join' | 'leave';
// Publishing order within an interval: a user's connect before their joins, leaves before the disconnect.
export const PRESENCE_EVENT_KINDS: readonly PresenceEventKind[] = ['connect', 'join', 'leave', 'disconnect'];
const REPORT_KINDS: ReadonlySet<string> = new Set<PresenceReportKind>(['delta', 'heartbeat', 'bye']);

/** Subjects of the presence contract under the contract's prefix. */
export class PresenceSubjects {
  readonly prefix: string;

  constructor(contract: Pick<Contract, 'prefix'>) {
    this.prefix = contract.prefix;
  }

  /** `<prefix>.presence.<edge>.<kind>`: an edge's reports (delta, heartbeat, bye). */
  report(edge: string, kind: PresenceReportKind): string {
    if (!isEdgeId(edge)) throw new RangeError(`edge id "${edge}" must match ${EDGE_ID_RE}`);
    return `${this.prefix}.presence.${edge}.${kind}`;
  }

  /** Every edge report; what the presence service subscribes to. */
  get reports(): string {
    return `${this.prefix}.presence.*.*`;
  }

  /** The edge and kind of a report subject, or undefined when it is not one. */
  parseReportSubject(subject: string): { edge: string; kind: PresenceReportKind } | undefined {
    const parts = subject.split('.');
    if (parts.length !== 4 || parts[0] !== this.prefix || parts[1] !== 'presence') return undefined;
    const [, , edge, kind] = parts as [string, string, string, string];
    if (!isEdgeId(edge) || !REPORT_KINDS.has(kind)) return undefined;
    return { edge, kind: kind as PresenceReportKind };
  }

  /** `<prefix>.svc.edge.<edge>.presence-snapshot`: the presence service asks one edge for its full state. */
  snapshot(edge: string): string {
    if (!isEdgeId(edge)) throw new RangeError(`edge id "${edge}" must match ${EDGE_ID_RE}`);
    return `${this.prefix}.svc.edge.${edge}.presence-snapshot`;
  }

  /** `<prefix>.svc.presence.status`: online status and last seen of many users. */
  get status(): string {
    return `${this.prefix}.svc.presence.status`;
  }

  /** `<prefix>.svc.presence.members`: a channel's members, or its count when large. */
  get members(): string {
    return `${this.prefix}.svc.presence.members`;
  }

  /** `<prefix>.events.<kind>`: batched events for backends. */
  event(kind: PresenceEventKind): string {
    return `${this.prefix}.events.${kind}`;
  }

  get events(): string {
    return `${this.prefix}.events.*`;
  }
}

// ---- edge -> presence ----

/** One change on an edge: connect, disconnect (implies leaving every channel), join, leave. */
export type PresenceOp =
  | readonly ['c', client: string, user: string]
  | readonly ['d', client: string]
  | readonly ['j', client: string, ch: ChannelName]
  | readonly ['l', client: string, ch: ChannelName];

/** `<prefix>.presence.<edge>.delta`: the changes of one interval, applied in order. */
export interface DeltaReport {
  /** 1 for the edge's first report, +1 per delta report; heartbeats repeat the last one sent. */
  seq: number;
  /** When the edge sent it, ms since the Unix epoch. */
  ts: number;
  ops: PresenceOp[];
}

/** `<prefix>.presence.<edge>.heartbeat`: one per edge per interval; never per connection. */
export interface HeartbeatReport {
  /** The seq of the last delta report sent before this heartbeat (0 if none). */
  seq: number;
  ts: number;
  /** The edge's heartbeat interval in ms (informative). */
  every: number;
  /** Open connections and channel subscriptions the edge holds now. */
  conns: number;
  subs: number;
  /** PresenceDigest.value of that state. */
  digest: string;
}

/** `<prefix>.presence.<edge>.bye`: the edge is shutting down; its connections are gone. */
export interface ByeReport {
  seq: number;
  ts: number;
}

/** One connection in a snapshot: [client, user, channels]. */
export type SnapshotConnection = readonly [client: string, user: string, channels: readonly ChannelName[]];

/**
 * One reply message to a snapshot request. A large snapshot is several messages to the same
 * reply subject, parts numbered 0..parts-1; all carry the same seq (the last delta sent
 * before the snapshot was taken).
 */
export interface SnapshotPart {
  seq: number;
  part: number;
  parts: number;
  conns: SnapshotConnection[];
}

// ---- queries ----

/** `<prefix>.svc.presence.status` request. */
export interface StatusQuery {
  users: string[];
}
export interface UserStatus {
  /** Connected somewhere, or disconnected for less than the grace period. */
  online: boolean;
  /** ms since the Unix epoch the user was last connected (now, when connected); null when unknown. */
  lastSeen: number | null;
  /** Open connections across all edges. */
  connections: number;
  /** Open connections per edge id. */
  edges: Record<string, number>;
}
export interface StatusAnswer {
  users: Record<string, UserStatus>;
  /** True while the service is still rebuilding its state (after a start); answers may miss connections. */
  partial: boolean;
}

/** `<prefix>.svc.presence.members` request. */
export interface MembersQuery {
  ch: ChannelName;
}
export interface ChannelMember {
  user: string;
  clients: string[];
}
export interface MembersAnswer {
  ch: string;
  /** Members (distinct users). */
  count: number;
  /** Absent when count is above the service's PRESENCE_MAX_MEMBERS. */
  members?: ChannelMember[];
  partial: boolean;
}
/** Any query answered with a problem instead. */
export interface QueryError {
  error: string;
}

// ---- presence -> backends ----

export interface PresenceEvent {
  user: string;
  /** join and leave only. */
  ch?: string;
  /** The edge and connection the change came from (for disconnect/leave: the last one). */
  edge: string;
  client: string;
  /** When it happened, ms since the Unix epoch (for disconnect/leave: when the last connection went). */
  ts: number;
}

/** `<prefix>.events.<kind>`: the events of one interval, each once. */
export interface PresenceEventBatch {
  kind: PresenceEventKind;
  events: PresenceEvent[];
}

// ---- encoding and validation ----

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeJson(value: unknown): Uint8Array {
  return utf8.encode(JSON.stringify(value));
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

function bad(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

function decodeJsonObject(bytes: Uint8Array): Parsed<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(utf8Decoder.decode(bytes));
  } catch (err) {
    return bad(`not valid UTF-8 JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('must be a JSON object');
  return { ok: true, value: value as Record<string, unknown> };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isText(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length >= 1 && v.length <= max && TEXT_RE.test(v);
}

/** Whether a connection id may appear in presence reports. */
export const isPresenceClientId = (v: unknown): v is string => isText(v, PresenceLimits.maxClientIdLength);
/** Whether a user id may appear in presence reports. */
export const isPresenceUserId = (v: unknown): v is string => isText(v, PresenceLimits.maxUserLength);
const isClient = isPresenceClientId;
const isUser = isPresenceUserId;

function parseOp(raw: unknown, i: number): Parsed<PresenceOp> {
  if (!Array.isArray(raw)) return bad(`ops[${i}] must be an array`);
  const [kind, client, arg] = raw as unknown[];
  if (!isClient(client)) return bad(`ops[${i}]: client must be 1-${PresenceLimits.maxClientIdLength} printable characters`);
  switch (kind) {
    case 'c':
      if (raw.length !== 3 || !isUser(arg)) return bad(`ops[${i}]: connect needs a user of 1-${PresenceLimits.maxUserLength} printable characters`);
      return { ok: true, value: ['c', client, arg] };
    case 'd':
      if (raw.length !== 2) return bad(`ops[${i}]: disconnect takes only the client`);
      return { ok: true, value: ['d', client] };
    case 'j':
    case 'l': {
      const ch = parseChannel(arg);
      if (raw.length !== 3 || !ch.ok) return bad(`ops[${i}]: ${ch.ok ? 'too many fields' : ch.reason}`);
      return { ok: true, value: [kind, client, ch.channel.name] };
    }
    default:
      return bad(`ops[${i}]: unknown op ${JSON.stringify(kind)}`);
  }
}

export function parseDeltaReport(bytes: Uint8Array): Parsed<DeltaReport> {
  const o = decodeJsonObject(bytes);
  if (!o.ok) return o;
  const { seq, ts, ops } = o.value;
  if (!isCount(seq) || seq < 1) return bad('seq must be a positive integer');
  if (!isCount(ts)) return bad('ts must be a non-negative integer');
  if (!Array.isArray(ops) || ops.length > PresenceLimits.maxOpsPerDelta) return bad(`ops must be an array of at most ${PresenceLimits.maxOpsPerDelta}`);
  const out: PresenceOp[] = [];
  for (let i = 0; i < ops.length; i++) {
    const op = parseOp(ops[i], i);
    if (!op.ok) return op;
    out.push(op.value);
  }
  return { ok: true, value: { seq, ts, ops: out } };
}

export function parseHeartbeatReport(bytes: Uint8Array): Parsed<HeartbeatReport> {
  const o = decodeJsonObject(bytes);
  if (!o.ok) return o;
  const { seq, ts, every, conns, subs, digest } = o.value;
  if (!isCount(seq) || !isCount(ts) || !isCount(every) || !isCount(conns) || !isCount(subs)) {
    return bad('seq, ts, every, conns and subs must be non-negative integers');
  }
  if (typeof digest !== 'string' || !/^[0-9a-f]{16}$/.test(digest)) return bad('digest must be 16 lowercase hex digits');
  return { ok: true, value: { seq, ts, every, conns, subs, digest } };
}

export function parseByeReport(bytes: Uint8Array): Parsed<ByeReport> {
  const o = decodeJsonObject(bytes);
  if (!o.ok) return o;
  const { seq, ts } = o.value;
  if (!isCount(seq) || !isCount(ts)) return bad('seq and ts must be non-negative integers');
  return { ok: true, value: { seq, ts } };
}

export function parseSnapshotPart(bytes: Uint8Array): Parsed<SnapshotPart> {
  const o = decodeJsonObject(bytes);
  if (!o.ok) return o;
  const { seq, part, parts, conns } = o.value;
  if (!isCount(seq) || !isCount(part) || !isCount(parts) || parts < 1 || part >= parts) {
    return bad('seq must be an integer, and part an integer below parts');
  }
  if (!Array.isArray(conns) || conns.length > PresenceLimits.maxConnsPerSnapshotPart) {
    return bad(`conns must be an array of at most ${PresenceLimits.maxConnsPerSnapshotPart}`);
  }
  const out: SnapshotConnection[] = [];
  for (let i = 0; i < conns.length; i++) {
    const c: unknown = conns[i];
    if (!Array.isArray(c) || c.length !== 3) return bad(`conns[${i}] must be [client, user, channels]`);
    const [client, user, channels] = c as unknown[];
    if (!isClient(client) || !isUser(user)) return bad(`conns[${i}]: bad client or user`);
    if (!Array.isArray(channels) || channels.length > PresenceLimits.maxChannelsPerConnection) return bad(`conns[${i}]: channels must be an array`);
    const names: ChannelName[] = [];
    for (const ch of channels) {
      const parsed = parseChannel(ch);
      if (!parsed.ok) return bad(`conns[${i}]: ${parsed.reason}`);
      names.push(parsed.channel.name);
    }
    out.push([client, user, names]);
  }
  return { ok: true, value: { seq, part, parts, conns: out } };
}

export function parseStatusQuery(bytes: Uint8Array): Parsed<StatusQuery> {
  const o = decodeJsonObject(bytes);
  if (!o.ok) return o;
  const users = o.value['users'];
  if (!Array.isArray(users) || users.length > PresenceLimits.maxUsersPerStatusQuery || !users.every(isUser)) {
    return bad(`users must be an array of at most ${PresenceLimits.maxUsersPerStatusQuery} user ids`);
  }
  return { ok: true, value: { users } };
}

export function parseMembersQuery(bytes: Uint8Array): Parsed<MembersQuery> {
  const o = decodeJsonObject(bytes);
  if (!o.ok) return o;
  const ch = parseChannel(o.value['ch']);
  if (!ch.ok) return bad(`ch: ${ch.reason}`);
  return { ok: true, value: { ch: ch.channel.name } };
}

// ---- the digest ----

// Two FNV-1a variants with different offsets over UTF-16 code units: together 64 bits, so
// two different states share a digest with a probability around 2^-64 per comparison.
function hash32(text: string, offset: number): number {
  let h = offset;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
const OFFSET_A = 0x811c9dc5;
const OFFSET_B = 0x5bd1e995;

/**
 * An order-independent digest of an edge's presence state: the XOR of a hash of every
 * connection (client, user) and every subscription (client, channel), plus their counts.
 * XOR makes it incremental (adding and removing are the same operation), so an edge keeps
 * it current in O(1) per change and the service compares it with its own copy.
 */
export class PresenceDigest {
  private a = 0;
  private b = 0;
  conns = 0;
  subs = 0;

  private toggle(key: string): void {
    this.a = (this.a ^ hash32(key, OFFSET_A)) >>> 0;
    this.b = (this.b ^ hash32(key, OFFSET_B)) >>> 0;
  }

  addConnection(client: string, user: string): void {
    this.toggle(`c\u0000${client}\u0000${user}`);
    this.conns++;
  }

  removeConnection(client: string, user: string): void {
    this.toggle(`c\u0000${client}\u0000${user}`);
    this.conns--;
  }

  addSubscription(client: string, ch: string): void {
    this.toggle(`s\u0000${client}\u0000${ch}`);
    this.subs++;
  }

  removeSubscription(client: string, ch: string): void {
    this.toggle(`s\u0000${client}\u0000${ch}`);
    this.subs--;
  }

  /** 16 lowercase hex digits. */
  get value(): string {
    return this.a.toString(16).padStart(8, '0') + this.b.toString(16).padStart(8, '0');
  }
}

// The declared JetStream streams and KV buckets of the contract, and an idempotent
// "ensure" that creates or updates them. Every service runs it at start, concurrently:
// a create race resolves into an update of the same declared config. The history stream
// republishes what it stores on the live subjects; a server that refuses to add that to a
// stream created without it (nats-server 2.9.10) leaves the stream as it is, and whoever
// depends on it reads the actual config (`republishesLive`).
import { Kvm } from '@nats-io/kv';
import {
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type Republish,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import type { Contract } from './subjects.js';

export interface StreamSettings {
  /** Replicas of every stream and bucket (1 for a single server, 3 in a cluster). */
  replicas: number;
  /** History kept per channel, in messages. */
  historyMaxMsgsPerChannel: number;
  /** History kept per channel, in milliseconds. */
  historyMaxAgeMs: number;
  /** How long an ingested message waits for a fan-out worker before it is dropped. */
  ingestMaxAgeMs: number;
  /** Idempotency window for `Nats-Msg-Id`, in milliseconds. */
  duplicateWindowMs: number;
  /** Largest stored message, in bytes. */
  maxMessageBytes: number;
  /** Partition lease lifetime (TTL of the leases bucket), in milliseconds. */
  leaseTtlMs: number;
}

export const defaultStreamSettings: StreamSettings = {
  replicas: 1,
  historyMaxMsgsPerChannel: 1000,
  historyMaxAgeMs: 24 * 3600_000,
  ingestMaxAgeMs: 7 * 24 * 3600_000,
  duplicateWindowMs: 2 * 60_000,
  maxMessageBytes: 1024 * 1024,
  leaseTtlMs: 15_000,
};

type DeclaredStream = Partial<StreamConfig> & { name: string };

/** RT_IN: work queue of published messages, removed once a fan-out worker acks them. */
export function ingestStreamConfig(c: Contract, s: StreamSettings): DeclaredStream {
  return {
    name: c.ingestStream,
    description: 'Cascade ingest: published messages waiting for their fan-out worker',
    subjects: [c.ingestAll],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    // A full ingest stream must refuse new publishes (the publisher sees an error) rather
    // than drop messages that were already acknowledged.
    discard: DiscardPolicy.New,
    max_age: nanos(s.ingestMaxAgeMs),
    duplicate_window: nanos(s.duplicateWindowMs),
    max_msg_size: s.maxMessageBytes,
    num_replicas: s.replicas,
  };
}

/**
 * The history stream's RePublish: nats-server publishes every message it stores on
 * `<prefix>.hist.<ch>` at once on core `<prefix>.live.<ch>`, body and stored headers, plus
 * `Nats-Stream`, `Nats-Subject`, `Nats-Sequence` and `Nats-Last-Sequence`. Only the leader
 * of a replicated stream republishes, and only what it stored: an append refused by its
 * fence or recognised as a duplicate is not republished.
 */
export function historyRepublish(c: Contract): Republish {
  return { src: c.historyAll, dest: c.liveAll };
}

/**
 * Whether a history stream with this RePublish (its config's `republish`) puts every stored
 * message live by itself: it must be exactly `historyRepublish` (another destination, or
 * headers only, is not a live frame). Streams created before RePublish was declared have
 * none, and nats-server 2.9.10 refuses to add it by an update.
 */
export function republishesLive(c: Contract, r: Republish | undefined): boolean {
  const want = historyRepublish(c);
  return r !== undefined && r.src === want.src && r.dest === want.dest && r.headers_only !== true;
}

/** RT_HIST: every channel's ordered history, bounded per channel by count and age. */
export function historyStreamConfig(c: Contract, s: StreamSettings): DeclaredStream {
  return {
    name: c.historyStream,
    description: 'Cascade history: per-channel ordered messages (subject = channel)',
    subjects: [c.historyAll],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_msgs_per_subject: s.historyMaxMsgsPerChannel,
    max_age: nanos(s.historyMaxAgeMs),
    duplicate_window: nanos(Math.min(s.duplicateWindowMs, s.historyMaxAgeMs)),
    max_msg_size: s.maxMessageBytes + 4096,
    allow_direct: true,
    num_replicas: s.replicas,
    republish: historyRepublish(c),
  };
}

const STREAM_NAME_IN_USE = 10058;

/**
 * Declared fields a stream can run without when the server refuses to change them on an
 * existing stream: RePublish (nats-server 2.9.10 refuses any change to it: "stream
 * configuration update can not change RePublish"; later servers allow it). The rest of the
 * update is still applied, and the stream keeps its own value.
 */
const OPTIONAL_ON_UPDATE = ['republish'] as const;

function isApiError(e: unknown, code: number): boolean {
  return e instanceof JetStreamApiError && e.code === code;
}

/** The fields of `declared` whose value differs in `actual` (shallow, JSON-compared). */
export function configDrift(declared: Record<string, unknown>, actual: Record<string, unknown>): string[] {
  return Object.keys(declared).filter((k) => JSON.stringify(declared[k]) !== JSON.stringify(actual[k]));
}

/**
 * Creates the stream, or updates it to the declared config when it exists and differs.
 * Fields the server cannot change (storage, retention) surface as the server's error,
 * except an optional one (RePublish), which the stream then keeps as it is: the returned
 * info is the stream's actual state. A caller that depends on such a field reads the stream's
 * config itself (the fan-out worker's HistoryLiveMode does, and keeps reading it, since the
 * stream can be re-created under it).
 */
export async function ensureStream(jsm: JetStreamManager, declared: DeclaredStream): Promise<StreamInfo> {
  let info: StreamInfo;
  try {
    info = await jsm.streams.info(declared.name);
  } catch (e) {
    if (!isApiError(e, 10059)) throw e;
    try {
      return await jsm.streams.add(declared);
    } catch (addErr) {
      // Another service created it between our info and add: fall through to update.
      if (!isApiError(addErr, STREAM_NAME_IN_USE)) throw addErr;
      info = await jsm.streams.info(declared.name);
    }
  }
  const drift = configDrift(declared, info.config as unknown as Record<string, unknown>);
  if (drift.length === 0) return info;
  try {
    return await jsm.streams.update(declared.name, { ...info.config, ...declared });
  } catch (e) {
    const optional = drift.filter((k) => (OPTIONAL_ON_UPDATE as readonly string[]).includes(k));
    // Only a refusal by the server (not a timeout or a lost connection) may leave them out.
    if (optional.length === 0 || !(e instanceof JetStreamApiError)) {
      throw new Error(`stream ${declared.name}: cannot update ${drift.join(', ')} to the declared config`, { cause: e });
    }
    const rest = drift.filter((k) => !optional.includes(k));
    if (rest.length === 0) return info;
    const keep = Object.fromEntries(optional.map((k) => [k, (info.config as unknown as Record<string, unknown>)[k]]));
    try {
      return await jsm.streams.update(declared.name, { ...info.config, ...declared, ...keep });
    } catch (e2) {
      throw new Error(`stream ${declared.name}: cannot update ${rest.join(', ')} to the declared config`, { cause: e2 });
    }
  }
}

export interface BucketDeclaration {
  name: string;
  /** Entry lifetime in ms (0 = keep). */
  ttlMs: number;
  /** Values kept per key. */
  history: number;
}

/** The KV buckets of the contract. Leases and presence entries expire on their own. */
export function bucketDeclarations(c: Contract, s: StreamSettings = defaultStreamSettings): BucketDeclaration[] {
  return [
    { name: c.buckets.leases, ttlMs: s.leaseTtlMs, history: 1 },
    { name: c.buckets.presence, ttlMs: 120_000, history: 1 },
    { name: c.buckets.groups, ttlMs: 0, history: 1 },
  ];
}

/** Creates the bucket, or brings its TTL, history and replicas to the declared values. */
export async function ensureBucket(nc: NatsConnection, jsm: JetStreamManager, b: BucketDeclaration, replicas: number): Promise<void> {
  await new Kvm(nc).create(b.name, { history: b.history, ttl: b.ttlMs, replicas });
  // Kvm.create opens an existing bucket as it is; bring it to the declared config.
  const streamName = `KV_${b.name}`;
  const info = await jsm.streams.info(streamName);
  const want = {
    max_age: nanos(b.ttlMs),
    max_msgs_per_subject: b.history,
    num_replicas: replicas,
    // The server refuses a duplicate window longer than max_age (it picks min(2m, TTL) at
    // create): keep it in step, or lowering a TTL could never be applied.
    ...(b.ttlMs > 0 ? { duplicate_window: nanos(Math.min(b.ttlMs, 120_000)) } : {}),
  };
  if (configDrift(want, info.config as unknown as Record<string, unknown>).length > 0) {
    await jsm.streams.update(streamName, { ...info.config, ...want });
  }
}

/** Ensures every stream and bucket of the contract. Safe to run from every service at once. */
export async function ensureContract(nc: NatsConnection, jsm: JetStreamManager, c: Contract, s: StreamSettings): Promise<void> {
  await ensureStream(jsm, ingestStreamConfig(c, s));
  await ensureStream(jsm, historyStreamConfig(c, s));
  for (const b of bucketDeclarations(c, s)) await ensureBucket(nc, jsm, b, s.replicas);
}

// The partition-lease bucket (`<prefix>_leases`): its key layout and the compare-and-set
// operations a lease needs. `partition.<n>` holds the owning fan-out worker's instance id,
// `fanout-worker.<id>` is a live fan-out worker's heartbeat. Every entry lapses with the
// bucket TTL unless rewritten (nats-server 2.9 has no per-key TTL).
import { Kvm, type KV } from '@nats-io/kv';
import { JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Contract } from './subjects.js';

const WRONG_LAST_SEQUENCE = 10071;
// A message delete for a sequence no longer stored (JSStreamMsgDeleteFailedF: "no message found").
const MSG_DELETE_FAILED = 10057;

/** What the bucket holds right now: partitions with a live lease, and live workers. */
export interface LeaseSnapshot {
  taken: Set<number>;
  workers: number;
}

// Other services keep their own entries in this bucket (e.g. presence's emitter lease):
// only these two prefixes are the fan-out worker's.
const PARTITION_KEY_PREFIX = 'partition.';
const WORKER_KEY_PREFIX = 'fanout-worker.';

export function leaseKey(partition: number): string {
  return `${PARTITION_KEY_PREFIX}${partition}`;
}

/** Instance ids may hold characters a KV key may not (e.g. from a hostname). */
export function workerKey(instance: string): string {
  return `${WORKER_KEY_PREFIX}${instance.replace(/[^-/_=a-zA-Z0-9]/g, '_')}`;
}

function isApiError(e: unknown, code: number): boolean {
  return e instanceof JetStreamApiError && e.code === code;
}

export class LeaseBucket {
  private constructor(
    private readonly kv: KV,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly subjectPrefix: string,
  ) {}

  static async open(nc: NatsConnection, jsm: JetStreamManager, contract: Contract): Promise<LeaseBucket> {
    const name = contract.buckets.leases;
    const kv = await new Kvm(nc).open(name);
    return new LeaseBucket(kv, jsm, `KV_${name}`, `$KV.${name}.`);
  }

  /** Takes a free partition: the revision of the new lease, or undefined if someone holds it. */
  async claim(partition: number, owner: string, timeoutMs?: number): Promise<number | undefined> {
    try {
      return await this.kv.put(leaseKey(partition), owner, { previousSeq: 0, timeout: timeoutMs });
    } catch (e) {
      if (isApiError(e, WRONG_LAST_SEQUENCE)) return undefined;
      throw e;
    }
  }

  /** Extends a held lease: the new revision, or undefined if `revision` is no longer the lease. */
  async renew(partition: number, owner: string, revision: number, timeoutMs?: number): Promise<number | undefined> {
    try {
      return await this.kv.update(leaseKey(partition), owner, revision, timeoutMs);
    } catch (e) {
      if (isApiError(e, WRONG_LAST_SEQUENCE)) return undefined;
      throw e;
    }
  }

  /** The current holder of a partition's lease, if any. */
  async holder(partition: number): Promise<{ owner: string; revision: number } | undefined> {
    const e = await this.kv.get(leaseKey(partition));
    if (!e || e.operation !== 'PUT') return undefined;
    return { owner: e.string(), revision: e.revision };
  }

  /**
   * Gives up exactly the entry written at `revision` (a lease or a heartbeat). Deleting the
   * stored message rather than writing a KV delete marker leaves no tombstone, so the key is
   * free at once for `claim` and for `snapshot`; a later revision (someone else's) is untouched.
   */
  async drop(revision: number): Promise<void> {
    try {
      await this.jsm.streams.deleteMessage(this.stream, revision, false);
    } catch (e) {
      // Already superseded or lapsed: nothing of ours is left to drop.
      if (!isApiError(e, MSG_DELETE_FAILED)) throw e;
    }
  }

  /** Says "this worker is alive" for one TTL; the revision lets `drop` remove it on exit. */
  heartbeat(instance: string, timeoutMs?: number): Promise<number> {
    return this.kv.put(workerKey(instance), instance, { timeout: timeoutMs });
  }

  /** One stream-info call lists every live key (lapsed ones are gone, and `drop` leaves no marker). */
  async snapshot(): Promise<LeaseSnapshot> {
    const info = await this.jsm.streams.info(this.stream, { subjects_filter: `${this.subjectPrefix}>` });
    const taken = new Set<number>();
    let workers = 0;
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const key = subject.slice(this.subjectPrefix.length);
      if (key.startsWith(WORKER_KEY_PREFIX)) workers++;
      else if (key.startsWith(PARTITION_KEY_PREFIX)) taken.add(Number(key.slice(PARTITION_KEY_PREFIX.length)));
    }
    return { taken, workers };
  }
}

// This worker's share of the partitions: it heartbeats, claims free partitions up to its
// fair share, renews the leases it holds, gives up its surplus when workers join, and
// starts or stops each partition's consumer as its lease comes and goes. Renewing and
// balancing each run once per renew interval (a third of the lease TTL).
import type { Logger } from '@cascade/log';
import type { LeaseBucket } from '@cascade/nats';
import { planPartitions } from './assignment.js';
import { PartitionLease, type LeaseTimings } from './lease.js';
import type { PartitionConsumer } from './partition-consumer.js';

export interface PartitionOwnerOptions {
  bucket: LeaseBucket;
  /** This worker's instance id, the value of every lease it holds. */
  instance: string;
  partitions: number;
  timings: LeaseTimings;
  log: Logger;
  consumerFor(partition: number, lease: PartitionLease): PartitionConsumer;
  /** Makes sure acks sent so far reached the server (before a lease is handed over). */
  flush(): Promise<void>;
}

interface Held {
  lease: PartitionLease;
  consumer: PartitionConsumer;
}

export class PartitionOwner {
  private readonly held = new Map<number, Held>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly rounds = new Set<Promise<void>>();
  private stopped = false;
  private heartbeatRevision = 0;
  /** Leases lost to a failed renewal or a lapse (not counting graceful hand-overs). */
  lost = 0;

  constructor(private readonly o: PartitionOwnerOptions) {}

  async start(): Promise<void> {
    await this.renewRound();
    await this.balanceRound();
    // Two loops, so that renewing never waits behind a slow claim or a hand-over's drain.
    this.every('lease renewal', () => this.renewRound());
    this.every('partition balancing', () => this.balanceRound());
  }

  /** Partitions held now, ascending. */
  owned(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /** Hands every partition over (drained, acked, lease dropped) and leaves the bucket. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    await Promise.all([...this.rounds]);
    await Promise.all(this.owned().map((p) => this.release(p)));
    if (this.heartbeatRevision > 0) await this.o.bucket.drop(this.heartbeatRevision);
  }

  /** Runs `round` once per renew interval, counted from the start of the previous round. */
  private every(name: string, round: () => Promise<void>, delayMs = this.o.timings.renewEveryMs): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const began = Date.now();
      const running = round()
        .catch((err: unknown) => this.o.log.warn({ err }, `${name} failed; retrying next interval`))
        .finally(() => {
          this.rounds.delete(running);
          this.every(name, round, Math.max(0, this.o.timings.renewEveryMs - (Date.now() - began)));
        });
      this.rounds.add(running);
    }, delayMs);
    this.timers.add(timer);
  }

  private async renewRound(): Promise<void> {
    await Promise.all(this.owned().map((p) => this.renew(p)));
    this.heartbeatRevision = await this.o.bucket.heartbeat(this.o.instance, this.o.timings.renewEveryMs);
  }

  private async balanceRound(): Promise<void> {
    const snapshot = await this.o.bucket.snapshot();
    const plan = planPartitions({
      partitions: this.o.partitions,
      self: this.o.instance,
      workers: Math.max(1, snapshot.workers),
      owned: new Set(this.held.keys()),
      taken: snapshot.taken,
    });
    await Promise.all([...plan.release.map((p) => this.release(p)), ...plan.acquire.map((p) => this.claim(p))]);
  }

  private async renew(p: number): Promise<void> {
    const h = this.held.get(p);
    if (!h) return;
    // Also true when the partition's consumer stopped itself (a writer saw the deadline pass).
    if (!h.lease.owns(Date.now())) return this.lose(p, 'lease lapsed or its consumer stopped');
    const sentAt = Date.now();
    try {
      const revision = await this.o.bucket.renew(p, this.o.instance, h.lease.revision, this.o.timings.renewEveryMs);
      if (revision === undefined) return this.lose(p, 'lease taken by another worker');
      h.lease.renewed(revision, sentAt);
    } catch (err) {
      // We cannot tell whether it landed: stop now. If it did, the entry lapses within a
      // TTL and the partition is claimed afresh (by us or another worker).
      this.o.log.warn({ err, partition: p }, 'lease renewal failed');
      this.lose(p, 'lease renewal failed');
    }
  }

  private lose(p: number, why: string): void {
    const h = this.held.get(p);
    if (!h) return;
    this.held.delete(p);
    h.lease.lost();
    this.lost++;
    this.o.log.warn({ partition: p, why }, 'lost partition');
    // Once nothing more is written, give the entry back (if it is still ours; a newer
    // revision, someone else's, is untouched), so the partition is claimable at once.
    void h.consumer
      .revoke()
      .then(() => this.o.bucket.drop(h.lease.revision))
      .catch((err: unknown) => this.o.log.warn({ err, partition: p }, 'could not give a lost lease back; it will lapse'));
  }

  private async claim(p: number): Promise<void> {
    const { bucket, instance, timings } = this.o;
    const sentAt = Date.now();
    const revision = await bucket.claim(p, instance, timings.renewEveryMs);
    if (revision === undefined) return; // another worker was quicker
    const lease = new PartitionLease(p, timings);
    lease.acquired(revision, sentAt);
    const consumer = this.o.consumerFor(p, lease);
    this.held.set(p, { lease, consumer });
    try {
      await consumer.start();
      this.o.log.info({ partition: p, revision }, 'took partition');
    } catch (err) {
      this.o.log.warn({ err, partition: p }, 'could not start partition consumer; giving the lease back');
      this.held.delete(p);
      lease.lost();
      await consumer.revoke();
      await bucket.drop(lease.revision);
    }
  }

  private async release(p: number): Promise<void> {
    const h = this.held.get(p);
    if (!h) return;
    // Still held (and renewed) while in-flight writes finish and ack.
    await h.consumer.drain();
    // The next owner's fresh consumer must not see messages whose acks are still buffered.
    await this.o.flush();
    if (this.held.get(p) !== h) return; // lost meanwhile: lose() gave it back
    this.held.delete(p);
    h.lease.lost();
    await this.o.bucket.drop(h.lease.revision);
    this.o.log.info({ partition: p }, 'handed partition over');
  }
}

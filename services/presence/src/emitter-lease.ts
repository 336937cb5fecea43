// Which presence replica publishes. Every replica rebuilds the same state from the edges and
// answers queries, but frames and events must go out once: only the holder of the
// `presence-emitter` entry in the leases bucket publishes. The entry is written with
// compare-and-set and renewed every third of the bucket's TTL; a holder that dies stops
// renewing, the entry ages out, and another replica takes over within one TTL.
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from '@cascade/log';

const KEY = 'presence-emitter';

export class EmitterLease {
  private revision: number | undefined;
  private validUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  private constructor(
    private readonly kv: KV,
    private readonly ttlMs: number,
    private readonly instance: string,
    private readonly log: Logger,
  ) {}

  static async open(nc: NatsConnection, bucket: string, instance: string, log: Logger): Promise<EmitterLease> {
    const kv = await new Kvm(nc).open(bucket);
    const { ttl } = await kv.status();
    if (!(ttl > 0)) throw new Error(`bucket ${bucket} has no TTL: a lease there would never lapse`);
    return new EmitterLease(kv, ttl, instance, log);
  }

  private get renewEveryMs(): number {
    return Math.max(100, Math.floor(this.ttlMs / 3));
  }

  /**
   * Whether this replica publishes now. The entry lapses one TTL after the last write we
   * sent; stopping one renew interval earlier keeps two holders from overlapping when our
   * renewals stop landing.
   */
  get held(): boolean {
    return this.revision !== undefined && Date.now() < this.validUntil;
  }

  async start(): Promise<void> {
    await this.attempt();
    this.timer = setInterval(() => void this.attempt(), this.renewEveryMs);
  }

  /** Gives the lease up at once, so a standby replica takes over without waiting for the TTL. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.revision === undefined) return;
    const revision = this.revision;
    this.revision = undefined;
    try {
      await this.kv.delete(KEY, { previousSeq: revision });
    } catch (err) {
      this.log.warn({ err }, 'could not release the presence emitter lease; it lapses on its own');
    }
  }

  private async attempt(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const sentAt = Date.now();
    const holding = this.revision !== undefined;
    try {
      this.revision = holding ? await this.kv.update(KEY, this.instance, this.revision!) : await this.kv.create(KEY, this.instance);
      this.validUntil = sentAt + this.ttlMs - this.renewEveryMs;
      if (!holding) this.log.info({ ttlMs: this.ttlMs }, 'presence emitter lease acquired: this replica publishes frames and events');
    } catch (err) {
      this.revision = undefined;
      // Not holding: another replica's live entry refused our create, which is the normal
      // standby case. Holding: our renewal failed, so someone else may hold it now.
      if (holding) this.log.warn({ err }, 'lost the presence emitter lease: this replica stops publishing');
      else this.log.debug({ err: (err as Error).message }, 'presence emitter lease held elsewhere');
    } finally {
      this.busy = false;
    }
  }
}

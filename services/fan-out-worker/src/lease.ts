// A partition lease as its owner sees it: a pure state machine over the lease entry's
// revision and a conservative local deadline. No I/O: the lease keeper makes the KV calls
// and reports their outcome here; writers ask `owns(now)` before every append.

export interface LeaseTimings {
  /** Lifetime of a lease entry (the lease bucket's TTL). */
  readonly ttlMs: number;
  /** How often an owner renews: a third of the TTL, so two renewals may fail before it lapses. */
  readonly renewEveryMs: number;
}

export function leaseTimings(ttlMs: number): LeaseTimings {
  return { ttlMs, renewEveryMs: Math.max(100, Math.floor(ttlMs / 3)) };
}

export class PartitionLease {
  private held = false;
  private rev = 0;
  private validUntil = 0;

  constructor(
    readonly partition: number,
    private readonly timings: LeaseTimings,
  ) {}

  /**
   * The claim written at `sentAt` (local clock, before sending) was stored as `revision`.
   * The server stores it no earlier than we sent it and lets it lapse one TTL later, so
   * sentAt + TTL is a lower bound of the real expiry. We stop one renew interval before
   * that bound: a write issued at the last moment still lands while the lease holds, and a
   * renewal that cannot land in time never leaves us writing on an expired lease.
   */
  acquired(revision: number, sentAt: number): void {
    this.held = true;
    this.rev = revision;
    this.validUntil = sentAt + this.timings.ttlMs - this.timings.renewEveryMs;
  }

  /** A renewal sent at `sentAt` was stored as `revision`. Ignored once the lease was lost. */
  renewed(revision: number, sentAt: number): void {
    if (!this.held) return;
    this.acquired(revision, sentAt);
  }

  /** A renewal failed, the deadline passed, or the owner gave the lease up. */
  lost(): void {
    this.held = false;
  }

  /**
   * Whether this process may still write for the partition. Seeing the deadline passed
   * ends the lease for good: a writer that saw it lapse has stopped, so a renewal that
   * lands later must not revive it behind that writer's back (the owner re-claims instead).
   */
  owns(now: number): boolean {
    if (this.held && now >= this.validUntil) this.held = false;
    return this.held;
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** Revision of the newest lease entry we wrote (the CAS version for renew and drop). */
  get revision(): number {
    return this.rev;
  }
}

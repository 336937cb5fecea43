// The presence traffic budget: a token bucket refilled at a fixed rate. Presence frames
// spend it; what finds the bucket empty waits (coalescing meanwhile) instead of queueing,
// so a login wave costs at most `ratePerSecond` frames per second on top of content.
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly capacity: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.at = now;
  }

  /** Takes one token if there is one. */
  take(now: number): boolean {
    if (now > this.at) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) * this.ratePerSecond) / 1000);
      this.at = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

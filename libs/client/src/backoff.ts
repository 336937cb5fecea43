// Reconnect delays: exponential backoff with full jitter (a uniformly random delay between 0
// and the capped exponential), so that thousands of clients dropped by one edge do not come
// back in lockstep. Pure: the random source is injected, so tests are deterministic.

export interface BackoffOptions {
  /** Cap of the first delay, ms (default 500). */
  initialMs?: number;
  /** Largest cap, ms (default 30 000). */
  maxMs?: number;
  /** Growth of the cap per attempt (default 2). */
  factor?: number;
  /** Uniform random number in [0, 1) (default Math.random). */
  random?: () => number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly random: () => number;
  private attempt = 0;

  constructor(o: BackoffOptions = {}) {
    this.initialMs = o.initialMs ?? 500;
    this.maxMs = o.maxMs ?? 30_000;
    this.factor = o.factor ?? 2;
    this.random = o.random ?? Math.random;
    if (!(this.initialMs > 0) || !(this.maxMs >= this.initialMs) || !(this.factor >= 1)) {
      throw new RangeError('backoff needs 0 < initialMs <= maxMs and factor >= 1');
    }
  }

  /** Attempts since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The cap for the next attempt: initial * factor^attempt, at most maxMs. */
  cap(): number {
    return Math.min(this.maxMs, this.initialMs * this.factor ** this.attempt);
  }

  /** The delay before the next attempt, in [0, cap), and counts the attempt. */
  next(): number {
    const delay = Math.floor(this.random() * this.cap());
    this.attempt++;
    return delay;
  }

  /** After a successful connection: the next failure starts small again. */
  reset(): void {
    this.attempt = 0;
  }
}

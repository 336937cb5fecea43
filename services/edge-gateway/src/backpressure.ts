// Finds connections whose unsent data passed the bound and closes them with 4002
// (SlowConsumer), so a slow client reconnects and resumes instead of growing this node's
// memory or silently missing messages. uWS itself only knows "skip" or an abrupt close, and
// its topic publish does not report per socket, so a round-robin sweep checks a slice of the
// connections on every tick: each connection is checked once per cycle, at the cost of a
// cheap native call per connection per cycle.

export interface SweepTarget<S> {
  /** Current connections; the sweep keeps its own cursor over them. */
  connections(): ReadonlySet<S>;
  bufferedBytes(socket: S): number;
  closeSlow(socket: S): void;
}

export class SlowConsumerSweep<S> {
  private cursor: Iterator<S> | undefined;
  private passTotal = 0;
  private lastPass = 0;

  constructor(
    private readonly target: SweepTarget<S>,
    /** Unsent bytes above which a connection is closed as too slow. */
    private readonly limitBytes: number,
    /** Ticks per full pass over all connections. */
    private readonly ticksPerCycle: number,
  ) {}

  /** Checks the next slice of connections; returns how many were closed. */
  tick(): number {
    const all = this.target.connections();
    const slice = Math.ceil(all.size / this.ticksPerCycle);
    let closed = 0;
    for (let i = 0; i < slice; i++) {
      let next = this.cursor?.next();
      if (!next || next.done) {
        // A new pass: Set iterators see entries added since, and skip deleted ones.
        this.lastPass = this.passTotal;
        this.passTotal = 0;
        this.cursor = all.values();
        next = this.cursor.next();
        if (next.done) return closed;
      }
      const buffered = this.target.bufferedBytes(next.value);
      this.passTotal += buffered;
      if (buffered > this.limitBytes) {
        this.target.closeSlow(next.value);
        closed++;
      }
    }
    return closed;
  }

  /** Unsent bytes over all connections, as seen by the last full pass (the node's send-buffer memory). */
  get bufferedBytes(): number {
    return Math.max(this.lastPass, this.passTotal);
  }
}

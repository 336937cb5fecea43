// Finds connections whose unsent data passed the bound and closes them with 4002
// (SlowConsumer), so a slow client reconnects and resumes instead of growing this node's
// memory or silently missing messages. uWS itself only knows "skip" or an abrupt close, and
// its topic publish does not report per socket, so a round-robin sweep checks a slice of the
// connections on every tick: each connection is checked once per cycle, at the cost of a
// cheap native call per connection per cycle. The connections are a dense array walked by
// index, so an idle node's sweep allocates nothing (no iterator results per connection).

export interface SweepTarget<S> {
  /**
   * Current connections; the sweep keeps its own cursor (an index) over them. A removal may
   * move the last one into the gap (swap-remove): one moved behind the cursor between two
   * ticks is checked in the next pass instead.
   */
  connections(): readonly S[];
  bufferedBytes(socket: S): number;
  closeSlow(socket: S): void;
}

export class SlowConsumerSweep<S> {
  private cursor = 0;
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
    const slice = Math.ceil(all.length / this.ticksPerCycle);
    let closed = 0;
    for (let i = 0; i < slice; i++) {
      if (this.cursor >= all.length) {
        // A new pass.
        this.lastPass = this.passTotal;
        this.passTotal = 0;
        this.cursor = 0;
        if (all.length === 0) return closed;
      }
      const s = all[this.cursor++]!;
      const buffered = this.target.bufferedBytes(s);
      this.passTotal += buffered;
      if (buffered > this.limitBytes) {
        this.target.closeSlow(s);
        closed++;
        // Closing removed it at once: the one moved into its place is checked next.
        if (all[this.cursor - 1] !== s) this.cursor--;
      }
    }
    return closed;
  }

  /** Unsent bytes over all connections, as seen by the last full pass (the node's send-buffer memory). */
  get bufferedBytes(): number {
    return Math.max(this.lastPass, this.passTotal);
  }
}

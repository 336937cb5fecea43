// Where each channel's history stands: (epoch, seq) of its newest message and that
// message's stream sequence, which fences the next append. Pure state, no I/O.

export interface ChannelPosition {
  /** Names the current lifetime of the channel's history; a new one starts when history was lost. */
  readonly epoch: string;
  /** Sequence of the newest stored message (0: none yet in this epoch). */
  readonly seq: number;
  /** Stream sequence of that message in the history stream (0: the channel has none stored). */
  readonly lastStored: number;
}

/**
 * A bounded cache of channel positions. Forgetting a channel is always safe: its position
 * is read back from the history stream, and the append fence rejects a stale one.
 */
export class ChannelPositions {
  private readonly byChannel = new Map<string, ChannelPosition>();

  constructor(private readonly capacity = 100_000) {}

  get(channel: string): ChannelPosition | undefined {
    const p = this.byChannel.get(channel);
    if (p) {
      // Re-insert to keep Map order as least-recently-used first.
      this.byChannel.delete(channel);
      this.byChannel.set(channel, p);
    }
    return p;
  }

  set(channel: string, position: ChannelPosition): void {
    this.byChannel.delete(channel);
    this.byChannel.set(channel, position);
    if (this.byChannel.size > this.capacity) {
      const oldest = this.byChannel.keys().next().value;
      if (oldest !== undefined) this.byChannel.delete(oldest);
    }
  }

  forget(channel: string): void {
    this.byChannel.delete(channel);
  }

  get size(): number {
    return this.byChannel.size;
  }
}

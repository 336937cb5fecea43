// First-subscriber refcounting: how many local connections use each channel, and whether a
// change is the first use (open the node's one NATS subscription) or the last (close it).

export class ChannelRefcounts {
  private readonly counts = new Map<string, number>();
  private subscribers = 0;

  /** Counts one more local subscriber; true when it is the first. */
  acquire(channel: string): boolean {
    const n = this.counts.get(channel) ?? 0;
    this.counts.set(channel, n + 1);
    this.subscribers++;
    return n === 0;
  }

  /** Counts one subscriber less; true when it was the last. Releasing an unused channel is a bug. */
  release(channel: string): boolean {
    const n = this.counts.get(channel);
    if (n === undefined) throw new Error(`release of channel ${channel} that has no subscribers`);
    this.subscribers--;
    if (n === 1) {
      this.counts.delete(channel);
      return true;
    }
    this.counts.set(channel, n - 1);
    return false;
  }

  count(channel: string): number {
    return this.counts.get(channel) ?? 0;
  }

  /** Local subscriptions over all channels. */
  get total(): number {
    return this.subscribers;
  }

  /** Channels with at least one local subscriber. */
  get channels(): number {
    return this.counts.size;
  }
}

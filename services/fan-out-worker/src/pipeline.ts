// The order of writes within a partition: messages of one channel are written one after
// another (each append is fenced on the stream sequence the previous one got, which only
// its PubAck tells), messages of different channels concurrently. Pure bookkeeping, no I/O.

export type Offer = 'start' | 'queued' | 'duplicate';

export class ChannelPipeline<T> {
  /** Per channel, the messages not yet written; the head is being written. */
  private readonly queues = new Map<string, Array<{ id: number; item: T }>>();
  /** Ingest sequences held anywhere in the pipeline. */
  private readonly held = new Set<number>();

  /**
   * Adds a message in ingest order. 'start': it heads its channel and may be written now;
   * 'queued': it waits for the channel's earlier messages; 'duplicate': a redelivery of a
   * message already held (JetStream redelivers after ack_wait) and must be ignored.
   */
  offer(channel: string, id: number, item: T): Offer {
    if (this.held.has(id)) return 'duplicate';
    this.held.add(id);
    const q = this.queues.get(channel);
    if (q) {
      q.push({ id, item });
      return 'queued';
    }
    this.queues.set(channel, [{ id, item }]);
    return 'start';
  }

  /** The channel's head is written; returns the channel's next message to write, if any. */
  done(channel: string): T | undefined {
    const q = this.queues.get(channel);
    const head = q?.shift();
    if (head) this.held.delete(head.id);
    if (!q || q.length === 0) {
      this.queues.delete(channel);
      return undefined;
    }
    return q[0]!.item;
  }

  /** Drops everything (ownership ended); those messages are redelivered to the next owner. */
  clear(): void {
    this.queues.clear();
    this.held.clear();
  }

  /** Messages held (being written or waiting). */
  get size(): number {
    return this.held.size;
  }

  /** Channels with a write in flight. */
  get channels(): number {
    return this.queues.size;
  }
}

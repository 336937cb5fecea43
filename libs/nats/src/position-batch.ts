// Coalesces channel-position lookups made in the same event-loop turn into one request. Every
// connect with a token asks for its personal channel's position; in a reconnect herd hundreds
// arrive per turn, and one request each cost the edge a NATS message out, a reply parsed and
// its bookkeeping, and the history service as many messages to decode and answer. No I/O
// here: the request and the turn boundary are injected, so the batching is unit-tested.
import type { ChannelName } from '@cascade/protocol';

/** One channel's answer in a batch: its position, or why it has none (an error reply's code and text). */
export type BatchAnswer<P> = { ok: true; position: P } | { ok: false; error: Error };

export interface PositionBatchOptions<P> {
  /**
   * Asks for the positions of `channels` (distinct, at most `maxBatch`): resolves with one
   * answer per channel, in the same order, or rejects when the whole request failed.
   */
  fetch(channels: readonly ChannelName[]): Promise<ReadonlyArray<BatchAnswer<P>>>;
  /** Runs `flush` once the current turn's lookups are in (production: setImmediate). */
  schedule(flush: () => void): void;
  /** Channels per request at most; more in one turn go as several requests. */
  maxBatch: number;
}

interface Waiter<P> {
  resolve(p: P): void;
  reject(e: Error): void;
}

/**
 * Guarantees: each `position()` settles exactly once, with its channel's answer from one
 * request sent after the turn it was called in, or with the error that failed that request.
 * Two lookups of one channel in one turn share one entry of the request. Requests are sent
 * in the order their channels were first asked for.
 */
export class PositionBatch<P> {
  // Insertion order is the order of the request's channels.
  private waiting = new Map<ChannelName, Waiter<P>[]>();
  private scheduled = false;

  constructor(private readonly o: PositionBatchOptions<P>) {
    if (!Number.isInteger(o.maxBatch) || o.maxBatch < 1) throw new RangeError('maxBatch must be a positive integer');
  }

  position(channel: ChannelName): Promise<P> {
    return new Promise<P>((resolve, reject) => {
      const waiters = this.waiting.get(channel);
      if (waiters) waiters.push({ resolve, reject });
      else this.waiting.set(channel, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        this.o.schedule(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.waiting;
    this.waiting = new Map();
    let batch: ChannelName[] = [];
    for (const channel of all.keys()) {
      batch.push(channel);
      if (batch.length === this.o.maxBatch) {
        this.send(batch, all);
        batch = [];
      }
    }
    if (batch.length > 0) this.send(batch, all);
  }

  private send(channels: ChannelName[], waiters: Map<ChannelName, Waiter<P>[]>): void {
    const failAll = (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      for (const ch of channels) for (const w of waiters.get(ch)!) w.reject(err);
    };
    let fetched: Promise<ReadonlyArray<BatchAnswer<P>>>;
    try {
      fetched = this.o.fetch(channels);
    } catch (e) {
      failAll(e);
      return;
    }
    fetched.then((answers) => {
      if (answers.length !== channels.length) {
        failAll(new Error(`the position reply has ${answers.length} answers for ${channels.length} channels`));
        return;
      }
      channels.forEach((ch, i) => {
        const answer = answers[i]!;
        for (const w of waiters.get(ch)!) {
          if (answer.ok) w.resolve(answer.position);
          else w.reject(answer.error);
        }
      });
    }, failAll);
  }
}

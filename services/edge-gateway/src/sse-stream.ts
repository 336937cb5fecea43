// One SSE response's outgoing bytes with flow control. The HTTP layer (uWS) accepts every
// write but says when it now holds unsent bytes; from then on events queue here, in memory
// we count, and go out as the socket drains. Past the bound the client is too slow: the
// stream is finished with an error after what is queued (it resumes from its last id)
// instead of growing this node's memory. Transport-free: it talks to an SseOutput.

/** A piece of event text; shared event bytes are Uint8Arrays (never copied per subscriber). */
export type SseChunk = string | Uint8Array;

/** The HTTP response as the stream sees it (uWS HttpResponse in transport.ts). */
export interface SseOutput {
  /** Writes the chunks in one batch; false when the connection now holds unsent bytes. */
  write(chunks: readonly SseChunk[]): boolean;
  /** Ends the response after everything written (the HTTP layer drains what it holds). */
  end(): void;
  /** Drops the connection now; what the HTTP layer still holds is lost. */
  close(): void;
}

export interface SseStreamOptions {
  /** Unsent bytes held for this stream at most (EDGE_MAX_BACKPRESSURE). */
  maxUnsentBytes: number;
  /** Called once when the bound is passed (the session finishes the stream with 4002). */
  onSlow(): void;
}

/**
 * Written after the HTTP layer reported unsent bytes and nothing else is queued: a comment
 * line, ignored by every SSE parser, that makes the layer flush what it holds.
 */
const FLUSH = ':\n';

function sizeOf(chunks: readonly SseChunk[]): number {
  let n = 0;
  for (const c of chunks) n += typeof c === 'string' ? c.length : c.byteLength;
  return n;
}

export class SseStream {
  private state: 'open' | 'finishing' | 'done' = 'open';
  private readonly queue: SseChunk[][] = [];
  private queuedBytes = 0;
  /** The HTTP layer holds unsent bytes (its last write returned false). */
  private backpressured = false;
  /** What it holds, at most (the writes since it last had nothing). */
  private heldBytes = 0;
  private slow = false;
  private closeWhenFlushed = false;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly out: SseOutput,
    private readonly o: SseStreamOptions,
  ) {}

  /** Bytes written but not sent yet (an upper bound). */
  get unsentBytes(): number {
    return this.queuedBytes + this.heldBytes;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Sends one event (its chunks stay together). Ignored once the stream is finishing. */
  send(...chunks: SseChunk[]): void {
    if (this.state !== 'open') return;
    if (this.backpressured) {
      this.queue.push(chunks);
      this.queuedBytes += sizeOf(chunks);
      if (this.unsentBytes > this.o.maxUnsentBytes && !this.slow) {
        this.slow = true;
        this.o.onSlow();
      }
      return;
    }
    if (!this.out.write(chunks)) {
      this.backpressured = true;
      this.heldBytes = sizeOf(chunks);
    }
  }

  /** The connection can take more (uWS onWritable): send what is queued, in order. */
  writable(): void {
    if (this.state === 'done') return;
    let first = true;
    while (this.queue.length > 0) {
      const item = this.queue.shift()!;
      const size = sizeOf(item);
      this.queuedBytes -= size;
      if (!this.out.write(item)) {
        // If even the first write found the old bytes unsent, they are still held too.
        this.heldBytes = first ? this.heldBytes + size : size;
        this.settle();
        return;
      }
      first = false;
    }
    if (first && this.backpressured && !this.out.write([FLUSH])) {
      this.settle();
      return;
    }
    this.backpressured = false;
    this.heldBytes = 0;
    this.settle();
  }

  /**
   * Ends the stream after `last` (an error or reconnect event), after everything queued.
   * `close`: drop the connection once all is flushed instead of ending the response, so the
   * client's next request cannot reuse it (drain: the reconnect must reach another node).
   */
  finish(last?: string, close = false): void {
    if (this.state !== 'open') return;
    this.state = 'finishing';
    this.closeWhenFlushed = close;
    if (last !== undefined) {
      this.queue.push([last]);
      this.queuedBytes += last.length;
    }
    if (!close || !this.backpressured) this.writable();
    // Closing a backpressured stream waits for writable() to flush everything first.
  }

  /** The client went away (uWS onAborted): nothing may be written any more. */
  aborted(): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.done(() => undefined);
  }

  /** Drops the connection at once (e.g. a finishing stream that never drains). */
  abort(): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.done(() => this.out.close());
  }

  /** Resolves when a quarter of the bound or less is unsent, or the stream ended (catch-up pacing). */
  drained(): Promise<void> {
    if (this.state !== 'open' || this.unsentBytes <= this.o.maxUnsentBytes / 4) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private settle(): void {
    if (this.state === 'finishing') {
      if (!this.closeWhenFlushed) {
        // The HTTP layer drains what it holds by itself once the response is ended.
        for (const item of this.queue.splice(0)) this.out.write(item);
        this.queuedBytes = 0;
        this.done(() => this.out.end());
        return;
      }
      if (!this.backpressured && this.queue.length === 0) {
        this.done(() => this.out.close());
        return;
      }
    }
    if (this.waiters.length > 0 && this.unsentBytes <= this.o.maxUnsentBytes / 4) this.wake();
  }

  private done(last: () => void): void {
    if (this.state === 'done') return;
    this.state = 'done';
    last();
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}

// Request-reply for the hot paths (a history position at every connect, every JetStream
// publish) without nats.js's request machinery: its request() builds at least one Error with
// a captured stack per call even on success (RequestOne.cancel rejects its settled promise
// with a fresh RequestError), plus a timer per request; in a connection storm that was a
// visible share of the edge's and the history service's CPU and GC. Here one wildcard reply
// subscription serves every request, replies are matched by token, and one sweep times out
// the requests that never got an answer.
import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/nats-core';

/** No answer within the requester's timeout: the outcome is unknown. */
export class RequestTimeoutError extends Error {
  constructor(subject: string, timeoutMs: number) {
    super(`request to ${subject}: timeout after ${timeoutMs} ms`);
    this.name = 'RequestTimeoutError';
  }
}

/** Nobody listens on the subject (the server answered 503 itself): nothing was done. */
export class NoRespondersError extends Error {
  constructor(subject: string) {
    super(`request to ${subject}: no responders`);
    this.name = 'NoRespondersError';
  }
}

/** The status reply nats-server sends itself when a request reaches no subscriber. */
export function isNoResponders(m: Pick<Msg, 'data' | 'headers'>): boolean {
  return m.data.length === 0 && m.headers?.code === 503;
}

interface Pending {
  subject: string;
  resolve(m: Msg): void;
  reject(err: Error): void;
  deadline: number;
}

const SWEEP_MS = 100;

/**
 * Guarantees: each request settles exactly once, with the first reply to it, with
 * NoRespondersError, with RequestTimeoutError about `timeoutMs` after it was sent (the sweep
 * runs every 100 ms), or with the error that ended the reply subscription. One timeout for
 * all requests keeps the pending ones in deadline order, so the sweep stops at the first
 * that is still in time.
 */
export class Requester {
  private readonly prefix = `${createInbox()}.`;
  private readonly pending = new Map<string, Pending>();
  private readonly sub: Subscription;
  private readonly sweep: NodeJS.Timeout;
  private next = 0;
  private failed: Error | undefined;

  constructor(
    private readonly nc: NatsConnection,
    readonly timeoutMs: number,
  ) {
    this.sub = nc.subscribe(`${this.prefix}*`, {
      callback: (err, m) => {
        // The server refused or closed the reply subscription (e.g. a permissions violation):
        // no reply can arrive any more, so fail now rather than time out.
        if (err) {
          this.failed = err;
          this.rejectAll(err);
          return;
        }
        const token = m.subject.slice(this.prefix.length);
        const p = this.pending.get(token);
        if (p === undefined) return; // timed out meanwhile, or a second reply
        this.pending.delete(token);
        if (isNoResponders(m)) p.reject(new NoRespondersError(p.subject));
        else p.resolve(m);
      },
    });
    this.sweep = setInterval(() => {
      const now = Date.now();
      for (const [token, p] of this.pending) {
        if (p.deadline > now) break;
        this.pending.delete(token);
        p.reject(new RequestTimeoutError(p.subject, this.timeoutMs));
      }
    }, SWEEP_MS);
    this.sweep.unref();
  }

  /** Sends `data` to `subject` and resolves with the reply message. */
  request(subject: string, data: Uint8Array, headers?: MsgHdrs): Promise<Msg> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    const token = (this.next++).toString(36);
    return new Promise((resolve, reject) => {
      this.pending.set(token, { subject, resolve, reject, deadline: Date.now() + this.timeoutMs });
      try {
        this.nc.publish(subject, data, headers === undefined ? { reply: this.prefix + token } : { headers, reply: this.prefix + token });
      } catch (e) {
        this.pending.delete(token);
        reject(e as Error);
      }
    });
  }

  /** Requests waiting for their reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Fails the requests still waiting, and every later one. */
  close(): void {
    clearInterval(this.sweep);
    this.sub.unsubscribe();
    this.failed ??= new Error('requester closed');
    this.rejectAll(this.failed);
  }

  private rejectAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
  }
}

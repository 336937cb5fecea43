// JetStream publish (a NATS publish with a reply subject, answered by a PubAck) without
// nats.js's request machinery. Every `js.publish` there creates at least one Error with a
// captured stack per call, even on success (RequestOne.cancel rejects its settled promise
// with a fresh RequestError), plus a timer and option copies: measured at 8-25% of the
// worker's CPU and much of its GC, because every history append is one such request. Here
// one wildcard reply subscription serves all appends; replies are matched by token, and a
// single sweep times out the ones that never got an answer.
import { createInbox, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/nats-core';

export interface PubAck {
  stream: string;
  seq: number;
  duplicate: boolean;
}

/** JetStream refused the message; `errCode` is its API error code (e.g. 10071, wrong last sequence). */
export class JetStreamPublishError extends Error {
  constructor(
    message: string,
    readonly errCode: number | undefined,
  ) {
    super(message);
    this.name = 'JetStreamPublishError';
  }
}

/** What a PubAck reply says: the ack, or why the message was refused. Pure, so unit-tested. */
export function parsePubAck(data: Uint8Array, status?: { code: number; description: string }): PubAck | JetStreamPublishError {
  // No stream listens on the subject (or JetStream is down): the server answers 503 itself.
  if (status !== undefined && status.code >= 300 && data.length === 0) return new JetStreamPublishError(`no responders (${status.code} ${status.description})`, undefined);
  let body: { stream?: unknown; seq?: unknown; duplicate?: unknown; error?: { err_code?: unknown; description?: unknown } };
  try {
    body = JSON.parse(new TextDecoder().decode(data)) as typeof body;
  } catch {
    return new JetStreamPublishError('invalid PubAck (not JSON)', undefined);
  }
  if (body.error !== undefined) {
    const code = typeof body.error.err_code === 'number' ? body.error.err_code : undefined;
    return new JetStreamPublishError(typeof body.error.description === 'string' ? body.error.description : 'publish refused', code);
  }
  if (typeof body.stream !== 'string' || body.stream === '' || typeof body.seq !== 'number') return new JetStreamPublishError('invalid PubAck', undefined);
  return { stream: body.stream, seq: body.seq, duplicate: body.duplicate === true };
}

interface Pending {
  resolve(ack: PubAck): void;
  reject(err: Error): void;
  deadline: number;
}

const SWEEP_MS = 200;

export class JetStreamPublisher {
  private readonly prefix = `${createInbox()}.`;
  private readonly pending = new Map<string, Pending>();
  private readonly sub: Subscription;
  private readonly sweep: NodeJS.Timeout;
  private next = 0;
  private failed: Error | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs = 5000,
  ) {
    this.sub = nc.subscribe(`${this.prefix}*`, {
      callback: (err, m) => {
        // The server refused or closed the reply subscription (e.g. a permissions violation;
        // `m` is then empty): no PubAck can arrive any more, so fail now rather than time out.
        if (err) {
          this.failed = err;
          this.rejectAll(err);
          return;
        }
        const token = m.subject.slice(this.prefix.length);
        const p = this.pending.get(token);
        if (p === undefined) return; // timed out meanwhile
        this.pending.delete(token);
        const h = m.headers;
        const r = parsePubAck(m.data, h?.hasError ? { code: h.code, description: h.description } : undefined);
        if (r instanceof Error) p.reject(r);
        else p.resolve(r);
      },
    });
    // Pending entries are in send order, so they expire in that order too.
    this.sweep = setInterval(() => {
      const now = Date.now();
      for (const [token, p] of this.pending) {
        if (p.deadline > now) break;
        this.pending.delete(token);
        p.reject(new Error(`JetStream publish timeout after ${this.timeoutMs} ms`));
      }
    }, SWEEP_MS);
    this.sweep.unref();
  }

  /** Publishes and resolves with the PubAck; rejects with JetStreamPublishError when refused, Error on timeout. */
  publish(subject: string, data: Uint8Array, headers: MsgHdrs): Promise<PubAck> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    const token = (this.next++).toString(36);
    return new Promise((resolve, reject) => {
      this.pending.set(token, { resolve, reject, deadline: Date.now() + this.timeoutMs });
      try {
        this.nc.publish(subject, data, { headers, reply: this.prefix + token });
      } catch (e) {
        this.pending.delete(token);
        reject(e as Error);
      }
    });
  }

  close(): void {
    clearInterval(this.sweep);
    this.sub.unsubscribe();
    this.rejectAll(new Error('publisher closed'));
  }

  private rejectAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
  }
}

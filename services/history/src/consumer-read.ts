// Streaming a long stretch of one subject's messages through a short-lived pull consumer:
// a create, pulls that each bring as many messages as fit in a byte bound, and a delete,
// instead of one STREAM.MSG.GET round trip per message (1,000 of them took 240-630 ms).
// nats-server 2.9 has no batch get; a consumer filtered on the subject and started at a
// stream sequence is its way to send a run of messages in one go.
//
// The pulls are plain requests on `CONSUMER.MSG.NEXT` rather than nats.js's fetch(): a pull
// must be bounded in bytes (a channel's frames may be up to the stream's message size, and
// a thousand of them at once would push the server past its per-client pending limit and
// make it cut this service's connection as a slow consumer), and nats.js treats `max_bytes`
// and `max_messages` as exclusive, fixing the batch at 100 messages when bytes are given.
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type PullOptions,
} from '@nats-io/jetstream';
import { createInbox, nanos, nuid, type MsgHdrs, type NatsConnection } from '@nats-io/nats-core';

/** One delivered message: its stream sequence, headers and body. */
export interface StreamedMsg {
  stored: number;
  header: MsgHdrs | undefined;
  data: Uint8Array;
}

/**
 * Stream sequence and pending count of a delivery, from its reply subject:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>`,
 * or the newer form with domain and account hash after `$JS.ACK` and a random token at the
 * end. Null for anything else (status messages carry no reply). Pure, so unit-tested.
 */
export function parseDelivery(reply: string | undefined): { stored: number; pending: number } | null {
  if (reply === undefined || !reply.startsWith('$JS.ACK.')) return null;
  const t = reply.split('.');
  const at = t.length === 9 ? 5 : t.length >= 12 ? 7 : -1;
  if (at < 0) return null;
  const stored = Number(t[at]);
  const pending = Number(t[at + 3]);
  if (!Number.isSafeInteger(stored) || stored < 1 || !Number.isSafeInteger(pending) || pending < 0) return null;
  return { stored, pending };
}

export interface ConsumerReadLog {
  warn(obj: object, msg: string): void;
}

export interface ConsumerReaderOptions {
  /** The most bytes one pull may bring; must exceed the stream's largest message. */
  pullBytes: number;
  /**
   * The server removes a consumer this long idle: the backstop for one whose delete failed
   * or whose create was answered too late. A read pulls all the time, so it stays active.
   */
  inactiveMs: number;
}

/** The server ends a pull at its byte bound with this status (409). */
function isByteBoundEnd(h: MsgHdrs): boolean {
  return h.code === 409 && h.description.toLowerCase() === 'message size exceeds maxbytes';
}

/** Consumers it creates are named with this prefix, so an operator can tell them apart. */
const READ_CONSUMER_PREFIX = 'history_read_';

export class ConsumerReader {
  private readonly apiPrefix: string;

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly o: ConsumerReaderOptions,
    private readonly log?: ConsumerReadLog,
  ) {
    this.apiPrefix = jsm.getOptions().apiPrefix ?? '$JS.API';
  }

  /**
   * Hands `subject`'s messages from stream sequence `from` on to `take`, in stream order,
   * until `take` returns false, `max` were handed on, or the consumer had nothing more when
   * it sent the last one (the rest was trimmed meanwhile, or the consumer's replica had not
   * stored it yet: the caller finishes from the leader). Rejects at `deadline` (ms since the
   * epoch), on a server refusal, or with what `take` threw. Before it settles, the consumer
   * is deleted.
   */
  async read(subject: string, from: number, max: number, deadline: number, take: (m: StreamedMsg) => boolean): Promise<void> {
    const name = `${READ_CONSUMER_PREFIX}${nuid.next()}`;
    try {
      const ci = await this.jsm.consumers.add(this.stream, {
        name,
        filter_subject: subject,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: from,
        ack_policy: AckPolicy.None,
        // It lives for one read: kept in memory, on one server.
        mem_storage: true,
        num_replicas: 1,
        inactive_threshold: nanos(this.o.inactiveMs),
      });
      if (ci.num_pending > 0) await this.pull(name, subject, max, deadline, take);
    } finally {
      // Also after a failed create: it may have failed only on our side (a timeout).
      await this.remove(name);
    }
  }

  private async remove(name: string): Promise<void> {
    try {
      await this.jsm.consumers.delete(this.stream, name);
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return;
      // The read's outcome stands; the server removes the consumer after its inactivity limit.
      this.log?.warn({ err, consumer: name, inactiveMs: this.o.inactiveMs }, 'could not delete a history read consumer');
    }
  }

  private pull(name: string, subject: string, max: number, deadline: number, take: (m: StreamedMsg) => boolean): Promise<void> {
    const next = `${this.apiPrefix}.CONSUMER.MSG.NEXT.${this.stream}.${name}`;
    const inbox = createInbox();
    return new Promise<void>((resolve, reject) => {
      let left = max;
      let inThisPull = 0;
      let done = false;
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sub.unsubscribe();
        if (err) reject(err);
        else resolve();
      };
      const timedOut = (): Error => new Error(`history read of ${subject}: out of time with ${left} of ${max} messages still to come`);
      const request = (): void => {
        const wait = deadline - Date.now();
        if (wait <= 0) return finish(timedOut());
        inThisPull = 0;
        const body: Partial<PullOptions> = { batch: left, max_bytes: this.o.pullBytes, expires: nanos(wait) };
        try {
          this.nc.publish(next, JSON.stringify(body), { reply: inbox });
        } catch (e) {
          finish(e as Error);
        }
      };
      const sub = this.nc.subscribe(inbox, {
        callback: (err, m) => {
          if (done) return;
          if (err) return finish(err);
          const d = parseDelivery(m.reply);
          if (d === null) {
            // A status: 408 the pull expired (= our deadline), 409 its byte bound was reached
            // (pull again) or the consumer is gone, 100 an idle heartbeat.
            const h = m.headers;
            if (h === undefined || h.code === 100) return;
            if (isByteBoundEnd(h)) {
              // Nothing fitted: a message larger than the bound would be refused forever.
              if (inThisPull === 0) return finish(new Error(`history read of ${subject}: a message exceeds the pull bound of ${this.o.pullBytes} bytes`));
              return request();
            }
            return finish(h.code === 408 ? timedOut() : new Error(`history read of ${subject}: consumer ${name} answered ${h.code} ${h.description}`));
          }
          left--;
          inThisPull++;
          let more: boolean;
          try {
            more = take({ stored: d.stored, header: m.headers, data: m.data });
          } catch (e) {
            return finish(e as Error);
          }
          if (!more || left === 0 || d.pending === 0) finish();
        },
      });
      const timer = setTimeout(() => finish(timedOut()), Math.max(0, deadline - Date.now()));
      request();
    });
  }
}

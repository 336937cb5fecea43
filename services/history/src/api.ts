// The history service's request-reply responder: `<prefix>.svc.history.read`, `.position`
// and `.positions` (many channels' positions in one request), msgpack in and out (shapes in
// @cascade/nats history-api). Every request gets exactly one reply: a bad one an error
// reply, a failing store an Unavailable reply.
import type { NatsConnection, Msg, Subscription } from '@nats-io/nats-core';
import {
  HistoryVerb,
  encodeHistoryMessage,
  parsePositionRequest,
  parsePositionsRequest,
  parseReadRequest,
  type Contract,
  type HistoryPosition,
  type HistoryReply,
} from '@cascade/nats';
import { ErrorCode } from '@cascade/protocol';
import type { HistoryQuery } from './query.js';

export interface ApiLog {
  warn(obj: object, msg: string): void;
}

export interface ApiStats {
  reads: number;
  /** Channel positions answered, by `position` and within `positions`. */
  positions: number;
  /** `positions` requests (each naming one or more channels). */
  batches: number;
  refused: number;
  failed: number;
}

/** Instances share the load through one queue group: each request is answered by one of them. */
const QUEUE = 'history';
/** The reply to a request, or a `positions` entry, whose store read failed. */
const UNAVAILABLE: HistoryReply<never> = { ok: false, code: ErrorCode.Unavailable, msg: 'history is unavailable right now; retry' };

export class HistoryApi {
  readonly stats: ApiStats = { reads: 0, positions: 0, batches: 0, refused: 0, failed: 0 };
  private readonly subs: Subscription[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly contract: Contract,
    private readonly query: HistoryQuery,
    private readonly log: ApiLog,
  ) {}

  start(): void {
    this.serve(HistoryVerb.Read, async (body) => {
      const parsed = parseReadRequest(body);
      if (!parsed.ok) return parsed;
      this.stats.reads++;
      return this.query.read(parsed.request);
    });
    this.serve(HistoryVerb.Position, async (body) => {
      const parsed = parsePositionRequest(body);
      if (!parsed.ok) return parsed;
      this.stats.positions++;
      return this.query.position(parsed.request.ch);
    });
    this.serve(HistoryVerb.Positions, async (body) => {
      const parsed = parsePositionsRequest(body);
      if (!parsed.ok) return parsed;
      this.stats.positions += parsed.request.chs.length;
      this.stats.batches++;
      // One channel's failing store read fails that entry only; the others are answered.
      const positions = await Promise.all(
        parsed.request.chs.map((ch) =>
          this.query.position(ch).catch((err: unknown): HistoryReply<HistoryPosition> => {
            this.stats.failed++;
            this.log.warn({ err, ch }, 'history position failed');
            return UNAVAILABLE;
          }),
        ),
      );
      return { ok: true, positions };
    });
  }

  private serve(verb: string, handle: (body: Uint8Array) => Promise<HistoryReply<unknown>>): void {
    const subject = this.contract.service('history', verb);
    this.subs.push(
      this.nc.subscribe(subject, {
        queue: QUEUE,
        callback: (err, msg) => {
          if (err) {
            this.log.warn({ err, subject }, 'history subscription error');
            return;
          }
          const done = this.answer(msg, handle).finally(() => this.inFlight.delete(done));
          this.inFlight.add(done);
        },
      }),
    );
  }

  private async answer(msg: Msg, handle: (body: Uint8Array) => Promise<HistoryReply<unknown>>): Promise<void> {
    let reply: HistoryReply<unknown>;
    try {
      reply = await handle(msg.data);
      if (!reply.ok) this.stats.refused++;
    } catch (err) {
      this.stats.failed++;
      this.log.warn({ err, subject: msg.subject }, 'history request failed');
      reply = UNAVAILABLE;
    }
    if (!msg.reply) return;
    try {
      msg.respond(encodeHistoryMessage(reply));
    } catch (err) {
      // E.g. larger than the server's max_payload: the caller times out rather than this process failing.
      this.stats.failed++;
      this.log.warn({ err, subject: msg.subject }, 'cannot send history reply');
    }
  }

  /** Stops taking requests and waits for the ones being answered. */
  async stop(): Promise<void> {
    await Promise.all(this.subs.map((s) => s.drain()));
    await Promise.all([...this.inFlight]);
  }
}

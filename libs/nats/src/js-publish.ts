// JetStream publish (a NATS publish with a reply subject, answered by a PubAck) on the
// Requester instead of nats.js's js.publish: every history append of the fan-out worker and
// every durable publish of an edge is one, and nats.js's request machinery (an Error with a
// captured stack per call, a timer, option copies) measured at 8-25% of the worker's CPU.
// The fence and dedupe headers are the caller's (JetStream's own `Nats-*` headers).
import type { MsgHdrs, NatsConnection } from '@nats-io/nats-core';
import { NoRespondersError, Requester } from './requests.js';

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
export function parsePubAck(data: Uint8Array): PubAck | JetStreamPublishError {
  let body: { stream?: unknown; seq?: unknown; duplicate?: unknown; error?: { err_code?: unknown; description?: unknown } };
  try {
    body = JSON.parse(new TextDecoder().decode(data)) as typeof body;
  } catch {
    return new JetStreamPublishError('invalid PubAck (not JSON)', undefined);
  }
  if (body === null || typeof body !== 'object') return new JetStreamPublishError('invalid PubAck', undefined);
  if (body.error !== undefined) {
    const code = typeof body.error.err_code === 'number' ? body.error.err_code : undefined;
    return new JetStreamPublishError(typeof body.error.description === 'string' ? body.error.description : 'publish refused', code);
  }
  if (typeof body.stream !== 'string' || body.stream === '' || typeof body.seq !== 'number') return new JetStreamPublishError('invalid PubAck', undefined);
  return { stream: body.stream, seq: body.seq, duplicate: body.duplicate === true };
}

/**
 * Guarantees: `publish` resolves only with a PubAck (the message is stored, or was stored
 * before under the same `Nats-Msg-Id`: `duplicate`); it rejects with JetStreamPublishError
 * when JetStream refused it or no stream listens on the subject (nothing stored), and with
 * RequestTimeoutError when no answer came in time (the outcome is unknown: retry with the
 * same message id).
 */
export class JetStreamPublisher {
  private readonly requests: Requester;

  constructor(nc: NatsConnection, timeoutMs = 5000) {
    this.requests = new Requester(nc, timeoutMs);
  }

  async publish(subject: string, data: Uint8Array, headers?: MsgHdrs): Promise<PubAck> {
    let reply;
    try {
      reply = await this.requests.request(subject, data, headers);
    } catch (e) {
      // No stream captures the subject, or JetStream is down: the server answered 503.
      if (e instanceof NoRespondersError) throw new JetStreamPublishError(`no stream stored ${subject}: ${e.message}`, undefined);
      throw e;
    }
    const r = parsePubAck(reply.data);
    if (r instanceof Error) throw r;
    return r;
  }

  close(): void {
    this.requests.close();
  }
}

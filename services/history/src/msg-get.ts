// Single-message reads of a stream from its leader (`$JS.API.STREAM.MSG.GET.<stream>`),
// without nats.js's JetStreamManager. There every get goes through its request machinery,
// which builds an Error with a captured stack per call even on success (RequestOne.cancel
// rejects its settled promise with a fresh RequestError), and a subject without messages
// answers 404, which becomes a JetStreamApiError thrown and caught. Every connect asks for
// the position of the user's personal channel, mostly empty: in a 2,000-client connection
// storm that was ~6% of this service's CPU in RequestError plus much of its 16% in GC.
// Here the gets go through one reply subscription (@cascade/nats Requester), replies are
// decoded by hand, and "no message" is a plain null.
import { MsgHdrsImpl, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/nats-core';
import { NoRespondersError, RequestTimeoutError, Requester } from '@cascade/nats';

/** A stored message as the stream leader returned it. */
export interface RawStoredMsg {
  /** The message's sequence in the stream. */
  stored: number;
  header: MsgHdrs | undefined;
  data: Uint8Array;
}

/** What to get: the subject's newest message, or its first at or after stream sequence `seq`. */
export type MsgGetQuery = { last_by_subj: string } | { next_by_subj: string; seq: number };

/** The get failed: refused by JetStream (`errCode`, e.g. 10059 stream not found), not answered, or timed out. */
export class MsgGetError extends Error {
  constructor(
    message: string,
    readonly errCode?: number,
  ) {
    super(message);
    this.name = 'MsgGetError';
  }
}

/** JetStream's "no message found": the answer for a subject without (further) messages. */
const NO_MESSAGE_FOUND = 10037;

const utf8 = new TextDecoder();
const encoder = new TextEncoder();

function bytesOf(base64: unknown): Uint8Array {
  if (typeof base64 !== 'string' || base64 === '') return new Uint8Array(0);
  const b = Buffer.from(base64, 'base64');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** What a STREAM.MSG.GET reply says: the message, null for "none", or why it failed. Pure, so unit-tested. */
export function parseMsgGetReply(m: Pick<Msg, 'data' | 'headers'>): RawStoredMsg | null | MsgGetError {
  // A status reply with no body (a timeout, say; "no responders" is refused by the Requester).
  if (m.data.length === 0) {
    const status = m.headers?.hasError ? ` (${m.headers.code} ${m.headers.description})` : '';
    return new MsgGetError(`no JetStream answer${status}`);
  }
  let body: { message?: { seq?: unknown; hdrs?: unknown; data?: unknown }; error?: { err_code?: unknown; description?: unknown } };
  try {
    body = JSON.parse(utf8.decode(m.data)) as typeof body;
  } catch {
    return new MsgGetError('invalid STREAM.MSG.GET reply (not JSON)');
  }
  if (body.error !== undefined) {
    const code = typeof body.error.err_code === 'number' ? body.error.err_code : undefined;
    if (code === NO_MESSAGE_FOUND) return null;
    return new MsgGetError(typeof body.error.description === 'string' ? body.error.description : 'get refused', code);
  }
  const msg = body.message;
  if (msg === undefined || typeof msg.seq !== 'number' || !Number.isSafeInteger(msg.seq)) return new MsgGetError('invalid STREAM.MSG.GET reply');
  const hdrs = bytesOf(msg.hdrs);
  return { stored: msg.seq, header: hdrs.length > 0 ? MsgHdrsImpl.decode(hdrs) : undefined, data: bytesOf(msg.data) };
}

/**
 * Gets of one stream's messages, answered by its leader (never direct get, which any replica
 * may answer from behind). Guarantees: each get settles exactly once, with the first reply
 * to it, or with MsgGetError when JetStream refused it, nobody answered, or no answer came
 * within `timeoutMs` (the Requester's sweep).
 */
export class LeaderGets {
  private readonly subject: string;
  private readonly requests: Requester;

  constructor(nc: NatsConnection, apiPrefix: string, stream: string, timeoutMs: number) {
    this.subject = `${apiPrefix}.STREAM.MSG.GET.${stream}`;
    this.requests = new Requester(nc, timeoutMs);
  }

  /** The message the query names, or null when there is none. */
  async get(query: MsgGetQuery): Promise<RawStoredMsg | null> {
    let reply: Msg;
    try {
      reply = await this.requests.request(this.subject, encoder.encode(JSON.stringify(query)));
    } catch (e) {
      if (e instanceof NoRespondersError || e instanceof RequestTimeoutError) throw new MsgGetError(e.message);
      throw e;
    }
    const r = parseMsgGetReply(reply);
    if (r instanceof Error) throw r;
    return r;
  }

  /** Fails the gets still waiting, and every later one. */
  close(): void {
    this.requests.close();
  }
}

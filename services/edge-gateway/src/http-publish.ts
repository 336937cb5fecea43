// Publishing from a backend over HTTP: `POST /v1/channels/<ch>/messages` with a JSON body
// `{"data": <any JSON>, "key"?: string, "from"?: string}`. The reply comes once JetStream
// stored the message, like a WebSocket publish; the caller is a trusted backend (API key),
// so it may name the sender. SSE clients publish the same way with their own token
// (http-user.ts), without naming a sender. Pure: the ingest port is injected.
import { ErrorCode, encodeValue, type ChannelName } from '@cascade/protocol';
import { publishFailure, type IngestPort } from './ingest.js';

export interface HttpPublishReply {
  status: number;
  body: Record<string, unknown>;
}

const KEY_RE = /^[A-Za-z0-9_\-:.=+/]{1,128}$/;
const SENDER_RE = /^[A-Za-z0-9_\-@.=+~,]{1,123}$/;
/** Sender recorded when the backend names none. */
export const BACKEND_SENDER = 'server';

function fail(status: number, code: number, error: string): HttpPublishReply {
  return { status, body: { code, error } };
}

/** A parsed publish body: the data as msgpack, and the optional key and sender. */
export interface PublishBody {
  payload: Uint8Array;
  key: string | undefined;
  from: string | undefined;
}

/**
 * Reads a JSON body `{"data": ..., "key"?: string, "from"?: string}`; `from` only when the
 * caller may name the sender (a backend), `key` only for durable publishes.
 */
export function parsePublishBody(body: Uint8Array, o: { from: boolean; key: boolean }): { ok: true; body: PublishBody } | { ok: false; reply: HttpPublishReply } {
  const shape = `{"data": ...${o.key ? ', "key"?: string' : ''}${o.from ? ', "from"?: string' : ''}}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return { ok: false, reply: fail(400, ErrorCode.BadRequest, `body must be JSON: ${shape}`) };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !('data' in parsed)) {
    return { ok: false, reply: fail(400, ErrorCode.BadRequest, 'body must be an object with a "data" field') };
  }
  const { data, key, from } = parsed as { data: unknown; key?: unknown; from?: unknown };
  if (key !== undefined && (!o.key || typeof key !== 'string' || !KEY_RE.test(key))) {
    return { ok: false, reply: fail(400, ErrorCode.BadRequest, o.key ? 'key must be 1-128 characters of letters, digits and _ - : . = + /' : 'an ephemeral message has no key') };
  }
  if (from !== undefined && !o.from) return { ok: false, reply: fail(400, ErrorCode.BadRequest, 'from is the token\'s user: leave it out') };
  if (from !== undefined && (typeof from !== 'string' || !SENDER_RE.test(from))) {
    return { ok: false, reply: fail(400, ErrorCode.BadRequest, 'from must be 1-123 characters of letters, digits and _ - @ . = + ~ ,') };
  }
  let payload: Uint8Array;
  try {
    payload = encodeValue(data);
  } catch {
    return { ok: false, reply: fail(400, ErrorCode.BadRequest, 'data is nested too deeply') };
  }
  return { ok: true, body: { payload, key: key as string | undefined, from: from as string | undefined } };
}

/** Stores a parsed publish and answers like a WebSocket publish's reply: 201, or 200 for a repeated key. */
export async function storePublish(channel: ChannelName, payload: Uint8Array, meta: { from: string; key: string | undefined }, ingest: IngestPort): Promise<HttpPublishReply> {
  try {
    const { duplicate } = await ingest.publish(channel, payload, meta);
    return { status: duplicate ? 200 : 201, body: { ok: true, dup: duplicate } };
  } catch (err) {
    const failure = publishFailure(err);
    return fail(failure.code === ErrorCode.Timeout ? 504 : 503, failure.code, failure.msg);
  }
}

export async function publishFromHttp(
  channel: ChannelName,
  body: Uint8Array,
  deps: { ingest: IngestPort; maxPublishBytes: number },
): Promise<HttpPublishReply> {
  const parsed = parsePublishBody(body, { from: true, key: true });
  if (!parsed.ok) return parsed.reply;
  const { payload, key, from } = parsed.body;
  if (payload.length > deps.maxPublishBytes) {
    return fail(413, ErrorCode.PayloadTooLarge, `data is larger than ${deps.maxPublishBytes} bytes once encoded`);
  }
  return storePublish(channel, payload, { from: from ?? BACKEND_SENDER, key }, deps.ingest);
}

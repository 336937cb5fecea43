// Publishing from a backend over HTTP: `POST /v1/channels/<ch>/messages` with a JSON body
// `{"data": <any JSON>, "key"?: string, "from"?: string}`. The reply comes once JetStream
// stored the message, like a WebSocket publish; the caller is a trusted backend (API key),
// so it may name the sender. Pure: the ingest port is injected.
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

export async function publishFromHttp(
  channel: ChannelName,
  body: Uint8Array,
  deps: { ingest: IngestPort; maxPublishBytes: number },
): Promise<HttpPublishReply> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return fail(400, ErrorCode.BadRequest, 'body must be JSON: {"data": ..., "key"?: string, "from"?: string}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !('data' in parsed)) {
    return fail(400, ErrorCode.BadRequest, 'body must be an object with a "data" field');
  }
  const { data, key, from } = parsed as { data: unknown; key?: unknown; from?: unknown };
  if (key !== undefined && (typeof key !== 'string' || !KEY_RE.test(key))) {
    return fail(400, ErrorCode.BadRequest, 'key must be 1-128 characters of letters, digits and _ - : . = + /');
  }
  if (from !== undefined && (typeof from !== 'string' || !SENDER_RE.test(from))) {
    return fail(400, ErrorCode.BadRequest, 'from must be 1-123 characters of letters, digits and _ - @ . = + ~ ,');
  }
  let payload: Uint8Array;
  try {
    payload = encodeValue(data);
  } catch {
    return fail(400, ErrorCode.BadRequest, 'data is nested too deeply');
  }
  if (payload.length > deps.maxPublishBytes) {
    return fail(413, ErrorCode.PayloadTooLarge, `data is larger than ${deps.maxPublishBytes} bytes once encoded`);
  }
  try {
    const { duplicate } = await deps.ingest.publish(channel, payload, { from: from ?? BACKEND_SENDER, key });
    return { status: duplicate ? 200 : 201, body: { ok: true, dup: duplicate } };
  } catch (err) {
    const failure = publishFailure(err);
    return fail(failure.code === ErrorCode.Timeout ? 504 : 503, failure.code, failure.msg);
  }
}

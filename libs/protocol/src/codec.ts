// msgpack encoding and strict decoding of frames. Decoding never throws: every malformed,
// truncated, oversize or wrongly typed input becomes a ProtocolError with a code.
import { Decoder, Encoder } from '@msgpack/msgpack';
import { parseChannel } from './channels.js';
import { mapValueRange } from './msgpack-scan.js';
import { ErrorCode } from './codes.js';
import { ProtocolError, type Decoded } from './errors.js';
import {
  FrameType,
  PROTOCOL_VERSION,
  type ClientFrame,
  type InboundFrame,
  type ServerFrame,
  type StreamPosition,
} from './frames.js';

/** Default largest frame a server accepts, in bytes. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;
/** Longest token accepted in `connect`, in bytes of UTF-8. */
export const MAX_TOKEN_LENGTH = 8 * 1024;
/** Longest idempotency key, in characters. */
export const MAX_KEY_LENGTH = 128;
/** Longest client name/version string in `connect`. */
export const MAX_CLIENT_NAME_LENGTH = 64;
/** Most messages one `history` request returns, and how many when it names no limit. */
export const MAX_HISTORY_FRAME_LIMIT = 1000;
const MAX_HISTORY_FRAME_DEFAULT = 100;
/** Deepest nesting of arrays and maps inside `data`. */
export const MAX_DATA_DEPTH = 32;
const MAX_REQUEST_ID = 0xffff_ffff;
/** Bound on declared lengths when decoding a stored payload (larger than any stored message). */
const MAX_STORED_VALUE_BYTES = 16 * 1024 * 1024;
const KEY_RE = /^[A-Za-z0-9_\-:.=+/]+$/;

// Encoders keep a growing internal buffer: one per module avoids re-allocating it per frame.
// Encoding is synchronous, so sharing is safe.
const encoder = new Encoder({ ignoreUndefined: true, maxDepth: MAX_DATA_DEPTH + 2 });
const decoders = new Map<number, Decoder>();

/** What FrameDecoder reads of msgpack's Decoder (not its public API: see below). */
interface DecoderInternals {
  bytes: Uint8Array;
  pos: number;
  maxStrLength: number;
  stateIsMapKey(): boolean;
  keyDecoder?: { canBeCached(byteLength: number): boolean } | null;
}
type DecodeUtf8String = (this: DecoderInternals, byteLength: number, headerOffset: number) => string;

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const msgpackDecodeUtf8String = (Decoder.prototype as unknown as { decodeUtf8String?: DecodeUtf8String }).decodeUtf8String;

/**
 * msgpack decodes strings under 200 bytes in JavaScript, one array element per character and
 * a spread call: about 2.5 KiB of garbage for a 130-byte token (a tenth of what an edge
 * allocates per connect) and 7 times slower than TextDecoder here. This decoder hands every
 * string except the map keys msgpack caches to TextDecoder. The one difference: malformed
 * UTF-8 becomes U+FFFD, as msgpack itself does above 200 bytes. The override reaches into
 * msgpack's internals, so it is used only when it decodes a probe frame exactly (below);
 * otherwise frames decode with msgpack's own code.
 */
class FrameDecoder extends Decoder {}
if (msgpackDecodeUtf8String !== undefined) {
  const decodeUtf8String: DecodeUtf8String = function (byteLength, headerOffset) {
    const offset = this.pos + headerOffset;
    if (byteLength > this.maxStrLength || this.bytes.byteLength < offset + byteLength || (this.stateIsMapKey() && this.keyDecoder?.canBeCached(byteLength))) {
      return msgpackDecodeUtf8String.call(this, byteLength, headerOffset); // errors, partial input and cached keys as msgpack does them
    }
    const s = utf8.decode(this.bytes.subarray(offset, offset + byteLength));
    this.pos = offset + byteLength;
    return s;
  };
  Object.defineProperty(FrameDecoder.prototype, 'decodeUtf8String', { value: decodeUtf8String });
}
const PROBE = { token: 'ünïcödé \u{1F600} '.repeat(8), ch: 'chat:a', nested: [{ a_key_longer_than_sixteen: 'x' }] };
/** Whether FrameDecoder decodes like msgpack's Decoder (false: a msgpack version whose internals differ). */
export const framesDecodeWithTextDecoder = ((): boolean => {
  try {
    return JSON.stringify(new FrameDecoder().decode(new Encoder().encode(PROBE))) === JSON.stringify(PROBE);
  } catch {
    return false;
  }
})();
const DecoderClass = framesDecodeWithTextDecoder ? FrameDecoder : Decoder;

function decoderFor(maxBytes: number): Decoder {
  let d = decoders.get(maxBytes);
  if (!d) {
    // Every string, element or entry costs at least one byte, so the frame size bounds
    // every declared length; this stops a 10-byte frame from announcing a 4-GiB array.
    d = new DecoderClass({
      maxStrLength: maxBytes,
      maxBinLength: maxBytes,
      maxArrayLength: maxBytes,
      maxMapLength: maxBytes,
      maxExtLength: maxBytes,
    });
    decoders.set(maxBytes, d);
  }
  return d;
}

/** Encodes one value as msgpack (used for `data` payloads and for whole frames). */
export function encodeValue(value: unknown): Uint8Array {
  return encoder.encode(value);
}

export function encodeServerFrame(frame: ServerFrame): Uint8Array {
  return encoder.encode(frame);
}

export function encodeClientFrame(frame: ClientFrame): Uint8Array {
  return encoder.encode(frame);
}

const DATA_KEY = encoder.encode('data');
const MSGS_KEY = encoder.encode('msgs');

type FrameFields = { t: number } & Record<string, string | number | boolean | undefined>;

/**
 * Encodes `fields` as a map, widens its header by one entry and appends `key` with a value
 * given as already encoded parts, so stored or published bytes are never decoded again.
 */
function encodeWithRawEntry(fields: FrameFields, key: Uint8Array, valueParts: readonly Uint8Array[]): Uint8Array {
  const head = encoder.encodeSharedRef(fields);
  const header = head[0]!;
  if (header < 0x80 || header > 0x8e) throw new RangeError('frame fields must be a map of at most 14 entries');
  let size = head.length + key.length;
  for (const p of valueParts) size += p.length;
  const out = new Uint8Array(size);
  out.set(head, 0);
  out[0] = header + 1;
  out.set(key, head.length);
  let at = head.length + key.length;
  for (const p of valueParts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Builds a `message` (or `ephemeral`) frame around an already encoded `data` payload
 * without decoding it: the fields map is encoded, its header widened by one entry, and the
 * `data` key plus payload appended. This is how one publish becomes the exact bytes every
 * subscriber receives. `fields` must have at most 14 defined keys.
 */
export function encodeFrameWithPayload(fields: FrameFields, payload: Uint8Array): Uint8Array {
  return encodeWithRawEntry(fields, DATA_KEY, [payload]);
}

/**
 * Builds a reply frame whose `msgs` field is an array of already encoded `message` frames,
 * without decoding them (history replies carry stored frames as they are). `fields` must
 * have at most 14 defined keys.
 */
export function encodeFrameWithMessages(fields: FrameFields, frames: readonly Uint8Array[]): Uint8Array {
  const n = frames.length;
  const arrayHeader =
    n < 16 ? Uint8Array.of(0x90 | n) : n < 0x10000 ? Uint8Array.of(0xdc, n >> 8, n & 0xff) : Uint8Array.of(0xdd, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  return encodeWithRawEntry(fields, MSGS_KEY, [arrayHeader, ...frames]);
}

/** Decodes one msgpack value that must fill `bytes` exactly. */
function decodeOne(bytes: Uint8Array, maxBytes: number): Decoded<unknown> {
  try {
    return { ok: true, frame: decoderFor(maxBytes).decode(bytes) };
  } catch (cause) {
    return { ok: false, error: new ProtocolError(ErrorCode.BadRequest, 'frame is not one valid msgpack value', undefined, { cause }) };
  }
}

function isPlainMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function fail(code: ErrorCode, message: string, id?: number): { ok: false; error: ProtocolError } {
  return { ok: false, error: new ProtocolError(code, message, id) };
}

function isRequestId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_REQUEST_ID;
}

function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** A stream position as `since`/`psince` carry it: an epoch of at most 64 characters and a seq. */
function isPosition(v: unknown): v is StreamPosition {
  return isPlainMap(v) && typeof v['ep'] === 'string' && v['ep'].length <= 64 && isSeq(v['seq']);
}

/**
 * The `data` value of a decoded frame as the exact bytes the client sent (copied out of
 * the transport's buffer, which is reused after the message callback).
 */

function payloadOf(bytes: Uint8Array, data: unknown, id?: number): Decoded<Uint8Array> {
  if (data === undefined) return fail(ErrorCode.BadRequest, 'data is required', id);
  try {
    const range = mapValueRange(bytes, 'data', MAX_DATA_DEPTH);
    if (!range) return fail(ErrorCode.BadRequest, 'data is required', id);
    return { ok: true, frame: bytes.slice(range.start, range.end) };
  } catch (cause) {
    return {
      ok: false,
      error: new ProtocolError(ErrorCode.BadRequest, `data is nested deeper than ${MAX_DATA_DEPTH} levels`, id, { cause }),
    };
  }
}

export interface DecodeLimits {
  /** Largest accepted frame in bytes (default 64 KiB). */
  maxFrameBytes?: number;
}

/**
 * Strictly decodes a frame sent by a client. Channel names are validated here, so a
 * decoded frame never carries a name that could become a wildcard or foreign subject.
 * Unknown fields are ignored (forward compatibility); known fields must have their type.
 */
export function decodeClientFrame(bytes: Uint8Array, limits: DecodeLimits = {}): Decoded<InboundFrame> {
  const max = limits.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (bytes.length === 0) return fail(ErrorCode.BadRequest, 'frame is empty');
  if (bytes.length > max) return fail(ErrorCode.PayloadTooLarge, `frame is larger than ${max} bytes`);
  const decoded = decodeOne(bytes, max);
  if (!decoded.ok) return decoded;
  const f = decoded.frame;
  if (!isPlainMap(f)) return fail(ErrorCode.BadRequest, 'frame must be a msgpack map');
  const t = f['t'];
  if (typeof t !== 'number' || !Number.isInteger(t)) return fail(ErrorCode.BadRequest, 'frame type t must be an integer');

  if (t === FrameType.Connect) {
    const v = f['v'] ?? PROTOCOL_VERSION;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) return fail(ErrorCode.BadRequest, 'connect.v must be a positive integer');
    const token = f['token'] ?? undefined;
    if (token !== undefined && (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH)) {
      return fail(ErrorCode.BadRequest, `connect.token must be a non-empty string of at most ${MAX_TOKEN_LENGTH} characters`);
    }
    const client = f['client'] ?? undefined;
    if (client !== undefined && (typeof client !== 'string' || client.length > MAX_CLIENT_NAME_LENGTH)) {
      return fail(ErrorCode.BadRequest, `connect.client must be a string of at most ${MAX_CLIENT_NAME_LENGTH} characters`);
    }
    const psince = f['psince'] ?? undefined;
    if (psince !== undefined && !isPosition(psince)) return fail(ErrorCode.BadRequest, 'psince must be {ep: string, seq: non-negative integer}');
    return { ok: true, frame: { t: 1, v, token, client, psince: psince === undefined ? undefined : { ep: psince.ep, seq: psince.seq } } };
  }

  if (t === FrameType.Ephemeral) {
    const ch = parseChannel(f['ch']);
    if (!ch.ok) return fail(ErrorCode.InvalidChannel, ch.reason);
    const payload = payloadOf(bytes, f['data']);
    if (!payload.ok) return payload;
    return { ok: true, frame: { t: 5, ch: ch.channel.name, payload: payload.frame } };
  }

  if (t === FrameType.Refresh) {
    const id = f['id'];
    if (!isRequestId(id)) return fail(ErrorCode.BadRequest, `id must be an integer from 1 to ${MAX_REQUEST_ID}`);
    const token = f['token'];
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      return fail(ErrorCode.BadRequest, `refresh.token must be a non-empty string of at most ${MAX_TOKEN_LENGTH} characters`, id);
    }
    return { ok: true, frame: { t: 6, id, token } };
  }

  if (t !== FrameType.Subscribe && t !== FrameType.Unsubscribe && t !== FrameType.Publish && t !== FrameType.History && t !== FrameType.Members) {
    return fail(ErrorCode.UnknownFrameType, `unknown frame type ${t}`, isRequestId(f['id']) ? f['id'] : undefined);
  }
  const id = f['id'];
  if (!isRequestId(id)) return fail(ErrorCode.BadRequest, `id must be an integer from 1 to ${MAX_REQUEST_ID}`);
  const ch = parseChannel(f['ch']);
  if (!ch.ok) return fail(ErrorCode.InvalidChannel, ch.reason, id);
  const channel = ch.channel.name;

  if (t === FrameType.Subscribe) {
    const since = f['since'] ?? undefined;
    if (since !== undefined && !isPosition(since)) return fail(ErrorCode.BadRequest, 'since must be {ep: string, seq: non-negative integer}', id);
    return { ok: true, frame: { t: 2, id, ch: channel, since: since === undefined ? undefined : { ep: since.ep, seq: since.seq } } };
  }
  if (t === FrameType.Unsubscribe) return { ok: true, frame: { t: 3, id, ch: channel } };
  if (t === FrameType.Members) return { ok: true, frame: { t: 8, id, ch: channel } };
  if (t === FrameType.History) {
    const since = f['since'] ?? undefined;
    if (since !== undefined && !isPosition(since)) return fail(ErrorCode.BadRequest, 'since must be {ep: string, seq: non-negative integer}', id);
    const limit = f['limit'] ?? MAX_HISTORY_FRAME_DEFAULT;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY_FRAME_LIMIT) {
      return fail(ErrorCode.BadRequest, `limit must be an integer from 1 to ${MAX_HISTORY_FRAME_LIMIT}`, id);
    }
    return { ok: true, frame: { t: 7, id, ch: channel, since: since === undefined ? undefined : { ep: since.ep, seq: since.seq }, limit } };
  }

  const key = f['key'] ?? undefined;
  if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH || !KEY_RE.test(key))) {
    return fail(ErrorCode.BadRequest, `key must be 1-${MAX_KEY_LENGTH} characters of letters, digits and _ - : . = + /`, id);
  }
  const echo = f['echo'] ?? true;
  if (typeof echo !== 'boolean') return fail(ErrorCode.BadRequest, 'echo must be a boolean', id);
  const payload = payloadOf(bytes, f['data'], id);
  if (!payload.ok) return payload;
  return { ok: true, frame: { t: 4, id, ch: channel, payload: payload.frame, key, echo } };
}

const SERVER_TYPES = new Set<number>([101, 102, 103, 104, 105, 106, 107]);

/**
 * Decodes a frame sent by a server (for the client SDK and tests). Checks the frame is a
 * map with a known server type; field-level checks are the SDK's business.
 */
export function decodeServerFrame(bytes: Uint8Array, limits: DecodeLimits = {}): Decoded<ServerFrame> {
  const max = limits.maxFrameBytes ?? 16 * 1024 * 1024;
  if (bytes.length > max) return fail(ErrorCode.PayloadTooLarge, `frame is larger than ${max} bytes`);
  const decoded = decodeOne(bytes, max);
  if (!decoded.ok) return decoded;
  const f = decoded.frame;
  if (!isPlainMap(f)) return fail(ErrorCode.BadRequest, 'frame must be a msgpack map');
  if (typeof f['t'] !== 'number' || !SERVER_TYPES.has(f['t'])) return fail(ErrorCode.UnknownFrameType, `unknown frame type ${String(f['t'])}`);
  return { ok: true, frame: f as unknown as ServerFrame };
}

/** Decodes a stored or forwarded `data` payload back to its value. */
export function decodeValue(payload: Uint8Array): Decoded<unknown> {
  // One shared limit, not one per payload length: decoders are cached by limit.
  return decodeOne(payload, MAX_STORED_VALUE_BYTES);
}

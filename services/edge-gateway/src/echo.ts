// Exclude sender (`publish.echo: false`): the live frame goes to every local subscriber but the
// publishing connection, which gets a `skip` notice in its place, so its (ep, seq) tracking
// sees no gap. Built only for that one connection, so the decode/encode cost stays off the
// common path (every other subscriber still gets the NATS bytes as they are).
import { decodeValue, encodeValue, FrameType } from '@cascade/protocol';

/**
 * The `message` frame without `data` and with `skip: true`, or undefined when `frame` is not a
 * decodable message frame (then the sender gets nothing in its place).
 */
export function skipNotice(frame: Uint8Array): Uint8Array | undefined {
  const decoded = decodeValue(frame);
  if (!decoded.ok) return undefined;
  const f = decoded.frame;
  if (typeof f !== 'object' || f === null || Array.isArray(f) || (f as { t?: unknown }).t !== FrameType.Message) return undefined;
  const { data: _data, ...fields } = f as Record<string, unknown>;
  return encodeValue({ ...fields, skip: true });
}

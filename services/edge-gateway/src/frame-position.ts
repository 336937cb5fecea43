// Reads a live frame's type, seq and epoch straight from its msgpack bytes, without
// decoding the frame: the ring and resume need the position of every message frame, and
// the `data` payload (the bulk of a frame, always after these fields) is never touched.
import { FrameType } from '@cascade/protocol';

export interface FramePosition {
  /** The frame type (`t`): 103 for stored messages, 104 for ephemeral ones, ... */
  t: number;
  /** Present on message frames only. */
  seq?: number;
  ep?: string;
}

const T = 0x74;
const S = 0x73;
const E = 0x65;
const Q = 0x71;
const P = 0x70;

/**
 * The position fields of a server frame, or undefined when the bytes are not a msgpack map
 * whose scalar fields come before any container. Stops at the first container value (the
 * `data` payload), so its cost does not depend on the payload size.
 */
export function framePosition(b: Uint8Array): FramePosition | undefined {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let i = 0;
  const h = b[i++];
  let entries: number;
  if (h === undefined) return undefined;
  if (h >= 0x80 && h <= 0x8f) entries = h & 0x0f;
  else if (h === 0xde && b.length >= 3) {
    entries = v.getUint16(1);
    i = 3;
  } else return undefined;
  let t: number | undefined;
  let seq: number | undefined;
  let ep: string | undefined;
  for (let n = 0; n < entries; n++) {
    // Key: a short string.
    const k = b[i];
    if (k === undefined || k < 0xa0 || k > 0xbf) return undefined;
    const keyLen = k & 0x1f;
    const key = i + 1;
    i = key + keyLen;
    // Value: scalars are read or skipped; a container ends the scan.
    const x = b[i];
    if (x === undefined) return undefined;
    let num: number | undefined;
    let str: [number, number] | undefined;
    if (x <= 0x7f) {
      num = x;
      i += 1;
    } else if (x >= 0xe0) {
      num = x - 0x100;
      i += 1;
    } else if (x >= 0xa0 && x <= 0xbf) {
      str = [i + 1, x & 0x1f];
      i += 1 + (x & 0x1f);
    } else {
      switch (x) {
        case 0xc0: case 0xc2: case 0xc3: i += 1; break;
        case 0xcc: num = b[i + 1]; i += 2; break;
        case 0xcd: num = i + 3 <= b.length ? v.getUint16(i + 1) : undefined; i += 3; break;
        case 0xce: num = i + 5 <= b.length ? v.getUint32(i + 1) : undefined; i += 5; break;
        case 0xcf: num = i + 9 <= b.length ? Number(v.getBigUint64(i + 1)) : undefined; i += 9; break;
        case 0xd0: num = i + 2 <= b.length ? v.getInt8(i + 1) : undefined; i += 2; break;
        case 0xd1: num = i + 3 <= b.length ? v.getInt16(i + 1) : undefined; i += 3; break;
        case 0xd2: num = i + 5 <= b.length ? v.getInt32(i + 1) : undefined; i += 5; break;
        case 0xd3: num = i + 9 <= b.length ? Number(v.getBigInt64(i + 1)) : undefined; i += 9; break;
        case 0xca: i += 5; break;
        case 0xcb: i += 9; break;
        case 0xd9: {
          const len = b[i + 1] ?? 0;
          str = [i + 2, len];
          i += 2 + len;
          break;
        }
        default:
          // A container (the payload) or a rare encoding: what was read so far is the answer.
          return t === undefined ? undefined : { t, seq, ep };
      }
    }
    if (i > b.length) return undefined;
    if (keyLen === 1 && b[key] === T) t = num;
    else if (keyLen === 3 && b[key] === S && b[key + 1] === E && b[key + 2] === Q) seq = num;
    else if (keyLen === 2 && b[key] === E && b[key + 1] === P && str) ep = String.fromCharCode(...b.subarray(str[0], str[0] + str[1]));
    if (t !== undefined && t !== FrameType.Message) return { t };
    if (t !== undefined && seq !== undefined && ep !== undefined) return { t, seq, ep };
  }
  return t === undefined ? undefined : { t, seq, ep };
}

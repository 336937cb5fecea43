// Finds where a msgpack value starts and ends without decoding it, so a publish's `data`
// is stored and forwarded as the exact bytes the client sent (a decode/re-encode round trip
// would turn int64 into floats, 1.0 into 1 and numeric map keys into strings).

/** Size of the head of the value at `pos`, and how many values follow inside it. */
function head(b: Uint8Array, pos: number): { size: number; items: number } {
  const t = b[pos];
  if (t === undefined) throw new RangeError('truncated msgpack value');
  if (t <= 0x7f || t >= 0xe0) return { size: 1, items: 0 };
  if (t <= 0x8f) return { size: 1, items: 2 * (t & 0x0f) };
  if (t <= 0x9f) return { size: 1, items: t & 0x0f };
  if (t <= 0xbf) return { size: 1 + (t & 0x1f), items: 0 };
  const u8 = () => b[pos + 1] ?? NaN;
  const u16 = () => ((b[pos + 1] ?? NaN) << 8) | (b[pos + 2] ?? NaN);
  const u32 = () => (((b[pos + 1] ?? NaN) << 24) >>> 0) + ((b[pos + 2] ?? NaN) << 16) + ((b[pos + 3] ?? NaN) << 8) + (b[pos + 4] ?? NaN);
  switch (t) {
    case 0xc0: case 0xc2: case 0xc3: return { size: 1, items: 0 };
    case 0xc4: case 0xd9: return { size: 2 + u8(), items: 0 };
    case 0xc5: case 0xda: return { size: 3 + u16(), items: 0 };
    case 0xc6: case 0xdb: return { size: 5 + u32(), items: 0 };
    case 0xc7: return { size: 3 + u8(), items: 0 };
    case 0xc8: return { size: 4 + u16(), items: 0 };
    case 0xc9: return { size: 6 + u32(), items: 0 };
    case 0xca: case 0xce: case 0xd2: return { size: 5, items: 0 };
    case 0xcb: case 0xcf: case 0xd3: return { size: 9, items: 0 };
    case 0xcc: case 0xd0: return { size: 2, items: 0 };
    case 0xcd: case 0xd1: return { size: 3, items: 0 };
    case 0xd4: return { size: 3, items: 0 };
    case 0xd5: return { size: 4, items: 0 };
    case 0xd6: return { size: 6, items: 0 };
    case 0xd7: return { size: 10, items: 0 };
    case 0xd8: return { size: 18, items: 0 };
    case 0xdc: return { size: 3, items: u16() };
    case 0xdd: return { size: 5, items: u32() };
    case 0xde: return { size: 3, items: 2 * u16() };
    case 0xdf: return { size: 5, items: 2 * u32() };
    default: throw new RangeError(`invalid msgpack type byte 0x${t.toString(16)}`);
  }
}

/**
 * Offset just past the value starting at `pos`. Throws RangeError when the value is
 * truncated or has more than `maxDepth` nested arrays/maps (deep nesting would overflow
 * the stack of recursive decoders in other languages' subscribers).
 */
export function valueEnd(b: Uint8Array, pos: number, maxDepth: number): number {
  const open: number[] = [];
  let remaining = 1;
  for (;;) {
    if (remaining === 0) {
      const outer = open.pop();
      if (outer === undefined) return pos;
      remaining = outer;
      continue;
    }
    remaining--;
    const h = head(b, pos);
    pos += h.size;
    if (Number.isNaN(pos) || pos > b.length) throw new RangeError('truncated msgpack value');
    if (h.items > 0) {
      if (open.length >= maxDepth) throw new RangeError(`nested deeper than ${maxDepth} levels`);
      open.push(remaining);
      remaining = h.items;
    }
  }
}

const KEY_BYTES = new Map<string, Uint8Array>();

function keyBytes(key: string): Uint8Array {
  let k = KEY_BYTES.get(key);
  if (!k) {
    const utf8 = new TextEncoder().encode(key);
    if (utf8.length > 31) throw new RangeError('only short keys are supported');
    k = new Uint8Array([0xa0 | utf8.length, ...utf8]);
    KEY_BYTES.set(key, k);
  }
  return k;
}

function equalAt(b: Uint8Array, pos: number, k: Uint8Array): boolean {
  for (let i = 0; i < k.length; i++) if (b[pos + i] !== k[i]) return false;
  return true;
}

/**
 * The byte range of the value under `key` in the top-level map `b` (the last one when a
 * key repeats, as decoders keep the last), or undefined when the key is absent. `b` must
 * be a valid msgpack map: call after a successful decode.
 */
export function mapValueRange(b: Uint8Array, key: string, maxDepth: number): { start: number; end: number } | undefined {
  const h = head(b, 0);
  const entries = h.items / 2;
  const k = keyBytes(key);
  let pos = h.size;
  let found: { start: number; end: number } | undefined;
  for (let i = 0; i < entries; i++) {
    const isKey = equalAt(b, pos, k);
    pos = valueEnd(b, pos, 1);
    const end = isKey ? valueEnd(b, pos, maxDepth) : valueEnd(b, pos, Number.MAX_SAFE_INTEGER);
    if (isKey) found = { start: pos, end };
    pos = end;
  }
  return found;
}

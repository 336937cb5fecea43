// msgpack bytes to JSON text in one pass, for transports that speak JSON (SSE). Every
// msgpack value gets a JSON form: 64-bit integers outside the safe range become decimal
// strings (no silent rounding), binary becomes base64, non-finite floats become null, map
// keys that are not strings are stringified, timestamps become ISO-8601 strings and other
// extension types `{"type": n, "data": "<base64>"}`. Pure; throws on malformed input.

/** Deeper nesting than stored data may have (32) plus the frame around it, with room. */
const MAX_DEPTH = 64;
const TIMESTAMP_EXT = -1;
const utf8 = new TextDecoder('utf-8');

class Reader {
  pos: number;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    start = 0,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): number {
    const at = this.pos;
    if (at + n > this.bytes.length) throw new RangeError(`msgpack value truncated at byte ${at}`);
    this.pos = at + n;
    return at;
  }

  u8(): number {
    return this.bytes[this.need(1)]!;
  }
  u16(): number {
    return this.view.getUint16(this.need(2));
  }
  u32(): number {
    return this.view.getUint32(this.need(4));
  }
  i8(): number {
    return this.view.getInt8(this.need(1));
  }
  i16(): number {
    return this.view.getInt16(this.need(2));
  }
  i32(): number {
    return this.view.getInt32(this.need(4));
  }
  u64(): bigint {
    return this.view.getBigUint64(this.need(8));
  }
  i64(): bigint {
    return this.view.getBigInt64(this.need(8));
  }
  f32(): number {
    return this.view.getFloat32(this.need(4));
  }
  f64(): number {
    return this.view.getFloat64(this.need(8));
  }
  slice(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }
}

function num(n: number): string {
  return Number.isFinite(n) ? JSON.stringify(n) : 'null';
}

function big(n: bigint): string {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? String(Number(n)) : `"${n}"`;
}

function base64(b: Uint8Array): string {
  return `"${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')}"`;
}

function str(b: Uint8Array): string {
  return JSON.stringify(utf8.decode(b));
}

/** The msgpack timestamp extension (type -1) as an ISO-8601 string, null when out of Date's range. */
function timestamp(data: Uint8Array): string {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let sec: number;
  let nsec = 0;
  if (data.length === 4) sec = v.getUint32(0);
  else if (data.length === 8) {
    const hi = v.getUint32(0);
    nsec = hi >>> 2;
    sec = (hi & 0x3) * 2 ** 32 + v.getUint32(4);
  } else if (data.length === 12) {
    nsec = v.getUint32(0);
    sec = Number(v.getBigInt64(4));
  } else return ext(TIMESTAMP_EXT, data);
  const d = new Date(sec * 1000 + Math.floor(nsec / 1e6));
  return Number.isNaN(d.getTime()) ? 'null' : `"${d.toISOString()}"`;
}

function ext(type: number, data: Uint8Array): string {
  return `{"type":${type},"data":${base64(data)}}`;
}

function extOf(r: Reader, len: number): string {
  const type = r.i8();
  const data = r.slice(len);
  return type === TIMESTAMP_EXT ? timestamp(data) : ext(type, data);
}

function array(r: Reader, n: number, depth: number): string {
  const parts: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) parts[i] = value(r, depth + 1);
  return `[${parts.join(',')}]`;
}

/** A map key as the JSON string it becomes: strings as they are, anything else as its JSON text. */
function key(r: Reader, depth: number): string {
  const h = r.bytes[r.pos];
  const isStr = h !== undefined && ((h >= 0xa0 && h <= 0xbf) || h === 0xd9 || h === 0xda || h === 0xdb);
  const text = value(r, depth + 1);
  if (isStr) return text;
  // A key that became a JSON string (binary, big integers, timestamps) keeps its content.
  return text.startsWith('"') ? text : JSON.stringify(text);
}

function map(r: Reader, n: number, depth: number, omit?: ReadonlySet<string>): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = key(r, depth);
    const v = value(r, depth + 1);
    if (omit !== undefined && omit.has(JSON.parse(k) as string)) continue;
    parts.push(`${k}:${v}`);
  }
  return `{${parts.join(',')}}`;
}

function value(r: Reader, depth: number, omit?: ReadonlySet<string>): string {
  if (depth > MAX_DEPTH) throw new RangeError(`msgpack value nested deeper than ${MAX_DEPTH} levels`);
  const h = r.u8();
  if (h <= 0x7f) return String(h);
  if (h >= 0xe0) return String(h - 0x100);
  if (h >= 0x80 && h <= 0x8f) return map(r, h & 0x0f, depth, omit);
  if (h >= 0x90 && h <= 0x9f) return array(r, h & 0x0f, depth);
  if (h >= 0xa0 && h <= 0xbf) return str(r.slice(h & 0x1f));
  switch (h) {
    case 0xc0: return 'null';
    case 0xc2: return 'false';
    case 0xc3: return 'true';
    case 0xc4: return base64(r.slice(r.u8()));
    case 0xc5: return base64(r.slice(r.u16()));
    case 0xc6: return base64(r.slice(r.u32()));
    case 0xc7: return extOf(r, r.u8());
    case 0xc8: return extOf(r, r.u16());
    case 0xc9: return extOf(r, r.u32());
    case 0xca: return num(r.f32());
    case 0xcb: return num(r.f64());
    case 0xcc: return String(r.u8());
    case 0xcd: return String(r.u16());
    case 0xce: return String(r.u32());
    case 0xcf: return big(r.u64());
    case 0xd0: return String(r.i8());
    case 0xd1: return String(r.i16());
    case 0xd2: return String(r.i32());
    case 0xd3: return big(r.i64());
    case 0xd4: return extOf(r, 1);
    case 0xd5: return extOf(r, 2);
    case 0xd6: return extOf(r, 4);
    case 0xd7: return extOf(r, 8);
    case 0xd8: return extOf(r, 16);
    case 0xd9: return str(r.slice(r.u8()));
    case 0xda: return str(r.slice(r.u16()));
    case 0xdb: return str(r.slice(r.u32()));
    case 0xdc: return array(r, r.u16(), depth);
    case 0xdd: return array(r, r.u32(), depth);
    case 0xde: return map(r, r.u16(), depth, omit);
    case 0xdf: return map(r, r.u32(), depth, omit);
    default: throw new RangeError(`byte 0x${h.toString(16)} at ${r.pos - 1} starts no msgpack value`);
  }
}

/** One msgpack value (the whole of `bytes`) as JSON text. Throws on malformed or trailing bytes. */
export function msgpackToJson(bytes: Uint8Array): string {
  const r = new Reader(bytes);
  const json = value(r, 0);
  if (r.pos !== bytes.length) throw new RangeError(`${bytes.length - r.pos} bytes after the msgpack value`);
  return json;
}

/** A msgpack map (a server frame) as a JSON object without the keys in `omit` (e.g. the frame type `t`). */
export function msgpackMapToJson(bytes: Uint8Array, omit: ReadonlySet<string>): string {
  const h = bytes[0];
  if (h === undefined || !((h >= 0x80 && h <= 0x8f) || h === 0xde || h === 0xdf)) throw new RangeError('not a msgpack map');
  const r = new Reader(bytes);
  const json = value(r, 0, omit);
  if (r.pos !== bytes.length) throw new RangeError(`${bytes.length - r.pos} bytes after the msgpack value`);
  return json;
}

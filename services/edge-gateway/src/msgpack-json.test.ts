import { describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { msgpackMapToJson, msgpackToJson } from './msgpack-json.js';

const json = (v: unknown, big = false) => msgpackToJson(encode(v, { useBigInt64: big }));
const bytes = (...b: number[]) => Uint8Array.from(b);

describe('msgpack to JSON', () => {
  it('converts scalars, strings, arrays and maps like JSON.stringify', () => {
    const v = { s: 'héllo "q"\n', n: -5, i: 300, u: 70000, neg: -70000, f: 1.25, t: true, f2: false, z: null, a: [1, 'two', [3]], o: { nested: { deep: 1 } }, e: '' };
    expect(JSON.parse(json(v))).toEqual(v);
    expect(json('x'.repeat(300))).toBe(JSON.stringify('x'.repeat(300)));
    expect(json(Array.from({ length: 20 }, (_, i) => i))).toBe(JSON.stringify(Array.from({ length: 20 }, (_, i) => i)));
  });

  it('keeps 64-bit integers exact: safe ones as numbers, others as decimal strings', () => {
    expect(json(2n ** 53n - 1n, true)).toBe(String(2 ** 53 - 1));
    expect(json(2n ** 60n, true)).toBe('"1152921504606846976"');
    expect(json(2n ** 64n - 1n, true)).toBe('"18446744073709551615"');
    expect(json(-(2n ** 63n), true)).toBe('"-9223372036854775808"');
    expect(json(-5n, true)).toBe('-5');
    // uint64 encoding of a small value (0xcf) is still a number.
    expect(msgpackToJson(bytes(0xcf, 0, 0, 0, 0, 0, 0, 0, 7))).toBe('7');
  });

  it('turns binary into base64 and non-finite floats into null', () => {
    expect(json(new Uint8Array([0, 1, 2, 253, 254, 255]))).toBe('"AAEC/f7/"');
    expect(json(NaN)).toBe('null');
    expect(json(Infinity)).toBe('null');
    expect(json(-Infinity)).toBe('null');
    expect(msgpackToJson(bytes(0xca, 0x7f, 0xc0, 0, 0))).toBe('null'); // float32 NaN
    expect(msgpackToJson(bytes(0xca, 0x3f, 0xc0, 0, 0))).toBe('1.5');
  });

  it('stringifies map keys that are not strings', () => {
    // {1: "a", true: "b", nil: "c", [1,2]: "d", bin(0xff): "e"}
    const m = bytes(0x85, 0x01, 0xa1, 0x61, 0xc3, 0xa1, 0x62, 0xc0, 0xa1, 0x63, 0x92, 0x01, 0x02, 0xa1, 0x64, 0xc4, 0x01, 0xff, 0xa1, 0x65);
    expect(JSON.parse(msgpackToJson(m))).toEqual({ '1': 'a', true: 'b', null: 'c', '[1,2]': 'd', '/w==': 'e' });
  });

  it('turns timestamps into ISO strings and other extensions into {type, data}', () => {
    expect(json(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)))).toBe('"2026-01-02T03:04:05.678Z"');
    expect(json(new Date(Date.UTC(2026, 0, 2)))).toBe('"2026-01-02T00:00:00.000Z"');
    expect(msgpackToJson(bytes(0xd4, 0x05, 0x2a))).toBe('{"type":5,"data":"Kg=="}');
  });

  it('refuses malformed, truncated and too deeply nested input', () => {
    expect(() => msgpackToJson(bytes(0xc1))).toThrow(/starts no msgpack value/);
    expect(() => msgpackToJson(bytes(0xa5, 0x61))).toThrow(/truncated/);
    expect(() => msgpackToJson(bytes(0x01, 0x02))).toThrow(/after the msgpack value/);
    expect(() => msgpackToJson(new Uint8Array(70).fill(0x91))).toThrow(/nested deeper/);
  });

  it('converts a frame map without the omitted keys', () => {
    expect(msgpackMapToJson(encode({ t: 103, ch: 'c', seq: 1, data: { t: 5 } }), new Set(['t']))).toBe('{"ch":"c","seq":1,"data":{"t":5}}');
    expect(() => msgpackMapToJson(encode([1]), new Set())).toThrow(/not a msgpack map/);
  });
});

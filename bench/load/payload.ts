// The benchmark payload: a 100-byte msgpack map {t0, p} whose t0 is the send time. Every
// system under test forwards these bytes unchanged, so one byte search finds each delivery
// in any protocol's frame and yields its latency without decoding the frame.

/** Microseconds on CLOCK_MONOTONIC, which every process on the machine shares. */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

// fixmap(2), "t0", float64 marker: the t0 value's 8 bytes follow.
export const MARKER = Buffer.from([0x82, 0xa2, 0x74, 0x30, 0xcb]);
export const PAYLOAD_BYTES = 100;
const PAD = 'x'.repeat(PAYLOAD_BYTES - 13 - 2 - 2);

/** A fresh payload carrying `t0` (µs); {t0: float64, p: str8(83)} is exactly 100 bytes. */
export function makePayload(t0Us: number): Buffer {
  const b = Buffer.allocUnsafe(PAYLOAD_BYTES);
  MARKER.copy(b, 0);
  b.writeDoubleBE(t0Us, 5);
  b[13] = 0xa1;
  b[14] = 0x70; // "p"
  b[15] = 0xd9;
  b[16] = PAD.length;
  b.write(PAD, 17, 'latin1');
  return b;
}

/** Offset of the first t0 value in `buf` at or after `from`, or -1. */
export function findT0(buf: Buffer, from: number): number {
  const i = buf.indexOf(MARKER, from);
  return i < 0 || i + 13 > buf.length ? -1 : i + 5;
}

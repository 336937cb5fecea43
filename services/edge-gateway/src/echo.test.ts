import { decode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { encodeFrameWithPayload, encodeValue } from '@cascade/protocol';
import { skipNotice } from './echo.js';

describe('skipNotice', () => {
  it('is the message frame without data, marked skip', () => {
    const frame = encodeFrameWithPayload({ t: 103, ch: 'chat:a', seq: 7, ep: 'abc', ts: 5, from: 'alice', key: 'k1' }, encodeValue({ big: 'x'.repeat(100) }));
    expect(decode(skipNotice(frame)!)).toEqual({ t: 103, ch: 'chat:a', seq: 7, ep: 'abc', ts: 5, from: 'alice', key: 'k1', skip: true });
  });

  it('is undefined for other frames and for garbage', () => {
    expect(skipNotice(encodeValue({ t: 104, ch: 'a', ts: 1, data: 1 }))).toBeUndefined();
    expect(skipNotice(new Uint8Array([0xc1]))).toBeUndefined();
    expect(skipNotice(encodeValue([1, 2]))).toBeUndefined();
  });
});

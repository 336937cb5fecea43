import { decode, encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { CloseCode, ErrorCode, closeCodeName, errorCodeName, shouldReconnect } from './codes.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  MAX_DATA_DEPTH,
  MAX_TOKEN_LENGTH,
  decodeClientFrame,
  decodeServerFrame,
  decodeValue,
  encodeClientFrame,
  encodeFrameWithMessages,
  encodeFrameWithPayload,
  encodeServerFrame,
  encodeValue,
  framesDecodeWithTextDecoder,
} from './codec.js';
import { FrameType, type ServerFrame } from './frames.js';

function decodeOk(frame: unknown) {
  const r = decodeClientFrame(encode(frame));
  if (!r.ok) throw new Error(`expected ok, got ${r.error.toString()}`);
  return r.frame;
}

function decodeErr(bytes: Uint8Array, maxFrameBytes?: number) {
  const r = decodeClientFrame(bytes, maxFrameBytes === undefined ? {} : { maxFrameBytes });
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.frame)}`);
  expect(r.error.name).toBe('ProtocolError');
  return r.error;
}

describe('decodeClientFrame: every client frame type', () => {
  it('connect with and without optional fields', () => {
    expect(decodeOk({ t: 1 })).toEqual({ t: 1, v: 1, token: undefined, client: undefined, psince: undefined });
    expect(decodeOk({ t: 1, v: 1, token: 'abc.def.ghi', client: 'cascade-js/0.1' })).toEqual({
      t: 1,
      v: 1,
      token: 'abc.def.ghi',
      client: 'cascade-js/0.1',
      psince: undefined,
    });
  });

  it('connect with the personal channel\'s resume position (psince)', () => {
    expect(decodeOk({ t: 1, token: 'a.b.c', psince: { ep: 'e1', seq: 4 } })).toMatchObject({ t: 1, psince: { ep: 'e1', seq: 4 } });
    expect(decodeOk({ t: 1, psince: { ep: '', seq: 0 } })).toMatchObject({ psince: { ep: '', seq: 0 } });
    expect(decodeOk({ t: 1, psince: null })).toMatchObject({ psince: undefined });
    for (const bad of [{ ep: 'e' }, { ep: 1, seq: 1 }, { ep: 'e', seq: -1 }, { ep: 'x'.repeat(65), seq: 1 }, 'e:1', [1]]) {
      expect(decodeErr(encode({ t: 1, psince: bad })).code).toBe(ErrorCode.BadRequest);
    }
  });

  it('members (who is present), with an id and a channel', () => {
    expect(decodeOk({ t: 8, id: 3, ch: 'chat:a' })).toEqual({ t: 8, id: 3, ch: 'chat:a' });
    expect(decodeErr(encode({ t: 8, ch: 'chat:a' })).code).toBe(ErrorCode.BadRequest);
    const e = decodeErr(encode({ t: 8, id: 4, ch: 'bad.name' }));
    expect([e.code, e.id]).toEqual([ErrorCode.InvalidChannel, 4]);
  });

  it('subscribe, with and without since', () => {
    expect(decodeOk({ t: 2, id: 7, ch: 'news' })).toEqual({ t: 2, id: 7, ch: 'news', since: undefined });
    expect(decodeOk({ t: 2, id: 8, ch: 'news', since: { ep: 'e1', seq: 41 } })).toEqual({
      t: 2,
      id: 8,
      ch: 'news',
      since: { ep: 'e1', seq: 41 },
    });
  });

  it('unsubscribe', () => {
    expect(decodeOk({ t: 3, id: 9, ch: 'news' })).toEqual({ t: 3, id: 9, ch: 'news' });
  });

  it('publish keeps data as one msgpack value and defaults echo to true', () => {
    const f = decodeOk({ t: 4, id: 1, ch: 'chat:1', data: { text: 'hi', n: [1, 2] }, key: 'k-1' });
    expect(f.t).toBe(4);
    if (f.t !== 4) return;
    expect(f.key).toBe('k-1');
    expect(f.echo).toBe(true);
    expect(decode(f.payload)).toEqual({ text: 'hi', n: [1, 2] });
    const noEcho = decodeOk({ t: 4, id: 2, ch: 'chat:1', data: 'x', echo: false });
    expect(noEcho.t === 4 && noEcho.echo).toBe(false);
  });

  it('ephemeral', () => {
    const f = decodeOk({ t: 5, ch: 'chat:1', data: { typing: true } });
    expect(f.t === 5 && decode(f.payload)).toEqual({ typing: true });
  });

  it('ignores unknown fields', () => {
    expect(decodeOk({ t: 3, id: 1, ch: 'a', future: [1, 2, 3] })).toEqual({ t: 3, id: 1, ch: 'a' });
  });
});

describe('decodeClientFrame: malformed input becomes a typed error, never a throw', () => {
  it('empty, truncated, trailing bytes and garbage', () => {
    expect(decodeErr(new Uint8Array()).code).toBe(ErrorCode.BadRequest);
    const whole = encode({ t: 2, id: 1, ch: 'news' });
    for (let cut = 1; cut < whole.length; cut++) {
      expect(decodeErr(whole.subarray(0, cut)).code).toBe(ErrorCode.BadRequest);
    }
    const trailing = new Uint8Array([...whole, 0x01]);
    expect(decodeErr(trailing).code).toBe(ErrorCode.BadRequest);
    expect(decodeErr(new Uint8Array([0xc1])).code).toBe(ErrorCode.BadRequest); // never-used byte
    expect(decodeErr(new TextEncoder().encode('{"t":2}')).code).toBe(ErrorCode.BadRequest);
  });

  it('random bytes never throw', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256);
    for (let i = 0; i < 2000; i++) {
      const bytes = new Uint8Array(1 + (i % 40)).map(() => rnd());
      expect(() => decodeClientFrame(bytes)).not.toThrow();
    }
  });

  it('oversize frames and oversize declared lengths', () => {
    const big = encode({ t: 4, id: 1, ch: 'a', data: 'x'.repeat(DEFAULT_MAX_FRAME_BYTES) });
    expect(decodeErr(big).code).toBe(ErrorCode.PayloadTooLarge);
    expect(decodeErr(encode({ t: 4, id: 1, ch: 'a', data: 'x'.repeat(200) }), 100).code).toBe(ErrorCode.PayloadTooLarge);
    // A 5-byte array32 header claiming 4 billion elements.
    expect(decodeErr(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff])).code).toBe(ErrorCode.BadRequest);
    // A str32 header claiming 1 GiB.
    expect(decodeErr(new Uint8Array([0xdb, 0x40, 0, 0, 0, 0x61])).code).toBe(ErrorCode.BadRequest);
  });

  it('not a map, or no integer type', () => {
    expect(decodeErr(encode([1, 2])).code).toBe(ErrorCode.BadRequest);
    expect(decodeErr(encode('hello')).code).toBe(ErrorCode.BadRequest);
    expect(decodeErr(encode(null)).code).toBe(ErrorCode.BadRequest);
    expect(decodeErr(encode(new Uint8Array([1]))).code).toBe(ErrorCode.BadRequest);
    expect(decodeErr(encode({ id: 1 })).code).toBe(ErrorCode.BadRequest);
    expect(decodeErr(encode({ t: '2' })).code).toBe(ErrorCode.BadRequest);
    expect(decodeErr(encode({ t: 2.5 })).code).toBe(ErrorCode.BadRequest);
  });

  it('unknown frame types keep the request id when there is one', () => {
    const e = decodeErr(encode({ t: 99, id: 5 }));
    expect(e.code).toBe(ErrorCode.UnknownFrameType);
    expect(e.id).toBe(5);
    expect(decodeErr(encode({ t: 103, ch: 'a' })).code).toBe(ErrorCode.UnknownFrameType);
  });

  it('wrong field types', () => {
    const cases: Array<[unknown, ErrorCode]> = [
      [{ t: 1, v: 0 }, ErrorCode.BadRequest],
      [{ t: 1, v: '1' }, ErrorCode.BadRequest],
      [{ t: 1, token: 42 }, ErrorCode.BadRequest],
      [{ t: 1, token: '' }, ErrorCode.BadRequest],
      [{ t: 1, token: 'x'.repeat(MAX_TOKEN_LENGTH + 1) }, ErrorCode.BadRequest],
      [{ t: 1, client: ['x'] }, ErrorCode.BadRequest],
      [{ t: 2, ch: 'a' }, ErrorCode.BadRequest],
      [{ t: 2, id: 0, ch: 'a' }, ErrorCode.BadRequest],
      [{ t: 2, id: -1, ch: 'a' }, ErrorCode.BadRequest],
      [{ t: 2, id: 2 ** 32, ch: 'a' }, ErrorCode.BadRequest],
      [{ t: 2, id: 1.5, ch: 'a' }, ErrorCode.BadRequest],
      [{ t: 2, id: '1', ch: 'a' }, ErrorCode.BadRequest],
      [{ t: 2, id: 1, ch: 5 }, ErrorCode.InvalidChannel],
      [{ t: 2, id: 1 }, ErrorCode.InvalidChannel],
      [{ t: 2, id: 1, ch: 'a', since: 5 }, ErrorCode.BadRequest],
      [{ t: 2, id: 1, ch: 'a', since: { ep: 'e' } }, ErrorCode.BadRequest],
      [{ t: 2, id: 1, ch: 'a', since: { ep: 'e', seq: -1 } }, ErrorCode.BadRequest],
      [{ t: 2, id: 1, ch: 'a', since: { ep: 1, seq: 1 } }, ErrorCode.BadRequest],
      [{ t: 3, id: 1, ch: null }, ErrorCode.InvalidChannel],
      [{ t: 4, id: 1, ch: 'a' }, ErrorCode.BadRequest],
      [{ t: 4, id: 1, ch: 'a', data: 1, key: 7 }, ErrorCode.BadRequest],
      [{ t: 4, id: 1, ch: 'a', data: 1, key: 'has space' }, ErrorCode.BadRequest],
      [{ t: 4, id: 1, ch: 'a', data: 1, key: 'k'.repeat(129) }, ErrorCode.BadRequest],
      [{ t: 4, id: 1, ch: 'a', data: 1, echo: 'no' }, ErrorCode.BadRequest],
      [{ t: 5, ch: 'a' }, ErrorCode.BadRequest],
      [{ t: 5, ch: 'a.b', data: 1 }, ErrorCode.InvalidChannel],
    ];
    for (const [frame, code] of cases) {
      const e = decodeErr(encode(frame));
      expect({ frame, code: e.code }).toEqual({ frame, code });
    }
  });

  it('wrong-type error keeps the id once it is readable', () => {
    expect(decodeErr(encode({ t: 4, id: 33, ch: 'bad.channel', data: 1 })).id).toBe(33);
  });

  it('refuses channel names that could become wildcard or foreign subjects', () => {
    for (const ch of ['a.b', '*', '>', 'a b', 'a\u0000', 'x'.repeat(129)]) {
      for (const t of [2, 3, 4]) {
        expect(decodeErr(encode({ t, id: 1, ch, data: 1 })).code).toBe(ErrorCode.InvalidChannel);
      }
    }
  });

  it('data nested too deep is refused, not a stack overflow', () => {
    let data: unknown = 1;
    for (let i = 0; i < MAX_DATA_DEPTH + 5; i++) data = [data];
    expect(decodeErr(encode({ t: 4, id: 3, ch: 'a', data }, { maxDepth: 1000 })).code).toBe(ErrorCode.BadRequest);
    // Deep nesting in the raw bytes (no encoder involved) is refused too.
    const deep = new Uint8Array(50_000).fill(0x91);
    deep[deep.length - 1] = 0x01;
    expect(() => decodeClientFrame(deep)).not.toThrow();
  });

  it('__proto__ keys are refused', () => {
    const bytes = new Uint8Array([0x82, 0xa1, 0x74, 0x05, 0xa9, ...new TextEncoder().encode('__proto__'), 0x01]);
    expect(decodeErr(bytes).code).toBe(ErrorCode.BadRequest);
  });
});

describe('server frames', () => {
  it('round-trips every server frame type', () => {
    const frames: ServerFrame[] = [
      { t: 101, v: 1, client: 'c1', user: 'u1', limits: { frame: 65536, subs: 128 } },
      { t: 102, id: 4, dup: true },
      { t: 103, ch: 'a', seq: 1, ep: 'e', ts: 1, from: 'u', key: 'k', data: { x: 1 } },
      { t: 104, ch: 'a', ts: 2, from: 'u', data: 'typing' },
      { t: 105, ch: 'a', join: [{ user: 'u', client: 'c' }], leave: [], count: 1 },
      { t: 106, id: 4, code: ErrorCode.InvalidChannel, msg: 'bad' },
      { t: 107, delay: 1500, reason: 'draining' },
    ];
    for (const f of frames) {
      const r = decodeServerFrame(encodeServerFrame(f));
      expect(r.ok && r.frame).toEqual(f);
    }
    const bad = decodeServerFrame(encode({ t: 2 }));
    expect(!bad.ok && bad.error.code).toBe(ErrorCode.UnknownFrameType);
  });

  it('encodeFrameWithPayload splices pre-encoded data into a valid frame', () => {
    const payload = encodeValue({ text: 'hello', n: [1, 2, 3] });
    const bytes = encodeFrameWithPayload(
      { t: FrameType.Message, ch: 'chat:1', seq: 42, ep: 'ep1', ts: 1700000000000, from: 'alice', key: undefined },
      payload,
    );
    expect(decode(bytes)).toEqual({ t: 103, ch: 'chat:1', seq: 42, ep: 'ep1', ts: 1700000000000, from: 'alice', data: { text: 'hello', n: [1, 2, 3] } });
    expect(() => encodeFrameWithPayload({ t: 1, ...Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`k${i}`, i])) }, payload)).toThrow(RangeError);
  });

  it('client frames encode to what the server decodes', () => {
    const r = decodeClientFrame(encodeClientFrame({ t: 4, id: 1, ch: 'a', data: [1, 'two'], key: 'abc' }));
    expect(r.ok && r.frame.t === 4 && decodeValue(r.frame.payload)).toEqual({ ok: true, frame: [1, 'two'] });
  });
});

describe('code registry', () => {
  it('names codes and tells whether to reconnect', () => {
    expect(errorCodeName(ErrorCode.InvalidChannel)).toBe('InvalidChannel');
    expect(closeCodeName(CloseCode.SlowConsumer)).toBe('SlowConsumer');
    expect(shouldReconnect(CloseCode.SlowConsumer)).toBe(true);
    expect(shouldReconnect(CloseCode.GoingAway)).toBe(true);
    expect(shouldReconnect(CloseCode.Unauthorized)).toBe(false);
    expect(shouldReconnect(CloseCode.Normal)).toBe(false);
    const values = Object.values(CloseCode);
    expect(new Set(values).size).toBe(values.length);
    const errs = Object.values(ErrorCode);
    expect(new Set(errs).size).toBe(errs.length);
  });
});

describe('publish data is kept byte for byte', () => {
  it('forwards the exact bytes of data (int64, float 1.0, integer map keys)', () => {
    // data = { 1: 1.0 (float64), "big": 2^62 as uint64 }
    const data = new Uint8Array([
      0x82,
      0x01, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0,
      0xa3, 0x62, 0x69, 0x67, 0xcf, 0x40, 0, 0, 0, 0, 0, 0, 0,
    ]);
    const frame = new Uint8Array([
      0x84, 0xa1, 0x74, 0x04, 0xa2, 0x69, 0x64, 0x01, 0xa2, 0x63, 0x68, 0xa1, 0x61, 0xa4, 0x64, 0x61, 0x74, 0x61, ...data,
    ]);
    const r = decodeClientFrame(frame);
    expect(r.ok && r.frame.t === 4 && [...r.frame.payload]).toEqual([...data]);
  });

  it('copies the payload out of the input buffer', () => {
    const bytes = encode({ t: 5, ch: 'a', data: 'hello' });
    const r = decodeClientFrame(bytes);
    bytes.fill(0);
    expect(r.ok && r.frame.t === 5 && decode(r.frame.payload)).toBe('hello');
  });

  it(`accepts exactly ${MAX_DATA_DEPTH} levels of nesting and refuses one more`, () => {
    const nest = (levels: number) => {
      let d: unknown = 1;
      for (let i = 0; i < levels; i++) d = [d];
      return d;
    };
    expect(decodeClientFrame(encode({ t: 4, id: 1, ch: 'a', data: nest(MAX_DATA_DEPTH) }, { maxDepth: 100 })).ok).toBe(true);
    expect(decodeClientFrame(encode({ t: 4, id: 1, ch: 'a', data: nest(MAX_DATA_DEPTH + 1) }, { maxDepth: 100 })).ok).toBe(false);
  });

  it('takes the last data when the key repeats, as the decoder does', () => {
    const frame = new Uint8Array([0x84, 0xa1, 0x74, 0x05, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x01, 0xa2, 0x63, 0x68, 0xa1, 0x61, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x02]);
    const r = decodeClientFrame(frame);
    expect(r.ok && r.frame.t === 5 && [...r.frame.payload]).toEqual([0x02]);
  });

  it('treats nil optional fields as absent', () => {
    expect(decodeOk({ t: 1, token: null, client: null })).toEqual({ t: 1, v: 1, token: undefined, client: undefined, psince: undefined });
    const p = decodeOk({ t: 4, id: 1, ch: 'a', data: null, key: null });
    expect(p.t === 4 && p.key).toBeUndefined();
    expect(p.t === 4 && [...p.payload]).toEqual([0xc0]);
    expect(decodeOk({ t: 2, id: 1, ch: 'a', since: null })).toEqual({ t: 2, id: 1, ch: 'a', since: undefined });
  });
});

describe('encodeFrameWithMessages', () => {
  it('splices encoded message frames into a reply as an array of maps', () => {
    for (const n of [0, 3, 20]) {
      const frames = Array.from({ length: n }, (_, i) => encodeFrameWithPayload({ t: 103, ch: 'c', seq: i + 1, ep: 'e', ts: 1 }, encodeValue({ i })));
      const reply = decode(encodeFrameWithMessages({ t: 102, id: 9, ep: 'e', seq: n }, frames)) as { msgs: Array<{ seq: number; data: { i: number } }> };
      expect(reply).toMatchObject({ t: 102, id: 9, ep: 'e', seq: n });
      expect(reply.msgs.map((m) => [m.seq, m.data.i])).toEqual(Array.from({ length: n }, (_, i) => [i + 1, i]));
    }
  });
});

describe('history frame (t:7)', () => {
  it('decodes since and limit, with limit 100 by default', () => {
    expect(decodeOk({ t: 7, id: 4, ch: 'chat:a', since: { ep: 'e1', seq: 41 }, limit: 3 })).toEqual({ t: 7, id: 4, ch: 'chat:a', since: { ep: 'e1', seq: 41 }, limit: 3 });
    expect(decodeOk({ t: 7, id: 4, ch: 'chat:a' })).toEqual({ t: 7, id: 4, ch: 'chat:a', since: undefined, limit: 100 });
  });
  it('refuses a bad limit, since, channel or id', () => {
    for (const [frame, code] of [
      [{ t: 7, id: 4, ch: 'chat:a', limit: 0 }, ErrorCode.BadRequest],
      [{ t: 7, id: 4, ch: 'chat:a', limit: 1001 }, ErrorCode.BadRequest],
      [{ t: 7, id: 4, ch: 'chat:a', since: { ep: 'e', seq: -1 } }, ErrorCode.BadRequest],
      [{ t: 7, id: 4, ch: 'chat:a', since: 'e:1' }, ErrorCode.BadRequest],
      [{ t: 7, id: 4, ch: 'a.b' }, ErrorCode.InvalidChannel],
      [{ t: 7, ch: 'chat:a' }, ErrorCode.BadRequest],
    ] as const) {
      const r = decodeClientFrame(encode(frame));
      expect(r.ok, JSON.stringify(frame)).toBe(false);
      if (!r.ok) expect(r.error.code).toBe(code);
    }
  });
});

describe('frame strings decode with TextDecoder, exactly as msgpack would', () => {
  const plain = (bytes: Uint8Array) => decode(bytes);

  it('uses the TextDecoder path with the installed msgpack (the edge warns at start-up otherwise)', () => {
    expect(framesDecodeWithTextDecoder).toBe(true);
  });

  it('gives the same strings as msgpack for every length and script, keys and values alike', () => {
    const samples = ['', 'a', 'x'.repeat(31), 'x'.repeat(32), 'é'.repeat(100), '日本語'.repeat(50), '\u{1F600}'.repeat(60), '\uFEFFbom first', 'y'.repeat(300)];
    for (const s of samples) {
      const frame = { t: 1, token: s, client: s.slice(0, 20), [`k${s.slice(0, 40)}`]: [s, { inner: s }] };
      const bytes = encode(frame);
      expect(decodeValue(bytes)).toEqual({ ok: true, frame: plain(bytes) });
    }
  });

  it('still refuses truncated strings and declared lengths past the frame', () => {
    const bytes = encode({ t: 1, token: 'z'.repeat(120) });
    expect(decodeValue(bytes.subarray(0, bytes.length - 5)).ok).toBe(false);
    // str8 header announcing 200 bytes inside a 12-byte frame (past maxStrLength of the frame's size)
    const r = decodeClientFrame(Uint8Array.of(0x82, 0xa1, 0x74, 0x01, 0xa5, 0x74, 0x6f, 0x6b, 0x65, 0x6e, 0xd9, 200));
    expect(r.ok).toBe(false);
  });

  it('turns malformed UTF-8 into U+FFFD, as msgpack does above 200 bytes', () => {
    // fixstr of 3 bytes: 'a', a lone continuation byte, 'b'
    const r = decodeValue(Uint8Array.of(0xa3, 0x61, 0x80, 0x62));
    expect(r).toEqual({ ok: true, frame: 'a\uFFFDb' });
  });
});

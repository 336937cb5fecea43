import { describe, expect, it } from 'vitest';
import { FrameType, encodeFrameWithPayload, encodeValue, encodeServerFrame, type ChannelName } from '@cascade/protocol';
import { errorEvent, formatPositionVector, parsePositionVector, parseSseRequest, retryField, sseEvent, sseFrameOf } from './sse.js';

const ch = (s: string) => s as ChannelName;
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

describe('position vectors', () => {
  it('formats every channel in order, empty without a position', () => {
    expect(formatPositionVector([{ ep: 'k3f9', seq: 17 }, undefined, { ep: 'x1', seq: 2 }])).toBe('k3f9:17,,x1:2');
    expect(formatPositionVector([undefined])).toBe('');
    // An epoch that is not plain (never made by the fan-out worker) cannot break the vector or the event.
    expect(formatPositionVector([{ ep: 'a,b:c\n', seq: 1 }])).toBe('a%2Cb%3Ac%0A:1');
  });

  it('parses what it formats and refuses anything else', () => {
    for (const v of [[{ ep: 'k3f9', seq: 17 }, undefined, { ep: 'x1', seq: 0 }], [undefined, undefined], [{ ep: 'a,b:c', seq: 9007199254740991 }], [{ ep: '', seq: 0 }, { ep: 'e', seq: 1 }]]) {
      expect(parsePositionVector(formatPositionVector(v), v.length)).toEqual({ ok: true, positions: v });
    }
    expect(parsePositionVector('', 1)).toEqual({ ok: true, positions: [undefined] });
    for (const [t, n] of [['a:1', 2], ['a:1,b:2', 1], ['a', 1], ['a:', 1], [':1', 1], ['a:-1', 1], ['a:1.5', 1], ['a:b:1', 1], ['a:99999999999999999', 1], [`${'e'.repeat(65)}:1`, 1], ['%E0%A4%A:1', 1]] as const) {
      expect(parsePositionVector(t, n).ok, t).toBe(false);
    }
  });
});

describe('event text', () => {
  it('formats events, errors and the retry field', () => {
    expect(sseEvent('connected', '{"a":1}')).toBe('event: connected\ndata: {"a":1}\n\n');
    expect(sseEvent(undefined, '1', 'e:1')).toBe('id: e:1\ndata: 1\n\n');
    expect(errorEvent(4006, 'expired')).toBe('event: error\ndata: {"code":4006,"msg":"expired"}\n\n');
    expect(errorEvent(104, 'no', 'chat:a')).toBe('event: error\ndata: {"code":104,"msg":"no","ch":"chat:a"}\n\n');
    expect(retryField(1000)).toBe('retry: 1000\n\n');
  });

  it('turns a message frame into shared event bytes with its position, without the frame type', () => {
    const frame = encodeFrameWithPayload({ t: FrameType.Message, ch: 'chat:a', seq: 7, ep: 'e1', ts: 1795374243444, from: 'alice', key: 'k', grp: 'team' }, encodeValue({ text: 'hi\nthere' }));
    const f = sseFrameOf(ch('chat:a'), frame)!;
    expect(f).toMatchObject({ t: FrameType.Message, ep: 'e1', seq: 7 });
    expect(text(f.bytes)).toBe('data: {"ch":"chat:a","seq":7,"ep":"e1","ts":1795374243444,"from":"alice","key":"k","grp":"team","data":{"text":"hi\\nthere"}}\n\n');
  });

  it('turns ephemeral and presence frames into named events and skips the rest', () => {
    const eph = sseFrameOf(ch('c'), encodeFrameWithPayload({ t: FrameType.EphemeralMessage, ch: 'c', ts: 5, from: 'u' }, encodeValue({ typing: true })))!;
    expect(text(eph.bytes)).toBe('event: ephemeral\ndata: {"ch":"c","ts":5,"from":"u","data":{"typing":true}}\n\n');
    const pres = sseFrameOf(ch('c'), encodeServerFrame({ t: FrameType.Presence, ch: 'c', join: [{ user: 'a', client: 'x' }], count: 1 }))!;
    expect(text(pres.bytes)).toBe('event: presence\ndata: {"ch":"c","join":[{"user":"a","client":"x"}],"count":1}\n\n');
    expect(sseFrameOf(ch('c'), encodeServerFrame({ t: FrameType.Reconnect, delay: 1, reason: 'x' }))).toBeUndefined();
    expect(sseFrameOf(ch('c'), new Uint8Array([0xc1]))).toBeUndefined();
  });

  it('keeps a message whose data does not convert in the sequence, with data null', () => {
    // data: a str8 whose length runs past the end.
    const frame = encodeFrameWithPayload({ t: FrameType.Message, ch: 'c', seq: 3, ep: 'e', ts: 1 }, new Uint8Array([0xd9, 0x09, 0x61]));
    const f = sseFrameOf(ch('c'), frame)!;
    expect(text(f.bytes)).toBe('data: {"ch":"c","seq":3,"ep":"e","data":null}\n\n');
  });
});

describe('request parameters', () => {
  const parse = (query: string, o: { lastEventId?: string; authorization?: string; max?: number } = {}) =>
    parseSseRequest({ query, lastEventId: o.lastEventId ?? '', authorization: o.authorization ?? '', maxSubscriptions: o.max ?? 3 });

  it('reads channels in order, the token (the Authorization header wins), the position and presence', () => {
    expect(parse('ch=a&ch=chat%3Ab&token=t.q.s&since=e%3A1%2C&presence=1')).toEqual({
      ok: true,
      request: { channels: ['a', 'chat:b'], token: 't.q.s', positions: [{ ep: 'e', seq: 1 }, undefined], presence: true },
    });
    expect(parse('ch=a&token=q', { authorization: 'Bearer h.h.h' })).toMatchObject({ ok: true, request: { token: 'h.h.h', presence: false, positions: [undefined] } });
    expect(parse('ch=a&token=q', { authorization: 'Basic abc' })).toMatchObject({ ok: true, request: { token: 'q' } });
    expect(parse('ch=a')).toMatchObject({ ok: true, request: { token: undefined } });
    expect(parse('ch=a&ch=b&since=', {})).toMatchObject({ ok: true, request: { positions: [undefined, undefined] } });
  });

  it('prefers Last-Event-ID over since', () => {
    expect(parse('ch=a&since=e:1', { lastEventId: 'e:5' })).toMatchObject({ ok: true, request: { positions: [{ ep: 'e', seq: 5 }] } });
  });

  it('refuses bad parameters with 400 and a registry code', () => {
    expect(parse('')).toMatchObject({ ok: false, status: 400, code: 101 });
    expect(parse('ch=a&ch=b&ch=c&ch=d')).toMatchObject({ ok: false, status: 400, code: 107 });
    expect(parse('ch=a.b')).toMatchObject({ ok: false, status: 400, code: 103 });
    expect(parse('ch=a&ch=a')).toMatchObject({ ok: false, status: 400, code: 101 });
    expect(parse('ch=a&token=x&token=y')).toMatchObject({ ok: false, status: 400 });
    expect(parse('ch=a&since=x')).toMatchObject({ ok: false, status: 400, error: expect.stringMatching(/^since: /) });
    expect(parse('ch=a', { lastEventId: 'e:1,e:2' })).toMatchObject({ ok: false, status: 400, error: expect.stringMatching(/^Last-Event-ID: /) });
    expect(parse('ch=a&presence=2')).toMatchObject({ ok: false, status: 400 });
    expect(parse('ch=a&token=')).toMatchObject({ ok: false, status: 401, code: 4501 });
    expect(parse(`ch=a&token=${'x'.repeat(9000)}`)).toMatchObject({ ok: false, status: 401 });
  });
});

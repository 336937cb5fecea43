// The SSE transport's pure wire helpers: URLs, the position vector, strict event parsing,
// and how HTTP refusals map to registry codes and retries.
import { describe, expect, it } from 'vitest';
import {
  channelUrl,
  encodeVector,
  httpBase,
  httpFailure,
  parseConnected,
  parseMessage,
  parsePresence,
  parseStreamError,
  parseUnrecovered,
  parsePositions,
  parseVector,
  retryableHttp,
  streamUrl,
  vectorSafePosition,
} from './sse-wire.js';

describe('URLs', () => {
  it('maps ws(s) to http(s), keeps http(s) and a path prefix, drops query and hash', () => {
    expect(httpBase('ws://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080/');
    expect(httpBase('wss://rt.example.com')).toBe('https://rt.example.com/');
    expect(httpBase('https://example.com/rt?x=1#y')).toBe('https://example.com/rt/');
    expect(httpBase('/', 'https://page.example/app/index.html')).toBe('https://page.example/');
    expect(() => httpBase('ftp://x/')).toThrow(TypeError);
    expect(() => httpBase('not a url')).toThrow(TypeError);
  });

  it('builds the stream URL with repeated ch, token, since and presence', () => {
    const u = new URL(streamUrl('http://e:1/', { channels: ['chat:a', 'user:b/c'], token: 't.o.k', since: 'ep1:3,', presence: true }));
    expect(u.pathname).toBe('/v1/sse');
    expect(u.searchParams.getAll('ch')).toEqual(['chat:a', 'user:b/c']);
    expect([u.searchParams.get('token'), u.searchParams.get('since'), u.searchParams.get('presence')]).toEqual(['t.o.k', 'ep1:3,', '1']);
    expect(streamUrl('http://e:1/', { channels: ['a'] })).toBe('http://e:1/v1/sse?ch=a');
  });

  it('percent-encodes the channel in publish URLs', () => {
    expect(channelUrl('https://e/', 'chat:a/b', 'messages')).toBe('https://e/v1/channels/chat%3Aa%2Fb/messages');
    expect(channelUrl('https://e/p/', 'x', 'ephemeral')).toBe('https://e/p/v1/channels/x/ephemeral');
  });
});

describe('position vector', () => {
  it('encodes positions in channel order, empty where none, and nothing when no channel has one', () => {
    expect(encodeVector([{ ep: 'k3f9', seq: 17 }, undefined, { ep: 'x1', seq: 2 }])).toBe('k3f9:17,,x1:2');
    expect(encodeVector([undefined, undefined])).toBeUndefined();
    expect(encodeVector([{ ep: 'a', seq: 0 }])).toBe('a:0');
    expect(encodeVector([{ ep: 'odd,ep:1', seq: 4 }])).toBe('odd%2Cep%3A1:4');
  });

  it('parses what it encodes, and refuses wrong lengths and malformed parts', () => {
    const v = [{ ep: 'k3f9', seq: 17 }, undefined, { ep: 'x1', seq: 2 }];
    expect(parseVector(encodeVector(v)!, 3)).toEqual(v);
    expect(parseVector(',', 2)).toEqual([undefined, undefined]);
    expect(parseVector('odd%2Cep%3A1:4', 1)).toEqual([{ ep: 'odd,ep:1', seq: 4 }]);
    expect(parseVector('a:1', 2)).toBeUndefined();
    for (const bad of ['a', 'a:', ':1', 'a:-1', 'a:1.5', 'a:b:1', 'a:99999999999999999', '%E0%A4%A:1']) expect(parseVector(bad, 1)).toBeUndefined();
  });

  it('only takes positions the edge accepts: epochs of 1-64 characters, or the empty one with seq 0', () => {
    expect(vectorSafePosition({ ep: '0a1b2c3d4e5f', seq: 3 })).toBe(true);
    expect(vectorSafePosition({ ep: '', seq: 0 })).toBe(true);
    expect(vectorSafePosition({ ep: '', seq: 1 })).toBe(false);
    expect(vectorSafePosition({ ep: 'x'.repeat(65), seq: 1 })).toBe(false);
    expect(vectorSafePosition({ ep: 'e', seq: -1 })).toBe(false);
  });

  it('carries the start of a channel without messages as `:0`', () => {
    expect(encodeVector([{ ep: '', seq: 0 }, { ep: 'e', seq: 2 }])).toBe(':0,e:2');
    expect(parseVector(':0,e:2', 2)).toEqual([{ ep: '', seq: 0 }, { ep: 'e', seq: 2 }]);
  });
});

describe('event parsing', () => {
  it('reads the position event: every channel, placed or not', () => {
    const data = JSON.stringify({ positions: [{ ch: 'a', ep: '', seq: 0 }, { ch: 'b', ep: 'e', seq: 4 }, { ch: 'c' }] });
    expect(parsePositions(data)).toEqual([{ ch: 'a', position: { ep: '', seq: 0 } }, { ch: 'b', position: { ep: 'e', seq: 4 } }, { ch: 'c' }]);
    for (const bad of ['{}', '{"positions":[{"ep":"e","seq":1}]}', '{"positions":[{"ch":"a","ep":"","seq":2}]}', '{"positions":[{"ch":"a","ep":"e"}]}', 'x']) {
      expect(parsePositions(bad), bad).toBeUndefined();
    }
  });

  it('reads a stored message and keeps only the known fields', () => {
    const data = JSON.stringify({ ch: 'c', seq: 3, ep: 'e', ts: 9, from: 'u', key: 'k', data: { a: [1] }, extra: true });
    expect(parseMessage(data)).toEqual({ t: 103, ch: 'c', seq: 3, ep: 'e', ts: 9, from: 'u', key: 'k', data: { a: [1] } });
    expect(parseMessage(JSON.stringify({ ch: 'c', seq: 1, ep: 'e', ts: 1, data: null }))).toMatchObject({ data: null });
  });

  it('drops what does not fit: bad JSON, missing data, bad seq, wrong types', () => {
    const ok = { ch: 'c', seq: 3, ep: 'e', ts: 9, data: 1 };
    for (const bad of ['{', '[]', 'null', JSON.stringify({ ...ok, seq: 0 }), JSON.stringify({ ...ok, seq: 1.5 }), JSON.stringify({ ...ok, ep: '' }), JSON.stringify({ ...ok, from: 7 })]) {
      expect(parseMessage(bad)).toBeUndefined();
    }
    const { data: _d, ...noData } = ok;
    expect(parseMessage(JSON.stringify(noData))).toBeUndefined();
    expect(parseMessage(undefined)).toBeUndefined();
  });

  it('reads connected, unrecovered, presence and error events', () => {
    expect(parseConnected('{"client":"c1","user":"alice","exp":5}')).toEqual({ client: 'c1', user: 'alice', exp: 5 });
    expect(parseConnected('{"client":"c1"}')).toBeUndefined();
    expect(parseUnrecovered('{"ch":"a","ep":"e","seq":4}')).toEqual({ ch: 'a', position: { ep: 'e', seq: 4 } });
    expect(parsePresence('{"ch":"a","join":[{"user":"u","client":"c"}],"count":2}')).toEqual({ ch: 'a', join: [{ user: 'u', client: 'c' }], leave: [], count: 2 });
    expect(parsePresence('{"ch":"a","join":[{"user":1}]}')).toBeUndefined();
    expect(parseStreamError('{"code":4006,"msg":"token expired"}')).toEqual({ code: 4006, msg: 'token expired' });
    expect(parseStreamError('{"code":104,"msg":"no","ch":"x"}')).toEqual({ code: 104, msg: 'no', ch: 'x' });
    expect(parseStreamError('{"msg":"no code"}')).toBeUndefined();
  });
});

describe('HTTP answers', () => {
  it("takes the body's registry code, else the nearest for the status", () => {
    expect(httpFailure(401, '{"code":4006,"error":"token expired"}')).toEqual({ status: 401, code: 4006, msg: 'token expired' });
    expect(httpFailure(403, '{"code":104,"error":"no","ch":"x"}')).toEqual({ status: 403, code: 104, msg: 'no', ch: 'x' });
    expect(httpFailure(503, 'Service Unavailable')).toEqual({ status: 503, code: 110, msg: 'HTTP 503' });
    expect([401, 413, 429, 504, 500, 418].map((s) => httpFailure(s, '').code)).toEqual([4501, 109, 108, 113, 110, 100]);
  });

  it('retries network failures, 5xx, 429 and an expired token; nothing else', () => {
    const r = (status: number, code: number) => retryableHttp({ status, code });
    expect([r(0, 110), r(503, 110), r(504, 113), r(429, 108), r(401, 4006)]).toEqual([true, true, true, true, true]);
    expect([r(401, 4501), r(403, 104), r(400, 101), r(413, 109)]).toEqual([false, false, false, false]);
  });
});

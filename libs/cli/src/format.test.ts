import { describe, expect, it } from 'vitest';
import { ago, bytes, clock, COLOR, count, elapsed, fromHistoryFrame, messageJson, messageLine, PLAIN, table, toJson } from './format.js';

const TS = new Date(2026, 10, 22, 9, 5, 7, 42).getTime();

describe('formatting', () => {
  it('prints a message on one readable line, and as JSON with stable keys', () => {
    const m = { channel: 'chat:room1', seq: 3, ep: 'e1', ts: TS, from: 'alice', data: { text: 'hi' } };
    expect(messageLine(m, PLAIN)).toBe('09:05:07.042  chat:room1  #3  alice  {"text":"hi"}');
    expect(messageLine({ ...m, from: undefined }, PLAIN)).toBe('09:05:07.042  chat:room1  #3  -  {"text":"hi"}');
    expect(messageLine(m, COLOR)).toContain('\x1b[36mchat:room1\x1b[0m');
    expect(Object.keys(messageJson({ ...m, key: 'k' }))).toEqual(['channel', 'seq', 'ep', 'ts', 'from', 'key', 'data']);
    expect(messageJson({ ...m, from: undefined })).not.toHaveProperty('from');
  });

  it('turns binary data into base64 like the HTTP API, and history frames into messages', () => {
    expect(toJson({ b: new Uint8Array([1, 2, 3]) })).toBe('{"b":"AQID"}');
    expect(fromHistoryFrame({ t: 103, ch: 'news', seq: 2, ep: 'e', ts: TS, from: 'bob', data: 'x' })).toEqual({ channel: 'news', seq: 2, ep: 'e', ts: TS, from: 'bob', key: undefined, data: 'x' });
  });

  it('formats times, sizes, counts and aligned tables', () => {
    expect(clock(TS)).toBe('09:05:07.042');
    expect([elapsed(340), elapsed(1234), elapsed(125_000)]).toEqual(['340 ms', '1.2 s', '2 m 5 s']);
    expect([ago(TS, TS + 500), ago(TS, TS + 30_000), ago(TS, TS + 600_000), ago(TS, TS + 3 * 86_400_000)]).toEqual(['now', '30 s ago', '10 min ago', '3 days ago']);
    expect([bytes(512), bytes(1536), bytes(3 * 1024 * 1024)]).toEqual(['512 B', '1.5 KiB', '3.0 MiB']);
    expect(count(1234567)).toBe('1,234,567');
    expect(table([['a', 'online', 'x'], ['bbbb', COLOR.dim('off'), 'y']])).toEqual(['a     online  x', `bbbb  ${COLOR.dim('off')}     y`]);
  });
});

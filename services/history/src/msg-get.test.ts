// Decoding STREAM.MSG.GET replies and consumer delivery subjects by hand: the shapes
// nats-server 2.9 sends, and what is refused.
import { describe, expect, it } from 'vitest';
import { MsgHdrsImpl } from '@nats-io/nats-core';
import { parseDelivery } from './consumer-read.js';
import { MsgGetError, parseMsgGetReply } from './msg-get.js';

const json = (v: unknown) => ({ data: new TextEncoder().encode(JSON.stringify(v)), headers: undefined });
const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64');

describe('parseMsgGetReply', () => {
  it('decodes the message: stream sequence, headers and body', () => {
    const hdrs = 'NATS/1.0\r\nRt-Seq: 42\r\nRt-Epoch: abc\r\n\r\n';
    const r = parseMsgGetReply(json({ type: 'io.nats.jetstream.api.v1.stream_msg_get_response', message: { subject: 'rt.hist.a', seq: 7, hdrs: b64(hdrs), data: b64(new Uint8Array([1, 2, 255])), time: '2026-01-01T00:00:00Z' } }));
    expect(r).not.toBeInstanceOf(Error);
    const m = r as Exclude<typeof r, Error | null>;
    expect(m.stored).toBe(7);
    expect(m.header?.get('Rt-Seq')).toBe('42');
    expect(m.header?.get('Rt-Epoch')).toBe('abc');
    expect([...m.data]).toEqual([1, 2, 255]);
  });

  it('gives an empty body and no headers when the message has none', () => {
    expect(parseMsgGetReply(json({ message: { subject: 's', seq: 1, time: 't' } }))).toEqual({ stored: 1, header: undefined, data: new Uint8Array(0) });
  });

  it('answers null for "no message found", without an error', () => {
    expect(parseMsgGetReply(json({ type: 't', error: { code: 404, err_code: 10037, description: 'no message found' } }))).toBeNull();
  });

  it('turns other refusals, an empty status reply and garbage into MsgGetError', () => {
    const refused = parseMsgGetReply(json({ error: { code: 404, err_code: 10059, description: 'stream not found' } }));
    expect(refused).toBeInstanceOf(MsgGetError);
    expect(refused).toMatchObject({ errCode: 10059, message: 'stream not found' });
    const h = MsgHdrsImpl.decode(new TextEncoder().encode('NATS/1.0 408 Request Timeout\r\n\r\n'));
    expect(parseMsgGetReply({ data: new Uint8Array(0), headers: h })).toMatchObject({ message: 'no JetStream answer (408 Request Timeout)' });
    expect(parseMsgGetReply({ data: new TextEncoder().encode('{nope'), headers: undefined })).toBeInstanceOf(MsgGetError);
    expect(parseMsgGetReply(json({ message: { seq: 'x' } }))).toBeInstanceOf(MsgGetError);
  });
});

describe('parseDelivery', () => {
  it('reads stream sequence and pending from both reply subject forms', () => {
    expect(parseDelivery('$JS.ACK.RT_HIST.history_read_x.1.3.1.1796392859941318667.998')).toEqual({ stored: 3, pending: 998 });
    expect(parseDelivery('$JS.ACK.hub.ACCHASH.RT_HIST.history_read_x.1.30.2.1796392859941318667.0.r4nd0m')).toEqual({ stored: 30, pending: 0 });
  });

  it('is null for status messages and anything else', () => {
    expect(parseDelivery(undefined)).toBeNull();
    expect(parseDelivery('')).toBeNull();
    expect(parseDelivery('_INBOX.abc.1')).toBeNull();
    expect(parseDelivery('$JS.ACK.S.c.1.2.3')).toBeNull();
    expect(parseDelivery('$JS.ACK.S.c.1.x.1.1.0')).toBeNull();
  });
});

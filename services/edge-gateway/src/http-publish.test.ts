import { decode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { ErrorCode, type ChannelName } from '@cascade/protocol';
import { RequestTimeoutError } from '@cascade/nats';
import { BACKEND_SENDER, publishFromHttp } from './http-publish.js';
import type { IngestPort, PublishMeta } from './ingest.js';

const ch = 'news' as ChannelName;
const json = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

function ingest(result: () => Promise<{ duplicate: boolean }> = async () => ({ duplicate: false })) {
  const published: Array<{ ch: string; data: unknown; meta: PublishMeta }> = [];
  const port: IngestPort = {
    publish: (c, payload, meta) => {
      published.push({ ch: c, data: decode(payload), meta });
      return result();
    },
    ephemeral: () => undefined,
  };
  return { port, published };
}

describe('publishFromHttp', () => {
  it('stores the data as msgpack with the named or default sender and replies once stored', async () => {
    const { port, published } = ingest();
    expect(await publishFromHttp(ch, json({ data: { text: 'hi', n: [1, 2] }, key: 'k1', from: 'billing' }), { ingest: port, maxPublishBytes: 1024 })).toEqual({
      status: 201,
      body: { ok: true, dup: false },
    });
    await publishFromHttp(ch, json({ data: 'plain' }), { ingest: port, maxPublishBytes: 1024 });
    expect(published).toEqual([
      { ch: 'news', data: { text: 'hi', n: [1, 2] }, meta: { from: 'billing', key: 'k1' } },
      { ch: 'news', data: 'plain', meta: { from: BACKEND_SENDER, key: undefined } },
    ]);
  });

  it('says when a key was already used', async () => {
    const { port } = ingest(async () => ({ duplicate: true }));
    expect(await publishFromHttp(ch, json({ data: 1, key: 'k' }), { ingest: port, maxPublishBytes: 1024 })).toEqual({ status: 200, body: { ok: true, dup: true } });
  });

  it.each([
    ['not JSON', '{data:'],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d])],
    ['an array', [1]],
    ['no data', { key: 'k' }],
    ['a bad key', { data: 1, key: 'has space' }],
    ['a bad sender', { data: 1, from: 'a b' }],
  ])('refuses %s with 400', async (_what, body) => {
    const { port, published } = ingest();
    const r = await publishFromHttp(ch, body instanceof Uint8Array ? body : json(body), { ingest: port, maxPublishBytes: 1024 });
    expect(r.status).toBe(400);
    expect(r.body['code']).toBe(ErrorCode.BadRequest);
    expect(published).toHaveLength(0);
  });

  it('refuses oversize data with 413 and maps store failures to 503/504', async () => {
    const { port } = ingest();
    expect((await publishFromHttp(ch, json({ data: 'x'.repeat(2000) }), { ingest: port, maxPublishBytes: 1024 })).status).toBe(413);
    const down = ingest(() => Promise.reject(new Error('no responders')));
    expect((await publishFromHttp(ch, json({ data: 1 }), { ingest: down.port, maxPublishBytes: 1024 })).status).toBe(503);
    const slow = ingest(() => Promise.reject(new RequestTimeoutError('rt.in.0.a', 4000)));
    expect((await publishFromHttp(ch, json({ data: 1 }), { ingest: slow.port, maxPublishBytes: 1024 })).status).toBe(504);
  });
});

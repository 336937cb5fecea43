import { describe, expect, it } from 'vitest';
import { ErrorCode, encodeFrameWithPayload, encodeValue, type ChannelName } from '@cascade/protocol';
import { HistoryRequestError, type HistoryReadRequest } from '@cascade/nats';
import { ServerApi, toJson, type HistoryApiPort } from './http-api.js';
import { PresenceQueryError } from './presence-members.js';
import type { Authenticate } from './session.js';

class FakeHistory implements HistoryApiPort {
  reads: HistoryReadRequest[] = [];
  async read(r: HistoryReadRequest) {
    this.reads.push(r);
    if (r.ep === 'old') throw new HistoryRequestError({ ok: false, code: ErrorCode.RecoveryImpossible, msg: 'gone', ep: 'e1', seq: 9, first: 5 });
    const frame = encodeFrameWithPayload({ t: 103, ch: r.ch, seq: 9, ep: 'e1', ts: 1 }, encodeValue(new Uint8Array([1, 2])));
    return { ep: 'e1', seq: 9, first: 5, msgs: [frame], next: 8 };
  }
  async position(_ch: ChannelName) {
    return { ep: 'e1', seq: 9, first: 5 };
  }
}

const get = (path: string, query = '', authorization = '') => ({ method: 'get', path, query, authorization });

describe('ServerApi', () => {
  it('serves position and decoded history pages, passing the parameters on', async () => {
    const h = new FakeHistory();
    const api = new ServerApi(h);
    expect(await api.handle(get('/v1/channels/chat%3Aa/position'))).toEqual({ status: 200, body: { ep: 'e1', seq: 9, first: 5 } });
    const page = await api.handle(get('/v1/channels/orders%2Feu/history', 'dir=back&from=9&limit=2'));
    expect(page.status).toBe(200);
    expect(h.reads[0]).toEqual({ ch: 'orders/eu', dir: 'back', from: 9, limit: 2 });
    expect(JSON.parse(toJson(page.body))).toEqual({ ep: 'e1', seq: 9, first: 5, next: 8, messages: [{ t: 103, ch: 'orders/eu', seq: 9, ep: 'e1', ts: 1, data: 'AQI=' }] });
  });

  it('answers bad input, refusals and a missing key with the right status', async () => {
    const api = new ServerApi(new FakeHistory());
    expect((await api.handle(get('/v1/channels/a.b/position'))).status).toBe(400);
    expect((await api.handle(get('/v1/channels/%E0%A4%A/position'))).status).toBe(400);
    expect((await api.handle(get('/v1/channels/c/history', 'limit=0'))).status).toBe(400);
    expect((await api.handle(get('/v1/channels/c/history', 'from=-1'))).status).toBe(400);
    expect((await api.handle(get('/v1/channels/c/other'))).status).toBe(404);
    expect((await api.handle({ ...get('/v1/channels/c/position'), method: 'post' })).status).toBe(405);
    expect(await api.handle(get('/v1/channels/c/history', 'ep=old&from=2'))).toEqual({ status: 409, body: { code: 112, error: 'gone', ep: 'e1', seq: 9, first: 5 } });
    const keyed = new ServerApi(new FakeHistory(), 'k3y');
    expect((await keyed.handle(get('/v1/channels/c/position'))).status).toBe(401);
    expect((await keyed.handle(get('/v1/channels/c/position', '', 'Bearer nope'))).status).toBe(401);
    expect((await keyed.handle(get('/v1/channels/c/position', '', 'Bearer k3y'))).status).toBe(200);
  });
});

describe('ServerApi publishing', () => {
  const publisher = { ingest: { publish: async () => ({ duplicate: false }), ephemeral: () => undefined }, maxPublishBytes: 1024 };
  const post = (path: string, body: string, authorization = '') => ({ method: 'post', path, query: '', authorization, body: new TextEncoder().encode(body) });

  it('is off without an API key, even with a publisher', async () => {
    const open = new ServerApi(new FakeHistory(), undefined, undefined, publisher);
    expect((await open.handle(post('/v1/channels/news/messages', '{"data":1}'))).status).toBe(403);
  });

  it('publishes with the key and answers 201', async () => {
    const keyed = new ServerApi(new FakeHistory(), 'k3y', undefined, publisher);
    expect(await keyed.handle(post('/v1/channels/news/messages', '{"data":1}', 'Bearer k3y'))).toEqual({ status: 201, body: { ok: true, dup: false } });
    expect((await keyed.handle({ ...get('/v1/channels/news/messages'), authorization: 'Bearer k3y' })).status).toBe(405);
  });
});

describe('ServerApi presence (GET /v1/channels/<ch>/presence)', () => {
  const jwt = (user: string) => `h.${user}.s`;
  const presence = {
    port: {
      members: async (ch: ChannelName) => {
        if (ch === 'chat:down') throw new PresenceQueryError(ErrorCode.Unavailable, 'the presence service is unavailable; retry');
        return { count: 1, members: [{ user: 'bob', client: 'c1' }] };
      },
    },
    authenticate: (async (token: string | undefined) =>
      token === 'h.alice.s'
        ? { ok: true, identity: { user: 'alice', may: (_a: string, ch: string) => ch.startsWith('chat:') } }
        : { ok: false, code: 4501, reason: 'bad token' }) as Authenticate,
  };
  const api = new ServerApi(new FakeHistory(), 'k3y', undefined, undefined, undefined, presence);

  it('answers with the API key or a user token that may subscribe to the channel', async () => {
    const body = { ch: 'chat:a', count: 1, members: [{ user: 'bob', client: 'c1' }] };
    expect(await api.handle(get('/v1/channels/chat%3Aa/presence', '', 'Bearer k3y'))).toEqual({ status: 200, body });
    expect(await api.handle(get('/v1/channels/chat%3Aa/presence', '', `Bearer ${jwt('alice')}`))).toEqual({ status: 200, body });
  });

  it('refuses a forbidden channel (403), a bad token (401), no key (401), presence down (503)', async () => {
    expect(await api.handle(get('/v1/channels/secret/presence', '', `Bearer ${jwt('alice')}`))).toMatchObject({ status: 403, body: { code: ErrorCode.PermissionDenied, ch: 'secret' } });
    expect((await api.handle(get('/v1/channels/chat%3Aa/presence', '', `Bearer ${jwt('mallory')}`))).status).toBe(401);
    expect((await api.handle(get('/v1/channels/chat%3Aa/presence'))).status).toBe(401);
    expect(await api.handle(get('/v1/channels/chat%3Adown/presence', '', 'Bearer k3y'))).toMatchObject({ status: 503, body: { code: ErrorCode.Unavailable } });
    expect((await new ServerApi(new FakeHistory()).handle(get('/v1/channels/chat%3Aa/presence'))).status).toBe(503);
  });
});

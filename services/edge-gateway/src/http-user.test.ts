// Publishing over HTTP with a user's token (SSE clients): the WebSocket publish's admission
// (permission, size, per-user and per-channel rates), `from` from the token, ephemeral
// messages, and how ServerApi tells a user token from the API key.
import { describe, expect, it } from 'vitest';
import { CloseCode, type ChannelName } from '@cascade/protocol';
import { ServerApi, type HistoryApiPort } from './http-api.js';
import { UserPublisher, looksLikeJwt } from './http-user.js';
import { KeyedBuckets } from './rate-limit.js';
import { FakeIngest } from './session-fakes.js';
import type { Authenticate } from './session.js';

const ch = (s: string) => s as ChannelName;
const json = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const TOKEN = 'aaa.bbb.ccc';

const authenticate: Authenticate = async (token) => {
  if (token === 'old.old.old') return { ok: false, code: CloseCode.TokenExpired, reason: 'token expired' };
  if (token !== TOKEN && token !== 'bob.bob.bob') return { ok: false, code: CloseCode.Unauthorized, reason: 'token signature does not verify' };
  const user = token === TOKEN ? 'alice' : 'bob';
  return { ok: true, identity: { user, may: (action, c) => action === 'subscribe' || c.startsWith('chat:'), expiresAt: undefined } };
};

function setup(o: { burst?: number; channelBurst?: number; max?: number } = {}) {
  const ingest = new FakeIngest();
  const users = new UserPublisher({
    authenticate,
    ingest,
    maxPublishBytes: o.max ?? 64,
    userRates: new KeyedBuckets({ perSecond: 0.001, burst: o.burst ?? 100 }, 10, () => 0),
    channelRates: new KeyedBuckets({ perSecond: 0.001, burst: o.channelBurst ?? 100 }, 10, () => 0),
    now: () => 42,
  });
  return { ingest, users };
}

describe('UserPublisher', () => {
  it('publishes as the token’s user, with the idempotency key', async () => {
    const { ingest, users } = setup();
    expect(await users.handle('messages', ch('chat:a'), TOKEN, json({ data: { t: 'hi' }, key: 'k1' }))).toEqual({ status: 201, body: { ok: true, dup: false } });
    expect(ingest.published).toEqual([{ ch: 'chat:a', data: { t: 'hi' }, meta: { from: 'alice', key: 'k1' } }]);
    ingest.result = async () => ({ duplicate: true });
    expect(await users.handle('messages', ch('chat:a'), TOKEN, json({ data: 1, key: 'k1' }))).toEqual({ status: 200, body: { ok: true, dup: true } });
  });

  it('sends ephemeral messages live only, as the user', async () => {
    const { ingest, users } = setup();
    expect(await users.handle('ephemeral', ch('chat:a'), TOKEN, json({ data: { typing: true } }))).toEqual({ status: 202, body: { ok: true } });
    expect(ingest.ephemerals).toEqual([{ ch: 'chat:a', frame: { t: 104, ch: 'chat:a', ts: 42, from: 'alice', data: { typing: true } } }]);
    expect(ingest.published).toEqual([]);
    expect((await users.handle('ephemeral', ch('chat:a'), TOKEN, json({ data: 1, key: 'k' }))).status).toBe(400);
  });

  it('refuses bad tokens, a sender, no permission, too large data, and bad bodies', async () => {
    const { ingest, users } = setup();
    expect(await users.handle('messages', ch('chat:a'), 'x.y.z', json({ data: 1 }))).toMatchObject({ status: 401, body: { code: 4501 } });
    expect(await users.handle('messages', ch('chat:a'), 'old.old.old', json({ data: 1 }))).toMatchObject({ status: 401, body: { code: 4006 } });
    expect(await users.handle('messages', ch('chat:a'), TOKEN, json({ data: 1, from: 'mallory' }))).toMatchObject({ status: 400 });
    expect(await users.handle('messages', ch('news'), TOKEN, json({ data: 1 }))).toMatchObject({ status: 403, body: { code: 104 } });
    expect(await users.handle('ephemeral', ch('news'), TOKEN, json({ data: 1 }))).toMatchObject({ status: 403, body: { code: 104 } });
    expect(await users.handle('messages', ch('chat:a'), TOKEN, json({ data: 'x'.repeat(100) }))).toMatchObject({ status: 413, body: { code: 109 } });
    expect(await users.handle('messages', ch('chat:a'), TOKEN, json('{"data":'))).toMatchObject({ status: 400, body: { code: 101 } });
    expect(ingest.published).toEqual([]);
  });

  it('limits the rate per user (shared by durable and ephemeral) and per channel', async () => {
    const { users } = setup({ burst: 2 });
    expect((await users.handle('messages', ch('chat:a'), TOKEN, json({ data: 1 }))).status).toBe(201);
    expect((await users.handle('ephemeral', ch('chat:b'), TOKEN, json({ data: 1 }))).status).toBe(202);
    expect(await users.handle('messages', ch('chat:c'), TOKEN, json({ data: 1 }))).toMatchObject({ status: 429, body: { code: 108 } });
    // Another user has its own bucket.
    expect((await users.handle('messages', ch('chat:a'), 'bob.bob.bob', json({ data: 1 }))).status).toBe(201);
    const perChannel = setup({ channelBurst: 1 }).users;
    expect((await perChannel.handle('messages', ch('chat:a'), TOKEN, json({ data: 1 }))).status).toBe(201);
    expect(await perChannel.handle('messages', ch('chat:a'), 'bob.bob.bob', json({ data: 1 }))).toMatchObject({ status: 429, body: { code: 108 } });
  });

  it('tells a JWT from other bearer credentials', () => {
    expect(looksLikeJwt('eyJh.eyJz.sig-_')).toBe(true);
    expect(looksLikeJwt('test-api-key-0123456789')).toBe(false);
    expect(looksLikeJwt('a.b')).toBe(false);
  });
});

describe('ServerApi with user tokens', () => {
  const history: HistoryApiPort = {
    read: async () => ({ ep: '', seq: 0, first: 0, msgs: [] }),
    position: async () => ({ ep: '', seq: 0, first: 0 }),
  };
  const post = (path: string, body: unknown, authorization = '') => ({ method: 'post', path, query: '', authorization, body: json(body) });

  it('routes a user token to the user path, with or without an API key, and the key to the backend path', async () => {
    const { ingest, users } = setup();
    const backend = { ingest, maxPublishBytes: 1024 };
    for (const apiKey of [undefined, 'k3y']) {
      const api = new ServerApi(history, apiKey, undefined, backend, users);
      expect((await api.handle(post('/v1/channels/chat%3Aa/messages', { data: 1 }, `Bearer ${TOKEN}`))).status).toBe(201);
      expect((await api.handle(post('/v1/channels/chat%3Aa/ephemeral', { data: 1 }, `Bearer ${TOKEN}`))).status).toBe(202);
      expect((await api.handle(post('/v1/channels/bad.name/messages', { data: 1 }, `Bearer ${TOKEN}`))).status).toBe(400);
      // Ephemeral needs a user token; without any credential the backend path answers as before.
      expect(await api.handle(post('/v1/channels/chat%3Aa/ephemeral', { data: 1 }, apiKey && `Bearer ${apiKey}`))).toMatchObject({ status: 401 });
    }
    expect(ingest.published.map((p) => p.meta.from)).toEqual(['alice', 'alice']);
    const keyed = new ServerApi(history, 'k3y', undefined, backend, users);
    expect(await keyed.handle(post('/v1/channels/news/messages', { data: 1, from: 'billing' }, 'Bearer k3y'))).toEqual({ status: 201, body: { ok: true, dup: false } });
    expect(ingest.published.at(-1)?.meta.from).toBe('billing');
    expect((await keyed.handle(post('/v1/channels/news/messages', { data: 1 }, 'Bearer wrong'))).status).toBe(401);
    // A JWT never opens the backend's other endpoints.
    expect((await keyed.handle({ method: 'get', path: '/v1/channels/news/position', query: '', authorization: `Bearer ${TOKEN}` })).status).toBe(401);
    const open = new ServerApi(history, undefined, undefined, backend, users);
    expect((await open.handle(post('/v1/channels/news/messages', { data: 1 }))).status).toBe(403);
  });
});

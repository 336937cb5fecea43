// "Who is here now" end to end (docs/protocol.md section 5.8, docs/presence.md): real edges
// report their connections to the presence service; a WebSocket `members` request (t:8) and
// `GET /v1/channels/<ch>/presence` list a channel's members, for a channel the asker may
// subscribe to; with the presence service stopped the answer is a clear Unavailable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, hs256Token, startCascade, startNatsServer, TestWsClient, type CascadeSystem, type NatsServerFixture } from '@cascade/testing';

const SECRET = 'presence-members-test-secret-0123456789';
const KEY = 'presence-members-test-key';
let nats: NatsServerFixture;
let system: CascadeSystem;
const open: TestWsClient[] = [];
let nextId = 1;

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({
    natsUrl: nats.url,
    edges: 2,
    services: ['fan-out-worker', 'history', 'presence'],
    env: { EDGE_JWT_HS256_SECRET: SECRET, EDGE_API_KEY: KEY, EDGE_HISTORY_TIMEOUT: '1s', PRESENCE_BATCH_INTERVAL: '200ms' },
  });
}, 90_000);

afterAll(async () => {
  for (const c of open) await c.close().catch(() => undefined);
  await system?.stop();
  await nats?.stop();
});

const token = (sub: string, subs: string[]) => hs256Token(SECRET, { subs, sub });

async function member(url: string, user: string, ch: string): Promise<TestWsClient> {
  const c = await TestWsClient.connect(url);
  open.push(c);
  c.send({ t: 1, token: await token(user, ['room:*']) });
  await c.next((f) => f.t === 101);
  c.send({ t: 2, id: 1, ch });
  await c.next((f) => f.id === 1);
  return c;
}

async function ask(c: TestWsClient, ch: string): Promise<any> {
  const id = nextId++;
  c.send({ t: 8, id, ch });
  return c.next((f) => f.id === id, 10_000);
}

const users = (r: { members?: Array<{ user: string }> }) => (r.members ?? []).map((m) => m.user).sort();

describe('members: who is present in a channel now', () => {
  it('lists the members after two clients joined, over WebSocket and HTTP; refuses forbidden channels', { timeout: 60_000 }, async () => {
    const [e1, e2] = system.edges;
    const ch = 'room:lobby';
    const alice = await member(e1!.url, 'alice', ch);
    await member(e2!.url, 'bob', ch);
    // A late joiner asks before subscribing: it may subscribe, so it may ask.
    const carol = await TestWsClient.connect(e2!.url);
    open.push(carol);
    carol.send({ t: 1, token: await token('carol', ['room:*']) });
    await carol.next((f) => f.t === 101);
    const r = await eventually('alice and bob listed', () => ask(carol, ch), (a) => a.t === 102 && a.count === 2);
    expect(r).toMatchObject({ t: 102, count: 2 });
    expect(users(r)).toEqual(['alice', 'bob']);
    expect(r.members.every((m: { client: unknown }) => typeof m.client === 'string')).toBe(true);

    const forbidden = await ask(alice, 'user:bob'); // only bob may subscribe to it
    expect(forbidden).toMatchObject({ t: 106, ch: 'user:bob', code: 104 });

    const base = `http://127.0.0.1:${e1!.port}/v1/channels/${encodeURIComponent(ch)}/presence`;
    const withToken = await fetch(base, { headers: { authorization: `Bearer ${await token('dave', ['room:*'])}` } });
    expect(withToken.status).toBe(200);
    expect(users((await withToken.json()) as { members: Array<{ user: string }> })).toEqual(['alice', 'bob']);
    const withKey = await fetch(base, { headers: { authorization: `Bearer ${KEY}` } });
    expect(((await withKey.json()) as { count: number }).count).toBe(2);
    const refused = await fetch(`http://127.0.0.1:${e1!.port}/v1/channels/user%3Abob/presence`, { headers: { authorization: `Bearer ${await token('eve', ['room:*'])}` } });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 104 });
  });

  it('answers Unavailable (WebSocket 110, HTTP 503) when the presence service is down', { timeout: 60_000 }, async () => {
    const c = await member(system.edges[0]!.url, 'frank', 'room:down');
    for (const p of system.services.get('presence') ?? []) await p.stop();
    const r = await ask(c, 'room:down');
    expect(r).toMatchObject({ t: 106, ch: 'room:down', code: 110, msg: expect.stringMatching(/presence/) });
    const h = await fetch(`http://127.0.0.1:${system.edges[0]!.port}/v1/channels/room%3Adown/presence`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(h.status).toBe(503);
    expect(await h.json()).toMatchObject({ code: 110 });
  });
});

// Authentication, permissions and publish limits end to end: real nats-server, edge and
// fan-out worker processes, real WebSocket clients, tokens minted with jose (HS256).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { headers } from '@nats-io/nats-core';
import { CloseCode, ErrorCode, encodeFrameWithPayload, encodeValue } from '@cascade/protocol';
import { hs256Token, natsFixture, startCascade, TestWsClient, type CascadeSystem, type NatsFixture } from '@cascade/testing';
import { DEV_HS256_SECRET } from './auth-config.js';

const SECRET = 'integration-test-secret-0123456789abcdef';
let nats: NatsFixture;
let system: CascadeSystem;
const clients: TestWsClient[] = [];

beforeAll(async () => {
  nats = await natsFixture();
  system = await startCascade({
    natsUrl: nats.url,
    edges: 1,
    services: ['fan-out-worker'],
    env: {
      EDGE_JWT_HS256_SECRET: SECRET,
      EDGE_JWT_CLOCK_TOLERANCE: '0s',
      EDGE_ANONYMOUS: 'off',
      EDGE_NAMESPACES: '{"public":["subscribe"]}',
      EDGE_MAX_PUBLISH_BYTES: '1KiB',
      EDGE_PUBLISH_RATE: '5',
      EDGE_PUBLISH_BURST: '5',
      EDGE_CHANNEL_PUBLISH_RATE: '1',
      EDGE_CHANNEL_PUBLISH_BURST: '8',
    },
  });
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await system?.stop();
  await nats?.stop();
});

const token = (claims: Record<string, unknown>, o: { secret?: string; expSeconds?: number } = {}) =>
  hs256Token(o.secret ?? SECRET, claims, o);

async function open(): Promise<TestWsClient> {
  const c = await TestWsClient.connect(system.edges[0]!.url);
  clients.push(c);
  return c;
}

/** Connects with a token and returns the client and its connected frame. */
async function signedIn(claims: Record<string, unknown>, expSeconds?: number): Promise<{ c: TestWsClient; hello: any }> {
  const c = await open();
  c.send({ t: 1, token: await token(claims, expSeconds === undefined ? {} : { expSeconds }) });
  return { c, hello: await c.next((f) => f.t === 101) };
}

async function refusedWith(connect: Record<string, unknown>): Promise<number> {
  const c = await open();
  c.send({ t: 1, ...connect });
  return (await c.waitClosed()).code;
}

describe('authentication', () => {
  it('refuses missing, malformed, forged and expired tokens with their close codes', async () => {
    expect(await refusedWith({})).toBe(CloseCode.Unauthorized);
    expect(await refusedWith({ token: 'not.a.jwt' })).toBe(CloseCode.Unauthorized);
    expect(await refusedWith({ token: await token({ sub: 'alice' }, { secret: DEV_HS256_SECRET }) })).toBe(CloseCode.Unauthorized);
    expect(await refusedWith({ token: await token({ sub: 'alice' }, { expSeconds: -10 }) })).toBe(CloseCode.TokenExpired);
    expect(await refusedWith({ token: await token({ sub: 'bad.user' }) })).toBe(CloseCode.Unauthorized);
  });

  it('names the user from the token, announces its personal channel and expiry', async () => {
    const { hello } = await signedIn({ sub: 'alice' });
    expect(hello).toMatchObject({ t: 101, user: 'alice', personal: 'user:alice', limits: { pub: 1024 } });
    expect(hello.exp).toBeGreaterThan(Date.now());
  });

  it('closes with 4006 when the token expires, and a refresh keeps the connection open', async () => {
    const { c: lapsing } = await signedIn({ sub: 'carol' }, 3);
    const { c: refreshed } = await signedIn({ sub: 'carol' }, 3);
    refreshed.send({ t: 6, id: 1, token: await token({ sub: 'carol' }, { expSeconds: 120 }) });
    expect(await refreshed.next((f) => f.id === 1)).toMatchObject({ t: 102, id: 1 });
    refreshed.send({ t: 6, id: 2, token: await token({ sub: 'mallory' }) });
    expect(await refreshed.next((f) => f.id === 2)).toMatchObject({ t: 106, code: ErrorCode.InvalidToken });
    expect(await lapsing.waitClosed(10_000)).toMatchObject({ code: CloseCode.TokenExpired });
    expect(refreshed.isOpen).toBe(true);
  });
});

describe('subscriptions', () => {
  it("delivers to a user's personal channel and refuses it to everyone else", async () => {
    const { c: alice } = await signedIn({ sub: 'alice2' });
    const { c: mallory } = await signedIn({ sub: 'mallory', subs: ['*', 'user:*'] });
    mallory.send({ t: 2, id: 1, ch: 'user:alice2' });
    expect(await mallory.next((f) => f.id === 1)).toMatchObject({ t: 106, code: ErrorCode.PermissionDenied, ch: 'user:alice2' });
    // A backend-like identity allowed to write into inboxes.
    const { c: notifier } = await signedIn({ sub: 'notifier', pubs: ['user:*'] });
    notifier.send({ t: 4, id: 1, ch: 'user:alice2', data: { note: 'hi' } });
    expect(await notifier.next((f) => f.id === 1)).toEqual({ t: 102, id: 1 });
    expect(await alice.next((f) => f.t === 103)).toMatchObject({ ch: 'user:alice2', from: 'notifier', data: { note: 'hi' } });
    mallory.send({ t: 4, id: 2, ch: 'user:alice2', data: 'spam' });
    expect(await mallory.next((f) => f.id === 2)).toMatchObject({ t: 106, code: ErrorCode.PermissionDenied });
  });

  // Personal channels are sent to their holders directly, not through a uWS topic
  // (direct-channels.ts): every device of the user gets each message, `echo: false` skips the
  // publishing one, and a device that left does not stop the others.
  it("reaches every connection of the user, skips the publisher with echo: false, and survives one leaving", async () => {
    const { c: phone } = await signedIn({ sub: 'erin', pubs: ['user:erin'] });
    const { c: laptop } = await signedIn({ sub: 'erin' });
    phone.send({ t: 4, id: 1, ch: 'user:erin', data: 'one', echo: false });
    expect(await phone.next((f) => f.id === 1)).toEqual({ t: 102, id: 1 });
    const one = await laptop.next((f) => f.t === 103);
    expect(one).toMatchObject({ ch: 'user:erin', from: 'erin', data: 'one' });
    const skipped = await phone.next((f) => f.t === 103);
    expect(skipped).toMatchObject({ ch: 'user:erin', seq: one.seq, skip: true });
    expect(skipped.data).toBeUndefined();

    const { c: notifier } = await signedIn({ sub: 'notifier2', pubs: ['user:*'] });
    await phone.close();
    notifier.send({ t: 4, id: 1, ch: 'user:erin', data: 'two' });
    expect(await notifier.next((f) => f.id === 1)).toEqual({ t: 102, id: 1 });
    expect(await laptop.next((f) => f.t === 103)).toMatchObject({ seq: one.seq + 1, data: 'two' });
    const { c: tablet } = await signedIn({ sub: 'erin' });
    notifier.send({ t: 4, id: 2, ch: 'user:erin', data: 'three' });
    expect(await notifier.next((f) => f.id === 2)).toEqual({ t: 102, id: 2 });
    for (const device of [laptop, tablet]) expect(await device.next((f) => f.t === 103)).toMatchObject({ seq: one.seq + 2, data: 'three' });
  });

  it('refuses forbidden channels, and wildcard or malformed names', async () => {
    const { c } = await signedIn({ sub: 'dave', subs: ['chat:*'] });
    c.send({ t: 2, id: 1, ch: 'chat:room' });
    expect(await c.next((f) => f.id === 1)).toMatchObject({ t: 102, id: 1 });
    c.send({ t: 2, id: 2, ch: 'public:news' });
    expect(await c.next((f) => f.id === 2)).toMatchObject({ t: 102, id: 2 });
    c.send({ t: 2, id: 3, ch: 'secret:plans' });
    expect(await c.next((f) => f.id === 3)).toMatchObject({ t: 106, code: ErrorCode.PermissionDenied });
    let id = 10;
    for (const ch of ['chat.*', 'chat:>', '>', '*', 'chat:a b', 'chat:$x', '', 'x'.repeat(129)]) {
      c.send({ t: 2, id: ++id, ch });
      expect(await c.next((f) => f.id === id), ch).toMatchObject({ t: 106, code: ErrorCode.InvalidChannel });
    }
  });
});

describe('publish', () => {
  it('refuses channels the token does not allow, and sets the sender from the token', async () => {
    const { c } = await signedIn({ sub: 'erin', subs: ['room:*'], pubs: ['room:a'] });
    c.send({ t: 2, id: 1, ch: 'room:a' });
    await c.next((f) => f.id === 1);
    c.send({ t: 4, id: 2, ch: 'room:b', data: 'no' });
    expect(await c.next((f) => f.id === 2)).toMatchObject({ t: 106, code: ErrorCode.PermissionDenied });
    c.send({ t: 5, ch: 'room:b', data: 'typing' });
    expect(await c.next((f) => f.t === 106 && f.id === undefined)).toMatchObject({ code: ErrorCode.PermissionDenied, ch: 'room:b' });
    c.send({ t: 4, id: 3, ch: 'room:a', data: 'yes', from: 'mallory' });
    expect(await c.next((f) => f.id === 3)).toEqual({ t: 102, id: 3 });
    expect(await c.next((f) => f.t === 103)).toMatchObject({ ch: 'room:a', from: 'erin', data: 'yes' });
  });

  it('refuses payloads over EDGE_MAX_PUBLISH_BYTES with 109 and keeps the connection', async () => {
    const { c } = await signedIn({ sub: 'frank', pubs: ['big:*'] });
    c.send({ t: 4, id: 1, ch: 'big:x', data: 'x'.repeat(2000) });
    expect(await c.next((f) => f.id === 1)).toMatchObject({ t: 106, code: ErrorCode.PayloadTooLarge });
    c.send({ t: 4, id: 2, ch: 'big:x', data: 'x'.repeat(500) });
    expect(await c.next((f) => f.id === 2)).toEqual({ t: 102, id: 2 });
  });

  it('rate-limits per connection and per channel with 108', async () => {
    const { c: fast } = await signedIn({ sub: 'gina', pubs: ['rate:*'] });
    for (let id = 1; id <= 8; id++) fast.send({ t: 4, id, ch: 'rate:one', data: id });
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => fast.next((f) => f.id === i + 1)));
    const limited = answers.filter((f) => f.code === ErrorCode.RateLimited).length;
    // Burst 5 at 5/s: a few may refill while the frames arrive, but not all 8 pass.
    expect(limited).toBeGreaterThanOrEqual(1);
    expect(answers.filter((f) => f.t === 102).length).toBeGreaterThanOrEqual(5);

    // Channel burst 8 at 1/s, shared by everyone on this edge: two connections (5 each) exceed it.
    const { c: a } = await signedIn({ sub: 'hank', pubs: ['rate:*'] });
    const { c: b } = await signedIn({ sub: 'ivan', pubs: ['rate:*'] });
    for (let id = 1; id <= 5; id++) a.send({ t: 4, id, ch: 'rate:two', data: id });
    const first = await Promise.all(Array.from({ length: 5 }, (_, i) => a.next((f) => f.id === i + 1)));
    expect(first.every((f) => f.t === 102)).toBe(true);
    for (let id = 1; id <= 5; id++) b.send({ t: 4, id, ch: 'rate:two', data: id });
    const second = await Promise.all(Array.from({ length: 5 }, (_, i) => b.next((f) => f.id === i + 1)));
    expect(second.filter((f) => f.code === ErrorCode.RateLimited && /channel/.test(f.msg)).length).toBeGreaterThanOrEqual(1);
  });
});

describe('exclude sender (echo: false)', () => {
  let nc: NatsConnection;
  afterAll(async () => {
    await nc?.close();
  });

  it('delivers a live frame marked Rt-Exclude-Client to everyone but that connection, which gets a skip notice', async () => {
    // Published straight on the live subject, as the fan-out worker does, to test the edge alone.
    nc = await connect({ servers: nats.url });
    const { c: alice, hello } = await signedIn({ sub: 'alice3', subs: ['echo:*'] });
    const { c: bob } = await signedIn({ sub: 'bob3', subs: ['echo:*'] });
    for (const c of [alice, bob]) {
      c.send({ t: 2, id: 1, ch: 'echo:x' });
      await c.next((f) => f.id === 1);
    }
    const frame = (seq: number) => encodeFrameWithPayload({ t: 103, ch: 'echo:x', seq, ep: 'e1', ts: Date.now(), from: 'alice3', key: `k${seq}` }, encodeValue({ n: seq }));
    const h = headers();
    h.set('Rt-Exclude-Client', hello.client);
    nc.publish(`${system.prefix}.live.echo:x`, frame(1), { headers: h });
    nc.publish(`${system.prefix}.live.echo:x`, frame(2));
    expect(await bob.next((f) => f.t === 103 && f.seq === 1)).toMatchObject({ key: 'k1', data: { n: 1 } });
    const skip = await alice.next((f) => f.t === 103 && f.seq === 1);
    expect(skip).toMatchObject({ ch: 'echo:x', seq: 1, ep: 'e1', key: 'k1', skip: true });
    expect(skip.data).toBeUndefined();
    for (const c of [alice, bob]) expect(await c.next((f) => f.t === 103 && f.seq === 2)).toMatchObject({ data: { n: 2 } });
  });

  it('leaves the publisher out end to end through the fan-out worker, with a skip notice in its place', async () => {
    const { c: alice } = await signedIn({ sub: 'alice5', subs: ['echo:*'], pubs: ['echo:*'] });
    const { c: bob } = await signedIn({ sub: 'bob5', subs: ['echo:*'] });
    for (const c of [alice, bob]) {
      c.send({ t: 2, id: 1, ch: 'echo:z' });
      await c.next((f) => f.id === 1);
    }
    alice.send({ t: 4, id: 2, ch: 'echo:z', data: 'quiet', key: 'q1', echo: false });
    alice.send({ t: 4, id: 3, ch: 'echo:z', data: 'loud', key: 'q2' });
    const b1 = await bob.next((f) => f.t === 103, 10_000);
    const b2 = await bob.next((f) => f.t === 103, 10_000);
    expect([b1.data, b2.data]).toEqual(['quiet', 'loud']);
    const a1 = await alice.next((f) => f.t === 103, 10_000);
    const a2 = await alice.next((f) => f.t === 103, 10_000);
    // Alice's sequence tracking sees no gap: seq 1 arrives as a skip notice without data.
    expect(a1).toMatchObject({ seq: b1.seq, key: 'q1', skip: true });
    expect(a1.data).toBeUndefined();
    expect(a2).toMatchObject({ seq: b2.seq, data: 'loud' });
  });

  it('passes echo: false on to the ingest message as Rt-Exclude-Client', async () => {
    nc ??= await connect({ servers: nats.url });
    const { c, hello } = await signedIn({ sub: 'alice4', pubs: ['echo:*'] });
    // The worker consumes RT_IN; watch the ingest subject directly with core NATS.
    const sub = nc.subscribe(`${system.prefix}.in.>`, { max: 1 });
    await nc.flush();
    c.send({ t: 4, id: 1, ch: 'echo:y', data: 1, echo: false });
    expect(await c.next((f) => f.id === 1)).toEqual({ t: 102, id: 1 });
    for await (const m of sub) expect(m.headers?.get('Rt-Exclude-Client')).toBe(hello.client);
  });
});

describe('start-up checks', () => {
  it('refuses to start in production with the development secret', async () => {
    await expect(system.startEdge({ NODE_ENV: 'production', EDGE_JWT_HS256_SECRET: DEV_HS256_SECRET, EDGE_ANONYMOUS: 'off' })).rejects.toThrow(
      /EDGE_JWT_HS256_SECRET: the built-in development secret is refused/,
    );
  });
});

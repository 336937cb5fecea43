// The personal channel resumes at connect (docs/protocol.md sections 4.1, 5.1, 6.1), raw
// protocol against a real edge, fan-out worker and history service: `connected.psub` tells
// where `user:<id>` starts; a later connect with `psince` gets `recovered: true` in
// `connected`, then exactly the messages sent to the user while it was away, in order, then
// live ones; a position that cannot be continued gets `recovered: false` and where live
// delivery goes on; a connect without `psince` behaves as before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendPublish, hs256Token, startCascade, startNatsServer, TestWsClient, uniqueName, type CascadeSystem, type NatsServerFixture } from '@cascade/testing';

const SECRET = 'personal-resume-test-secret-0123456789';
const KEY = 'personal-resume-test-key';
let nats: NatsServerFixture;
let system: CascadeSystem;
const open: TestWsClient[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({
    natsUrl: nats.url,
    edges: 1,
    services: ['fan-out-worker', 'history'],
    env: { EDGE_JWT_HS256_SECRET: SECRET, EDGE_API_KEY: KEY },
  });
}, 90_000);

afterAll(async () => {
  for (const c of open) await c.close().catch(() => undefined);
  await system?.stop();
  await nats?.stop();
});

const token = (sub: string) => hs256Token(SECRET, { sub });

/** A backend publish into the user's inbox over HTTP; resolves once stored. */
async function publish(ch: string, data: unknown): Promise<void> {
  expect((await backendPublish({ port: system.edges[0]!.port, apiKey: KEY }, ch, data)).status).toBe(201);
}

/** Waits until history numbered `seq` messages of `ch`, so they cannot arrive live later. */
async function stored(ch: string, seq: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await fetch(`http://127.0.0.1:${system.edges[0]!.port}/v1/channels/${encodeURIComponent(ch)}/position`, { headers: { authorization: `Bearer ${KEY}` } });
    if (((await r.json()) as { seq: number }).seq >= seq) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`${ch} never reached seq ${seq}`);
}

async function connect(frame: Record<string, unknown>): Promise<{ ws: TestWsClient; hello: any }> {
  const ws = await TestWsClient.connect(system.edges[0]!.url);
  open.push(ws);
  ws.send({ t: 1, ...frame });
  const hello = await ws.next((f) => f.t === 101 || f.t === 106, 10_000);
  return { ws, hello };
}

describe('the personal channel resumes at connect', () => {
  it('connected tells the start; psince replays the missed messages in order, once, then live', { timeout: 60_000 }, async () => {
    const user = uniqueName('p');
    const ch = `user:${user}`;
    await publish(ch, 'before');
    await stored(ch, 1);
    const first = await connect({ token: await token(user) });
    expect(first.hello).toMatchObject({ t: 101, personal: ch, psub: { ep: expect.stringMatching(/^[0-9a-f]{12}$/), seq: 1 } });
    const start = { ep: first.hello.psub.ep, seq: first.hello.psub.seq };
    await first.ws.close();

    for (let i = 1; i <= 5; i++) await publish(ch, `away${i}`);
    await stored(ch, 6);

    const back = await connect({ token: await token(user), psince: start });
    expect(back.hello).toMatchObject({ t: 101, personal: ch, psub: { recovered: true } });
    const replayed = [];
    for (let i = 0; i < 5; i++) replayed.push(await back.ws.next((f) => f.t === 103, 10_000));
    expect(replayed.map((m) => [m.seq, m.data])).toEqual([1, 2, 3, 4, 5].map((i) => [1 + i, `away${i}`]));
    await publish(ch, 'live');
    const live = await back.ws.next((f) => f.t === 103, 10_000);
    expect([live.seq, live.data]).toEqual([7, 'live']);
    // Subscribed like any channel: the subscribe is refused as a duplicate, unsubscribe works.
    back.ws.send({ t: 2, id: 1, ch });
    expect(await back.ws.next((f) => f.id === 1)).toMatchObject({ t: 106, code: 105 });
    back.ws.send({ t: 3, id: 2, ch });
    expect(await back.ws.next((f) => f.id === 2)).toEqual({ t: 102, id: 2 });
  });

  it('a psince that cannot be continued gets recovered false with where live delivery goes on', { timeout: 60_000 }, async () => {
    const user = uniqueName('p');
    const ch = `user:${user}`;
    for (let i = 1; i <= 2; i++) await publish(ch, i);
    await stored(ch, 2);
    const c = await connect({ token: await token(user), psince: { ep: 'aaaaaaaaaaaa', seq: 1 } });
    expect(c.hello).toMatchObject({ t: 101, psub: { recovered: false, ep: expect.stringMatching(/^[0-9a-f]{12}$/), seq: 2 } });
    await publish(ch, 'next');
    expect(await c.ws.next((f) => f.t === 103, 10_000)).toMatchObject({ seq: 3, data: 'next' });
  });

  it('psince from an empty start (BEFORE_FIRST) gets everything sent since; a malformed one is a 101', { timeout: 60_000 }, async () => {
    const user = uniqueName('p');
    const ch = `user:${user}`;
    const first = await connect({ token: await token(user) });
    expect(first.hello.psub).toEqual({ ep: '', seq: 0 });
    await first.ws.close();
    for (let i = 1; i <= 3; i++) await publish(ch, i);
    await stored(ch, 3);
    const back = await connect({ token: await token(user), psince: first.hello.psub });
    expect(back.hello.psub).toEqual({ recovered: true });
    const got = [];
    for (let i = 0; i < 3; i++) got.push((await back.ws.next((f) => f.t === 103, 10_000)).seq);
    expect(got).toEqual([1, 2, 3]);

    const bad = await connect({ token: await token(user), psince: { ep: 'e', seq: -1 } });
    expect(bad.hello).toMatchObject({ t: 106, code: 101 });
  });
});

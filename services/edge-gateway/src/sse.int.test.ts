// Server-sent events end to end (docs/protocol.md section 18): a real edge, fan-out worker,
// history and presence service on a real nats-server; streams read raw over node:http.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventSource } from 'eventsource';
import { encode } from '@msgpack/msgpack';
import { hs256Token, startCascade, startNatsServer, TestWsClient, type CascadeSystem, type NatsServerFixture } from '@cascade/testing';
import { SseTestClient, type SseEventRecord } from './test-fixtures/sse-client.js';

const SECRET = 'sse-integration-test-secret-0123456789';
let nats: NatsServerFixture;
let system: CascadeSystem;
let publisher: TestWsClient;
let nextId = 1;
const open: Array<{ close(): void }> = [];

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({
    natsUrl: nats.url,
    edges: 1,
    env: {
      EDGE_JWT_HS256_SECRET: SECRET,
      EDGE_JWT_CLOCK_TOLERANCE: '0s',
      EDGE_SSE_KEEPALIVE: '300ms',
      EDGE_SSE_RETRY: '1500ms',
      PRESENCE_BATCH_INTERVAL: '200ms',
    },
  });
  publisher = await TestWsClient.connect(system.edges[0]!.url);
  publisher.send({ t: 1 });
  await publisher.next((f) => f.t === 101);
}, 90_000);

afterAll(async () => {
  // uWS warns (on stderr) about every write made outside a corked callback: there must be none.
  expect(system?.edges[0]?.process.output() ?? '').not.toMatch(/corked callback/);
  for (const c of open) c.close();
  await publisher?.close().catch(() => undefined);
  await system?.stop();
  await nats?.stop();
});

const base = () => `http://127.0.0.1:${system.edges[0]!.port}`;

async function sse(query: string, headers: Record<string, string> = {}): Promise<SseTestClient> {
  const c = await SseTestClient.open(`${base()}/v1/sse?${query}`, { headers });
  open.push(c);
  return c;
}

/** Publishes over the WebSocket and waits until it is stored. */
async function publish(ch: string, data: unknown): Promise<void> {
  const id = nextId++;
  publisher.send({ t: 4, id, ch, data });
  const r = await publisher.next((f) => f.id === id, 10_000);
  expect(r.t).toBe(102);
}

const token = (sub: string, o: { expSeconds?: number; subs?: string[] } = {}) =>
  hs256Token(SECRET, { ...(o.subs ? { subs: o.subs } : {}), sub }, o);

const seqs = (events: SseEventRecord[]) => events.map((e) => `${e.json.ch}#${e.json.seq}`);

describe('GET /v1/sse', () => {
  it('streams the channels’ messages in order, each with the position vector as its id', async () => {
    const c = await sse('ch=sse:a&ch=sse:b');
    expect(c.status).toBe(200);
    expect(c.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(c.res.headers['cache-control']).toBe('no-cache, no-transform');
    expect(c.res.headers['x-accel-buffering']).toBe('no');
    const hello = await c.next((e) => e.event === 'connected');
    expect(hello.json).toEqual({ client: expect.any(String), user: expect.stringMatching(/^anon-/) });
    expect(c.retry).toBe(1500);
    // One at a time: channels may sit on different partitions of the fan-out worker, which
    // orders each channel, not the channels among themselves.
    await publish('sse:a', { n: 1 });
    await c.messages(1);
    await publish('sse:b', 'b1');
    await c.messages(2);
    await publish('sse:a', { n: 2 });
    const msgs = await c.messages(3);
    expect(seqs(msgs)).toEqual(['sse:a#1', 'sse:b#1', 'sse:a#2']);
    const ep = msgs[0]!.json.ep as string;
    const epB = msgs[1]!.json.ep as string;
    // Both channels were empty at the start: `:0` until their first message (never an empty entry).
    expect(c.events.find((e) => e.event === 'position')?.id).toBe(':0,:0');
    expect(msgs.map((m) => m.id)).toEqual([`${ep}:1,:0`, `${ep}:1,${epB}:1`, `${ep}:2,${epB}:1`]);
    expect(msgs[0]!.json).toEqual({ ch: 'sse:a', seq: 1, ep, ts: expect.any(Number), from: expect.stringMatching(/^anon-/), data: { n: 1 } });
    expect(msgs[1]!.json.data).toBe('b1');
  });

  it('delivers msgpack values as JSON: big integers as strings, binary as base64, ephemeral events', async () => {
    const c = await sse('ch=sse:json');
    await c.next((e) => e.event === 'connected');
    // Encoded here (the test client's encoder refuses bigint): int64 on the wire.
    publisher.sendRaw(encode({ t: 4, id: 9999, ch: 'sse:json', data: { big: 2n ** 60n, small: 7n, bin: new Uint8Array([1, 2, 255]), f: 1.5, nested: [null, true, { k: 'v' }] } }, { useBigInt64: true }));
    expect((await publisher.next((f) => f.id === 9999)).t).toBe(102);
    const [m] = await c.messages(1);
    expect(m!.json.data).toEqual({ big: '1152921504606846976', small: 7, bin: 'AQL/', f: 1.5, nested: [null, true, { k: 'v' }] });
    publisher.send({ t: 5, ch: 'sse:json', data: { typing: true } });
    const e = await c.next((x) => x.event === 'ephemeral');
    expect(e.id).toBeUndefined();
    expect(e.json).toEqual({ ch: 'sse:json', ts: expect.any(Number), from: expect.stringMatching(/^anon-/), data: { typing: true } });
  });

  it('resumes with Last-Event-ID: exactly the missed messages, then live ones, no gap, no duplicate', async () => {
    const first = await sse('ch=sse:resume&ch=sse:other');
    await first.next((e) => e.event === 'connected');
    await publish('sse:other', 'o1');
    for (let i = 1; i <= 3; i++) await publish('sse:resume', i);
    const got = await first.messages(4);
    const lastId = got[3]!.id!;
    expect(lastId).toMatch(/^[0-9a-f]+:3,[0-9a-f]+:1$/);
    first.close();
    await first.ended;
    for (let i = 4; i <= 6; i++) await publish('sse:resume', i);
    await publish('sse:other', 'o2');
    const again = await sse('ch=sse:resume&ch=sse:other', { 'last-event-id': lastId });
    await again.next((e) => e.event === 'connected');
    await again.messages(4);
    await publish('sse:resume', 7);
    const msgs = await again.messages(5);
    // Per channel in order; the two channels' catch-ups run side by side.
    expect(seqs(msgs.filter((m) => m.json.ch === 'sse:resume'))).toEqual(['sse:resume#4', 'sse:resume#5', 'sse:resume#6', 'sse:resume#7']);
    expect(seqs(msgs.filter((m) => m.json.ch === 'sse:other'))).toEqual(['sse:other#2']);
    expect(msgs[4]!.json.data).toBe(7);
    expect(msgs[4]!.id).toBe(`${msgs[4]!.json.ep}:7,${msgs.find((m) => m.json.ch === 'sse:other')!.json.ep}:2`);
    expect(again.events.some((e) => e.event === 'unrecovered')).toBe(false);
    // Nothing more arrives: no duplicate of a catch-up message from the live side.
    await new Promise((r) => setTimeout(r, 300));
    expect(again.events.filter((e) => e.event === 'message')).toHaveLength(5);
  });

  it('resumes from since= (a new stream) and Last-Event-ID wins over it', async () => {
    const c = await sse('ch=sse:since');
    await c.next((e) => e.event === 'connected');
    for (let i = 1; i <= 4; i++) await publish('sse:since', i);
    const msgs = await c.messages(4);
    const after2 = msgs[1]!.id!;
    const fresh = await sse(`ch=sse:since&since=${encodeURIComponent(after2)}`);
    expect((await fresh.messages(2)).map((m) => m.json.seq)).toEqual([3, 4]);
    const both = await sse(`ch=sse:since&since=${encodeURIComponent(after2)}`, { 'last-event-id': msgs[2]!.id! });
    expect((await both.messages(1)).map((m) => m.json.seq)).toEqual([4]);
  });

  it('says unrecovered for a position that cannot be continued, then streams live', async () => {
    await publish('sse:gone', 'x');
    const c = await sse(`ch=sse:gone&since=${encodeURIComponent('nosuchepoch:5')}`);
    const u = await c.next((e) => e.event === 'unrecovered');
    expect(u.json).toEqual({ ch: 'sse:gone', ep: expect.any(String), seq: 1 });
    await publish('sse:gone', 'y');
    const [m] = await c.messages(1);
    expect(m!.json).toMatchObject({ seq: 2, data: 'y' });
    expect(m!.id).toBe(`${u.json.ep}:2`);
  });

  it('refuses bad parameters with 400 and a registry code', async () => {
    for (const [q, code] of [
      ['', 101],
      ['ch=a.b', 103],
      ['ch=x&ch=x', 101],
      ['ch=x&since=nope', 101],
      ['ch=x&ch=y&since=e:1', 101],
      ['ch=x&presence=yes', 101],
    ] as const) {
      const c = await sse(q);
      expect(c.status, q).toBe(400);
      expect(JSON.parse(c.body), q).toMatchObject({ code, error: expect.any(String) });
    }
    const bad = await sse('ch=x', { 'last-event-id': 'a:b:c' });
    expect(bad.status).toBe(400);
  });

  it('refuses a bad token with 401 and a forbidden channel with 403', async () => {
    const forged = await sse('ch=x&token=not.a.jwt');
    expect(forged.status).toBe(401);
    expect(JSON.parse(forged.body)).toMatchObject({ code: 4501 });
    const expired = await sse(`ch=x&token=${await token('alice', { expSeconds: -10 })}`);
    expect(expired.status).toBe(401);
    expect(JSON.parse(expired.body)).toMatchObject({ code: 4006 });
    const header = await sse('ch=x&token=ignored', { authorization: 'Bearer not.a.jwt' });
    expect(header.status).toBe(401);
    const forbidden = await sse('ch=user:bob');
    expect(forbidden.status).toBe(403);
    expect(JSON.parse(forbidden.body)).toMatchObject({ code: 104 });
    // The owner may read its own personal channel; the Authorization header wins over token=.
    const own = await sse('ch=user:bob&token=garbage', { authorization: `Bearer ${await token('bob')}` });
    expect(own.status).toBe(200);
    expect((await own.next((e) => e.event === 'connected')).json).toMatchObject({ user: 'bob', exp: expect.any(Number) });
  });

  it('sends keep-alive comments', async () => {
    const c = await sse('ch=sse:ka');
    await c.next((e) => e.event === 'connected');
    await vi.waitFor(() => expect(c.comments.filter((x) => x === 'ka').length).toBeGreaterThanOrEqual(2), { timeout: 5000 });
  });

  it('ends the stream with error 4006 when the token expires', async () => {
    const c = await sse(`ch=sse:exp&token=${await token('erin', { expSeconds: 2 })}`);
    const hello = await c.next((e) => e.event === 'connected');
    expect(hello.json.exp).toBeLessThanOrEqual(Date.now() + 2000);
    const err = await c.next((e) => e.event === 'error', 10_000);
    expect(err.json).toMatchObject({ code: 4006, msg: expect.any(String) });
    expect(await c.ended).toBe('end');
  });

  it('makes the SSE client a presence member and delivers presence events with presence=1', async () => {
    const c = await sse(`ch=chat:sse-presence&presence=1&token=${await token('carol')}`);
    await c.next((e) => e.event === 'connected');
    const ws = await TestWsClient.connect(system.edges[0]!.url);
    ws.send({ t: 1, token: await token('dave') });
    await ws.next((f) => f.t === 101);
    ws.send({ t: 2, id: 1, ch: 'chat:sse-presence' });
    await ws.next((f) => f.id === 1);
    const seen = await c.next((e) => e.event === 'presence' && (e.json.join ?? []).some((m: { user: string }) => m.user === 'dave'), 15_000);
    expect(seen.json.ch).toBe('chat:sse-presence');
    expect(seen.id).toBeUndefined();
    // The WebSocket side sees the SSE user as a member (in this or an earlier batch).
    const members = new Set<string>();
    await vi.waitFor(
      async () => {
        for (const f of ws.frames as Array<{ t: number; join?: Array<{ user: string }> }>) for (const m of f.t === 105 ? (f.join ?? []) : []) members.add(m.user);
        expect(members.has('carol')).toBe(true);
      },
      { timeout: 15_000 },
    );
    // Without presence=1 no presence events arrive.
    const quiet = await sse(`ch=chat:sse-presence&token=${await token('frank')}`);
    await quiet.next((e) => e.event === 'connected');
    await new Promise((r) => setTimeout(r, 1000));
    expect(quiet.events.some((e) => e.event === 'presence')).toBe(false);
    await ws.close();
  }, 40_000);

  it('holds the channel’s NATS subscription like a WebSocket and releases it with the last stream', async () => {
    const liveSubs = async (channel: string) => {
      const res = await fetch(`http://127.0.0.1:${nats.monitorPort}/connz?subs=1&limit=1000`);
      const body = (await res.json()) as { connections: Array<{ name?: string; subscriptions_list?: string[] }> };
      return body.connections.filter((x) => x.name?.startsWith('edge-')).flatMap((x) => x.subscriptions_list ?? []).filter((s) => s === `${system.prefix}.live.${channel}`).length;
    };
    expect(await liveSubs('sse:ref')).toBe(0);
    const a = await sse('ch=sse:ref');
    await a.next((e) => e.event === 'connected');
    const b = await sse('ch=sse:ref&ch=sse:ref2');
    await b.next((e) => e.event === 'connected');
    const ws = await TestWsClient.connect(system.edges[0]!.url);
    ws.send({ t: 1 });
    await ws.next((f) => f.t === 101);
    ws.send({ t: 2, id: 1, ch: 'sse:ref' });
    await ws.next((f) => f.id === 1);
    expect(await liveSubs('sse:ref')).toBe(1);
    expect(await liveSubs('sse:ref2')).toBe(1);
    await ws.close();
    a.close();
    await publish('sse:ref', 'still');
    expect((await b.messages(1))[0]!.json.data).toBe('still');
    expect(await liveSubs('sse:ref')).toBe(1);
    b.close();
    await vi.waitFor(async () => expect(await liveSubs('sse:ref')).toBe(0), { timeout: 5000 });
    await vi.waitFor(async () => expect(await liveSubs('sse:ref2')).toBe(0), { timeout: 5000 });
  });

  it('works with an EventSource (eventsource v4), which resumes by itself with Last-Event-ID', async () => {
    const es = new EventSource(`${base()}/v1/sse?ch=sse:es`);
    open.push(es);
    const got: Array<{ data: any; id: string }> = [];
    es.onmessage = (e) => got.push({ data: JSON.parse(e.data as string), id: e.lastEventId });
    await new Promise<void>((resolve, reject) => {
      es.addEventListener('connected', () => resolve());
      es.onerror = () => reject(new Error('EventSource failed'));
    });
    await publish('sse:es', 'one');
    await vi.waitFor(() => expect(got).toHaveLength(1), { timeout: 5000 });
    expect(got[0]!.id).toBe(`${got[0]!.data.ep}:1`);
    es.close();
  });
});

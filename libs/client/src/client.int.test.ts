// The SDK against the real system: nats-server, fan-out worker, history, presence and edges
// as processes (libs/testing). Node 20 has no global WebSocket, so the `ws` package's class
// is passed in, as an application on Node 20 would.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { freePort, startCascade, startNatsServer, uniqueName, type CascadeSystem, type NatsServerFixture } from '@cascade/testing';
import { CascadeClient, type CascadeClientOptions, type Message, type RecoveryImpossible } from './index.js';

const SECRET = 'client-sdk-integration-test-secret-0123456789';

function b64url(s: string | Buffer): string {
  return Buffer.from(s).toString('base64url');
}

/** An HS256 JWT for the edge: the same user across connections makes publish keys dedupe across reconnects. */
function token(sub: string, ttlSec = 3600): string {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify({ sub, exp: Math.floor(Date.now() / 1000) + ttlSec }));
  const sig = createHmac('sha256', SECRET).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** The `ws` class, remembering every socket so a test can cut one like a network failure would. */
const sockets: WebSocket[] = [];
class TrackedWebSocket extends WebSocket {
  constructor(url: string) {
    super(url);
    sockets.push(this);
  }
}

let nats: NatsServerFixture;
let system: CascadeSystem;
const clients: CascadeClient[] = [];

function client(o: Partial<CascadeClientOptions> = {}): CascadeClient {
  const c = new CascadeClient({ url: system.edges[0]!.url, WebSocket: TrackedWebSocket, backoff: { initialMs: 50, maxMs: 500 }, ...o });
  clients.push(c);
  return c;
}

function collect(c: CascadeClient, ch: string) {
  const got: Message[] = [];
  const lost: RecoveryImpossible[] = [];
  const sub = c.subscribe(ch, { onMessage: (m) => got.push(m), onRecoveryImpossible: (i) => lost.push(i) });
  return { sub, got, lost };
}

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({ natsUrl: nats.url, edges: 2, env: { EDGE_JWT_HS256_SECRET: SECRET } });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await system?.stop();
  await nats?.stop();
});

describe('@cascade/client against a running system', () => {
  it('subscribes, publishes with a durable ack, and receives the message with its key, seq and epoch', async () => {
    const ch = `chat:${uniqueName('rt')}`;
    const a = client({ token: token('alice') });
    const b = client({ url: system.edges[1]!.url, token: () => token('bob') });
    await Promise.all([a.connect(), b.connect()]);
    expect(a.info?.user).toBe('alice');
    const { sub, got } = collect(a, ch);
    await sub.ready;
    const r1 = await b.publish(ch, { text: 'one' });
    const r2 = await b.publish(ch, { text: 'two' });
    expect(r1.dup).toBe(false);
    await vi.waitFor(() => expect(got).toHaveLength(2));
    expect(got.map((m) => [m.data, m.from, m.key])).toEqual([
      [{ text: 'one' }, 'bob', r1.key],
      [{ text: 'two' }, 'bob', r2.key],
    ]);
    expect(got[1]!.seq).toBe(got[0]!.seq + 1);
    expect(sub.position).toEqual({ ep: got[1]!.ep, seq: got[1]!.seq });
  });

  it('a publish retried across a dropped connection is stored once, whether the drop came before or after the ack', async () => {
    const ch = `chat:${uniqueName('idem')}`;
    const reader = client();
    await reader.connect();
    const { sub, got } = collect(reader, ch);
    await sub.ready;
    const pub = client({ token: () => token('carol') });
    await pub.connect();

    // Before the ack: the socket is cut right after the frame went out; the SDK resends it
    // with the same key on the next connection.
    const before = pub.publish(ch, { n: 1 });
    sockets.at(-1)!.terminate();
    const r1 = await before;

    // After the ack: the application retries the same key itself after a reconnect.
    const r2 = await pub.publish(ch, { n: 2 });
    sockets.at(-1)!.terminate();
    await vi.waitFor(() => expect(pub.state).toBe('connected'));
    const again = await pub.publish(ch, { n: 2 }, { key: r2.key });
    expect(again).toEqual({ dup: true, key: r2.key });

    // Per-channel order: once the sentinel is in, everything before it is too.
    await pub.publish(ch, { sentinel: true });
    await vi.waitFor(() => expect(got.at(-1)?.data).toEqual({ sentinel: true }));
    expect(got.filter((m) => m.key === r1.key)).toHaveLength(1);
    expect(got.filter((m) => m.key === r2.key)).toHaveLength(1);
    expect(got.map((m) => m.seq)).toEqual([got[0]!.seq, got[0]!.seq + 1, got[0]!.seq + 2]);
  });

  it('after its edge is killed, reconnects to the other edge, resubscribes from its position and keeps the numbering', async () => {
    const ch = `chat:${uniqueName('move')}`;
    const doomed = await system.startEdge();
    const c = client({ url: [doomed.url, system.edges[1]!.url], token: () => token('dave') });
    const resubscribed: boolean[] = [];
    await c.connect();
    const got: Message[] = [];
    const lost: RecoveryImpossible[] = [];
    const sub = c.subscribe(ch, {
      onMessage: (m) => got.push(m),
      onRecoveryImpossible: (i) => lost.push(i),
      onSubscribed: (i) => resubscribed.push(i.first),
    });
    await sub.ready;
    const pub = client({ url: system.edges[1]!.url });
    await pub.connect();
    await pub.publish(ch, { n: 1 });
    await vi.waitFor(() => expect(got).toHaveLength(1));

    await doomed.process.kill();
    // Published while the client is away (or just back: the race does not matter): the
    // resubscribe with `since` replays what it missed, live delivery brings the rest.
    await pub.publish(ch, { n: 2 });
    await vi.waitFor(() => expect(resubscribed).toEqual([true, false]), { timeout: 10_000 });
    expect(c.state).toBe('connected');
    expect(c.info?.user).toBe('dave');
    await pub.publish(ch, { n: 3 });
    await vi.waitFor(() => expect(got).toHaveLength(3));
    expect(got.map((m) => m.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(got.map((m) => [m.ep, m.seq])).toEqual([0, 1, 2].map((i) => [got[0]!.ep, got[0]!.seq + i]));
    expect(lost).toEqual([]);
    expect(sub.position).toEqual({ ep: got[0]!.ep, seq: got[0]!.seq + 2 });
  });

  it('follows the reconnect advice of a draining edge: leaves after the delay and resumes elsewhere without loss', async () => {
    const ch = `chat:${uniqueName('drain')}`;
    const draining = await system.startEdge({ EDGE_DRAIN_WINDOW: '300ms', EDGE_DRAIN_GRACE: '5s' });
    const c = client({ url: [draining.url, system.edges[1]!.url], token: () => token('erin') });
    const reasons: string[] = [];
    c.on('disconnected', (d) => reasons.push(d.reason));
    await c.connect();
    const { sub, got, lost } = collect(c, ch);
    await sub.ready;
    const pub = client({ url: system.edges[1]!.url });
    await pub.connect();
    await pub.publish(ch, { n: 1 });
    await vi.waitFor(() => expect(got).toHaveLength(1));

    const stopped = draining.process.stop('SIGTERM', 15_000);
    await pub.publish(ch, { n: 2 });
    await vi.waitFor(() => expect(reasons).toEqual(['server asked to reconnect: server draining']), { timeout: 10_000 });
    await vi.waitFor(() => expect(c.state).toBe('connected'));
    await pub.publish(ch, { n: 3 });
    await vi.waitFor(() => expect(got).toHaveLength(3));
    expect(got.map((m) => m.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(lost).toEqual([]);
    await stopped;
  });

  it('resumes from a stored position, and says clearly when a position cannot be resumed', async () => {
    const ch = `chat:${uniqueName('since')}`;
    const pub = client();
    await pub.connect();
    const first = collect(pub, ch);
    await first.sub.ready;
    for (const n of [1, 2, 3]) await pub.publish(ch, { n });
    await vi.waitFor(() => expect(first.got).toHaveLength(3));
    const [m1] = first.got;

    const c = client({ url: system.edges[1]!.url });
    await c.connect();
    const got: Message[] = [];
    const sub = c.subscribe(ch, { onMessage: (m) => got.push(m) }, { since: { ep: m1!.ep, seq: m1!.seq } });
    await expect(sub.ready).resolves.toEqual({ resumed: true, first: true });
    await vi.waitFor(() => expect(got.map((m) => m.data)).toEqual([{ n: 2 }, { n: 3 }]));

    const lost: RecoveryImpossible[] = [];
    const other = c.subscribe(`${ch}-x`, { onRecoveryImpossible: (i) => lost.push(i) }, { since: { ep: '000000000000', seq: 5 } });
    await expect(other.ready).resolves.toMatchObject({ resumed: false });
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ channel: `${ch}-x`, reason: 'resume-refused', from: { ep: '000000000000', seq: 5 } });
  });

  it('keeps trying through refused connections (backoff, next URL) and connects when an edge answers', async () => {
    const dead = `ws://127.0.0.1:${await freePort()}/`;
    const c = client({ url: [dead, dead, system.edges[1]!.url] });
    const disconnects: number[] = [];
    c.on('disconnected', (d) => disconnects.push(d.code));
    await c.connect();
    expect(disconnects).toEqual([1006, 1006]);
  });

  it('refreshes a short-lived token on the open connection, which then outlives the first token', async () => {
    const edge = await system.startEdge({ EDGE_JWT_CLOCK_TOLERANCE: '0s' });
    const issued: number[] = [];
    const c = client({
      url: edge.url,
      // The first token lives 3-4 s (exp is in whole seconds), the refreshed ones an hour.
      token: () => {
        issued.push(Date.now());
        return token('frank', issued.length === 1 ? 4 : 3600);
      },
    });
    const drops: number[] = [];
    c.on('disconnected', (d) => drops.push(d.code));
    await c.connect();
    const firstExp = c.info!.exp!;
    expect(firstExp - Date.now()).toBeLessThan(4_500);
    await vi.waitFor(() => expect(c.info?.exp).toBeGreaterThan(firstExp + 60_000), { timeout: 5_000 });
    // Past the first token's expiry: a connection without the refresh would have been closed with 4006.
    await new Promise((r) => setTimeout(r, Math.max(0, firstExp - Date.now()) + 700));
    expect([c.state, drops, issued.length]).toEqual(['connected', [], 2]);
  });

  it('stops reconnecting after a 4500+ close code (a forged token) and says why', async () => {
    const forged = token('mallory').slice(0, -4) + 'AAAA';
    const c = client({ token: forged });
    const opened = sockets.length;
    await expect(c.connect()).rejects.toMatchObject({ code: 4501, codeName: 'Unauthorized', source: 'close' });
    expect(c.state).toBe('failed');
    await new Promise((r) => setTimeout(r, 300));
    expect(sockets.length - opened).toBe(1);
    expect(() => c.subscribe('chat:x', {})).toThrow(expect.objectContaining({ codeName: 'NotConnected' }));
  });
});

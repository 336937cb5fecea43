// First-subscriber refcounting seen from the NATS server itself: however many local
// subscribers a channel has, the edge holds one NATS subscription for it, and none once
// the last one unsubscribes or disconnects.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startCascade, startNatsServer, TestWsClient, type CascadeSystem, type NatsServerFixture } from '@cascade/testing';

let nats: NatsServerFixture;
let system: CascadeSystem;

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({ natsUrl: nats.url, edges: 1, services: ['fan-out-worker'] });
}, 90_000);

afterAll(async () => {
  await system?.stop();
  await nats?.stop();
});

/** Subscriptions the edge's NATS connection holds on `<prefix>.live.<channel>`, per the server. */
async function liveSubscriptions(channel: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${nats.monitorPort}/connz?subs=1&limit=1000`);
  const body = (await res.json()) as { connections: Array<{ name?: string; subscriptions_list?: string[] }> };
  const edges = body.connections.filter((c) => c.name?.startsWith('edge-'));
  expect(edges).toHaveLength(1);
  return (edges[0]!.subscriptions_list ?? []).filter((s) => s === `${system.prefix}.live.${channel}`).length;
}

async function connected(): Promise<TestWsClient> {
  const c = await TestWsClient.connect(system.edges[0]!.url);
  c.send({ t: 1 });
  await c.next((f) => f.t === 101);
  return c;
}

describe('channel refcount', () => {
  it('holds one NATS subscription per channel, released with the last local subscriber', async () => {
    const clients = await Promise.all([connected(), connected(), connected()]);
    expect(await liveSubscriptions('lobby')).toBe(0);
    let id = 1;
    for (const c of clients) {
      c.send({ t: 2, id, ch: 'lobby' });
      await c.next((f) => f.id === id);
      id++;
      expect(await liveSubscriptions('lobby')).toBe(1);
    }
    // A second channel gets its own single subscription.
    clients[0]!.send({ t: 2, id: 50, ch: 'other' });
    await clients[0]!.next((f) => f.id === 50);
    expect(await liveSubscriptions('other')).toBe(1);

    // Unsubscribing two of three keeps the subscription; the third still receives.
    clients[0]!.send({ t: 3, id: 60, ch: 'lobby' });
    await clients[0]!.next((f) => f.id === 60);
    clients[1]!.send({ t: 3, id: 61, ch: 'lobby' });
    await clients[1]!.next((f) => f.id === 61);
    expect(await liveSubscriptions('lobby')).toBe(1);
    clients[0]!.send({ t: 4, id: 70, ch: 'lobby', data: 'still here' });
    expect(await clients[2]!.next((f) => f.t === 103)).toMatchObject({ data: 'still here' });
    expect(clients[1]!.frames.some((f) => (f as { t: number }).t === 103)).toBe(false);

    // The last local subscriber disconnecting (no unsubscribe) removes it.
    await clients[2]!.close();
    await vi.waitFor(async () => expect(await liveSubscriptions('lobby')).toBe(0), { timeout: 5000 });
    // Unsubscribing the only subscriber of 'other' removes that one too.
    clients[0]!.send({ t: 3, id: 80, ch: 'other' });
    await clients[0]!.next((f) => f.id === 80);
    await vi.waitFor(async () => expect(await liveSubscriptions('other')).toBe(0), { timeout: 5000 });

    // Subscribing again after the release opens a fresh subscription that delivers.
    clients[1]!.send({ t: 2, id: 90, ch: 'lobby' });
    await clients[1]!.next((f) => f.id === 90);
    expect(await liveSubscriptions('lobby')).toBe(1);
    clients[0]!.send({ t: 4, id: 91, ch: 'lobby', data: 'back' });
    expect(await clients[1]!.next((f) => f.t === 103)).toMatchObject({ data: 'back' });
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  });

  it('refuses a second subscribe to the same channel on one connection and keeps one subscription', async () => {
    const c = await connected();
    c.send({ t: 2, id: 1, ch: 'dup-sub' });
    c.send({ t: 2, id: 2, ch: 'dup-sub' });
    expect(await c.next((f) => f.id === 2)).toMatchObject({ t: 106, code: 105 });
    expect(await c.next((f) => f.id === 1)).toMatchObject({ t: 102, id: 1 });
    expect(await liveSubscriptions('dup-sub')).toBe(1);
    await c.close();
    await vi.waitFor(async () => expect(await liveSubscriptions('dup-sub')).toBe(0), { timeout: 5000 });
  });

  it('refuses invalid channel names with an error frame and keeps the connection', async () => {
    const c = await connected();
    const bad = ['a.b', '*', '>', 'rt.live.x', 'has space', 'tab\t', 'nul\u0000', 'x'.repeat(129), ''];
    let id = 1;
    for (const ch of bad) {
      c.send({ t: 2, id, ch });
      expect(await c.next((f) => f.id === id)).toMatchObject({ t: 106, id, code: 103 });
      id++;
    }
    c.send({ t: 2, id: 99, ch: 'fine' });
    expect(await c.next((f) => f.id === 99)).toMatchObject({ t: 102, id: 99 });
    const res = await fetch(`http://127.0.0.1:${nats.monitorPort}/connz?subs=1&limit=1000`);
    const body = (await res.json()) as { connections: Array<{ name?: string; subscriptions_list?: string[] }> };
    const subs = body.connections.filter((x) => x.name?.startsWith('edge-')).flatMap((x) => x.subscriptions_list ?? []);
    // Nothing but well-formed live subjects (and the health responder) was ever subscribed.
    for (const s of subs) {
      expect(s).toMatch(new RegExp(`^${system.prefix}\\.(live\\.[A-Za-z0-9_\\-:@=,/~]+|svc\\.edge\\.health|svc\\.edge\\.[A-Za-z0-9_-]+\\.presence-snapshot)$|^_INBOX\\.`));
    }
    await c.close();
  });
});

describe('frame size', () => {
  it('answers a frame over the limit with PayloadTooLarge and keeps the connection', async () => {
    const c = await connected();
    c.send({ t: 4, id: 5, ch: 'big', data: 'x'.repeat(70 * 1024) });
    expect(await c.next((f) => f.t === 106)).toMatchObject({ t: 106, code: 109 });
    c.send({ t: 2, id: 6, ch: 'still-open' });
    expect(await c.next((f) => f.id === 6)).toMatchObject({ t: 102, id: 6 });
    await c.close();
  });
});

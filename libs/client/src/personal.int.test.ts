// The SDK against the real system: a token client subscribed to its personal channel
// (`user:<id>`, which the edge subscribes every token connection to at connect) loses
// nothing sent to it while it is offline. Its connection is cut (a TCP relay refusing
// reconnects), a backend publishes 5 messages into the inbox over HTTP, the relay lets it
// back: exactly those 5 arrive, in order, then a live one. Over WebSocket (the connect frame
// carries `psince`) and over SSE (`user:<id>` is one of the stream's channels).
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { backendPublish, hs256Token, startCascade, startNatsServer, startTcpRelay, uniqueName, type CascadeSystem, type NatsServerFixture, type TcpRelay } from '@cascade/testing';
import { CascadeClient, type EventSourceConstructor, type Message, type RecoveryImpossible } from './index.js';

const SECRET = 'sdk-personal-test-secret-0123456789abc';
const KEY = 'sdk-personal-test-key';
let nats: NatsServerFixture;
let system: CascadeSystem;
let relay: TcpRelay;
const clients: CascadeClient[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({
    natsUrl: nats.url,
    edges: 1,
    services: ['fan-out-worker', 'history'],
    env: { EDGE_JWT_HS256_SECRET: SECRET, EDGE_API_KEY: KEY, EDGE_SSE_RETRY: '200ms' },
  });
  relay = await startTcpRelay({ port: system.edges[0]!.port });
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await relay?.close();
  await system?.stop();
  await nats?.stop();
});

const token = (sub: string) => hs256Token(SECRET, { sub }, { expSeconds: 600 });

async function publish(ch: string, data: unknown): Promise<void> {
  expect((await backendPublish({ port: system.edges[0]!.port, apiKey: KEY }, ch, data)).status).toBe(201);
}

describe('@cascade/client: the personal channel resumes after a disconnect', () => {
  for (const transport of ['websocket', 'sse'] as const) {
    it(`${transport}: exactly the messages sent while offline, in order, then live`, { timeout: 60_000 }, async () => {
      const user = uniqueName('u');
      const ch = `user:${user}`;
      const scheme = transport === 'sse' ? 'http' : 'ws';
      const c = new CascadeClient({
        url: `${scheme}://127.0.0.1:${relay.port}/`,
        transport,
        token: () => token(user),
        WebSocket,
        EventSource: EventSource as EventSourceConstructor,
        backoff: { initialMs: 50, maxMs: 300 },
      });
      clients.push(c);
      const got: Message[] = [];
      const lost: RecoveryImpossible[] = [];
      const errors: unknown[] = [];
      const sub = c.subscribe(ch, { onMessage: (m) => got.push(m), onRecoveryImpossible: (r) => lost.push(r), onError: (e) => errors.push(e) });
      await c.connect();
      await sub.ready;
      await vi.waitFor(() => expect(sub.position).toEqual({ ep: '', seq: 0 }));
      await publish(ch, 'first');
      await vi.waitFor(() => expect(got).toHaveLength(1), { timeout: 10_000 });

      relay.down();
      await vi.waitFor(() => expect(c.state).toBe('reconnecting'), { timeout: 10_000 });
      for (let i = 1; i <= 5; i++) await publish(ch, `away${i}`);
      relay.up();

      await vi.waitFor(() => expect(got).toHaveLength(6), { timeout: 20_000 });
      await publish(ch, 'live');
      await vi.waitFor(() => expect(got).toHaveLength(7), { timeout: 10_000 });
      await new Promise((r) => setTimeout(r, 300));
      expect(got.map((m) => [m.seq, m.data])).toEqual([[1, 'first'], ...[1, 2, 3, 4, 5].map((i) => [1 + i, `away${i}`]), [7, 'live']]);
      expect(lost).toEqual([]);
      expect(errors).toEqual([]);
      expect(c.state).toBe('connected');
      await c.close();
    });
  }

  it('websocket: subscribing to the personal channel after connecting gets what arrived since the connect', { timeout: 60_000 }, async () => {
    const user = uniqueName('u');
    const ch = `user:${user}`;
    const c = new CascadeClient({ url: system.edges[0]!.url, token: await token(user), WebSocket });
    clients.push(c);
    await c.connect();
    expect(c.info?.personal).toBe(ch);
    await publish(ch, 'early');
    await new Promise((r) => setTimeout(r, 300));
    const got: Message[] = [];
    const sub = c.subscribe(ch, { onMessage: (m) => got.push(m) });
    await expect(sub.ready).resolves.toMatchObject({ first: true });
    await publish(ch, 'later');
    await vi.waitFor(() => expect(got.map((m) => m.data)).toEqual(['early', 'later']), { timeout: 10_000 });
    await c.close();
  });
});

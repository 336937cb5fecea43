// Subscription.presence() against the real system, over WebSocket (a `members` request) and
// SSE (GET /v1/channels/<ch>/presence with the token): who is in the channel now, for a client
// that joins after the others; and a clear error when the presence service is stopped.
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { hs256Token, startCascade, startNatsServer, uniqueName, type CascadeSystem, type NatsServerFixture } from '@cascade/testing';
import { CascadeClient, CascadeError, ErrorCode, type EventSourceConstructor } from './index.js';

const SECRET = 'sdk-presence-test-secret-0123456789abcd';
let nats: NatsServerFixture;
let system: CascadeSystem;
const clients: CascadeClient[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({
    natsUrl: nats.url,
    edges: 1,
    services: ['fan-out-worker', 'history', 'presence'],
    env: { EDGE_JWT_HS256_SECRET: SECRET, EDGE_HISTORY_TIMEOUT: '1s', PRESENCE_BATCH_INTERVAL: '200ms' },
  });
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await system?.stop();
  await nats?.stop();
});

function client(user: string, transport: 'websocket' | 'sse'): CascadeClient {
  const token = () => hs256Token(SECRET, { subs: ['room:*'], sub: user }, { expSeconds: 600 });
  const port = system.edges[0]!.port;
  const c = new CascadeClient({ url: `${transport === 'sse' ? 'http' : 'ws'}://127.0.0.1:${port}/`, transport, token, WebSocket, EventSource: EventSource as EventSourceConstructor });
  clients.push(c);
  return c;
}

describe('Subscription.presence()', () => {
  for (const transport of ['websocket', 'sse'] as const) {
    it(`${transport}: lists who is already in the channel`, { timeout: 60_000 }, async () => {
      const ch = `room:${uniqueName(transport)}`;
      for (const u of ['ann', 'ben']) {
        const c = client(`${u}-${transport}`, 'websocket');
        const s = c.subscribe(ch);
        await c.connect();
        await s.ready;
      }
      const late = client(`cat-${transport}`, transport);
      const sub = late.subscribe(ch);
      await late.connect();
      await sub.ready;
      await vi.waitFor(async () => expect((await sub.presence()).count).toBe(3), { timeout: 15_000, interval: 200 });
      const list = await sub.presence();
      expect(list.map((m) => m.user).sort()).toEqual([`ann-${transport}`, `ben-${transport}`, `cat-${transport}`]);
      expect(list.every((m) => typeof m.client === 'string' && m.client.length > 0)).toBe(true);
    });
  }

  it('rejects with Unavailable on both transports when the presence service is down', { timeout: 60_000 }, async () => {
    const ch = `room:${uniqueName('down')}`;
    const ws = client('dan', 'websocket');
    const wsSub = ws.subscribe(ch);
    await ws.connect();
    await wsSub.ready;
    const sse = client('dee', 'sse');
    const sseSub = sse.subscribe(ch);
    await sse.connect();
    await sseSub.ready;
    for (const p of system.services.get('presence') ?? []) await p.stop();
    for (const sub of [wsSub, sseSub]) {
      const err = await sub.presence().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(CascadeError);
      expect((err as CascadeError).code).toBe(ErrorCode.Unavailable);
    }
  });
});

// The SDK against the real system, on both transports: a subscription that has received no
// message yet keeps the start the edge told it (the subscribe reply, or SSE's `event:
// position`), so when its connection drops (a TCP relay cut and refusing reconnects) and
// messages are published meanwhile, it resumes from there and gets exactly those, then live
// ones. For an empty channel and for one that had messages before the subscribe.
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { startCascade, startNatsServer, startTcpRelay, uniqueName, type CascadeSystem, type NatsServerFixture, type TcpRelay } from '@cascade/testing';
import { CascadeClient, type CascadeClientOptions, type EventSourceConstructor, type Message, type RecoveryImpossible } from './index.js';

let nats: NatsServerFixture;
let system: CascadeSystem;
let relay: TcpRelay;
let publisher: CascadeClient;
const clients: CascadeClient[] = [];

function client(o: Partial<CascadeClientOptions> & Pick<CascadeClientOptions, 'url'>): CascadeClient {
  const c = new CascadeClient({ WebSocket, EventSource: EventSource as EventSourceConstructor, backoff: { initialMs: 50, maxMs: 300 }, ...o });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  nats = await startNatsServer();
  // A short `retry:` so the EventSource comes back soon after the relay lets it.
  system = await startCascade({ natsUrl: nats.url, edges: 1, services: ['fan-out-worker', 'history'], env: { EDGE_SSE_RETRY: '200ms' } });
  relay = await startTcpRelay({ port: system.edges[0]!.port });
  publisher = client({ url: system.edges[0]!.url });
  await publisher.connect();
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await relay?.close();
  await system?.stop();
  await nats?.stop();
});

describe('@cascade/client resumes a subscription that had no message yet', () => {
  for (const transport of ['websocket', 'sse'] as const) {
    for (const before of [0, 3]) {
      const what = before === 0 ? 'an empty channel' : 'a channel with messages, none since the subscribe';
      it(`${transport}: ${what}`, { timeout: 60_000 }, async () => {
        const ch = `chat:${uniqueName(transport)}`;
        for (let i = 1; i <= before; i++) await publisher.publish(ch, `old${i}`);
        // A publish is acknowledged once ingested; wait until history numbered it too, or it
        // could still arrive after the subscription started.
        await vi.waitFor(async () => {
          const r = await fetch(`http://127.0.0.1:${system.edges[0]!.port}/v1/channels/${encodeURIComponent(ch)}/position`);
          expect(((await r.json()) as { seq: number }).seq).toBe(before);
        }, { timeout: 10_000 });
        const scheme = transport === 'sse' ? 'http' : 'ws';
        const c = client({ url: `${scheme}://127.0.0.1:${relay.port}/`, transport });
        const got: Message[] = [];
        const lost: RecoveryImpossible[] = [];
        const sub = c.subscribe(ch, { onMessage: (m) => got.push(m), onRecoveryImpossible: (r) => lost.push(r) });
        await c.connect();
        await sub.ready;
        // The start is known before any message: BEFORE_FIRST, or the channel's newest message.
        await vi.waitFor(() => expect(sub.position).toBeDefined());
        if (before === 0) expect(sub.position).toEqual({ ep: '', seq: 0 });
        else expect(sub.position).toEqual({ ep: expect.stringMatching(/^[0-9a-f]{12}$/), seq: before });

        relay.down();
        await vi.waitFor(() => expect(c.state).toBe('reconnecting'), { timeout: 10_000 });
        for (let i = 1; i <= 5; i++) await publisher.publish(ch, `new${i}`);
        relay.up();

        await vi.waitFor(() => expect(got).toHaveLength(5), { timeout: 20_000 });
        await publisher.publish(ch, 'live');
        await vi.waitFor(() => expect(got).toHaveLength(6), { timeout: 10_000 });
        await new Promise((r) => setTimeout(r, 300));
        expect(got.map((m) => [m.seq, m.data])).toEqual([...[1, 2, 3, 4, 5].map((i) => [before + i, `new${i}`]), [before + 6, 'live']]);
        expect(lost).toEqual([]);
        expect(c.state).toBe('connected');
        await c.close();
      });
    }
  }
});

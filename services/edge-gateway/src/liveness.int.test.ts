// Dead connections are found by the heartbeat (WebSocket ping/pong with an idle timeout)
// and cleaned up, and the node's Prometheus metrics count what happened.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encode } from '@msgpack/msgpack';
import { startCascade, startNatsServer, TestWsClient, type CascadeSystem, type NatsServerFixture } from '@cascade/testing';

let nats: NatsServerFixture;
let system: CascadeSystem;

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({ natsUrl: nats.url, edges: 1, services: ['fan-out-worker'], env: { EDGE_IDLE_TIMEOUT: '8s' } });
}, 90_000);

afterAll(async () => {
  await system?.stop();
  await nats?.stop();
});

async function edgeSubscriptions(channel: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${nats.monitorPort}/connz?subs=1&limit=1000`);
  const body = (await res.json()) as { connections: Array<{ name?: string; subscriptions_list?: string[] }> };
  return body.connections
    .filter((c) => c.name?.startsWith('edge-'))
    .flatMap((c) => c.subscriptions_list ?? [])
    .filter((s) => s === `${system.prefix}.live.${channel}`).length;
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${system.edges[0]!.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('heartbeats', () => {
  it('reaps a connection that stops answering pings, with its subscriptions', async () => {
    const ws = new WebSocket(system.edges[0]!.url);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(encode({ t: 1 }));
    ws.send(encode({ t: 2, id: 1, ch: 'heartbeat' }));
    const until = Date.now() + 5000;
    while ((await edgeSubscriptions('heartbeat')) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(await edgeSubscriptions('heartbeat')).toBe(1);
    // Freeze the client: it neither reads the server's pings nor answers them, like a phone
    // that lost its network without closing the socket.
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const deadline = Date.now() + 25_000;
    while ((await edgeSubscriptions('heartbeat')) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(await edgeSubscriptions('heartbeat')).toBe(0);
    expect(await metric('cascade_edge_connections')).toBe(0);
    ws.terminate();
  }, 40_000);
});

describe('metrics', () => {
  it('counts connections, frames, publishes and fan-out per subscriber', async () => {
    const before = await metric('cascade_edge_frames_out_total');
    const subs = await Promise.all([0, 1, 2].map(() => TestWsClient.connect(system.edges[0]!.url)));
    for (const c of subs) {
      c.send({ t: 1 });
      await c.next((f) => f.t === 101);
      c.send({ t: 2, id: 1, ch: 'metered' });
      await c.next((f) => f.id === 1);
    }
    expect(await metric('cascade_edge_connections')).toBe(3);
    expect(await metric('cascade_edge_subscriptions')).toBeGreaterThanOrEqual(3);
    expect(await metric('cascade_edge_nats_subscriptions')).toBeGreaterThanOrEqual(1);
    subs[0]!.send({ t: 4, id: 2, ch: 'metered', data: 'm' });
    await subs[0]!.next((f) => f.id === 2);
    await Promise.all(subs.map((c) => c.next((f) => f.t === 103)));
    expect(await metric('cascade_edge_frames_out_total')).toBe(before + 3);
    const text = await (await fetch(`http://127.0.0.1:${system.edges[0]!.port}/metrics`)).text();
    expect(text).toMatch(/cascade_edge_publishes_total\{result="stored"\} [1-9]/);
    expect(text).toMatch(/cascade_edge_publish_seconds_count \d+/);
    expect(text).toContain('cascade_edge_disconnects_total');
    await Promise.all(subs.map((c) => c.close()));
  });
});

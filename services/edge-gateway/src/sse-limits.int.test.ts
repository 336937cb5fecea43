// SSE streams under the node's limits: they count toward EDGE_MAX_CONNECTIONS with the
// WebSockets, a stream that stops reading is cut off (error 4002) while a reading one gets
// everything, and a drain advises a reconnect and then ends every stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { FrameType, encodeFrameWithPayload, encodeValue } from '@cascade/protocol';
import { freePort, startCascade, startCascadeService, startNatsServer, TestWsClient, type CascadeSystem, type NatsServerFixture } from '@cascade/testing';
import { SseTestClient } from './test-fixtures/sse-client.js';

let nats: NatsServerFixture;
let system: CascadeSystem;
let nc: NatsConnection;
const open: Array<{ close(): void }> = [];

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({ natsUrl: nats.url, edges: 0, services: [] });
  nc = await connect({ servers: nats.url });
}, 90_000);

afterAll(async () => {
  for (const c of open) c.close();
  await nc?.close();
  await system?.stop();
  await nats?.stop();
});

async function sse(port: number, query: string): Promise<SseTestClient> {
  const c = await SseTestClient.open(`http://127.0.0.1:${port}/v1/sse?${query}`);
  open.push(c);
  return c;
}

describe('SSE and EDGE_MAX_CONNECTIONS', () => {
  it('counts streams together with WebSockets', async () => {
    const edge = await system.startEdge({ EDGE_MAX_CONNECTIONS: '2' });
    const ws = await TestWsClient.connect(edge.url);
    ws.send({ t: 1 });
    await ws.next((f) => f.t === 101);
    const first = await sse(edge.port, 'ch=limits');
    await first.next((e) => e.event === 'connected');
    const refused = await sse(edge.port, 'ch=limits');
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 4005 });
    const extraWs = await TestWsClient.connect(edge.url);
    expect((await extraWs.waitClosed(5000)).code).toBe(4005);
    // A stream that ends frees its place.
    first.close();
    await new Promise((r) => setTimeout(r, 300));
    const again = await sse(edge.port, 'ch=limits');
    expect(again.status).toBe(200);
    await again.next((e) => e.event === 'connected');
    await ws.close();
  });
});

describe('slow SSE consumers', () => {
  it('ends a stream that stopped reading with 4002 and keeps serving a reading one in full', async () => {
    const edge = await system.startEdge({ EDGE_MAX_BACKPRESSURE: '256KiB' });
    const slow = await sse(edge.port, 'ch=sse-firehose');
    await slow.next((e) => e.event === 'connected');
    const fast = await sse(edge.port, 'ch=sse-firehose');
    await fast.next((e) => e.event === 'connected');
    slow.pause();
    // 32 MiB straight onto the live subject (32 KiB each): far beyond what the kernel buffers
    // of the stalled connection and the 256 KiB bound absorb, at a pace a reader keeps up with.
    const payload = encodeValue('x'.repeat(32 * 1024));
    const total = 1024;
    for (let seq = 1; seq <= total; seq++) {
      nc.publish(`${system.prefix}.live.sse-firehose`, encodeFrameWithPayload({ t: FrameType.Message, ch: 'sse-firehose', seq, ep: 'e', ts: Date.now() }, payload));
      if (seq % 4 === 0) {
        await nc.flush();
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    const got = await fast.messages(total, 60_000);
    expect(got.map((m) => m.json.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(got[total - 1]!.id).toBe(`e:${total}`);
    slow.resume();
    await slow.ended;
    // What the slow stream got is a gapless prefix, then (unless the edge gave up on the stalled
    // connection first) the error: it resumes from its last id.
    const seqs = slow.events.filter((e) => e.event === 'message').map((e) => e.json.seq as number);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(seqs.length).toBeLessThan(total);
    const error = slow.events.find((e) => e.event === 'error');
    if (error) expect(error.json.code).toBe(4002);
    const metrics = await (await fetch(`http://127.0.0.1:${edge.port}/metrics`)).text();
    expect(metrics).toMatch(/cascade_edge_drops_total\{reason="slow_consumer"\} [1-9]/);
  }, 120_000);
});

describe('drain with SSE streams', () => {
  it('advises a reconnect within the window, then ends each stream and exits', async () => {
    const port = await freePort();
    const edge = await startCascadeService('edge-gateway', { ...system.env, EDGE_PORT: String(port), EDGE_DRAIN_WINDOW: '1500ms', EDGE_DRAIN_GRACE: '30s' });
    const streams = await Promise.all(Array.from({ length: 5 }, () => sse(port, 'ch=draining')));
    for (const s of streams) await s.next((e) => e.event === 'connected');
    const started = Date.now();
    const exited = edge.stop('SIGTERM', 45_000);
    const advice = await Promise.all(streams.map((s) => s.next((e) => e.event === 'reconnect', 5000)));
    for (const a of advice) {
      expect(a.json).toEqual({ delay: expect.any(Number), reason: 'drain' });
      expect(a.json.delay).toBeGreaterThanOrEqual(0);
      expect(a.json.delay).toBeLessThan(1500);
    }
    // The connection itself is closed (not kept alive), so the reconnect reaches another node.
    expect(await Promise.all(streams.map((s) => s.ended))).toEqual(streams.map(() => 'aborted'));
    // Every stream left after its delay and was counted out: the drain did not wait for the
    // 30 s grace period (the margin is generous; only a stream counted forever would hit it).
    expect((await exited).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 60_000);
});

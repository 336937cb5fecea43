// SIGTERM drains an edge: it stops accepting, fails readiness, advises every client to
// reconnect after a delay within the window, then closes the rest with 1001 and exits 0.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startCascade, startCascadeService, startNatsServer, TestWsClient, type CascadeSystem, type NatsServerFixture } from '@cascade/testing';

let nats: NatsServerFixture;
let system: CascadeSystem;

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({ natsUrl: nats.url, edges: 0, services: ['fan-out-worker'] });
}, 90_000);

afterAll(async () => {
  await system?.stop();
  await nats?.stop();
});

describe('drain on SIGTERM', () => {
  it('advises reconnects spread over the window, refuses new connections, and closes the rest with 1001', async () => {
    const port = await freePort();
    const edge = await startCascadeService('edge-gateway', { ...system.env, EDGE_PORT: String(port), EDGE_DRAIN_WINDOW: '2s', EDGE_DRAIN_GRACE: '1s' });
    const url = `ws://127.0.0.1:${port}/`;
    const clients = await Promise.all(Array.from({ length: 20 }, () => TestWsClient.connect(url)));
    for (const c of clients) {
      c.send({ t: 1 });
      await c.next((f) => f.t === 101);
    }
    // Half the clients follow the advice; the other half ignore it and are closed at the end.
    const started = Date.now();
    const exited = edge.stop('SIGTERM', 20_000);
    const advice = await Promise.all(clients.map((c) => c.next((f) => f.t === 107, 5000)));
    for (const a of advice) {
      expect(a.reason).toBe('server draining');
      expect(a.delay).toBeGreaterThanOrEqual(0);
      expect(a.delay).toBeLessThan(2000);
    }
    expect(new Set(advice.map((a) => a.delay)).size).toBeGreaterThan(1);
    await expect(TestWsClient.connect(url, { timeoutMs: 2000 })).rejects.toThrow();
    await Promise.all(clients.slice(0, 10).map((c) => c.close()));
    const closes = await Promise.all(clients.slice(10).map((c) => c.waitClosed(10_000)));
    for (const cl of closes) expect(cl.code).toBe(1001);
    // The stubborn half was closed only after window + grace.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
    expect((await exited).code).toBe(0);
  }, 40_000);
});

// Connections per node are bounded: one more than EDGE_MAX_CONNECTIONS is closed at once
// with 4005 (ConnectionLimit), and the connections already there are not affected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCascade, startNatsServer, TestWsClient, type CascadeSystem, type NatsServerFixture } from '@cascade/testing';

let nats: NatsServerFixture;
let system: CascadeSystem;

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({ natsUrl: nats.url, edges: 1, services: [], env: { EDGE_MAX_CONNECTIONS: '2' } });
}, 90_000);

afterAll(async () => {
  await system?.stop();
  await nats?.stop();
});

describe('connections per node', () => {
  it('closes the connection over the limit with 4005 and keeps serving the others', async () => {
    const url = system.edges[0]!.url;
    const held = await Promise.all([TestWsClient.connect(url), TestWsClient.connect(url)]);
    for (const c of held) {
      c.send({ t: 1 });
      await c.next((f) => f.t === 101);
    }
    const extra = await TestWsClient.connect(url);
    expect((await extra.waitClosed(5000)).code).toBe(4005);
    held[0]!.send({ t: 2, id: 1, ch: 'still-served' });
    expect(await held[0]!.next((f) => f.id === 1)).toMatchObject({ t: 102, id: 1 });
    // A freed place can be taken again.
    await held[1]!.close();
    await new Promise((r) => setTimeout(r, 200));
    const next = await TestWsClient.connect(url);
    next.send({ t: 1 });
    expect(await next.next((f) => f.t === 101)).toMatchObject({ t: 101 });
    await Promise.all([held[0]!.close(), next.close()]);
  });
});

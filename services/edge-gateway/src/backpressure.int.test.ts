// A client that cannot keep up is closed with 4002 once its unsent data passes the bound,
// after the data already buffered; the node's memory does not grow with what it could not
// send, and other subscribers of the channel are not held back. The same holds for a personal
// channel, which the edge sends to its holders itself instead of through a uWS topic.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decode, encode } from '@msgpack/msgpack';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { FrameType, encodeFrameWithPayload, encodeValue } from '@cascade/protocol';
import { hs256Token, startCascade, startNatsServer, TestWsClient, uniqueName, type CascadeSystem, type NatsServerFixture } from '@cascade/testing';

const SECRET = 'backpressure-test-secret-0123456789';

let nats: NatsServerFixture;
let system: CascadeSystem;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({
    natsUrl: nats.url,
    edges: 1,
    services: [],
    env: { EDGE_MAX_BACKPRESSURE: '1MiB', EDGE_JWT_HS256_SECRET: SECRET, EDGE_ANONYMOUS: 'subscribe' },
  });
  nc = await connect({ servers: nats.url });
}, 90_000);

afterAll(async () => {
  await nc?.close();
  await system?.stop();
  await nats?.stop();
});

/**
 * A stalled and a reading subscriber of `ch`, connected with `connect` (a connect frame),
 * subscribed with `subscribe` (false: the connect subscribed them already).
 */
async function stall(ch: string, connect: Record<string, unknown>, subscribe: boolean): Promise<void> {
  const url = system.edges[0]!.url;
  const slow = new WebSocket(url);
  slow.binaryType = 'nodebuffer';
  await new Promise((resolve, reject) => slow.once('open', resolve).once('error', reject));
  const slowFrames: number[] = [];
  slow.on('message', (d: Buffer) => {
    const f = decode(d) as { t: number; seq?: number };
    if (f.t === 103) slowFrames.push(f.seq!);
  });
  slow.send(encode({ t: 1, ...connect }));
  if (subscribe) slow.send(encode({ t: 2, id: 1, ch }));
  const fast = await TestWsClient.connect(url);
  fast.send({ t: 1, ...connect });
  await fast.next((f) => f.t === 101);
  if (subscribe) {
    fast.send({ t: 2, id: 1, ch });
    await fast.next((f) => f.id === 1);
  }
  await new Promise((r) => setTimeout(r, 200));
  (slow as unknown as { _socket: { pause(): void } })._socket.pause();

  const sendBuffers = async () => {
    const text = await (await fetch(`http://127.0.0.1:${system.edges[0]!.port}/metrics`)).text();
    return Number(/^cascade_edge_send_buffer_bytes (\d+)/m.exec(text)?.[1]);
  };
  // 32 MiB of frames straight onto the live subject (32 KiB each), far beyond the 1 MiB bound,
  // at a pace a reading client keeps up with.
  const payload = encodeValue('x'.repeat(32 * 1024));
  const total = 1024;
  let peak = 0;
  for (let seq = 1; seq <= total; seq++) {
    nc.publish(`${system.prefix}.live.${ch}`, encodeFrameWithPayload({ t: FrameType.Message, ch, seq, ep: 'e', ts: Date.now() }, payload));
    if (seq % 4 === 0) {
      await nc.flush();
      await new Promise((r) => setTimeout(r, 10));
      if (seq % 16 === 0) peak = Math.max(peak, await sendBuffers());
    }
  }
  // The fast subscriber got everything, in order.
  let last = 0;
  while (last < total) {
    const f = await fast.next((x) => x.t === 103, 10_000);
    expect(f.seq).toBe(last + 1);
    last = f.seq;
  }
  const closed = new Promise<number>((resolve) => slow.once('close', (code: number) => resolve(code)));
  (slow as unknown as { _socket: { resume(): void } })._socket.resume();
  expect(await closed).toBe(4002);
  // What it did receive is a gapless prefix: it resumes from its last seq.
  expect(slowFrames).toEqual(Array.from({ length: slowFrames.length }, (_, i) => i + 1));
  expect(slowFrames.length).toBeLessThan(total);
  // Unbounded buffering would have held ~32 MiB for the stalled client; the node's send
  // buffers never went past the per-connection hard limit (1 MiB + 4 MiB burst room).
  expect(peak).toBeGreaterThan(0);
  expect(peak).toBeLessThanOrEqual(5 * 1024 * 1024 + 64 * 1024);
  await fast.close();
}

describe('slow consumers', () => {
  it('closes a stalled subscriber with 4002 and keeps the node send buffers bounded', async () => {
    await stall('firehose', {}, true);
    const metrics = await (await fetch(`http://127.0.0.1:${system.edges[0]!.port}/metrics`)).text();
    expect(metrics).toMatch(/cascade_edge_drops_total\{reason="slow_consumer"\} [1-9]/);
  }, 60_000);

  it('does the same on a personal channel, sent to its holders directly', async () => {
    const user = uniqueName('slow');
    await stall(`user:${user}`, { token: await hs256Token(SECRET, { sub: user }) }, false);
  }, 60_000);
});

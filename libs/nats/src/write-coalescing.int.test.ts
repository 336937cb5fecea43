// One write per event-loop turn, against a real nats-server: what separate callbacks of one
// turn publish leaves in one transport write (a plain nats.js connection makes one per
// callback), in order and complete; a full buffer still leaves at once; close() writes what
// the turn produced before the socket goes; flush() and requests keep working; after the
// server restarts, the reconnected connection resubscribes and still writes once per turn.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, uniqueName, type NatsServerFixture } from '@cascade/testing';
import { coalesceWritesPerTurn } from './write-coalescing.js';

let nats: NatsServerFixture;
let reader: NatsConnection;

beforeAll(async () => {
  nats = await startNatsServer();
  reader = await connect({ servers: nats.url });
});

afterAll(async () => {
  await reader?.close();
  await nats?.stop();
});

/** Counts the writes nats.js hands its transport (the socket writes). */
function countWrites(nc: NatsConnection): () => number {
  const t = (nc as unknown as { protocol: { transport: { send(frame: Uint8Array): void } } }).protocol.transport;
  let writes = 0;
  const send = t.send.bind(t);
  t.send = (frame: Uint8Array) => {
    writes++;
    send(frame);
  };
  return () => writes;
}

/** `n` callbacks in one turn (one check phase), each publishing one message, as uWS callbacks would. */
function publishFromSeparateCallbacks(nc: NatsConnection, subject: string, n: number, from = 0): Promise<void> {
  return new Promise((resolve) => {
    for (let i = 0; i < n; i++) setImmediate(() => nc.publish(subject, String(from + i)));
    setImmediate(() => setImmediate(resolve));
  });
}

function collect(subject: string, n: number): Promise<string[]> {
  const got: string[] = [];
  return new Promise((resolve) => {
    reader.subscribe(subject, {
      callback: (_e, m) => {
        got.push(m.string());
        if (got.length === n) resolve(got);
      },
    });
  });
}

describe('coalesceWritesPerTurn', () => {
  it('sends what separate callbacks of one turn publish in one write, in order', async () => {
    const subject = uniqueName('coalesce');
    const arrived = collect(subject, 50);
    await reader.flush();

    const plain = await connect({ servers: nats.url });
    const coalesced = await connect({ servers: nats.url });
    try {
      expect(coalesceWritesPerTurn(coalesced)).toBe(true);
      const plainWrites = countWrites(plain);
      const coalescedWrites = countWrites(coalesced);

      // The control: nats.js alone writes once per callback.
      await publishFromSeparateCallbacks(plain, uniqueName('elsewhere'), 50);
      expect(plainWrites()).toBe(50);

      await publishFromSeparateCallbacks(coalesced, subject, 50);
      expect(coalescedWrites()).toBe(1);
      expect(await arrived).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    } finally {
      await plain.close();
      await coalesced.close();
    }
  });

  it('writes a full buffer at once, within the turn', async () => {
    const nc = await connect({ servers: nats.url });
    try {
      coalesceWritesPerTurn(nc);
      const writes = countWrites(nc);
      const subject = uniqueName('big');
      const arrived = collect(subject, 40);
      await reader.flush();
      const body = new Uint8Array(4096);
      // 40 × 4 KiB in one turn: past the 32 KiB threshold several times over.
      await new Promise<void>((resolve) => {
        for (let i = 0; i < 40; i++) setImmediate(() => nc.publish(subject, body));
        setImmediate(resolve);
      });
      expect(writes()).toBeGreaterThanOrEqual(4);
      expect(writes()).toBeLessThan(40);
      expect((await arrived).length).toBe(40);
    } finally {
      await nc.close();
    }
  });

  it('close() writes what the turn published before the socket goes', async () => {
    const subject = uniqueName('closing');
    const arrived = collect(subject, 10);
    await reader.flush();
    const nc = await connect({ servers: nats.url });
    coalesceWritesPerTurn(nc);
    for (let i = 0; i < 10; i++) nc.publish(subject, String(i));
    await nc.close();
    expect(await arrived).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
  });

  it('keeps flush() and request/reply working', async () => {
    const subject = uniqueName('echo');
    reader.subscribe(subject, {
      callback: (_e, m) => {
        m.respond(`re:${m.string()}`);
      },
    });
    await reader.flush();
    const nc = await connect({ servers: nats.url });
    try {
      coalesceWritesPerTurn(nc);
      await nc.flush();
      const replies = await Promise.all([1, 2, 3].map((i) => nc.request(subject, String(i), { timeout: 5000 })));
      expect(replies.map((m) => m.string())).toEqual(['re:1', 're:2', 're:3']);
    } finally {
      await nc.close();
    }
  });

  it('leaves a connection of another shape alone', () => {
    expect(coalesceWritesPerTurn({} as NatsConnection)).toBe(false);
    expect(coalesceWritesPerTurn({ protocol: { flushPending() {} } } as unknown as NatsConnection)).toBe(false);
  });
});

describe('coalesceWritesPerTurn across a reconnect', () => {
  let server: NatsServerFixture;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('resubscribes after the server restarts and still sends a turn in one write, in order', async () => {
    const nc = await connect({ servers: server.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    try {
      expect(coalesceWritesPerTurn(nc)).toBe(true);
      const subject = uniqueName('coalesce.restart');
      const got: string[] = [];
      // The connection hears itself: its SUB and its PUBs both go through the coalesced path.
      nc.subscribe(subject, { callback: (_e, m) => void got.push(m.string()) });
      await nc.flush();
      nc.publish(subject, 'before');
      await vi.waitFor(() => expect(got).toEqual(['before']));

      await server.restart();
      await vi.waitFor(
        async () => {
          nc.publish(subject, 'after');
          await nc.flush();
          expect(got).toContain('after');
        },
        { timeout: 20_000, interval: 200 },
      );

      // The reconnect brought a new transport: count its writes from here.
      const writes = countWrites(nc);
      got.length = 0;
      await publishFromSeparateCallbacks(nc, subject, 30);
      expect(writes()).toBe(1);
      await vi.waitFor(() => expect(got).toEqual(Array.from({ length: 30 }, (_, i) => String(i))));
    } finally {
      await nc.close();
    }
  });
});

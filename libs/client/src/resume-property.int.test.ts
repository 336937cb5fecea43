// Resume as a property, against the real system (nats-server, worker, history, an edge): a
// publisher sends numbered messages on a channel (800 or more, until the last cut is past)
// while the subscriber's network is cut at random moments, several times, through a TCP
// relay between the SDK and the edge. Outages
// vary: an instant cut (back after the backoff), a short one (a few messages missed: the
// edge serves them from its ring of recent frames) and a long one (more missed than the ring
// holds: served from history). The application must see 1..n exactly once and in order, and
// the client must have reconnected once per cut.
//
// The plan comes from a seeded PRNG; the seed is in the test name. Replay a failure with
//   CASCADE_RESUME_SEED=<seed> npx vitest run libs/client/src/resume-property.int.test.ts
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFailed, vi } from 'vitest';
import WebSocket from 'ws';
import { eventually, sleep, startCascade, startNatsServer, startTcpRelay, uniqueName, type CascadeSystem, type NatsServerFixture, type TcpRelay } from '@cascade/testing';
import { CascadeClient, type Message, type RecoveryImpossible } from './index.js';

const SECRET = 'client-resume-property-test-secret-0123456789';
/** Small, so a long outage surely outruns it and resumes from history. */
const RING = 64;
/** Messages published at least; more if the cuts take longer, so every cut happens mid-stream. */
const N = 800;
/** Messages after the last cut, so the last resume is followed by live traffic too. */
const TAIL = 50;
const SEED = process.env.CASCADE_RESUME_SEED ? Number(process.env.CASCADE_RESUME_SEED) : Math.floor(Math.random() * 2 ** 31);

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function token(sub: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64url');
  const head = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64(JSON.stringify({ sub, exp: Math.floor(Date.now() / 1000) + 3600 }));
  return `${head}.${body}.${createHmac('sha256', SECRET).update(`${head}.${body}`).digest('base64url')}`;
}

type Kind = 'instant' | 'short' | 'long';
interface Outage {
  kind: Kind;
  /** Messages to let the publisher send while the relay refuses connections. */
  holdFor: number;
  /** Delay after the previous resume before cutting. */
  afterMs: number;
}

/** Five to seven cuts, at least one of each kind, in random order. */
function plan(random: () => number): Outage[] {
  const kinds: Kind[] = ['instant', 'short', 'long'];
  const extra = 2 + Math.floor(random() * 3);
  for (let i = 0; i < extra; i++) kinds.push((['instant', 'short', 'long'] as const)[Math.floor(random() * 3)]!);
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  return kinds.map((kind) => ({
    kind,
    holdFor: kind === 'instant' ? 0 : kind === 'short' ? 1 + Math.floor(random() * 15) : RING + 40 + Math.floor(random() * 60),
    afterMs: Math.floor(random() * 400),
  }));
}

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
    env: { EDGE_JWT_HS256_SECRET: SECRET, EDGE_RING_SIZE: String(RING), RT_HISTORY_MAX_MESSAGES: '10000' },
  });
  relay = await startTcpRelay({ port: system.edges[0]!.port });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await relay?.close();
  await system?.stop();
  await nats?.stop();
});

describe('resume property (real system, network cut through a relay)', () => {
  it(`seed ${SEED}: the app sees 1..n (n >= ${N}) exactly once, in order, across random cuts resumed from the ring and from history`, { timeout: 120_000 }, async () => {
    const random = prng(SEED);
    const outages = plan(random);
    const ch = `chat:${uniqueName('prop')}`;
    const log: string[] = [];
    onTestFailed(() => console.error(`resume property seed ${SEED} (replay: CASCADE_RESUME_SEED=${SEED})\nplan ${JSON.stringify(outages)}\n${log.join('\n')}`));

    // The publisher talks to the edge directly and is subscribed too: that keeps the channel
    // live on the edge (and its ring filled) while the subscriber is away.
    const pub = new CascadeClient({ url: system.edges[0]!.url, WebSocket, token: () => token('publisher') });
    const sub = new CascadeClient({
      url: `ws://127.0.0.1:${relay.port}/`,
      WebSocket,
      token: () => token('reader'),
      backoff: { initialMs: 20, maxMs: 200, random },
    });
    clients.push(pub, sub);
    let connects = 0;
    let resubscribes = 0;
    sub.on('connected', () => connects++);
    await Promise.all([pub.connect(), sub.connect()]);
    const keeper = pub.subscribe(ch, {});
    const got: Message[] = [];
    const lost: RecoveryImpossible[] = [];
    const s = sub.subscribe(ch, {
      onMessage: (m) => got.push(m),
      onRecoveryImpossible: (i) => lost.push(i),
      onSubscribed: (i) => {
        if (!i.first) {
          resubscribes++;
          expect(i.resumed).toBe(true);
        }
      },
    });
    await Promise.all([keeper.ready, s.ready]);

    let published = 0;
    let cutsDone = false;
    let stopAt = Number.POSITIVE_INFINITY;
    const publishing = (async () => {
      // About 120 messages a second, in random bursts: several seconds of traffic, going on
      // until the last cut is behind us.
      for (let n = 1; n <= Math.max(N, stopAt); n++) {
        await pub.publish(ch, { n });
        published = n;
        if (cutsDone && stopAt === Number.POSITIVE_INFINITY) stopAt = n + TAIL;
        if (random() < 0.25) await sleep(Math.floor(random() * 40));
      }
    })();
    // Awaited below; if a cut fails first, the publisher's end (the client closes) is no news.
    publishing.catch(() => undefined);

    const nOf = (m: Message | undefined) => (m ? (m.data as { n: number }).n : 0);
    const missed: { kind: Kind; missed: number }[] = [];
    for (const [i, o] of outages.entries()) {
      await sleep(o.afterMs);
      const at = nOf(got.at(-1));
      if (o.kind === 'instant') relay.cut();
      else {
        relay.down();
        const until = published + o.holdFor;
        await eventually(`publisher reaches ${until} during outage ${i}`, () => published, (p) => p >= until, 60_000);
        relay.up();
      }
      // Wait for the reconnect and the resumed subscription before planning the next cut.
      await vi.waitFor(() => expect([connects, resubscribes]).toEqual([i + 2, i + 1]), { timeout: 30_000, interval: 10 });
      const behind = published - at;
      missed.push({ kind: o.kind, missed: behind });
      log.push(`cut ${i} (${o.kind}, hold ${o.holdFor}): app at ${at}, publisher at ${published} on resume`);
    }
    cutsDone = true;
    await publishing;
    const total = published;
    log.push(`published ${total}`);
    await vi.waitFor(() => expect(got.length).toBeGreaterThanOrEqual(total), { timeout: 30_000, interval: 20 });
    await sleep(200);

    expect(total).toBeGreaterThanOrEqual(N);
    expect(got.map(nOf)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(got.map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => got[0]!.seq + i));
    expect(new Set(got.map((m) => m.ep)).size).toBe(1);
    expect(lost).toEqual([]);
    expect([connects, resubscribes]).toEqual([outages.length + 1, outages.length]);
    // Relay connections: one per successful connection, none leaked.
    expect(relay.accepted).toBeGreaterThanOrEqual(outages.length + 1);
    // The long outages really outran the ring (resumed from history); some shorter one missed
    // messages the ring still held.
    expect(missed.filter((m) => m.kind === 'long').every((m) => m.missed > RING)).toBe(true);
    expect(missed.filter((m) => m.kind !== 'long').some((m) => m.missed >= 1 && m.missed < RING)).toBe(true);
  });
});

// Live emission through the history stream's RePublish, against a real nats-server: a
// stored append goes live from the server (Nats-Sequence header, Rt-Exclude-Client stored
// with it) without a publish of the worker's; a fenced-out append never goes live; a
// redelivered duplicate is still emitted, by the worker; and on a history stream created
// without RePublish (as by earlier versions; nats-server 2.9.10 cannot add it by an update,
// see contract.int.test.ts in libs/nats) start-up still succeeds and the worker emits live
// itself, in process and end to end.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, encode } from '@msgpack/msgpack';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Msg } from '@nats-io/nats-core';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { createLogger, type Logger } from '@cascade/log';
import { Contract, Header, defaultStreamSettings, ensureContract, historyStreamConfig, republishesLive } from '@cascade/nats';
import type { ChannelName } from '@cascade/protocol';
import { startCascade, startNatsServer, TestWsClient, uniquePrefix, type NatsServerFixture } from '@cascade/testing';
import { JetStreamHistoryLog } from './history-log.js';
import { channel, ingestMessage, waitUntil } from './int-helpers.js';
import { HistoryLiveMode, NatsLiveOutput } from './live.js';
import { ChannelPositions } from './positions.js';
import { Sequencer, type LiveOutput } from './sequencer.js';

let nats: NatsServerFixture;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
}, 60_000);

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

/** A JSON logger whose lines the test can read. */
function memoryLogger(): { log: Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const log = createLogger({ service: 'test', format: 'json', destination });
  return { log, lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** Creates the history stream as versions before RePublish did: the declared config without it. */
async function createLegacyHistory(c: Contract): Promise<void> {
  const { republish: _none, ...legacy } = historyStreamConfig(c, defaultStreamSettings);
  await jsm.streams.add(legacy);
}

const msg = (ch: ChannelName, data: unknown, excludeClient?: string) => ingestMessage(ch, data, excludeClient === undefined ? { from: 'alice' } : { from: 'alice', excludeClient });

/** A worker's write path on its own connection: the real history log and live output, emits counted. */
async function workerPath(c: Contract, log: Logger) {
  const wnc = await connect({ servers: nats.url });
  const wjsm = await jetstreamManager(wnc);
  // No periodic refresh during a test: its STREAM.INFO would count as a publish of the worker.
  const mode = await HistoryLiveMode.open(wjsm, c, log, 3_600_000);
  const output = new NatsLiveOutput(wnc, c, mode);
  const live = {
    emits: 0,
    get streamRepublishes() {
      return output.streamRepublishes;
    },
    emit(ch: ChannelName, frame: Uint8Array, excludeClient?: string) {
      this.emits++;
      output.emit(ch, frame, excludeClient);
    },
  } satisfies LiveOutput & { emits: number };
  const history = new JetStreamHistoryLog(wnc, wjsm, c);
  const sequencer = new Sequencer(history, live, new ChannelPositions());
  return {
    wnc,
    mode,
    live,
    history,
    sequencer,
    /** Messages this worker's connection has published so far. */
    published: () => wnc.stats().outMsgs,
    close: async () => {
      mode.stop();
      history.close();
      await wnc.close();
    },
  };
}

/** Every message on `<prefix>.live.<ch>`, in arrival order. */
async function watchLive(c: Contract, ch: ChannelName): Promise<{ msgs: Msg[]; stop(): void }> {
  const msgs: Msg[] = [];
  const sub = nc.subscribe(c.live(ch), { callback: (_e, m) => void msgs.push(m) });
  await nc.flush();
  return { msgs, stop: () => sub.unsubscribe() };
}

const decodeFrame = (m: Msg) => decode(m.data) as { seq: number; data: unknown };
const seqOf = (m: Msg) => decodeFrame(m).seq;

describe('history stream with RePublish (the declared config)', () => {
  const c = new Contract({ prefix: uniquePrefix(), partitions: 4 });

  beforeAll(async () => {
    await ensureContract(nc, jsm, c, defaultStreamSettings);
  });

  it('is created with RePublish <prefix>.hist.> to <prefix>.live.>', async () => {
    const info = await jsm.streams.info(c.historyStream);
    expect(info.config.republish).toEqual({ src: `${c.prefix}.hist.>`, dest: `${c.prefix}.live.>` });
    expect(republishesLive(c, info.config.republish)).toBe(true);
  });

  it('puts a stored message live without a publish of the worker, with the exclude id it stored', async () => {
    const { log, lines } = memoryLogger();
    const w = await workerPath(c, log);
    try {
      expect(w.mode.emitter).toBe('stream');
      expect(lines().filter((l) => l.live !== undefined).map((l) => l.live)).toEqual(['stream']);
      const ch = channel('rp-basic');
      const watch = await watchLive(c, ch);
      // The first append reads the channel's head; afterwards each message costs the worker
      // exactly one publish: the append. The live copy is the server's.
      await w.sequencer.sequence(msg(ch, 'first'));
      const before = w.published();
      expect(await w.sequencer.sequence(msg(ch, 'quiet', 'conn-7'))).toMatchObject({ kind: 'stored', seq: 2 });
      expect(await w.sequencer.sequence(msg(ch, 'third'))).toMatchObject({ kind: 'stored', seq: 3 });
      expect(w.published() - before).toBe(2);
      expect(w.live.emits).toBe(0);

      await waitUntil('three live frames', () => watch.msgs.length >= 3, 10_000);
      expect(watch.msgs.map(seqOf)).toEqual([1, 2, 3]);
      const stored = await Promise.all([1, 2, 3].map((s) => jsm.streams.getMessage(c.historyStream, { seq: Number(watch.msgs[s - 1]!.headers!.get('Nats-Sequence')) })));
      for (const [i, m] of watch.msgs.entries()) {
        // Only a republished copy carries the stream's headers; the bytes are the stored frame.
        expect(m.headers?.get('Nats-Stream')).toBe(c.historyStream);
        expect(m.headers?.get('Nats-Subject')).toBe(c.history(ch));
        expect(m.headers?.get(Header.Seq)).toBe(String(i + 1));
        expect(Buffer.from(m.data).equals(Buffer.from(stored[i]!.data))).toBe(true);
      }
      // The edge reads the exclude id from the live message's headers: the republished copy has it.
      expect(watch.msgs.map((m) => m.headers?.get(Header.ExcludeClient) || undefined)).toEqual([undefined, 'conn-7', undefined]);
      expect(stored[1]!.header.get(Header.ExcludeClient)).toBe('conn-7');
      watch.stop();
    } finally {
      await w.close();
    }
  });

  it('never puts a fenced-out append live', async () => {
    const w = await workerPath(c, memoryLogger().log);
    try {
      const ch = channel('rp-fenced');
      const watch = await watchLive(c, ch);
      await w.sequencer.sequence(msg(ch, 1));
      const stale = await w.history.head(ch);
      await w.sequencer.sequence(msg(ch, 2));
      const frame = encode({ t: 103, ch, seq: 2, ep: stale.epoch, data: 'fork' });
      expect(await w.history.append(ch, { seq: 2, epoch: stale.epoch, ts: 0, frame, dedupeId: 'in:rp-fork' }, stale.lastStored)).toEqual({ kind: 'conflict' });
      await w.sequencer.sequence(msg(ch, 3));
      // The server republishes in the order it stores, so seq 3 arriving means anything
      // republished before it has arrived too: the refused fork is not among them.
      await waitUntil('seq 3 live', () => watch.msgs.some((m) => seqOf(m) === 3), 10_000);
      expect(watch.msgs.map((m) => decodeFrame(m).data)).toEqual([1, 2, 3]);
      expect(w.live.emits).toBe(0);
      watch.stop();
    } finally {
      await w.close();
    }
  });

  it('emits a redelivered duplicate itself (the stream republishes only what it stores)', async () => {
    const w = await workerPath(c, memoryLogger().log);
    try {
      const ch = channel('rp-dup');
      const watch = await watchLive(c, ch);
      const m = msg(ch, 'once', 'conn-9');
      expect(await w.sequencer.sequence(m)).toMatchObject({ kind: 'stored', seq: 1 });
      // The ingest message comes again (its first delivery may have died before the ack).
      expect(await w.sequencer.sequence(m)).toEqual({ kind: 'redelivered' });
      expect(w.live.emits).toBe(1);
      await w.sequencer.sequence(msg(ch, 'next'));
      await waitUntil('seq 2 live', () => watch.msgs.some((x) => seqOf(x) === 2), 10_000);
      // seq 1 from the stream, seq 1 again from the worker (byte for byte the same, same
      // exclude id, no stream headers), then seq 2 from the stream. Both sources publish on
      // one subject in the order of the worker's appends.
      expect(watch.msgs.map((x) => [seqOf(x), x.headers?.has('Nats-Sequence') ?? false, x.headers?.get(Header.ExcludeClient) || undefined])).toEqual([
        [1, true, 'conn-9'],
        [1, false, 'conn-9'],
        [2, true, undefined],
      ]);
      expect(Buffer.from(watch.msgs[0]!.data).equals(Buffer.from(watch.msgs[1]!.data))).toBe(true);
      watch.stop();
    } finally {
      await w.close();
    }
  });
});

describe('history stream created without RePublish (earlier versions)', () => {
  const c = new Contract({ prefix: uniquePrefix(), partitions: 4 });

  beforeAll(async () => {
    await createLegacyHistory(c);
  });

  it('the worker learns it from the stream and emits every stored message live itself', async () => {
    expect((await jsm.streams.info(c.historyStream)).config.republish).toBeUndefined();
    const { log, lines } = memoryLogger();
    const w = await workerPath(c, log);
    try {
      expect(w.mode.emitter).toBe('worker');
      expect(lines().filter((l) => l.live !== undefined).map((l) => [l.live, l.msg])).toEqual([
        ['worker', 'live mode: the history stream has no RePublish; the worker emits each stored message live itself'],
      ]);
      const ch = channel('legacy');
      const watch = await watchLive(c, ch);
      await w.sequencer.sequence(msg(ch, 'a'));
      const before = w.published();
      await w.sequencer.sequence(msg(ch, 'b', 'conn-3'));
      await w.sequencer.sequence(msg(ch, 'c'));
      // Each message: the append and the live publish.
      expect(w.published() - before).toBe(4);
      expect(w.live.emits).toBe(3);
      await waitUntil('three live frames', () => watch.msgs.length >= 3, 10_000);
      expect(watch.msgs.map((m) => [seqOf(m), m.headers?.has('Nats-Sequence') ?? false, m.headers?.get(Header.ExcludeClient) || undefined])).toEqual([
        [1, false, undefined],
        [2, false, 'conn-3'],
        [3, false, undefined],
      ]);
      watch.stop();
    } finally {
      await w.close();
    }
  });

  it('follows the stream when it is re-created with RePublish', async () => {
    const { log, lines } = memoryLogger();
    const w = await workerPath(c, log);
    try {
      expect(w.mode.emitter).toBe('worker');
      await jsm.streams.delete(c.historyStream);
      await ensureContract(nc, jsm, c, defaultStreamSettings);
      await w.mode.refresh();
      expect(w.mode.emitter).toBe('stream');
      expect(w.live.streamRepublishes).toBe(true);
      // Logged at start and once per change, not at every refresh.
      await w.mode.refresh();
      const modes = lines().filter((l) => l.live !== undefined).map((l) => l.live);
      expect(modes).toEqual(['worker', 'stream']);
    } finally {
      await w.close();
    }
  });
});

describe('the worker process on a history stream without RePublish', () => {
  it('starts, says so, and delivers end to end, echo: false included', async () => {
    const prefix = uniquePrefix();
    const c = new Contract({ prefix, partitions: 16 });
    await createLegacyHistory(c);
    const system = await startCascade({ natsUrl: nats.url, prefix, edges: 1, services: ['fan-out-worker'] });
    const clients: TestWsClient[] = [];
    try {
      const [worker] = system.services.get('fan-out-worker')!;
      // Its start-up "ensure" could not add RePublish on 2.9.10; a later server may have.
      const fallback = !republishesLive(c, (await jsm.streams.info(c.historyStream)).config.republish);
      if (nc.info?.version === '2.9.10') expect(fallback).toBe(true);
      await worker!.waitForOutput(fallback ? 'the history stream has no RePublish' : 'the history stream republishes', 10_000);
      const health = (await nc.request(c.service('fanout', 'health'), '', { timeout: 5000 })).json<{ live: string }>();
      expect(health.live).toBe(fallback ? 'worker' : 'stream');

      const join = async () => {
        const cl = await TestWsClient.connect(system.edges[0]!.url);
        clients.push(cl);
        cl.send({ t: 1 });
        await cl.next((f) => f.t === 101);
        cl.send({ t: 2, id: 1, ch: 'legacy-room' });
        await cl.next((f) => f.id === 1);
        return cl;
      };
      const alice = await join();
      const bob = await join();
      alice.send({ t: 4, id: 2, ch: 'legacy-room', data: 'quiet', key: 'q1', echo: false });
      alice.send({ t: 4, id: 3, ch: 'legacy-room', data: 'loud', key: 'q2' });
      const b = [await bob.next((f) => f.t === 103, 10_000), await bob.next((f) => f.t === 103, 10_000)];
      expect(b.map((f) => [f.seq, f.data])).toEqual([
        [1, 'quiet'],
        [2, 'loud'],
      ]);
      const a1 = await alice.next((f) => f.t === 103, 10_000);
      const a2 = await alice.next((f) => f.t === 103, 10_000);
      expect(a1).toMatchObject({ seq: 1, key: 'q1', skip: true });
      expect(a1.data).toBeUndefined();
      expect(a2).toMatchObject({ seq: 2, data: 'loud' });
    } finally {
      await Promise.all(clients.map((cl) => cl.close().catch(() => undefined)));
      await system.stop();
    }
  }, 60_000);
});

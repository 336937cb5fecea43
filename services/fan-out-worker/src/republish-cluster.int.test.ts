// RePublish on a replicated history stream, against a real 3-node nats-server cluster: only
// the stream leader republishes, so each stored message reaches a live subscriber exactly
// once (not once per replica), in order, on whichever node the subscriber is connected to,
// also across a change of stream leader; a redelivered duplicate is emitted by the worker.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decode } from '@msgpack/msgpack';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { createLogger } from '@cascade/log';
import { Contract, Header, defaultStreamSettings, ensureContract } from '@cascade/nats';
import type { ChannelName } from '@cascade/protocol';
import { startNatsCluster, uniquePrefix, type NatsClusterFixture } from '@cascade/testing';
import { JetStreamHistoryLog } from './history-log.js';
import type { IngestMessage } from './ingest.js';
import { channel, checkChannel, ingestMessage, waitUntil, type Frame } from './int-helpers.js';
import { HistoryLiveMode, NatsLiveOutput } from './live.js';
import { ChannelPositions } from './positions.js';
import { Sequencer } from './sequencer.js';

const contract = new Contract({ prefix: uniquePrefix(), partitions: 4 });
let cluster: NatsClusterFixture;
let worker: NatsConnection;
let jsm: JetStreamManager;
/** One subscriber connection per node. */
let subscribers: NatsConnection[] = [];

beforeAll(async () => {
  cluster = await startNatsCluster();
  worker = await connect({ servers: cluster.urls[0]! });
  jsm = await jetstreamManager(worker);
  await ensureContract(worker, jsm, contract, { ...defaultStreamSettings, replicas: 3 });
  subscribers = await Promise.all(cluster.urls.map((url) => connect({ servers: url })));
}, 90_000);

afterAll(async () => {
  await Promise.all([worker, ...subscribers].map((c) => c?.close()));
  await cluster?.stop();
});

interface Received {
  frame: Frame;
  /** Carries the stream's headers: the server's republished copy, not a worker publish. */
  republished: boolean;
  excludeClient: string | undefined;
}

const msg = (ch: ChannelName, i: number, excludeClient?: string) => ingestMessage(ch, { p: 'w', i }, excludeClient === undefined ? {} : { excludeClient });

async function streamLeader(): Promise<string | undefined> {
  return (await jsm.streams.info(contract.historyStream)).cluster?.leader;
}

it('republishes each stored message once from the stream leader, in order, on every node, across a leader change', async () => {
  const info = await jsm.streams.info(contract.historyStream);
  expect(info.config.num_replicas).toBe(3);
  expect(info.cluster?.replicas).toHaveLength(2);

  const received: Array<Map<string, Received[]>> = subscribers.map(() => new Map());
  for (const [i, nc] of subscribers.entries()) {
    nc.subscribe(contract.liveAll, {
      callback: (_e, m) => {
        const f = decode(m.data) as Omit<Frame, 'bytes'>;
        const ch = contract.channelOf(m.subject);
        const list = received[i]!.get(ch) ?? [];
        list.push({ frame: { ...f, bytes: m.data }, republished: m.headers?.has('Nats-Sequence') ?? false, excludeClient: m.headers?.get(Header.ExcludeClient) || undefined });
        received[i]!.set(ch, list);
      },
    });
  }
  await Promise.all(subscribers.map((nc) => nc.flush()));

  const log = createLogger({ service: 'test', level: 'silent' });
  const mode = await HistoryLiveMode.open(jsm, contract, log, 3_600_000);
  expect(mode.emitter).toBe('stream');
  const history = new JetStreamHistoryLog(worker, jsm, contract);
  const sequencer = new Sequencer(history, new NatsLiveOutput(worker, contract, mode), new ChannelPositions());
  const channels = ['r3-a', 'r3-b', 'r3-c', 'r3-d'].map(channel);
  const PER_ROUND = 40;
  let next = 0;
  const redelivered: IngestMessage[] = [];
  // Channels written concurrently, each in order, as the partition pipeline does.
  const round = async () => {
    const from = next;
    next += PER_ROUND;
    await Promise.all(
      channels.map(async (ch, c) => {
        for (let i = from; i < from + PER_ROUND; i++) {
          const m = msg(ch, i, i % 10 === 3 ? `conn-${c}` : undefined);
          expect((await sequencer.sequence(m)).kind).toBe('stored');
          // Now and then the same ingest message again, as after a crash before the ack.
          if (i % 25 === 7) {
            expect(await sequencer.sequence(m)).toEqual({ kind: 'redelivered' });
            redelivered.push(m);
          }
        }
      }),
    );
  };

  await round();
  const before = await streamLeader();
  await worker.request(`$JS.API.STREAM.LEADER.STEPDOWN.${contract.historyStream}`, '', { timeout: 5000 });
  await waitUntil('a new stream leader', async () => {
    const now = await streamLeader();
    return now !== undefined && now !== before;
  }, 20_000);
  await round();

  const stored = channels.length * next;
  const total = stored + redelivered.length;
  for (const [i, byChannel] of received.entries()) {
    await waitUntil(`node ${i + 1} to receive ${total} live messages`, () => [...byChannel.values()].reduce((n, l) => n + l.length, 0) >= total, 20_000);
  }
  // A barrier per node: one more message per channel, then a round trip to each subscriber's
  // server, so a second copy of anything (from a replica) would have arrived by now.
  for (const ch of channels) await sequencer.sequence(msg(ch, next));
  for (const [i, byChannel] of received.entries()) {
    await waitUntil(`node ${i + 1} barrier`, () => channels.every((ch) => byChannel.get(ch)!.some((r) => r.frame.data.i === next)), 20_000);
  }
  await Promise.all(subscribers.map((nc) => nc.flush()));

  for (const byChannel of received) {
    expect([...byChannel.values()].reduce((n, l) => n + l.length, 0)).toBe(total + channels.length);
    for (const ch of channels) {
      const got = byChannel.get(ch)!;
      // The server's copies: every seq exactly once, in order.
      const republished = got.filter((r) => r.republished);
      expect(republished.map((r) => r.frame.seq)).toEqual(Array.from({ length: next + 1 }, (_, k) => k + 1));
      expect(republished.map((r) => r.frame.data.i)).toEqual(Array.from({ length: next + 1 }, (_, k) => k));
      expect(republished.filter((r) => r.excludeClient !== undefined).map((r) => r.frame.data.i)).toEqual(
        Array.from({ length: next + 1 }, (_, k) => k).filter((k) => k % 10 === 3 && k < next),
      );
      // The worker's copies: only the redelivered ones.
      expect(got.filter((r) => !r.republished).length).toBe(redelivered.filter((m) => m.channel === ch).length);
      // What a subscriber sees after dropping repeats: gapless, in order, one epoch.
      const { marks, repeats } = checkChannel(ch, got.map((r) => r.frame));
      expect(marks).toHaveLength(next + 1);
      expect(repeats).toBe(redelivered.filter((m) => m.channel === ch).length);
    }
  }
  mode.stop();
  history.close();
}, 120_000);

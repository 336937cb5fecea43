// The NATS contract against a real nats-server: the shipped subject mapping agrees with the
// library's partition function, and "ensure" is idempotent and safe to run concurrently,
// and copes with a history stream created without RePublish (nats-server 2.9.10 refuses to
// add it by an update).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { millis } from '@nats-io/nats-core';
import { parseChannel, type ChannelName } from '@cascade/protocol';
import { startNatsServer, uniquePrefix, type NatsServerFixture } from '@cascade/testing';
import { Contract } from './subjects.js';
import { defaultStreamSettings, ensureContract, historyRepublish, historyStreamConfig, republishesLive } from './streams.js';

const PARTITIONS = 16;
let nats: NatsServerFixture;
let nc: NatsConnection;
let jsm: JetStreamManager;
const mapped = new Contract({ prefix: 'mapped', partitions: PARTITIONS });

beforeAll(async () => {
  const m = mapped.serverMapping();
  nats = await startNatsServer({ config: `mappings {\n  "${m.from}": "${m.to}"\n}\n` });
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

const ch = (name: string) => {
  const r = parseChannel(name);
  if (!r.ok) throw new Error(r.reason);
  return r.channel.name;
};

describe('server subject mapping', () => {
  it('routes <prefix>.pub.<ch> to the partition partitionOf() computes', async () => {
    const names: ChannelName[] = Array.from({ length: 300 }, (_, i) => ch(i % 3 === 0 ? `user:${i}` : `room-${i}~x`));
    const got = new Map<string, string>();
    const sub = nc.subscribe(`${mapped.prefix}.in.>`, {
      callback: (_e, m) => {
        got.set(m.string(), m.subject);
      },
    });
    await nc.flush();
    for (const n of names) nc.publish(mapped.publishAlias(n), n);
    await nc.flush();
    const until = Date.now() + 5000;
    while (got.size < names.length && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    sub.unsubscribe();
    expect(got.size).toBe(names.length);
    for (const n of names) expect(got.get(n)).toBe(mapped.ingest(n));
  });
});

describe('ensureContract', () => {
  it('creates every stream and bucket, and is safe to run concurrently and repeatedly', async () => {
    const c = new Contract({ prefix: uniquePrefix(), partitions: 4 });
    await Promise.all([1, 2, 3, 4].map(() => ensureContract(nc, jsm, c, defaultStreamSettings)));
    await ensureContract(nc, jsm, c, defaultStreamSettings);
    const ingest = await jsm.streams.info(c.ingestStream);
    expect(ingest.config.subjects).toEqual([c.ingestAll]);
    expect(ingest.config.retention).toBe('workqueue');
    const hist = await jsm.streams.info(c.historyStream);
    expect(hist.config.max_msgs_per_subject).toBe(defaultStreamSettings.historyMaxMsgsPerChannel);
    expect(hist.config.allow_direct).toBe(true);
    expect(hist.config.republish).toEqual({ src: `${c.prefix}.hist.>`, dest: `${c.prefix}.live.>` });
    for (const b of Object.values(c.buckets)) expect((await jsm.streams.info(`KV_${b}`)).config.name).toBe(`KV_${b}`);
    expect(millis((await jsm.streams.info(`KV_${c.buckets.leases}`)).config.max_age)).toBe(15_000);
  });

  it('updates an existing stream to the declared config', async () => {
    const c = new Contract({ prefix: uniquePrefix(), partitions: 4 });
    await ensureContract(nc, jsm, c, defaultStreamSettings);
    const changed = { ...defaultStreamSettings, historyMaxMsgsPerChannel: 50, historyMaxAgeMs: 3_600_000 };
    await ensureContract(nc, jsm, c, changed);
    const hist = await jsm.streams.info(c.historyStream);
    expect(hist.config.max_msgs_per_subject).toBe(50);
    expect(millis(hist.config.max_age)).toBe(3_600_000);
    expect(historyStreamConfig(c, changed).max_msgs_per_subject).toBe(50);
  });

  it('on a history stream created without RePublish, applies the rest of the declared config and does not fail', async () => {
    const c = new Contract({ prefix: uniquePrefix(), partitions: 4 });
    // As versions before RePublish created it.
    const { republish: _none, ...legacy } = historyStreamConfig(c, defaultStreamSettings);
    await jsm.streams.add(legacy);
    const changed = { ...defaultStreamSettings, historyMaxMsgsPerChannel: 500 };
    await ensureContract(nc, jsm, c, changed);
    await ensureContract(nc, jsm, c, changed);
    const hist = await jsm.streams.info(c.historyStream);
    expect(hist.config.max_msgs_per_subject).toBe(500);
    // The server refused RePublish on the update (2.9.10: "stream configuration update can
    // not change RePublish") and the stream has none, or it accepted it (later servers).
    if (hist.config.republish !== undefined) expect(hist.config.republish).toEqual(historyRepublish(c));
    if (nc.info?.version === '2.9.10') expect(republishesLive(c, hist.config.republish)).toBe(false);
  });
});

// The membership store against a real nats-server: concurrent adds and removes from several
// writers converge to the same membership in every cache, and `sync` gives read-your-writes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { startNatsServer, uniquePrefix, type NatsServerFixture } from '@cascade/testing';
import { Contract } from './subjects.js';
import { defaultStreamSettings, ensureContract } from './streams.js';
import { GroupMembership } from './groups.js';

let nats: NatsServerFixture;
let nc: NatsConnection;
let jsm: JetStreamManager;
const contract = new Contract({ prefix: uniquePrefix(), partitions: 4 });
const opened: GroupMembership[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
  await ensureContract(nc, jsm, contract, defaultStreamSettings);
});

afterAll(async () => {
  for (const m of opened) m.stop();
  await nc?.close();
  await nats?.stop();
});

async function open(o: Parameters<typeof GroupMembership.open>[3] = {}): Promise<GroupMembership> {
  const m = await GroupMembership.open(nc, jsm, contract, o);
  opened.push(m);
  return m;
}

describe('GroupMembership', () => {
  it('converges under concurrent adds and removes from two writers, and a late cache loads the same state', async () => {
    const changes: string[] = [];
    const a = await open({ onChange: (g, u, member) => changes.push(`${g}/${u}/${member}`) });
    const b = await open();
    const users = Array.from({ length: 60 }, (_, i) => `u${i}@x`);
    await Promise.all([
      a.add('crew', users.slice(0, 40)),
      b.add('crew', users.slice(20)),
      b.remove('crew', ['u0@x', 'u59@x', 'nobody']),
      a.add('other~1', ['solo']),
    ]);
    // u0 and u59 were added and removed concurrently: last write wins, whatever it was; the
    // other 58 are members in every cache.
    await a.sync();
    await b.sync();
    const late = await open();
    for (const m of [a, b, late]) {
      expect(m.members('crew')).toEqual(a.members('crew'));
      for (const u of users.slice(1, 59)) expect(m.has('crew', u)).toBe(true);
      expect(m.members('other~1')).toEqual(['solo']);
    }
    expect(changes).toContain('other~1/solo/true');
  });

  it('sync() reflects a change written just before by another writer (read-your-writes)', async () => {
    const writer = await open();
    const reader = await open();
    for (let i = 0; i < 20; i++) {
      await writer.add('ryw', [`v${i}`]);
      await reader.sync();
      expect(reader.has('ryw', `v${i}`)).toBe(true);
      await writer.remove('ryw', [`v${i}`]);
      await reader.sync();
      expect(reader.has('ryw', `v${i}`)).toBe(false);
    }
    expect(reader.size('ryw')).toBe(0);
  });
});

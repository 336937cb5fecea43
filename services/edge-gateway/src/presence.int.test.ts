// Presence end to end: real edges report their WebSocket connections to the presence
// service, which answers queries, sends join/leave frames to channel subscribers and
// publishes events for backends on plain NATS subjects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { eventually, startCascade, startNatsServer, TestWsClient, type CascadeSystem, type NatsServerFixture } from '@cascade/testing';

let nats: NatsServerFixture;
let system: CascadeSystem;
let nc: NatsConnection;
const events: Array<{ kind: string; events: Array<{ user: string; ch?: string }> }> = [];

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({
    natsUrl: nats.url,
    edges: 2,
    services: ['fan-out-worker', 'presence'],
    env: { PRESENCE_GRACE_PERIOD: '1s', PRESENCE_BATCH_INTERVAL: '200ms', PRESENCE_EDGE_TIMEOUT: '3s' },
  });
  nc = await connect({ servers: nats.url });
  nc.subscribe(`${system.prefix}.events.*`, { callback: (_e, m) => void events.push(m.json()) });
  await nc.flush();
}, 90_000);

afterAll(async () => {
  await nc?.close();
  await system?.stop();
  await nats?.stop();
});

async function member(url: string, ch: string): Promise<TestWsClient> {
  const c = await TestWsClient.connect(url);
  c.send({ t: 1 });
  await c.next((f) => f.t === 101);
  c.send({ t: 2, id: 1, ch });
  await c.next((f) => f.id === 1);
  return c;
}

const request = async (verb: string, body: unknown) =>
  (await nc.request(`${system.prefix}.svc.presence.${verb}`, JSON.stringify(body), { timeout: 5000 })).json<any>();

describe('presence through real edges', () => {
  it('tracks members across edges, sends join/leave frames, and tells backends', async () => {
    const [e1, e2] = system.edges;
    const alice = await member(e1!.url, 'room:1');
    const aliceUser = (alice.frames[0] as { user: string }).user;
    const bob = await member(e2!.url, 'room:1');
    const bobUser = (bob.frames[0] as { user: string }).user;

    const members = await eventually(
      'both users members of room:1',
      () => request('members', { ch: 'room:1' }),
      (r) => r.count === 2,
    );
    expect(members.members.map((m: { user: string }) => m.user).sort()).toEqual([aliceUser, bobUser].sort());
    const status = await request('status', { users: [aliceUser, bobUser, 'nobody'] });
    expect(status.users[aliceUser].online).toBe(true);
    expect(status.users[bobUser].online).toBe(true);
    expect(status.users['nobody'].online).toBe(false);

    // Alice, already in the room, is told bob joined (from the other edge), as an ephemeral frame.
    const joined = await alice.next((f) => f.t === 105 && (f.join ?? []).some((m: { user: string }) => m.user === bobUser), 10_000);
    expect(joined.ch).toBe('room:1');

    // Bob leaves: after the grace period alice gets a leave, and backends a leave and a disconnect.
    await bob.close();
    const left = await alice.next((f) => f.t === 105 && (f.leave ?? []).some((m: { user: string }) => m.user === bobUser), 10_000);
    expect(left.ch).toBe('room:1');
    await eventually(
      `a disconnect event for ${bobUser}`,
      () => events,
      (ev) => ev.some((e) => e.kind === 'disconnect' && e.events.some((x) => x.user === bobUser)),
    );
    const kinds = (kind: string, user: string) => events.filter((e) => e.kind === kind).flatMap((e) => e.events).filter((x) => x.user === user);
    expect(kinds('connect', bobUser)).toHaveLength(1);
    expect(kinds('join', bobUser).map((x) => x.ch)).toEqual(['room:1']);
    expect(kinds('leave', bobUser).map((x) => x.ch)).toEqual(['room:1']);
    expect(kinds('disconnect', bobUser)).toHaveLength(1);
    const after = await request('status', { users: [bobUser] });
    expect(after.users[bobUser].online).toBe(false);
    expect(typeof after.users[bobUser].lastSeen).toBe('number');
    await alice.close();
  }, 40_000);
});

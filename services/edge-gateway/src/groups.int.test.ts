// Groups end to end: real nats-server, edge, fan-out worker and history processes, real
// WebSocket clients with HS256 tokens, membership through the edge's HTTP API. A group at or
// under GROUP_FANOUT_THRESHOLD (3 here) reaches members through their personal channels; a
// larger one through `group:<g>`. Either way a member offline at publish time catches up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@cascade/protocol';
import { hs256Token, natsFixture, startCascade, TestWsClient, type CascadeSystem, type NatsFixture } from '@cascade/testing';

const SECRET = 'groups-test-secret-0123456789abcdef0123';
const API_KEY = 'groups-test-api-key';
let nats: NatsFixture;
let system: CascadeSystem;
const clients: TestWsClient[] = [];

beforeAll(async () => {
  nats = await natsFixture();
  system = await startCascade({
    natsUrl: nats.url,
    edges: 1,
    services: ['fan-out-worker', 'history'],
    env: {
      EDGE_JWT_HS256_SECRET: SECRET,
      EDGE_ANONYMOUS: 'off',
      EDGE_API_KEY: API_KEY,
      GROUP_FANOUT_THRESHOLD: '3',
    },
  });
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await system?.stop();
  await nats?.stop();
});

async function signedIn(sub: string, claims: Record<string, unknown> = {}): Promise<TestWsClient> {
  const token = await hs256Token(SECRET, { sub, ...claims });
  const c = await TestWsClient.connect(system.edges[0]!.url);
  clients.push(c);
  c.send({ t: 1, token });
  await c.next((f) => f.t === 101);
  return c;
}

async function api(method: string, path: string, body?: unknown, key = API_KEY): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${system.edges[0]!.port}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

let nextId = 1;
/** Sends a request frame and resolves with its reply or error. */
async function request(c: TestWsClient, frame: Record<string, unknown>): Promise<any> {
  const id = nextId++;
  c.send({ ...frame, id });
  return c.next((f) => (f.t === 102 || f.t === 106) && f.id === id);
}

describe('groups', () => {
  it('a group of 3 is written into each member inbox, tagged with the group, and reaches a member who connects later', async () => {
    expect((await api('POST', '/v1/groups/team/members', { users: ['alice', 'bob', 'carol'] })).body).toMatchObject({ group: 'team', count: 3 });
    const listed = await api('GET', '/v1/groups/team/members');
    expect(listed).toEqual({ status: 200, body: expect.objectContaining({ members: ['alice', 'bob', 'carol'], mode: 'inbox' }) });

    const alice = await signedIn('alice');
    const bob = await signedIn('bob');
    const mallory = await signedIn('mallory');
    expect(await request(mallory, { t: 4, ch: 'group:team', data: 'spam' })).toMatchObject({ t: 106, code: ErrorCode.PermissionDenied });
    expect(await request(mallory, { t: 2, ch: 'group:team' })).toMatchObject({ t: 106, code: ErrorCode.PermissionDenied });

    expect(await request(alice, { t: 4, ch: 'group:team', data: { text: 'hi team' }, key: 'k1' })).toMatchObject({ t: 102 });
    const expected = { t: 103, seq: 1, from: 'alice', key: 'k1', grp: 'team', data: { text: 'hi team' } };
    expect(await bob.next((f) => f.t === 103)).toMatchObject({ ch: 'user:bob', ...expected });
    expect(await alice.next((f) => f.t === 103)).toMatchObject({ ch: 'user:alice', ...expected });

    // carol was offline: her inbox kept it; she resumes her personal channel from the start.
    const carol = await signedIn('carol');
    expect(await request(carol, { t: 3, ch: 'user:carol' })).toMatchObject({ t: 102 });
    expect(await request(carol, { t: 2, ch: 'user:carol', since: { ep: '', seq: 0 } })).toMatchObject({ t: 102, recovered: true });
    expect(await carol.next((f) => f.t === 103)).toMatchObject({ ch: 'user:carol', ...expected });

    // A removed member gets nothing more: bob's inbox stays at seq 1 while alice's moves on.
    expect((await api('DELETE', '/v1/groups/team/members', { users: ['bob'] })).body).toMatchObject({ count: 2 });
    expect(await request(alice, { t: 4, ch: 'group:team', data: 'second' })).toMatchObject({ t: 102 });
    expect(await carol.next((f) => f.t === 103)).toMatchObject({ ch: 'user:carol', seq: 2, grp: 'team', data: 'second' });
    expect((await api('GET', '/v1/channels/user%3Abob/position')).body).toMatchObject({ seq: 1 });
    expect(await request(bob, { t: 4, ch: 'group:team', data: 'no longer' })).toMatchObject({ t: 106, code: ErrorCode.PermissionDenied });
  });

  it('a group above the threshold is stored once in its channel; members subscribe, non-members are refused, a late member catches up', async () => {
    expect((await api('POST', '/v1/groups/big/members', { users: ['dan', 'erin', 'frank', 'gus'] })).body).toMatchObject({ count: 4 });
    expect((await api('GET', '/v1/groups/big/members')).body).toMatchObject({ count: 4, mode: 'channel' });
    const dan = await signedIn('dan');
    const erin = await signedIn('erin');
    const eve = await signedIn('eve');
    for (const c of [dan, erin]) expect(await request(c, { t: 2, ch: 'group:big' })).toMatchObject({ t: 102 });
    expect(await request(eve, { t: 2, ch: 'group:big' })).toMatchObject({ t: 106, code: ErrorCode.PermissionDenied });

    expect(await request(dan, { t: 4, ch: 'group:big', data: 'hello all' })).toMatchObject({ t: 102 });
    const expected = { t: 103, ch: 'group:big', seq: 1, from: 'dan', data: 'hello all' };
    const got = await erin.next((f) => f.t === 103);
    expect(got).toMatchObject(expected);
    expect(got.grp).toBeUndefined();
    expect(await dan.next((f) => f.t === 103)).toMatchObject(expected);
    // Stored once: nothing was written into the members' inboxes.
    expect((await api('GET', '/v1/channels/user%3Aerin/position')).body).toMatchObject({ seq: 0 });

    // gus was offline; he subscribes with since and gets it from the group's history.
    const gus = await signedIn('gus');
    expect(await request(gus, { t: 2, ch: 'group:big', since: { ep: '', seq: 0 } })).toMatchObject({ t: 102, recovered: true });
    expect(await gus.next((f) => f.t === 103)).toMatchObject(expected);

    // Removing a member ends its subscription at once and refuses it from then on.
    expect((await api('DELETE', '/v1/groups/big/members', { users: ['erin'] })).body).toMatchObject({ count: 3 });
    expect(await erin.next((f) => f.t === 106)).toMatchObject({ code: ErrorCode.PermissionDenied, ch: 'group:big' });
    expect(await request(erin, { t: 2, ch: 'group:big' })).toMatchObject({ t: 106, code: ErrorCode.PermissionDenied });
  });

  it('validates API input and requires the API key', async () => {
    expect((await api('POST', '/v1/groups/a.b/members', { users: ['x'] })).status).toBe(400);
    expect((await api('POST', '/v1/groups/ok/members', { users: ['not valid'] })).status).toBe(400);
    expect((await api('POST', '/v1/groups/ok/members', { users: [] })).status).toBe(400);
    expect((await api('GET', '/v1/groups/ok/members', undefined, 'wrong')).status).toBe(401);
    expect((await api('GET', '/v1/groups/nobody/members')).body).toMatchObject({ count: 0, members: [] });
  });
});

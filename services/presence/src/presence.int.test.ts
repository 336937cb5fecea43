// The presence service against a real nats-server, with simulated edges: plain NATS clients
// running the edge side of the contract (EdgePresenceLink), so the service is tested through
// exactly the messages a real edge will send.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { decodeServerFrame, type ChannelName, type PresenceFrame } from '@cascade/protocol';
import {
  EdgePresenceLink,
  Header,
  PresenceSubjects,
  encodeJson,
  type MembersAnswer,
  type PresenceEvent,
  type PresenceEventBatch,
  type StatusAnswer,
} from '@cascade/nats';
import { sleep, eventually, startCascadeService, startNatsServer, uniquePrefix, type NatsServerFixture, type ServiceProcess } from '@cascade/testing';

const ch = (s: string) => s as ChannelName;
const GRACE_MS = 1000;
const EDGE_TIMEOUT_MS = 1500;
const BATCH_MS = 200;
const HEARTBEAT_MS = 300;
/** The frame budget of the shared service, small so the login wave shows it at work. */
const WAVE_FRAME_RATE = 20;
const env = (prefix: string, extra: Record<string, string> = {}) => ({
  NATS_URL: nats.url,
  RT_PREFIX: prefix,
  LOG_FORMAT: 'json',
  LOG_LEVEL: 'info',
  PRESENCE_GRACE_PERIOD: `${GRACE_MS}ms`,
  PRESENCE_EDGE_TIMEOUT: `${EDGE_TIMEOUT_MS}ms`,
  PRESENCE_BATCH_INTERVAL: `${BATCH_MS}ms`,
  PRESENCE_SNAPSHOT_TIMEOUT: '1s',
  // A short emitter lease, so a replica taking over does not keep the tests waiting.
  RT_LEASE_TTL: '2s',
  ...extra,
});

let nats: NatsServerFixture;
const connections: NatsConnection[] = [];
const links: EdgePresenceLink[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
});

afterAll(async () => {
  for (const l of links) l.stop({ bye: false });
  await Promise.all(connections.map((c) => c.close()));
  await nats?.stop();
});

async function client(): Promise<NatsConnection> {
  const nc = await connect({ servers: nats.url });
  connections.push(nc);
  return nc;
}

/** A simulated edge with its own NATS connection, as a real edge process would have. */
async function simEdge(prefix: string, edge: string): Promise<EdgePresenceLink> {
  const link = new EdgePresenceLink(await client(), { prefix }, { edge, deltaIntervalMs: 100, heartbeatIntervalMs: HEARTBEAT_MS });
  link.start();
  links.push(link);
  return link;
}

/** Everything the service publishes: events for backends and frames on live subjects. */
class Observer {
  readonly events: Array<PresenceEvent & { kind: string; at: number }> = [];
  readonly frames: Array<{ subject: string; frame: PresenceFrame; ephemeral: boolean }> = [];
  eventMessages = 0;

  static async start(prefix: string): Promise<Observer> {
    const o = new Observer();
    const nc = await client();
    nc.subscribe(`${prefix}.events.*`, {
      callback: (_e, m) => {
        o.eventMessages++;
        const batch = m.json<PresenceEventBatch>();
        for (const e of batch.events) o.events.push({ ...e, kind: batch.kind, at: Date.now() });
      },
    });
    nc.subscribe(`${prefix}.live.>`, {
      callback: (_e, m) => {
        const d = decodeServerFrame(m.data);
        if (d.ok) o.frames.push({ subject: m.subject, frame: d.frame as PresenceFrame, ephemeral: m.headers?.get(Header.Ephemeral) === '1' });
      },
    });
    await nc.flush();
    return o;
  }

  of(user: string): string[] {
    return this.events.filter((e) => e.user === user).map((e) => (e.ch ? `${e.kind}@${e.ch}` : e.kind));
  }
}

async function query<T>(nc: NatsConnection, subject: string, body: unknown): Promise<T> {
  const m = await nc.request(subject, encodeJson(body), { timeout: 2000 });
  return m.json<T>();
}


describe('presence service with simulated edges', () => {
  const prefix = uniquePrefix();
  const s = new PresenceSubjects({ prefix });
  let service: ServiceProcess;
  let observer: Observer;
  let nc: NatsConnection;
  let edgeA: EdgePresenceLink;
  let edgeB: EdgePresenceLink;
  const status = async (user: string) => (await query<StatusAnswer>(nc, s.status, { users: [user] })).users[user]!;

  beforeAll(async () => {
    [service, observer, nc] = await Promise.all([
      startCascadeService('presence', env(prefix, { PRESENCE_MAX_MEMBERS: '20', PRESENCE_FRAME_RATE: String(WAVE_FRAME_RATE) })),
      Observer.start(prefix),
      client(),
    ]);
    [edgeA, edgeB] = await Promise.all([simEdge(prefix, 'edge-a'), simEdge(prefix, 'edge-b')]);
  });

  afterAll(async () => {
    await service?.stop();
  });

  it('reports a user online at connect and offline only after the grace period; a reconnect within it emits nothing', async () => {
    edgeA.reporter.connect('a-1', 'alice');
    await eventually('alice online', () => status('alice'), (st) => st.online && st.connections === 1);
    edgeA.reporter.disconnect('a-1');
    await sleep(GRACE_MS / 2);
    expect((await status('alice')).online).toBe(true);
    // The phone comes back through another edge, inside the grace period.
    edgeB.reporter.connect('b-1', 'alice');
    await sleep(GRACE_MS + 2 * BATCH_MS);
    expect(observer.of('alice')).toEqual(['connect']);
    expect(await status('alice')).toEqual({ online: true, lastSeen: expect.any(Number), connections: 1, edges: { 'edge-b': 1 } });

    const wentAt = Date.now();
    edgeB.reporter.disconnect('b-1');
    await eventually('alice offline event', () => observer.of('alice'), (k) => k.includes('disconnect'));
    const offlineAfter = observer.events.find((e) => e.user === 'alice' && e.kind === 'disconnect')!.at - wentAt;
    expect(offlineAfter).toBeGreaterThanOrEqual(GRACE_MS - 50);
    expect(offlineAfter).toBeLessThan(GRACE_MS + 1500); // + delta and batch intervals, with slack for a loaded CI
    const st = await status('alice');
    expect(st.online).toBe(false);
    expect(st.lastSeen).toBeGreaterThanOrEqual(wentAt - 50);
    expect(observer.of('alice')).toEqual(['connect', 'disconnect']);
  });

  it('keeps channel members across two edges and delivers batched join and leave frames', async () => {
    const room = ch('room:lobby');
    edgeA.reporter.connect('a-2', 'bob');
    edgeA.reporter.join('a-2', room);
    edgeA.reporter.join('a-2', ch('user:bob'));
    edgeB.reporter.connect('b-2', 'carol');
    edgeB.reporter.join('b-2', room);
    edgeB.reporter.connect('b-3', 'bob'); // bob's second device
    edgeB.reporter.join('b-3', room);
    const members = await eventually(
      'lobby members',
      () => query<MembersAnswer>(nc, s.members, { ch: room }),
      // The two edges report independently: wait for both.
      (m) => m.count === 2 && m.members?.find((x) => x.user === 'bob')?.clients.length === 2,
    );
    expect(members.members?.sort((x, y) => x.user.localeCompare(y.user))).toEqual([
      { user: 'bob', clients: expect.arrayContaining(['a-2', 'b-3']) },
      { user: 'carol', clients: ['b-2'] },
    ]);
    expect(await query(nc, s.members, { ch: 'user:bob' })).toHaveProperty('error');
    expect(await query(nc, s.members, { ch: 'bad channel' })).toHaveProperty('error');

    await eventually('join frames', () => observer.frames.flatMap((f) => f.frame.join ?? []).length, (n) => n >= 2);
    const lobby = () => observer.frames.filter((f) => f.subject === `${prefix}.live.${room}`);
    const joined = lobby().flatMap((f) => f.frame.join ?? []).map((m) => m.user);
    expect(joined.sort()).toEqual(['bob', 'carol']);
    expect(lobby().every((f) => f.ephemeral && f.frame.t === 105 && f.frame.ch === room)).toBe(true);
    expect(observer.frames.some((f) => f.subject.endsWith('user:bob'))).toBe(false);

    // Bob leaves from one device: still a member. Carol unsubscribes: she leaves after the grace period.
    edgeA.reporter.leave('a-2', room);
    edgeB.reporter.leave('b-2', room);
    await eventually('carol left', () => lobby().flatMap((f) => f.frame.leave ?? []).map((m) => m.user), (u) => u.includes('carol'));
    expect(lobby().flatMap((f) => f.frame.leave ?? []).map((m) => m.user)).toEqual(['carol']);
    expect(lobby().at(-1)!.frame.count).toBe(1);
    expect(lobby().length).toBeLessThanOrEqual(3);
  });

  it('gives a plain NATS subscriber connect, join, leave and disconnect once each, with user, channel, edge and time', async () => {
    const t0 = Date.now();
    edgeA.reporter.connect('a-9', 'dave');
    edgeA.reporter.join('a-9', ch('room:events'));
    await eventually('dave joined', () => observer.of('dave'), (k) => k.length === 2);
    edgeA.reporter.disconnect('a-9');
    await eventually('dave gone', () => observer.of('dave'), (k) => k.length === 4);
    await sleep(GRACE_MS + BATCH_MS);
    expect(observer.of('dave').sort()).toEqual(['connect', 'disconnect', 'join@room:events', 'leave@room:events']);
    for (const e of observer.events.filter((x) => x.user === 'dave')) {
      expect(e.edge).toBe('edge-a');
      expect(e.client).toBe('a-9');
      expect(e.ts).toBeGreaterThanOrEqual(t0 - 10);
    }
  });

  it('takes the users of an edge that stops heartbeating offline within the timeout plus the grace period', async () => {
    const doomed = await simEdge(prefix, 'edge-doomed');
    doomed.reporter.connect('d-1', 'erin');
    doomed.reporter.connect('d-2', 'frank');
    edgeA.reporter.connect('a-3', 'frank'); // frank has another connection elsewhere
    await eventually('erin online', () => status('erin'), (st) => st.online);
    const killedAt = Date.now();
    doomed.stop({ bye: false }); // kill -9: no goodbye
    await eventually('erin offline', () => observer.of('erin'), (k) => k.includes('disconnect'), 6000);
    const after = Date.now() - killedAt;
    expect(after).toBeLessThan(EDGE_TIMEOUT_MS + GRACE_MS + BATCH_MS + 1500); // the documented bound, with slack for a loaded CI
    expect(after).toBeGreaterThanOrEqual(GRACE_MS);
    expect(await status('frank')).toMatchObject({ online: true, connections: 1, edges: { 'edge-a': 1 } });
    expect(observer.of('frank')).toEqual(['connect']);
  });

  it('takes the users of an edge that says goodbye through the grace period, without waiting for the edge timeout', async () => {
    const leaving = await simEdge(prefix, 'edge-leaving');
    leaving.reporter.connect('l-1', 'hank');
    await eventually('hank online', () => status('hank'), (st) => st.online);
    const byeAt = Date.now();
    leaving.stop({ bye: true });
    await eventually('hank offline', () => observer.of('hank'), (k) => k.includes('disconnect'), 5000);
    const after = Date.now() - byeAt;
    expect(after).toBeGreaterThanOrEqual(GRACE_MS - 50);
    expect(after).toBeLessThan(EDGE_TIMEOUT_MS + GRACE_MS);
    expect(leaving.failures).toBe(0);
  });

  it('drops invalid reports with a log and keeps serving', async () => {
    const raw = await client();
    raw.publish(`${prefix}.presence.edge-x.delta`, new TextEncoder().encode('{"seq":1,"ts":1,"ops":[["j","c","a.>"]]}'));
    raw.publish(`${prefix}.presence.edge-x.heartbeat`, new TextEncoder().encode('not json'));
    raw.publish(`${prefix}.presence.edge-x.other`, encodeJson({}));
    raw.publish(s.status, encodeJson({}));
    expect(await query(raw, s.status, { users: 'x' })).toHaveProperty('error');
    await service.waitForOutput('dropped an invalid presence report', 3000);
    expect(await status('nobody')).toEqual({ online: false, lastSeen: null, connections: 0, edges: {} });
  });

  it('coalesces 5,000 connects in a few seconds into a bounded number of presence messages', async () => {
    const framesBefore = observer.frames.length;
    const eventMessagesBefore = observer.eventMessages;
    const eventsBefore = observer.events.length;
    const edges = await Promise.all([simEdge(prefix, 'wave-1'), simEdge(prefix, 'wave-2')]);
    const started = Date.now();
    // 5,000 logins over about 2.5 s, each joining one of 50 rooms and its personal channel.
    for (let i = 0; i < 5000; i++) {
      const edge = edges[i % 2]!;
      edge.reporter.connect(`w-${i}`, `wave-user-${i}`);
      edge.reporter.join(`w-${i}`, ch(`wave:${i % 50}`));
      edge.reporter.join(`w-${i}`, ch(`user:wave-user-${i}`));
      if (i % 200 === 199) await sleep(100);
    }
    // The coalesced frames drain at the budget's pace until every room's latest frame has its final count.
    const waveFrames = () => observer.frames.slice(framesBefore);
    const lastCounts = () => {
      const last = new Map<string, number | undefined>();
      for (const f of waveFrames()) last.set(f.frame.ch, f.frame.count);
      return [...last.values()];
    };
    await eventually('final counts sent', lastCounts, (c) => c.length === 50 && c.every((n) => n === 100), 15_000);
    const seconds = (Date.now() - started) / 1000;
    const frames = waveFrames().length;
    const eventMessages = observer.eventMessages - eventMessagesBefore;
    console.log(`login wave: 5000 connects -> ${frames} presence frames + ${eventMessages} event messages = ${frames + eventMessages} messages in ${seconds.toFixed(1)} s`);
    expect(frames).toBeLessThanOrEqual(WAVE_FRAME_RATE * (seconds + 1));
    expect(eventMessages).toBeLessThanOrEqual(4 * (seconds * (1000 / BATCH_MS) + 2));
    const waveEvents = observer.events.slice(eventsBefore);
    expect(waveEvents.filter((e) => e.kind === 'connect')).toHaveLength(5000);
    expect(waveEvents.filter((e) => e.kind === 'join')).toHaveLength(5000);
    // Above the member limit a room's frames carry counts, never a member list.
    expect(waveFrames().filter((f) => f.frame.ch === 'wave:7').at(-1)!.frame).toEqual({ t: 105, ch: 'wave:7', count: 100 });
    expect((await query<MembersAnswer>(nc, s.members, { ch: 'wave:0' })).count).toBe(100);
    const answer = await query<StatusAnswer>(nc, s.status, { users: ['wave-user-0', 'wave-user-4999', 'wave-user-5000'] });
    expect(Object.values(answer.users).map((u) => u.online)).toEqual([true, true, false]);
  });
});

describe('presence service restart and replicas', () => {
  const prefix = uniquePrefix();
  const s = new PresenceSubjects({ prefix });
  let nc: NatsConnection;
  let observer: Observer;
  let edge: EdgePresenceLink;
  const running: ServiceProcess[] = [];
  const start = async () => {
    const p = await startCascadeService('presence', env(prefix));
    running.push(p);
    return p;
  };

  beforeAll(async () => {
    [nc, observer] = await Promise.all([client(), Observer.start(prefix)]);
  });

  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop()));
  });

  it('rebuilds its state from the edges after a restart and answers correctly again within the edge timeout', async () => {
    const crashed = await start();
    edge = await simEdge(prefix, 'edge-r');
    edge.reporter.connect('r-1', 'stays');
    edge.reporter.join('r-1', ch('room:r'));
    edge.reporter.connect('r-2', 'goes');
    await eventually('both online', () => query<StatusAnswer>(nc, s.status, { users: ['stays', 'goes'] }), (a) => a.users['goes']!.online && a.users['stays']!.online);
    await crashed.kill();
    // While the service is down: one user leaves, one arrives; these deltas are lost.
    edge.reporter.disconnect('r-2');
    edge.reporter.connect('r-3', 'arrives');
    await sleep(300);
    const eventsBefore = observer.events.length;
    const restarted = await start();
    const restartedAt = Date.now();
    const answer = await eventually(
      'correct answers after restart',
      () => query<StatusAnswer>(nc, s.status, { users: ['stays', 'goes', 'arrives'] }),
      (a) => !!a.users['stays']!.online && !a.users['goes']!.online && !!a.users['arrives']!.online,
      EDGE_TIMEOUT_MS + 2000,
    );
    const tookMs = Date.now() - restartedAt;
    console.log(`presence restart: correct answers ${tookMs} ms after the restarted service was ready`);
    expect(tookMs).toBeLessThan(EDGE_TIMEOUT_MS + 1000);
    expect(answer.users['stays']!.connections).toBe(1);
    expect((await query<MembersAnswer>(nc, s.members, { ch: 'room:r' })).count).toBe(1);
    await eventually('not partial', () => query<StatusAnswer>(nc, s.status, { users: [] }), (a) => !a.partial, EDGE_TIMEOUT_MS + 2000);
    // Recovered users were already online: no repeated connect or join events, only real news.
    // (The crashed process's lease has to age out first: RT_LEASE_TTL.)
    await restarted.waitForOutput('presence emitter lease acquired', 20_000);
    edge.reporter.connect('r-4', 'newcomer');
    await eventually('newcomer reported', () => observer.events.length, (n) => n > eventsBefore);
    await sleep(2 * BATCH_MS);
    expect(observer.events.slice(eventsBefore).map((e) => `${e.kind}:${e.user}`)).toEqual(['connect:newcomer']);
  }, 45_000);

  it('runs a second replica as a standby: each event is published once, and it takes over when the publishing one dies', async () => {
    const [publishing] = running.slice(-1) as [ServiceProcess];
    const standby = await start();
    expect(standby.output()).not.toContain('presence emitter lease acquired');
    edge.reporter.connect('x-1', 'gina');
    edge.reporter.join('x-1', ch('room:2r'));
    await eventually('gina reported', () => observer.of('gina'), (k) => k.length === 2);
    await sleep(3 * BATCH_MS);
    expect(observer.of('gina')).toEqual(['connect', 'join@room:2r']);
    await publishing.kill();
    await standby.waitForOutput('presence emitter lease acquired', 20_000);
    edge.reporter.disconnect('x-1');
    await eventually('gina gone', () => observer.of('gina'), (k) => k.length === 4, 5000);
    await sleep(3 * BATCH_MS);
    expect(observer.of('gina')).toEqual(['connect', 'join@room:2r', 'leave@room:2r', 'disconnect']);
  }, 45_000);
});

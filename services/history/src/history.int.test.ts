// The history service against a real nats-server: reads forward and backward with pages,
// positions, refusals of positions that cannot be continued (retention of 5 messages per
// channel here), bad requests, one channel's failing store read inside a `positions` request
// (the service's parts in-process on the same server, one store read made to fail); the same
// through the edge's HTTP API and WebSocket frames.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, encode } from '@msgpack/msgpack';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Contract, HistoryClient, MAX_POSITIONS } from '@cascade/nats';
import { parseChannel, type ChannelName } from '@cascade/protocol';
import { HistoryApi } from './api.js';
import { HistoryQuery } from './query.js';
import { JetStreamHistoryStore } from './store.js';
import { startCascade, startNatsServer, TestWsClient, type CascadeSystem, type NatsServerFixture } from '@cascade/testing';

let nats: NatsServerFixture;
let system: CascadeSystem;
let nc: NatsConnection;
let contract: Contract;
const clients: TestWsClient[] = [];
const CH = 'hist:a';
const TOTAL = 12;
let ep = '';

function channel(name: string): ChannelName {
  const p = parseChannel(name);
  if (!p.ok) throw new Error(p.reason);
  return p.channel.name;
}

async function request(verb: string, body: unknown): Promise<any> {
  const raw = body instanceof Uint8Array ? body : encode(body);
  const msg = await nc.request(`${system.prefix}.svc.history.${verb}`, raw, { timeout: 5000 });
  return decode(msg.data);
}

const seqsOf = (msgs: Uint8Array[]) => msgs.map((m) => (decode(m) as { seq: number }).seq);

async function publishMany(ch: string, n: number): Promise<void> {
  const js = jetstream(nc);
  for (let i = 1; i <= n; i++) await js.publish(contract.ingest(channel(ch)), encode({ n: i }));
  const until = Date.now() + 10_000;
  for (;;) {
    const pos = await request('position', { ch });
    if (pos.seq === n) return;
    if (Date.now() > until) throw new Error(`history of ${ch} stuck at ${JSON.stringify(pos)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function client(): Promise<TestWsClient> {
  const c = await TestWsClient.connect(system.edges[0]!.url);
  clients.push(c);
  c.send({ t: 1, v: 1 });
  await c.next((f) => f.t === 101);
  return c;
}

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({
    natsUrl: nats.url,
    edges: 1,
    services: ['fan-out-worker', 'history'],
    env: {
      RT_HISTORY_MAX_MESSAGES: '5',
      HISTORY_RETENTION: '{"tight":{"messages":2},"brief":{"age":"2s"}}',
      HISTORY_RETENTION_INTERVAL: '1s',
    },
  });
  nc = await connect({ servers: nats.url });
  contract = new Contract({ prefix: system.prefix, partitions: 16 });
  await publishMany(CH, TOTAL);
  ep = (await request('position', { ch: CH })).ep;
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await nc?.close();
  await system?.stop();
  await nats?.stop();
});

describe('history service over NATS', () => {
  it('tells the position: epoch, newest seq and oldest retained seq; nothing for an unknown channel', async () => {
    expect(await request('position', { ch: CH })).toEqual({ ok: true, ep, seq: TOTAL, first: TOTAL - 4 });
    expect(ep).toMatch(/^[0-9a-f]{12}$/);
    expect(await request('position', { ch: 'hist:never' })).toEqual({ ok: true, ep: '', seq: 0, first: 0 });
  });

  it('reads forward and backward in pages', async () => {
    const fwd = await request('read', { ch: CH, limit: 2 });
    expect(seqsOf(fwd.msgs)).toEqual([8, 9]);
    expect(fwd.next).toBe(10);
    const rest = await request('read', { ch: CH, from: fwd.next, limit: 10 });
    expect(seqsOf(rest.msgs)).toEqual([10, 11, 12]);
    expect(rest.next).toBeUndefined();
    const back = await request('read', { ch: CH, dir: 'back', limit: 2 });
    expect(seqsOf(back.msgs)).toEqual([12, 11]);
    expect(back.next).toBe(10);
    const older = await request('read', { ch: CH, dir: 'back', from: back.next, limit: 10 });
    expect(seqsOf(older.msgs)).toEqual([10, 9, 8]);
    expect(decode(older.msgs[0])).toMatchObject({ t: 103, ch: CH, seq: 10, ep, data: { n: 10 } });
  });

  it('continues a position it still holds and refuses an aged-out one or another epoch, with the current position', async () => {
    const ok = await request('read', { ch: CH, ep, from: 8 });
    expect(seqsOf(ok.msgs)).toEqual([8, 9, 10, 11, 12]);
    for (const bad of [{ ep, from: 3 }, { ep: 'made-up-epoch', from: 11 }]) {
      expect(await request('read', { ch: CH, ...bad })).toMatchObject({ ok: false, code: 112, ep, seq: TOTAL, first: 8 });
    }
  });

  it('answers bad requests with error replies and keeps serving', async () => {
    const cases: Array<[unknown, number]> = [
      [new Uint8Array([0xc1]), 101],
      [encode([1, 2]), 101],
      [{ ch: 'a.b' }, 103],
      [{ ch: '*' }, 103],
      [{}, 103],
      [{ ch: CH, limit: 0 }, 101],
      [{ ch: CH, limit: 5000 }, 101],
      [{ ch: CH, dir: 'sideways' }, 101],
      [{ ch: CH, from: -1 }, 101],
      [{ ch: CH, ep: 7 }, 101],
    ];
    for (const [body, code] of cases) {
      const reply = await request('read', body);
      expect(reply, JSON.stringify(body)).toMatchObject({ ok: false, code });
      expect(typeof reply.msg).toBe('string');
    }
    expect(await request('position', { ch: 'x y' })).toMatchObject({ ok: false, code: 103 });
    expect(await request('position', { ch: CH })).toMatchObject({ ok: true, seq: TOTAL });
  });

  it('tells many channels\' positions in one positions request, in the order asked', async () => {
    expect(await request('positions', { chs: ['hist:never', CH] })).toEqual({
      ok: true,
      positions: [
        { ok: true, ep: '', seq: 0, first: 0 },
        { ok: true, ep, seq: TOTAL, first: TOTAL - 4 },
      ],
    });
    const cases: Array<[unknown, number]> = [
      [{}, 101],
      [{ chs: [] }, 101],
      [{ chs: CH }, 101],
      [{ chs: [CH, CH] }, 101],
      [{ chs: Array.from({ length: MAX_POSITIONS + 1 }, (_, i) => `user:${i}`) }, 101],
      [{ chs: [CH, 'x y'] }, 103],
    ];
    for (const [body, code] of cases) expect(await request('positions', body), JSON.stringify(body).slice(0, 80)).toMatchObject({ ok: false, code });
    expect((await request('positions', { chs: Array.from({ length: MAX_POSITIONS }, (_, i) => `user:${i}`) })).positions).toHaveLength(MAX_POSITIONS);
  });

  it('HistoryClient sends the positions asked in one turn as one request', async () => {
    const seen: number[] = [];
    const tap = nc.subscribe(`${system.prefix}.svc.history.>`, {
      callback: (_e, m) => {
        seen.push((decode(m.data) as { chs?: unknown[] }).chs?.length ?? -1);
      },
    });
    await nc.flush();
    const client = new HistoryClient(nc, contract);
    const asked = [CH, ...Array.from({ length: 29 }, (_, i) => `user:batch-${i}`)].map(channel);
    const positions = await Promise.all(asked.map((ch) => client.position(ch)));
    expect(positions[0]).toEqual({ ep, seq: TOTAL, first: TOTAL - 4 });
    for (const p of positions.slice(1)) expect(p).toEqual({ ep: '', seq: 0, first: 0 });
    await nc.flush();
    tap.unsubscribe();
    expect(seen).toEqual([30]); // one positions request for 30 channels, no single position request
  });

  it('HistoryClient asks channel by channel when the history service does not answer positions', async () => {
    // A history service of the version before `positions`: it serves `position` only.
    const old = new Contract({ prefix: `${system.prefix}old`, partitions: 16 });
    const asked: string[] = [];
    const responder = nc.subscribe(`${old.prefix}.svc.history.position`, {
      callback: (_e, m) => {
        const { ch } = decode(m.data) as { ch: string };
        asked.push(ch);
        m.respond(encode(ch === 'user:gone' ? { ok: false, code: 103, msg: 'no such channel here' } : { ok: true, ep: 'e1', seq: ch.length, first: 1 }));
      },
    });
    await nc.flush();
    const client = new HistoryClient(nc, old);
    const [a, b, gone] = await Promise.allSettled([client.position(channel('user:ab')), client.position(channel('user:abc')), client.position(channel('user:gone'))]);
    responder.unsubscribe();
    expect(a).toEqual({ status: 'fulfilled', value: { ep: 'e1', seq: 7, first: 1 } });
    expect(b).toEqual({ status: 'fulfilled', value: { ep: 'e1', seq: 8, first: 1 } });
    expect(gone).toMatchObject({ status: 'rejected', reason: { name: 'HistoryRequestError', message: 'no such channel here' } });
    expect(asked.sort()).toEqual(['user:ab', 'user:abc', 'user:gone']);
  });

  it('answers the other channels of a positions request when one channel\'s store read fails', async () => {
    // The service's parts on the test's NATS, reading the system's history stream, with the
    // store read of one channel failing (as a JetStream get can), serving its own subjects.
    const broken = channel('hist:broken');
    class OneChannelFails extends JetStreamHistoryStore {
      override async bounds(ch: ChannelName) {
        if (ch === broken) throw new Error('JetStream read of hist:broken failed');
        return super.bounds(ch);
      }
    }
    const own = new Contract({ prefix: `${system.prefix}inj`, partitions: 16 });
    const warned: object[] = [];
    const api = new HistoryApi(nc, own, new HistoryQuery(new OneChannelFails(nc, await jetstreamManager(nc), contract)), { warn: (o) => warned.push(o) });
    api.start();
    await nc.flush();
    try {
      const reply = decode((await nc.request(`${own.prefix}.svc.history.positions`, encode({ chs: [CH, 'hist:broken', 'hist:never'] }), { timeout: 5000 })).data);
      expect(reply).toEqual({
        ok: true,
        positions: [
          { ok: true, ep, seq: TOTAL, first: TOTAL - 4 },
          { ok: false, code: 110, msg: 'history is unavailable right now; retry' },
          { ok: true, ep: '', seq: 0, first: 0 },
        ],
      });
      expect(api.stats).toMatchObject({ batches: 1, positions: 3, failed: 1 });
      expect(warned).toEqual([expect.objectContaining({ ch: 'hist:broken' })]);
      // Through the edge's client: the lookups of one turn are one request; only the broken one fails.
      const client = new HistoryClient(nc, own);
      const [a, b] = await Promise.allSettled([client.position(channel(CH)), client.position(broken)]);
      expect(a).toEqual({ status: 'fulfilled', value: { ep, seq: TOTAL, first: TOTAL - 4 } });
      expect(b).toMatchObject({ status: 'rejected', reason: { name: 'HistoryRequestError', reply: { code: 110 } } });
      expect(api.stats.batches).toBe(2);
    } finally {
      await api.stop();
    }
  });
});

describe('history through the edge HTTP API', () => {
  const base = () => `http://127.0.0.1:${system.edges[0]!.port}/v1/channels`;

  it('serves the position and pages of decoded messages as JSON', async () => {
    const pos = await fetch(`${base()}/${encodeURIComponent(CH)}/position`);
    expect(pos.status).toBe(200);
    expect(await pos.json()).toEqual({ ep, seq: TOTAL, first: 8 });
    const page = await fetch(`${base()}/${encodeURIComponent(CH)}/history?dir=back&limit=2`);
    const body = (await page.json()) as any;
    expect(body).toMatchObject({ ep, seq: TOTAL, first: 8, next: 10 });
    expect(body.messages.map((m: any) => [m.seq, m.data.n])).toEqual([[12, 12], [11, 11]]);
    const fwd = (await (await fetch(`${base()}/${encodeURIComponent(CH)}/history?from=10`)).json()) as any;
    expect(fwd.messages.map((m: any) => m.seq)).toEqual([10, 11, 12]);
  });

  it('refuses bad parameters, unknown routes and positions that cannot be continued', async () => {
    expect((await fetch(`${base()}/${encodeURIComponent(CH)}/history?limit=abc`)).status).toBe(400);
    expect((await fetch(`${base()}/${encodeURIComponent(CH)}/history?dir=up`)).status).toBe(400);
    expect((await fetch(`${base()}/a.b/history`)).status).toBe(400);
    expect((await fetch(`${base()}/${encodeURIComponent(CH)}/nothing`)).status).toBe(404);
    const gone = await fetch(`${base()}/${encodeURIComponent(CH)}/history?ep=${ep}&from=2`);
    expect(gone.status).toBe(409);
    expect(await gone.json()).toMatchObject({ code: 112, ep, seq: TOTAL });
  });
});

describe('history through WebSocket frames', () => {
  it('refuses a resume from an aged-out position or an old epoch explicitly, then delivers live', async () => {
    const c = await client();
    c.send({ t: 2, id: 1, ch: CH, since: { ep, seq: 2 } });
    expect(await c.next((f) => f.id === 1)).toEqual({ t: 102, id: 1, recovered: false, ep, seq: TOTAL });
    const d = await client();
    d.send({ t: 2, id: 1, ch: CH, since: { ep: 'made-up-epoch', seq: 11 } });
    expect(await d.next((f) => f.id === 1)).toEqual({ t: 102, id: 1, recovered: false, ep, seq: TOTAL });
    // Refused, but subscribed: the next message arrives live, right after the announced seq.
    d.send({ t: 4, id: 2, ch: CH, data: 'after' });
    expect(await d.next((f) => f.t === 103)).toMatchObject({ seq: TOTAL + 1, ep, data: 'after' });
    expect(await c.next((f) => f.t === 103)).toMatchObject({ seq: TOTAL + 1 });
    expect(c.frames.filter((f: any) => f.t === 103)).toHaveLength(1);
  });

  it('resumes a position still retained and answers history requests for a gap', async () => {
    const pos = await request('position', { ch: CH });
    const c = await client();
    c.send({ t: 2, id: 1, ch: CH, since: { ep, seq: pos.seq - 2 } });
    expect(await c.next((f) => f.id === 1)).toEqual({ t: 102, id: 1, recovered: true });
    const caught = [await c.next((f) => f.t === 103), await c.next((f) => f.t === 103)];
    expect(caught.map((f) => f.seq)).toEqual([pos.seq - 1, pos.seq]);

    c.send({ t: 7, id: 2, ch: CH, since: { ep, seq: pos.seq - 3 }, limit: 2 });
    const gap = await c.next((f) => f.id === 2);
    expect(gap).toMatchObject({ t: 102, id: 2, ep, seq: pos.seq, more: true });
    expect(gap.msgs.map((m: any) => m.seq)).toEqual([pos.seq - 2, pos.seq - 1]);
    c.send({ t: 7, id: 3, ch: CH, limit: 3 });
    expect((await c.next((f) => f.id === 3)).msgs.map((m: any) => m.seq)).toEqual([pos.seq - 2, pos.seq - 1, pos.seq]);
    c.send({ t: 7, id: 4, ch: CH, since: { ep, seq: 1 } });
    expect(await c.next((f) => f.id === 4)).toMatchObject({ t: 106, id: 4, code: 112, ep, seq: pos.seq });
    c.send({ t: 7, id: 5, ch: 'hist:other' });
    expect(await c.next((f) => f.id === 5)).toMatchObject({ t: 106, code: 106 });
    c.send({ t: 7, id: 6, ch: CH, limit: 0 });
    expect(await c.next((f) => f.id === 6)).toMatchObject({ t: 106, code: 101 });
  });

  it('treats seq 0 on a channel without history as "from the start"', async () => {
    const c = await client();
    c.send({ t: 2, id: 1, ch: 'hist:fresh', since: { ep: '', seq: 0 } });
    expect(await c.next((f) => f.id === 1)).toEqual({ t: 102, id: 1, recovered: true });
    c.send({ t: 4, id: 2, ch: 'hist:fresh', data: 1 });
    expect(await c.next((f) => f.t === 103)).toMatchObject({ seq: 1 });
  });
});

describe('per-namespace retention', () => {
  async function eventuallyPosition(ch: string, check: (p: any) => boolean): Promise<any> {
    const until = Date.now() + 15_000;
    for (;;) {
      const p = await request('position', { ch });
      if (check(p)) return p;
      if (Date.now() > until) throw new Error(`position of ${ch} is still ${JSON.stringify(p)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('keeps fewer messages in a namespace with a count rule, and leaves others alone', async () => {
    await publishMany('tight:a', 5);
    expect(await eventuallyPosition('tight:a', (p) => p.first === 4)).toMatchObject({ seq: 5, first: 4 });
    const other = await request('position', { ch: CH });
    expect(other.seq - other.first + 1).toBe(5); // the stream-wide limit only
  });

  it('ages a namespace out; the next message starts a new epoch and a resume in the old one is refused', async () => {
    await publishMany('brief:a', 3);
    const old = await request('position', { ch: 'brief:a' });
    await eventuallyPosition('brief:a', (p) => p.seq === 0);
    await publishMany('brief:a', 1);
    const fresh = await request('position', { ch: 'brief:a' });
    expect(fresh).toMatchObject({ seq: 1, first: 1 });
    expect(fresh.ep).not.toBe(old.ep);
    const c = await client();
    c.send({ t: 2, id: 1, ch: 'brief:a', since: { ep: old.ep, seq: 3 } });
    expect(await c.next((f) => f.id === 1)).toEqual({ t: 102, id: 1, recovered: false, ep: fresh.ep, seq: 1 });
  });
});

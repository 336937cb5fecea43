// SSE mode against a scripted fake of the browser's EventSource and a fake fetch: the test
// plays the edge. Checks that network drops are left to the EventSource (no new one), that a
// new one is opened exactly when the channel set, the token or a refusal requires it, with
// `since` re-mapped to the new channel list, and that HTTP publish retries with one key.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CascadeClient } from './client.js';
import type { CascadeClientOptions, FetchLike, Message, RecoveryImpossible } from './types.js';

type Listener = (ev: { data?: string; code?: number; message?: string }) => void;

class FakeEventSource {
  static all: FakeEventSource[] = [];
  readyState = 0;
  closed = false;
  private readonly listeners = new Map<string, Listener[]>();

  constructor(readonly url: string) {
    FakeEventSource.all.push(this);
  }
  addEventListener(type: string, fn: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  close(): void {
    this.readyState = 2;
    this.closed = true;
  }
  // ---- the edge's side ----
  get query(): URLSearchParams {
    return new URL(this.url).searchParams;
  }
  emit(type: string, data?: unknown, extra: object = {}): void {
    if (this.closed) return;
    const ev = { ...(data === undefined ? {} : { data: typeof data === 'string' ? data : JSON.stringify(data) }), ...extra };
    for (const fn of this.listeners.get(type) ?? []) fn(ev);
  }
  connected(user = 'alice'): void {
    this.readyState = 1;
    this.emit('open');
    this.emit('connected', { client: 'c1', user });
  }
  msg(ch: string, seq: number, ep = 'e1'): void {
    this.emit('message', { ch, seq, ep, ts: seq, data: { n: seq } });
  }
  /** A network drop: the browser reconnects by itself. */
  drop(): void {
    this.readyState = 0;
    this.emit('error', undefined, { message: 'network error' });
  }
  /** An HTTP refusal of the (re)connect: the browser gives up. */
  refuse(status?: number): void {
    this.readyState = 2;
    for (const fn of this.listeners.get('error') ?? []) fn(status === undefined ? {} : { code: status });
  }
}

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: unknown;
}

/** A fetch that records calls and answers with what `answer` returns (a status and body, or a thrown network error). */
function fakeFetch(answer: (c: Call, n: number) => { status: number; body?: unknown } | Error) {
  const calls: Call[] = [];
  const fetch: FetchLike = async (url, init) => {
    const c: Call = { url, method: init.method, headers: init.headers, ...(init.body === undefined ? {} : { body: JSON.parse(init.body) }) };
    calls.push(c);
    await Promise.resolve();
    const a = answer(c, calls.length);
    if (a instanceof Error) throw a;
    const text = a.body === undefined ? '' : JSON.stringify(a.body);
    return { status: a.status, text: async () => text };
  };
  return { fetch, calls };
}

const clients: CascadeClient[] = [];

function sse(o: Partial<CascadeClientOptions> = {}) {
  const c = new CascadeClient({
    url: 'ws://edge:8080/',
    transport: 'sse',
    EventSource: FakeEventSource,
    backoff: { initialMs: 5, maxMs: 20 },
    fetch: fakeFetch(() => ({ status: 201, body: { ok: true, dup: false } })).fetch,
    ...o,
  });
  clients.push(c);
  return c;
}

const latest = () => FakeEventSource.all.at(-1)!;

async function nextSource(after: FakeEventSource | undefined): Promise<FakeEventSource> {
  await vi.waitFor(() => expect(FakeEventSource.all.at(-1)).not.toBe(after));
  await vi.waitFor(() => expect(latest()).toBeDefined());
  return latest();
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  FakeEventSource.all = [];
});

describe('CascadeClient in SSE mode (fake EventSource)', () => {
  it('carries all subscriptions on one EventSource, delivers in order once, and reports state', async () => {
    const c = sse({ token: 'tok' });
    const states: string[] = [];
    c.on('state', (s) => states.push(s));
    const a: number[] = [];
    const b: number[] = [];
    const sa = c.subscribe('chat:a', { onMessage: (m) => a.push(m.seq) });
    const sb = c.subscribe('chat:b', { onMessage: (m) => b.push(m.seq) });
    const connected = c.connect();
    const es = await nextSource(undefined);
    expect(c.transport).toBe('sse');
    expect(es.url).toBe('http://edge:8080/v1/sse?ch=chat%3Aa&ch=chat%3Ab&token=tok');
    es.connected();
    await connected;
    await expect(sa.ready).resolves.toEqual({ resumed: false, first: true });
    await sb.ready;
    for (const s of [1, 2, 2, 1, 3]) es.msg('chat:a', s);
    es.msg('chat:b', 7);
    expect([a, b]).toEqual([[1, 2, 3], [7]]);
    expect(sa.position).toEqual({ ep: 'e1', seq: 3 });
    expect(c.info).toEqual({ client: 'c1', user: 'alice' });
    expect(states).toEqual(['connecting', 'connected']);
    expect(FakeEventSource.all).toHaveLength(1);
  });

  it('leaves a network drop to the EventSource: no new one, state reconnecting, then resumed', async () => {
    const c = sse();
    const got: number[] = [];
    const subscribed: unknown[] = [];
    const sub = c.subscribe('chat:a', { onMessage: (m) => got.push(m.seq), onSubscribed: (i) => subscribed.push(i) });
    const disconnects: unknown[] = [];
    const connects: unknown[] = [];
    c.on('disconnected', (d) => disconnects.push(d));
    c.on('connected', (i) => connects.push(i));
    void c.connect();
    const es = await nextSource(undefined);
    es.connected();
    es.msg('chat:a', 1);
    es.drop();
    expect(c.state).toBe('reconnecting');
    expect(sub.status).toBe('pending');
    expect(disconnects).toEqual([{ code: 1006, reason: 'network error', reconnect: true }]);
    // The browser's retry (with Last-Event-ID) reaches the edge, which resumes.
    es.connected();
    es.msg('chat:a', 1);
    es.msg('chat:a', 2);
    expect(got).toEqual([1, 2]);
    expect(c.state).toBe('connected');
    expect(subscribed).toEqual([
      { resumed: false, first: true },
      { resumed: true, first: false },
    ]);
    expect(connects).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 20));
    expect(FakeEventSource.all).toHaveLength(1);
    expect(es.closed).toBe(false);
  });

  it('opens a new EventSource when the channel set changes, with since re-mapped to the new list', async () => {
    const c = sse();
    const got: string[] = [];
    const onMessage = (m: Message) => got.push(`${m.channel}/${m.seq}`);
    const a = c.subscribe('a', { onMessage });
    c.subscribe('b', { onMessage });
    await Promise.all([c.connect(), nextSource(undefined).then((es) => es.connected())]);
    const es1 = latest();
    es1.msg('a', 5);
    const states: string[] = [];
    c.on('state', (s) => states.push(s));

    const subC = c.subscribe('c', { onMessage }, { since: { ep: 'x9', seq: 2 } });
    const es2 = await nextSource(es1);
    expect(es1.closed).toBe(true);
    expect(es2.query.getAll('ch')).toEqual(['a', 'b', 'c']);
    expect(es2.query.get('since')).toBe('e1:5,,x9:2');
    es2.connected();
    await expect(subC.ready).resolves.toEqual({ resumed: true, first: true });
    es2.msg('a', 5); // replayed: a duplicate
    es2.msg('a', 6);
    es2.msg('c', 3, 'x9');

    await a.unsubscribe();
    const es3 = await nextSource(es2);
    expect(es2.closed).toBe(true);
    expect(es3.query.getAll('ch')).toEqual(['b', 'c']);
    expect(es3.query.get('since')).toBe(',x9:3');
    es3.connected();
    expect(got).toEqual(['a/5', 'a/6', 'c/3']);
    // A planned switch is not a disconnect.
    expect(states).toEqual([]);
  });

  it('several subscribes in one go open one new EventSource', async () => {
    const c = sse();
    c.subscribe('a', {});
    await Promise.all([c.connect(), nextSource(undefined).then((es) => es.connected())]);
    for (const ch of ['b', 'c', 'd']) c.subscribe(ch, {});
    await nextSource(latest());
    await new Promise((r) => setTimeout(r, 10));
    expect(FakeEventSource.all.map((e) => e.query.getAll('ch').length)).toEqual([1, 4]);
  });

  it('on event: error 4006 opens a new stream at once with a fresh token and since; a fixed token fails', async () => {
    let n = 0;
    const c = sse({ token: () => `tok-${++n}` });
    const got: number[] = [];
    c.subscribe('a', { onMessage: (m) => got.push(m.seq) });
    const disconnects: number[] = [];
    c.on('disconnected', (d) => disconnects.push(d.code));
    await Promise.all([c.connect(), nextSource(undefined).then((es) => es.connected())]);
    const es1 = latest();
    expect(es1.query.get('token')).toBe('tok-1');
    es1.msg('a', 4);
    es1.emit('error', { code: 4006, msg: 'token expired' });
    const es2 = await nextSource(es1);
    expect(es1.closed).toBe(true);
    expect([es2.query.get('token'), es2.query.get('since')]).toEqual(['tok-2', 'e1:4']);
    expect(disconnects).toEqual([4006]);
    es2.connected();
    expect(c.state).toBe('connected');

    const fixed = sse({ token: 'static' });
    fixed.subscribe('a', {});
    await Promise.all([fixed.connect(), nextSource(es2).then((es) => es.connected())]);
    latest().emit('error', { code: 4006, msg: 'token expired' });
    expect(fixed.state).toBe('failed');
    expect(fixed.error).toMatchObject({ codeName: 'TokenExpired' });
  });

  it('before the token expires, switches to a new stream with a fresh token, without a disconnect', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      let n = 0;
      const c = sse({ token: () => `tok-${++n}` });
      const got: number[] = [];
      c.subscribe('a', { onMessage: (m) => got.push(m.seq) });
      const states: string[] = [];
      void c.connect();
      await vi.waitFor(() => expect(FakeEventSource.all).toHaveLength(1));
      const es1 = latest();
      es1.readyState = 1;
      es1.emit('connected', { client: 'c1', user: 'alice', exp: Date.now() + 120_000 });
      c.on('state', (s) => states.push(s));
      es1.msg('a', 1);
      // Refresh at 80% of the remaining life: 96 s.
      await vi.advanceTimersByTimeAsync(95_000);
      expect(FakeEventSource.all).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(2_000);
      expect(FakeEventSource.all).toHaveLength(2);
      const es2 = latest();
      expect(es1.closed).toBe(true);
      expect([es2.query.get('token'), es2.query.get('since')]).toEqual(['tok-2', 'e1:1']);
      es2.connected();
      es2.msg('a', 2);
      expect([got, states, c.state]).toEqual([[1, 2], [], 'connected']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('lets the EventSource reconnect after other stream errors (4002), reporting the code with the drop', async () => {
    const c = sse();
    c.subscribe('a', {});
    const disconnects: unknown[] = [];
    c.on('disconnected', (d) => disconnects.push(d));
    await Promise.all([c.connect(), nextSource(undefined).then((es) => es.connected())]);
    const es = latest();
    es.emit('error', { code: 4002, msg: 'slow consumer' });
    es.drop();
    es.emit('reconnect', { delay: 10, reason: 'drain' });
    es.drop();
    expect(disconnects).toEqual([
      { code: 4002, reason: 'slow consumer', reconnect: true },
      { code: 1001, reason: 'server asked to reconnect: drain', reconnect: true },
    ]);
    expect(FakeEventSource.all).toHaveLength(1);
  });

  it('after a refusal (CLOSED) asks with fetch why: an expired token gets a new stream with a fresh token, a bad one fails', async () => {
    let n = 0;
    let code = 4006;
    const f = fakeFetch(() => ({ status: 401, body: { code, error: 'no' } }));
    const c = sse({ token: () => `tok-${++n}`, fetch: f.fetch });
    c.subscribe('a', {});
    await Promise.all([c.connect(), nextSource(undefined).then((es) => es.connected())]);
    const es1 = latest();
    es1.msg('a', 2);
    es1.refuse();
    const es2 = await nextSource(es1);
    expect(f.calls).toEqual([{ url: es1.url, method: 'GET', headers: { Accept: 'text/event-stream' } }]);
    expect([es2.query.get('token'), es2.query.get('since')]).toEqual(['tok-2', 'e1:2']);
    es2.connected();

    code = 4501;
    es2.refuse(401);
    await vi.waitFor(() => expect(c.state).toBe('failed'));
    expect(c.error).toMatchObject({ code: 4501, codeName: 'Unauthorized', source: 'http', status: 401 });
  });

  it('a 403 for a new subscription fails that one and streams the others without it', async () => {
    const f = fakeFetch(() => ({ status: 403, body: { code: 104, error: 'not allowed to subscribe to secret:1' } }));
    const c = sse({ fetch: f.fetch });
    c.subscribe('a', {});
    await Promise.all([c.connect(), nextSource(undefined).then((es) => es.connected())]);
    const errors: string[] = [];
    const denied = c.subscribe('secret:1', { onError: (e) => errors.push(e.codeName) });
    const es2 = await nextSource(latest());
    es2.refuse();
    await expect(denied.ready).rejects.toMatchObject({ codeName: 'PermissionDenied', source: 'http', status: 403, channel: 'secret:1' });
    const es3 = await nextSource(es2);
    expect(es3.query.getAll('ch')).toEqual(['a']);
    expect([denied.status, errors]).toEqual(['failed', ['PermissionDenied']]);
    es3.connected();
    expect(c.state).toBe('connected');
  });

  it('a 403 naming a channel (ch) fails that one, even one subscribed before, and keeps the new ones', async () => {
    const f = fakeFetch(() => ({ status: 403, body: { code: 104, error: 'not allowed to subscribe to group:g', ch: 'group:g' } }));
    const c = sse({ fetch: f.fetch });
    c.subscribe('a', {});
    const lost = c.subscribe('group:g', {});
    await Promise.all([c.connect(), nextSource(undefined).then((es) => es.connected())]);
    const added = c.subscribe('b', {});
    const es2 = await nextSource(latest());
    es2.refuse();
    await expect(lost.ready).resolves.toBeDefined();
    await vi.waitFor(() => expect(lost.status).toBe('failed'));
    expect(lost.error).toMatchObject({ codeName: 'PermissionDenied', status: 403, channel: 'group:g' });
    const es3 = await nextSource(es2);
    expect(es3.query.getAll('ch')).toEqual(['a', 'b']);
    expect(added.status).not.toBe('failed');
  });

  it('takes each channel start from event: position, so a new stream resumes a channel that had no message yet', async () => {
    const c = sse();
    const got: Array<[string, number]> = [];
    const a = c.subscribe('a', { onMessage: (m) => got.push([m.ep, m.seq]) });
    const b = c.subscribe('b', {});
    await Promise.all([c.connect(), nextSource(undefined).then((es) => es.connected())]);
    const es = latest();
    es.emit('position', { positions: [{ ch: 'a', ep: '', seq: 0 }, { ch: 'b', ep: 'e1', seq: 4 }] }, { lastEventId: ':0,e1:4' });
    expect([a.position, b.position]).toEqual([{ ep: '', seq: 0 }, { ep: 'e1', seq: 4 }]);
    // The channel set changes before any message: the new stream resumes both from their starts.
    c.subscribe('c', {});
    const es2 = await nextSource(es);
    expect(es2.query.get('since')).toBe(':0,e1:4,');
    es2.connected();
    es2.msg('a', 1, 'e7');
    expect(got).toEqual([['e7', 1]]);
  });

  it('retries refusals that may pass (503) with backoff, and fails on 404 (an edge without SSE)', async () => {
    let status = 503;
    const f = fakeFetch(() => ({ status, body: { code: 110, error: 'draining' } }));
    const c = sse({ fetch: f.fetch });
    c.subscribe('a', {});
    const disconnects: unknown[] = [];
    c.on('disconnected', (d) => disconnects.push(d));
    const connected = c.connect();
    const es1 = await nextSource(undefined);
    es1.refuse(503);
    const es2 = await nextSource(es1);
    expect(disconnects).toEqual([{ code: 110, reason: 'draining', reconnect: true, delayMs: expect.any(Number) }]);
    status = 404;
    es2.refuse(404);
    await expect(connected).rejects.toMatchObject({ status: 404 });
    expect(c.state).toBe('failed');
    expect(c.error?.message).toMatch(/does not serve SSE/);
  });

  it('on unrecovered calls onRecoveryImpossible, continues after the named position, and re-opens with it', async () => {
    const c = sse();
    const got: number[] = [];
    const lost: RecoveryImpossible[] = [];
    c.subscribe('a', { onMessage: (m) => got.push(m.seq), onRecoveryImpossible: (i) => lost.push(i) }, { since: { ep: 'old', seq: 3 } });
    void c.connect();
    const es1 = await nextSource(undefined);
    expect(es1.query.get('since')).toBe('old:3');
    es1.connected();
    es1.emit('unrecovered', { ch: 'a', ep: 'new', seq: 10 });
    es1.msg('a', 11, 'new');
    expect(lost).toEqual([{ channel: 'a', reason: 'resume-refused', from: { ep: 'old', seq: 3 }, to: { ep: 'new', seq: 10 } }]);
    expect(got).toEqual([11]);
    const es2 = await nextSource(es1);
    expect(es2.query.get('since')).toBe('new:11');
  });

  it('a gap makes it re-open from the last delivered position; the replay fills it', async () => {
    const c = sse();
    const got: number[] = [];
    c.subscribe('a', { onMessage: (m) => got.push(m.seq) });
    await Promise.all([c.connect(), nextSource(undefined).then((es) => es.connected())]);
    const es1 = latest();
    es1.msg('a', 1);
    es1.msg('a', 3);
    const es2 = await nextSource(es1);
    expect(es2.query.get('since')).toBe('e1:1');
    es2.connected();
    for (const s of [2, 3, 4]) es2.msg('a', s);
    expect(got).toEqual([1, 2, 3, 4]);
  });

  it('a channel permission lost on the stream (event: error with ch) ends that subscription only', async () => {
    const c = sse();
    c.subscribe('a', {});
    const b = c.subscribe('b', {});
    await Promise.all([c.connect(), nextSource(undefined).then((es) => es.connected())]);
    const es1 = latest();
    es1.emit('error', { code: 104, msg: 'permission lost', ch: 'b' });
    await expect(b.ready).resolves.toBeDefined();
    expect(b.status).toBe('failed');
    const es2 = await nextSource(es1);
    expect(es2.query.getAll('ch')).toEqual(['a']);
  });

  it('asks for presence only when a subscription has presence handlers, and delivers it', async () => {
    const c = sse();
    const joins: string[] = [];
    c.subscribe('a', {});
    c.subscribe('room', { onJoin: (m) => joins.push(...m.map((x) => x.user)) });
    await Promise.all([c.connect(), nextSource(undefined).then((es) => es.connected())]);
    expect(latest().query.get('presence')).toBe('1');
    latest().emit('presence', { ch: 'room', join: [{ user: 'bob', client: 'c2' }] });
    expect(joins).toEqual(['bob']);
  });
});

describe('HTTP publish and ephemeral in SSE mode', () => {
  it('POSTs with the bearer token and one key, retrying 503 and network errors until the ack', async () => {
    const answers = [{ status: 503, body: { code: 110, error: 'unavailable' } }, new TypeError('fetch failed'), { status: 201, body: { ok: true, dup: false } }];
    const f = fakeFetch((_c, i) => answers[i - 1]!);
    const c = sse({ token: 'tok', fetch: f.fetch });
    await c.connect();
    const r = await c.publish('chat:1', { text: 'hi' });
    expect(f.calls).toHaveLength(3);
    expect(f.calls[0]).toEqual({
      url: 'http://edge:8080/v1/channels/chat%3A1/messages',
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer tok' },
      body: { data: { text: 'hi' }, key: r.key },
    });
    expect(new Set(f.calls.map((x) => (x.body as { key: string }).key))).toEqual(new Set([r.key]));
    expect(r.dup).toBe(false);
  });

  it('a 200 is a duplicate; 403 and 413 fail at once with the code and status', async () => {
    let answer: { status: number; body: unknown } = { status: 200, body: { ok: true, dup: true } };
    const f = fakeFetch(() => answer);
    const c = sse({ token: 'tok', fetch: f.fetch });
    await c.connect();
    await expect(c.publish('x', 1, { key: 'k1' })).resolves.toEqual({ dup: true, key: 'k1' });
    answer = { status: 403, body: { code: 104, error: 'not allowed to publish to x' } };
    await expect(c.publish('x', 1)).rejects.toMatchObject({ codeName: 'PermissionDenied', source: 'http', status: 403, channel: 'x' });
    answer = { status: 413, body: { code: 109, error: 'too large' } };
    await expect(c.publish('x', 1)).rejects.toMatchObject({ codeName: 'PayloadTooLarge' });
    expect(f.calls).toHaveLength(3);
  });

  it('an expired token (401 4006) is replaced by a fresh one from the callback and the publish retried', async () => {
    let n = 0;
    const f = fakeFetch((call) => (call.headers.Authorization === 'Bearer tok-1' ? { status: 401, body: { code: 4006, error: 'expired' } } : { status: 201, body: { ok: true, dup: false } }));
    const c = sse({ token: () => `tok-${++n}`, fetch: f.fetch });
    await c.connect();
    await c.publish('x', 1);
    expect(f.calls.map((x) => x.headers.Authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2']);
  });

  it('keeps one publish in flight per channel, so a channel stays in call order', async () => {
    const pending: (() => void)[] = [];
    const calls: string[] = [];
    const fetch: FetchLike = (url, init) => {
      calls.push(`${new URL(url).pathname} ${(JSON.parse(init.body!) as { data: number }).data}`);
      return new Promise((resolve) => pending.push(() => resolve({ status: 201, text: async () => '{"ok":true,"dup":false}' })));
    };
    const c = sse({ fetch });
    await c.connect();
    const ps = [c.publish('a', 1), c.publish('a', 2), c.publish('b', 3)];
    await vi.waitFor(() => expect(calls).toEqual(['/v1/channels/a/messages 1', '/v1/channels/b/messages 3']));
    pending.shift()!();
    await vi.waitFor(() => expect(calls).toHaveLength(3));
    expect(calls[2]).toBe('/v1/channels/a/messages 2');
    for (const p of pending.splice(0)) p();
    await Promise.all(ps);
  });

  it('refuses data JSON cannot carry, and ephemeral is false until connected', async () => {
    const f = fakeFetch(() => ({ status: 202, body: { ok: true } }));
    const c = sse({ token: 'tok', fetch: f.fetch });
    expect(c.ephemeral('room', { typing: true })).toBe(false);
    await expect(c.publish('room', 10n)).rejects.toMatchObject({ codeName: 'BadRequest', source: 'client' });
    await c.connect();
    expect(c.ephemeral('room', { typing: true })).toBe(true);
    await vi.waitFor(() => expect(f.calls).toHaveLength(1));
    expect(f.calls[0]).toMatchObject({ url: 'http://edge:8080/v1/channels/room/ephemeral', method: 'POST', body: { data: { typing: true } } });
  });

  it('close() closes the EventSource, rejects pending publishes and leaves no timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const f = fakeFetch(() => ({ status: 503, body: { code: 110, error: 'unavailable' } }));
      const c = sse({ fetch: f.fetch, token: 'tok' });
      c.subscribe('a', {});
      void c.connect();
      // vi.waitFor's default 1 s ran out once under the full suite's load (two workers of
      // integration tests on two cores); alone the test passed 5 runs of 5.
      await vi.waitFor(() => expect(FakeEventSource.all).toHaveLength(1), { timeout: 10_000 });
      latest().connected();
      const p = c.publish('a', 1);
      await vi.waitFor(() => expect(f.calls).toHaveLength(1), { timeout: 10_000 });
      expect(vi.getTimerCount()).toBeGreaterThan(0);
      await c.close();
      await expect(p).rejects.toMatchObject({ codeName: 'NotConnected' });
      expect(latest().closed).toBe(true);
      expect(c.state).toBe('closed');
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

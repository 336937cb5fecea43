// The session's auth paths without a network: personal channel at connect, permission checks,
// publish size and rate limits, token refresh and expiry, and echo:false passed to ingest.
import { encode } from '@msgpack/msgpack';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CloseCode, ErrorCode, type ChannelName } from '@cascade/protocol';
import { HistoryRequestError, type HistoryReadRequest } from '@cascade/nats';
import { RecentFrames } from './ring.js';
import { Session, type Authenticate, type Identity, type SessionNode } from './session.js';
import { Expiries } from './expiry.js';
import { FakeHub, FakeIngest, FakeSocket, flush } from './session-fakes.js';
import { KeyedBuckets } from './rate-limit.js';

/** Tokens are "user:<id>;exp:<ms>;subs:<a,b>;pubs:<c>" here: the session only sees the identity. */
const fakeAuth: Authenticate = async (token) => {
  if (token === undefined || token === 'bad') return { ok: false, code: CloseCode.Unauthorized, reason: 'bad token' };
  const fields = Object.fromEntries(token.split(';').map((kv) => kv.split('=') as [string, string]));
  const subs = (fields['subs'] ?? '').split(',');
  const pubs = (fields['pubs'] ?? '').split(',');
  const user = fields['user']!;
  const identity: Identity = {
    user,
    personal: `user:${user}` as ChannelName,
    expiresAt: fields['exp'] === undefined ? undefined : Number(fields['exp']),
    may: (action, ch) => ch === `user:${user}` || (action === 'subscribe' ? subs : pubs).includes(ch),
  };
  return { ok: true, identity };
};

function setup(o: { now?: () => number; rate?: { perSecond: number; burst: number }; channelRates?: KeyedBuckets; resume?: SessionNode['resume']; presence?: SessionNode['presence'] } = {}) {
  const socket = new FakeSocket();
  const hub = new FakeHub();
  const ingest = new FakeIngest();
  const node: SessionNode = {
    hub,
    ingest,
    authenticate: fakeAuth,
    limits: { maxFrameBytes: 4096, maxSubscriptions: 4, maxPublishBytes: 100 },
    expiries: new Expiries(o.now),
    ...(o.rate ? { publishRate: o.rate } : {}),
    ...(o.channelRates ? { channelRates: o.channelRates } : {}),
    ...(o.now ? { now: o.now } : {}),
    ...(o.resume ? { resume: o.resume } : {}),
    ...(o.presence ? { presence: o.presence } : {}),
  };
  const session = new Session(node, socket, 'c1');
  const send = (frame: unknown) => session.receive(encode(frame), true);
  return { socket, hub, ingest, session, send };
}

async function connected(token: string, o?: Parameters<typeof setup>[0]) {
  const s = setup(o);
  s.send({ t: 1, token });
  await flush();
  return s;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('session auth', () => {
  it('subscribes a token user to user:<id> before sending connected, and says so', async () => {
    const s = await connected('user=alice;subs=chat:a');
    expect(s.hub.acquired).toEqual(['user:alice']);
    expect(s.socket.joined.has('user:alice')).toBe(true);
    expect(s.socket.sent[0]).toMatchObject({ t: 101, user: 'alice', personal: 'user:alice', limits: { pub: 100 } });
    s.session.closed();
    expect(s.hub.counts.size).toBe(0);
  });

  it('closes with 4004 when the personal channel cannot be subscribed, releasing it', async () => {
    const s = setup();
    s.hub.fail = true;
    s.send({ t: 1, token: 'user=alice' });
    await flush();
    expect(s.socket.closedWith?.code).toBe(CloseCode.ServerError);
    expect(s.hub.counts.size).toBe(0);
    expect(s.socket.sent.some((f) => f.t === 101)).toBe(false);
  });

  describe('the personal channel resumes like any channel (connect.psince, connected.psub)', () => {
    /** A history of user:alice with messages 1..head of epoch e1, the first `first` retained. */
    function history(head: number, first = 1, down = false) {
      const reads: HistoryReadRequest[] = [];
      const frame = (seq: number) => encode({ t: 103, ch: 'user:alice', seq, ep: 'e1', ts: 1, data: seq });
      return {
        reads,
        resume: {
          recent: new RecentFrames(0),
          history: {
            read: async (r: HistoryReadRequest) => {
              reads.push(r);
              if (down) throw new Error('history down');
              const from = 'from' in r && r.from !== undefined ? r.from : 1;
              if ('ep' in r && (r.ep !== 'e1' || from < first || from > head + 1)) {
                throw new HistoryRequestError({ ok: false, code: ErrorCode.RecoveryImpossible, msg: 'gone', ep: 'e1', seq: head, first });
              }
              const msgs = [];
              for (let q = from; q <= head; q++) msgs.push(frame(q));
              return { ep: 'e1', seq: head, first, msgs };
            },
            position: async () => ({ ep: 'e1', seq: head, first }),
          },
        } satisfies SessionNode['resume'],
      };
    }

    it('without psince: connected carries the start (the channel\'s newest message), then live', async () => {
      const h = history(7);
      const s = setup({ resume: h.resume });
      s.send({ t: 1, token: 'user=alice' });
      await flush();
      expect(s.socket.sent).toEqual([expect.objectContaining({ t: 101, personal: 'user:alice', psub: { ep: 'e1', seq: 7 } })]);
      expect(s.socket.joined.has('user:alice')).toBe(true);
    });

    it('with psince: connected says recovered, then the missed messages in order, then it joins live', async () => {
      const h = history(7);
      const s = setup({ resume: h.resume });
      s.send({ t: 1, token: 'user=alice', psince: { ep: 'e1', seq: 4 } });
      await flush();
      await flush();
      expect(s.socket.sent.map((f) => (f.t === 101 ? f.psub : f.seq))).toEqual([{ recovered: true }, 5, 6, 7]);
      expect(s.socket.joined.has('user:alice')).toBe(true);
      // Subscribed like any channel: a second subscribe is refused, an unsubscribe works.
      s.send({ t: 2, id: 1, ch: 'user:alice' });
      expect(s.socket.last()).toMatchObject({ t: 106, id: 1, code: ErrorCode.AlreadySubscribed });
    });

    it('with a psince that cannot be continued: recovered false and where live delivery goes on', async () => {
      const h = history(9, 5);
      const s = setup({ resume: h.resume });
      s.send({ t: 1, token: 'user=alice', psince: { ep: 'e1', seq: 2 } });
      await flush();
      expect(s.socket.sent).toEqual([expect.objectContaining({ t: 101, psub: { recovered: false, ep: 'e1', seq: 9 } })]);
      expect(s.socket.joined.has('user:alice')).toBe(true);
    });

    it('closes with 4004 when psince cannot be served because history is down, releasing the channel', async () => {
      const h = history(3, 1, true);
      const s = setup({ resume: h.resume });
      s.send({ t: 1, token: 'user=alice', psince: { ep: 'e1', seq: 1 } });
      await flush();
      expect(s.socket.closedWith?.code).toBe(CloseCode.ServerError);
      expect(s.socket.sent.some((f) => f.t === 101)).toBe(false);
      expect(s.hub.counts.size).toBe(0);
    });

    it('without a history service a psince is answered recovered false; old connects get no psub', async () => {
      const s = setup();
      s.send({ t: 1, token: 'user=alice', psince: { ep: 'e1', seq: 1 } });
      await flush();
      expect(s.socket.sent[0]).toMatchObject({ t: 101, psub: { recovered: false } });
      const old = await connected('user=alice');
      expect(old.socket.sent[0].psub).toBeUndefined();
    });
  });

  describe('members (t:8): who is present now', () => {
    it('answers for a channel the identity may subscribe to, subscribed or not', async () => {
      const asked: string[] = [];
      const s = await connected('user=alice;subs=chat:a', {
        presence: { members: async (ch) => (asked.push(ch), { count: 1, members: [{ user: 'bob', client: 'c9' }] }) },
      });
      s.send({ t: 8, id: 1, ch: 'chat:a' });
      await flush();
      expect(s.socket.last()).toEqual({ t: 102, id: 1, count: 1, members: [{ user: 'bob', client: 'c9' }] });
      expect(asked).toEqual(['chat:a']);
    });

    it('refuses a channel the identity may not subscribe to, without asking', async () => {
      const asked: string[] = [];
      const s = await connected('user=alice;subs=chat:a', { presence: { members: async (ch) => (asked.push(ch), { count: 0, members: [] }) } });
      s.send({ t: 8, id: 2, ch: 'chat:secret' });
      await flush();
      expect(s.socket.last()).toMatchObject({ t: 106, id: 2, ch: 'chat:secret', code: ErrorCode.PermissionDenied });
      expect(asked).toEqual([]);
    });

    it('says Unavailable when presence is down or not configured', async () => {
      const down = await connected('user=alice;subs=chat:a', { presence: { members: () => Promise.reject(new Error('no responders')) } });
      down.send({ t: 8, id: 3, ch: 'chat:a' });
      await flush();
      expect(down.socket.last()).toMatchObject({ t: 106, id: 3, ch: 'chat:a', code: ErrorCode.Unavailable });
      const none = await connected('user=alice;subs=chat:a');
      none.send({ t: 8, id: 4, ch: 'chat:a' });
      await flush();
      expect(none.socket.last()).toMatchObject({ t: 106, id: 4, code: ErrorCode.Unavailable });
    });
  });

  it('closes with the authenticator code when the token is refused', async () => {
    const s = await connected('bad');
    expect(s.socket.closedWith?.code).toBe(CloseCode.Unauthorized);
  });

  it('refuses subscribe, publish and ephemeral the identity may not do, with 104', async () => {
    const s = await connected('user=alice;subs=chat:a;pubs=chat:a');
    s.send({ t: 2, id: 1, ch: 'user:bob' });
    s.send({ t: 2, id: 2, ch: 'chat:b' });
    s.send({ t: 4, id: 3, ch: 'chat:b', data: 1 });
    s.send({ t: 5, ch: 'chat:b', data: 1 });
    await flush();
    expect(s.socket.sent.filter((f) => f.t === 106)).toEqual([
      { t: 106, id: 1, ch: 'user:bob', code: ErrorCode.PermissionDenied, msg: 'not allowed to subscribe to user:bob' },
      { t: 106, id: 2, ch: 'chat:b', code: ErrorCode.PermissionDenied, msg: 'not allowed to subscribe to chat:b' },
      { t: 106, id: 3, ch: 'chat:b', code: ErrorCode.PermissionDenied, msg: 'not allowed to publish on chat:b' },
      { t: 106, ch: 'chat:b', code: ErrorCode.PermissionDenied, msg: 'not allowed to publish on chat:b' },
    ]);
    expect(s.hub.acquired).toEqual(['user:alice']);
    expect(s.ingest.published).toEqual([]);
    expect(s.ingest.ephemerals).toEqual([]);
  });

  it('refuses payloads over the publish limit with 109', async () => {
    const s = await connected('user=alice;pubs=chat:a');
    s.send({ t: 4, id: 1, ch: 'chat:a', data: 'x'.repeat(200) });
    s.send({ t: 5, ch: 'chat:a', data: 'x'.repeat(200) });
    s.send({ t: 4, id: 2, ch: 'chat:a', data: 'x'.repeat(50) });
    await flush();
    expect(s.socket.sent.filter((f) => f.t === 106).map((f) => [f.id, f.code])).toEqual([[1, ErrorCode.PayloadTooLarge], [undefined, ErrorCode.PayloadTooLarge]]);
    expect(s.ingest.published).toHaveLength(1);
  });

  it('rate-limits publishes per connection and per channel with 108', async () => {
    let t = 0;
    const now = () => t;
    const s = await connected('user=alice;pubs=chat:a,chat:b', { now, rate: { perSecond: 2, burst: 3 } });
    for (let id = 1; id <= 5; id++) s.send({ t: 4, id, ch: 'chat:a', data: id });
    await flush();
    expect(s.ingest.published).toHaveLength(3);
    expect(s.socket.sent.filter((f) => f.t === 106).map((f) => [f.id, f.code])).toEqual([[4, ErrorCode.RateLimited], [5, ErrorCode.RateLimited]]);
    t += 500;
    s.send({ t: 5, ch: 'chat:a', data: 'typing' });
    expect(s.ingest.ephemerals).toHaveLength(1);

    const channels = new KeyedBuckets({ perSecond: 1, burst: 2 }, 100, now);
    const a = await connected('user=alice;pubs=chat:a', { now, channelRates: channels });
    const b = await connected('user=bob;pubs=chat:a', { now, channelRates: channels });
    a.send({ t: 4, id: 1, ch: 'chat:a', data: 1 });
    b.send({ t: 4, id: 1, ch: 'chat:a', data: 1 });
    b.send({ t: 4, id: 2, ch: 'chat:a', data: 2 });
    await flush();
    expect(b.socket.sent.filter((f) => f.t === 106)).toMatchObject([{ id: 2, code: ErrorCode.RateLimited, ch: 'chat:a' }]);
  });

  it('passes echo:false as the client to exclude, and the server-side user as sender', async () => {
    const s = await connected('user=alice;pubs=chat:a');
    s.send({ t: 4, id: 1, ch: 'chat:a', data: 1, echo: false });
    s.send({ t: 4, id: 2, ch: 'chat:a', data: 1 });
    await flush();
    expect(s.ingest.published.map((p) => p.meta)).toEqual([
      { from: 'alice', key: undefined, excludeClient: 'c1' },
      { from: 'alice', key: undefined },
    ]);
  });

  it('closes with 4006 when the token expires, unless a refresh moved the expiry', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const s = setup();
    s.send({ t: 1, token: 'user=alice;exp=1010000' });
    await vi.advanceTimersByTimeAsync(0);
    expect(s.socket.sent[0]).toMatchObject({ t: 101, exp: 1_010_000 });
    await vi.advanceTimersByTimeAsync(5_000);
    s.send({ t: 6, id: 7, token: 'user=alice;exp=1030000' });
    await vi.advanceTimersByTimeAsync(0);
    expect(s.socket.sent.at(-1)).toEqual({ t: 102, id: 7, exp: 1_030_000 });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(s.socket.closedWith).toBeUndefined();
    await vi.advanceTimersByTimeAsync(15_000);
    expect(s.socket.closedWith?.code).toBe(CloseCode.TokenExpired);
    expect(s.hub.counts.size).toBe(0);
  });

  it('refuses a refresh that does not verify or names another user, keeping the current token', async () => {
    const s = await connected('user=alice;subs=chat:a');
    s.send({ t: 6, id: 1, token: 'bad' });
    s.send({ t: 6, id: 2, token: 'user=bob' });
    s.send({ t: 6, id: 3, token: '' });
    await flush();
    // The malformed one is refused by the decoder at once; the others in the order sent.
    expect(s.socket.sent.filter((f) => f.t === 106).map((f) => [f.id, f.code])).toEqual([
      [3, ErrorCode.BadRequest],
      [1, ErrorCode.InvalidToken],
      [2, ErrorCode.InvalidToken],
    ]);
    expect(s.session.user).toBe('alice');
    expect(s.socket.closedWith).toBeUndefined();
  });

  it('leaves channels a refreshed token no longer allows, keeping the personal one', async () => {
    const s = await connected('user=alice;subs=chat:a,chat:b');
    s.send({ t: 2, id: 1, ch: 'chat:a' });
    s.send({ t: 2, id: 2, ch: 'chat:b' });
    await flush();
    s.send({ t: 6, id: 3, token: 'user=alice;subs=chat:a' });
    await flush();
    expect([...s.socket.joined].sort()).toEqual(['chat:a', 'user:alice']);
    expect(s.hub.counts.has('chat:b')).toBe(false);
    expect(s.socket.sent.filter((f) => f.t === 106)).toMatchObject([{ ch: 'chat:b', code: ErrorCode.PermissionDenied }]);
    expect(s.socket.sent.at(-1)).toEqual({ t: 102, id: 3 });
  });

  it('answers refresh before connect with 111', async () => {
    const s = setup();
    s.send({ t: 6, id: 1, token: 'user=alice' });
    expect(s.socket.sent[0]).toMatchObject({ t: 106, id: 1, code: ErrorCode.NotConnected });
  });
});

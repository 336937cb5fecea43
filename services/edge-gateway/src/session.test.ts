import { decode, encode } from '@msgpack/msgpack';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CloseCode, ErrorCode, type ChannelName } from '@cascade/protocol';
import { RequestTimeoutError } from '@cascade/nats';
import { Session, type Authenticate, type SessionNode } from './session.js';
import { Expiries } from './expiry.js';
import { RecentFrames } from './ring.js';
import { FakeHub, FakeIngest, FakeSocket, flush } from './session-fakes.js';

// An unrestricted anonymous identity: these tests are about the protocol, not permissions
// (session-auth.test.ts covers those).
const anonymous: Authenticate = async (_token, clientId) => ({ ok: true, identity: { user: `anon-${clientId}`, may: () => true } });

function setup(o: { authenticate?: Authenticate; maxSubscriptions?: number; resume?: SessionNode['resume'] } = {}) {
  const socket = new FakeSocket();
  const hub = new FakeHub();
  const ingest = new FakeIngest();
  const node: SessionNode = {
    hub,
    ingest,
    authenticate: o.authenticate ?? anonymous,
    limits: { maxFrameBytes: 1024, maxSubscriptions: o.maxSubscriptions ?? 3 },
    expiries: new Expiries(),
    ...(o.resume ? { resume: o.resume } : {}),
  };
  const session = new Session(node, socket, 'c1');
  const send = (frame: unknown) => session.receive(encode(frame), true);
  return { socket, hub, ingest, session, send };
}

async function connected(o?: Parameters<typeof setup>[0]) {
  const s = setup(o);
  s.send({ t: 1 });
  await flush();
  expect(s.socket.last()).toMatchObject({ t: 101, client: 'c1', user: 'anon-c1', limits: { frame: 1024, subs: 3 } });
  return s;
}

describe('Session', () => {
  it('requires connect before anything else', async () => {
    const { send, socket, ingest } = setup();
    send({ t: 2, id: 1, ch: 'a' });
    send({ t: 4, id: 2, ch: 'a', data: 1 });
    expect(socket.sent).toEqual([
      { t: 106, id: 1, code: ErrorCode.NotConnected, msg: 'send connect first' },
      { t: 106, id: 2, code: ErrorCode.NotConnected, msg: 'send connect first' },
    ]);
    expect(ingest.published).toHaveLength(0);
  });

  it('refuses a second connect and an unknown protocol version', async () => {
    const s = await connected();
    s.send({ t: 1 });
    expect(s.socket.last()).toMatchObject({ t: 106, code: ErrorCode.AlreadyConnected });
    const v2 = setup();
    v2.send({ t: 1, v: 2 });
    await flush();
    expect(v2.socket.closedWith?.code).toBe(CloseCode.UnsupportedVersion);
  });

  it('closes with the authenticator code when it refuses', async () => {
    const s = setup({ authenticate: async () => ({ ok: false, code: CloseCode.Unauthorized, reason: 'bad token' }) });
    s.send({ t: 1, token: 'x' });
    await flush();
    expect(s.socket.closedWith).toEqual({ code: CloseCode.Unauthorized, reason: 'bad token' });
  });

  it('closes a connection that never sends connect', () => {
    const s = setup();
    s.session.connectTimedOut();
    expect(s.socket.closedWith?.code).toBe(CloseCode.ConnectTimeout);
    const ok = setup();
    ok.send({ t: 1 });
    return flush().then(() => {
      ok.session.connectTimedOut();
      expect(ok.socket.closedWith).toBeUndefined();
    });
  });

  it('subscribes, joins the local topic after the hub is ready, and replies', async () => {
    const s = await connected();
    let open!: () => void;
    s.hub.gate = new Promise((r) => (open = r));
    s.send({ t: 2, id: 7, ch: 'news' });
    await flush();
    expect(s.socket.joined.has('news')).toBe(false);
    open();
    await flush();
    expect(s.socket.joined.has('news')).toBe(true);
    expect(s.socket.last()).toEqual({ t: 102, id: 7 });
    expect(s.hub.counts.get('news')).toBe(1);
  });

  it('says recovered:false to a subscribe with since, as resume is not served yet', async () => {
    const s = await connected();
    s.send({ t: 2, id: 7, ch: 'news', since: { ep: 'e', seq: 3 } });
    await flush();
    expect(s.socket.last()).toEqual({ t: 102, id: 7, recovered: false });
  });

  it('tells a new subscription where it starts: the position the node knows, else the one history has', async () => {
    const known = new Map<string, { ep: string; seq: number }>([['busy', { ep: 'e1', seq: 41 }]]);
    const heads: string[] = [];
    const s = await connected({
      resume: {
        recent: new RecentFrames(0),
        history: {
          read: () => Promise.reject(new Error('not used')),
          position: async (c) => {
            heads.push(c);
            return c === 'quiet' ? { ep: 'e2', seq: 7, first: 1 } : { ep: '', seq: 0, first: 0 };
          },
        },
        positions: { known: (c) => known.get(c), learned: (c, p) => known.set(c, p) },
      },
    });
    s.send({ t: 2, id: 1, ch: 'busy' });
    s.send({ t: 2, id: 2, ch: 'quiet' });
    s.send({ t: 2, id: 3, ch: 'empty' });
    await flush();
    expect(s.socket.sent.filter((f) => f.t === 102)).toEqual([
      { t: 102, id: 1, ep: 'e1', seq: 41 },
      { t: 102, id: 2, ep: 'e2', seq: 7 },
      { t: 102, id: 3, ep: '', seq: 0 },
    ]);
    expect(heads).toEqual(['quiet', 'empty']);
    expect([...s.socket.joined].sort()).toEqual(['busy', 'empty', 'quiet']);
    // The node learned where quiet stands: the next subscriber needs no history read.
    expect(known.get('quiet')).toEqual({ ep: 'e2', seq: 7 });
  });

  it('refuses duplicate subscriptions and enforces the subscription limit', async () => {
    const s = await connected();
    for (const [id, ch] of [[1, 'a'], [2, 'b'], [3, 'c']] as const) s.send({ t: 2, id, ch });
    s.send({ t: 2, id: 4, ch: 'a' });
    s.send({ t: 2, id: 5, ch: 'd' });
    await flush();
    expect(s.socket.sent.find((f) => f.id === 4)).toMatchObject({ t: 106, code: ErrorCode.AlreadySubscribed, ch: 'a' });
    expect(s.socket.sent.find((f) => f.id === 5)).toMatchObject({ t: 106, code: ErrorCode.SubscriptionLimit });
    expect([...s.hub.counts.keys()].sort()).toEqual(['a', 'b', 'c']);
  });

  it('unsubscribes and releases; unknown unsubscribe is an error', async () => {
    const s = await connected();
    s.send({ t: 2, id: 1, ch: 'a' });
    await flush();
    s.send({ t: 3, id: 2, ch: 'a' });
    expect(s.socket.last()).toEqual({ t: 102, id: 2 });
    expect(s.hub.counts.size).toBe(0);
    expect(s.socket.joined.size).toBe(0);
    s.send({ t: 3, id: 3, ch: 'a' });
    expect(s.socket.last()).toMatchObject({ t: 106, id: 3, code: ErrorCode.NotSubscribed });
  });

  it('releases every channel exactly once when the socket closes, even mid-subscribe', async () => {
    const s = await connected();
    s.send({ t: 2, id: 1, ch: 'a' });
    await flush();
    let open!: () => void;
    s.hub.gate = new Promise((r) => (open = r));
    s.send({ t: 2, id: 2, ch: 'b' });
    s.session.closed();
    expect(s.hub.counts.size).toBe(0);
    open();
    await flush();
    // The pending subscribe found the session closed: no join, no reply, no second release.
    expect(s.hub.counts.size).toBe(0);
    expect(s.socket.joined.has('b')).toBe(false);
    expect(s.socket.sent.some((f) => f.id === 2)).toBe(false);
  });

  it('turns a hub failure into an Unavailable error and releases', async () => {
    const s = await connected();
    s.hub.fail = true;
    s.send({ t: 2, id: 1, ch: 'a' });
    await flush();
    expect(s.socket.last()).toMatchObject({ t: 106, id: 1, code: ErrorCode.Unavailable });
    expect(s.hub.counts.size).toBe(0);
    s.hub.fail = false;
    s.send({ t: 2, id: 2, ch: 'a' });
    await flush();
    expect(s.socket.last()).toEqual({ t: 102, id: 2 });
  });

  it('publishes with the server-side identity and acks after the store confirms', async () => {
    const s = await connected();
    let confirm!: (v: { duplicate: boolean }) => void;
    s.ingest.result = () => new Promise((r) => (confirm = r));
    s.send({ t: 4, id: 3, ch: 'chat', data: { text: 'hi', from: 'mallory' }, key: 'k1' });
    await flush();
    expect(s.ingest.published).toEqual([{ ch: 'chat', data: { text: 'hi', from: 'mallory' }, meta: { from: 'anon-c1', key: 'k1' } }]);
    expect(s.socket.sent.some((f) => f.id === 3)).toBe(false);
    confirm({ duplicate: true });
    await flush();
    expect(s.socket.last()).toEqual({ t: 102, id: 3, dup: true });
  });

  it('reports store failures and timeouts as retryable errors', async () => {
    const s = await connected();
    s.ingest.result = () => Promise.reject(new RequestTimeoutError('rt.in.0.a', 4000));
    s.send({ t: 4, id: 1, ch: 'chat', data: 1 });
    await flush();
    expect(s.socket.last()).toMatchObject({ id: 1, code: ErrorCode.Timeout });
    s.ingest.result = () => Promise.reject(new Error('no responders'));
    s.send({ t: 4, id: 2, ch: 'chat', data: 1 });
    await flush();
    expect(s.socket.last()).toMatchObject({ id: 2, code: ErrorCode.Unavailable });
  });

  it('sends ephemeral frames with the sender and time set by the server', async () => {
    const s = await connected();
    s.send({ t: 5, ch: 'room', data: { typing: true }, from: 'mallory' });
    expect(s.ingest.ephemerals).toHaveLength(1);
    expect(s.ingest.ephemerals[0]!.frame).toMatchObject({ t: 104, ch: 'room', from: 'anon-c1', data: { typing: true } });
  });

  it('answers text frames and malformed frames with errors and stays open', async () => {
    const s = await connected();
    s.session.receive(new TextEncoder().encode('{"t":1}'), false);
    expect(s.socket.last()).toMatchObject({ t: 106, code: ErrorCode.BadRequest });
    s.session.receive(new Uint8Array([0x92, 0x01]), true);
    expect(s.socket.last()).toMatchObject({ t: 106, code: ErrorCode.BadRequest });
    s.session.receive(encode({ t: 4, id: 1, ch: 'a', data: 'x'.repeat(2000) }), true);
    expect(s.socket.last()).toMatchObject({ t: 106, code: ErrorCode.PayloadTooLarge });
    expect(s.socket.closedWith).toBeUndefined();
    expect(s.session.isOpen).toBe(true);
  });
});

describe('Session subscribe races', () => {
  it('an unsubscribe while the subscribe is pending releases once and never joins', async () => {
    const s = await connected();
    let open!: () => void;
    s.hub.gate = new Promise((r) => (open = r));
    s.send({ t: 2, id: 1, ch: 'a' });
    s.send({ t: 3, id: 2, ch: 'a' });
    expect(s.hub.counts.size).toBe(0);
    open();
    await flush();
    expect(s.hub.counts.size).toBe(0);
    expect(s.socket.joined.size).toBe(0);
    expect(s.socket.sent.filter((f) => f.t === 102).map((f) => f.id).sort()).toEqual([1, 2]);
  });

  it('unsubscribe then subscribe again while the first is pending keeps the counts balanced', async () => {
    const s = await connected();
    let open!: () => void;
    s.hub.gate = new Promise((r) => (open = r));
    s.send({ t: 2, id: 1, ch: 'a' });
    s.send({ t: 3, id: 2, ch: 'a' });
    s.send({ t: 2, id: 3, ch: 'a' });
    open();
    await flush();
    expect(s.hub.counts.get('a')).toBe(1);
    expect(s.socket.joined.has('a')).toBe(true);
    s.session.closed();
    expect(s.hub.counts.size).toBe(0);
  });

  it('a hub failure after the socket closed does not release twice', async () => {
    const s = await connected();
    let fail!: (e: Error) => void;
    s.hub.acquire = (ch) => {
      s.hub.counts.set(ch, (s.hub.counts.get(ch) ?? 0) + 1);
      return new Promise((_r, rej) => (fail = rej));
    };
    s.send({ t: 2, id: 1, ch: 'a' });
    s.session.closed();
    fail(new Error('nats down'));
    await flush();
    expect(s.hub.counts.size).toBe(0);
  });
});

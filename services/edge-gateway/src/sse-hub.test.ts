// The node's SSE streams with fake ports: admission (401/403/503), channels held like
// WebSocket subscriptions, live frames encoded once and shared, resume from the ring or
// history, and every way a stream ends.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CloseCode, ErrorCode, FrameType, encodeFrameWithPayload, encodeServerFrame, encodeValue, type ChannelName } from '@cascade/protocol';
import { HistoryRequestError, type HistoryPosition, type HistoryReadRequest, type HistoryReadResult } from '@cascade/nats';
import { RecentFrames } from './ring.js';
import type { Authenticate, Identity } from './session.js';
import { FakeHub, flush } from './session-fakes.js';
import { SseNode, type SseResponse } from './sse-hub.js';
import type { SseRequest } from './sse.js';
import type { SseChunk } from './sse-stream.js';
import type { PresenceReports } from './transport.js';

const ch = (s: string) => s as ChannelName;
const msg = (c: string, seq: number, ep = 'e1') => encodeFrameWithPayload({ t: FrameType.Message, ch: c, seq, ep, ts: 1 }, encodeValue(`m${seq}`));

class FakeResponse implements SseResponse {
  aborted = false;
  refused: { status: number; body: { code: number; error: string } } | undefined;
  chunks: SseChunk[] = [];
  ended = false;
  closed = false;
  events: { writable(): void; aborted(): void } | undefined;
  refuse(status: number, body: { code: number; error: string }): void {
    this.refused = { status, body };
  }
  bind(events: { writable(): void; aborted(): void }): void {
    this.events = events;
  }
  write(chunks: readonly SseChunk[]): boolean {
    this.chunks.push(...chunks);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  close(): void {
    this.closed = true;
  }
  text(): string {
    return this.chunks.map((c) => (typeof c === 'string' ? c : Buffer.from(c).toString())).join('');
  }
  /** The parsed events (comments and retry skipped). */
  parsed(): Array<{ id?: string; event: string; data: any }> {
    return this.text()
      .split('\n\n')
      .filter((b) => b.includes('data: '))
      .map((b) => {
        const lines = b.split('\n');
        const field = (f: string) => lines.find((l) => l.startsWith(`${f}: `))?.slice(f.length + 2);
        const id = field('id');
        return { ...(id === undefined ? {} : { id }), event: field('event') ?? 'message', data: JSON.parse(field('data')!) };
      });
  }
}

class FakeHistory {
  stored: Uint8Array[] = [];
  down = false;
  positions = 0;
  gate: Promise<void> | undefined;
  async position(): Promise<HistoryPosition> {
    this.positions++;
    if (this.gate) await this.gate;
    if (this.down) throw new Error('no responders');
    return this.stored.length === 0 ? { ep: '', seq: 0, first: 0 } : { ep: 'e1', seq: this.stored.length, first: 1 };
  }
  async read(r: HistoryReadRequest): Promise<HistoryReadResult> {
    if (this.down) throw new Error('no responders');
    if (r.ep !== undefined && r.ep !== 'e1') throw new HistoryRequestError({ ok: false, code: ErrorCode.RecoveryImpossible, msg: 'gone', ep: 'e1', seq: this.stored.length, first: 1 });
    const from = r.from ?? 1;
    return { ep: 'e1', seq: this.stored.length, first: 1, msgs: this.stored.slice(from - 1, from - 1 + (r.limit ?? 100)) };
  }
}

function identity(user: string, o: { forbid?: string[]; expiresAt?: number } = {}): Identity {
  return { user, may: (_a, c) => !(o.forbid ?? []).includes(c), personal: undefined, expiresAt: o.expiresAt };
}

function setup(o: { auth?: Authenticate; now?: () => number; known?: Record<string, { ep: string; seq: number }> } = {}) {
  const hub = new FakeHub();
  const recent = new RecentFrames(16);
  const history = new FakeHistory();
  const presence: string[] = [];
  const reports: PresenceReports = {
    connect: (c, u) => presence.push(`c ${c} ${u}`),
    disconnect: (c) => presence.push(`d ${c}`),
    join: (c, x) => presence.push(`j ${c} ${x}`),
    leave: (c, x) => presence.push(`l ${c} ${x}`),
  };
  let n = 0;
  const node = new SseNode(
    {
      authenticate: o.auth ?? (async (token) => ({ ok: true, identity: identity(token ?? 'anon') })),
      hub,
      resume: { recent, history, positions: { known: (c) => o.known?.[c], learned: () => undefined } },
      maxUnsentBytes: 1024 * 1024,
      keepaliveMs: 1000,
      retryMs: 1000,
      presence: reports,
      ...(o.now ? { now: o.now } : {}),
    },
    () => `c${n++}`,
  );
  const open = async (channels: string[], extra: Partial<SseRequest> = {}) => {
    const res = new FakeResponse();
    await node.open({ channels: channels.map(ch), token: 'alice', positions: channels.map(() => undefined), presence: false, ...extra }, res);
    await flush();
    return res;
  };
  /** A live frame as LiveChannels would hand it on (through the ring, then the fan-out). */
  const live = (c: string, frame: Uint8Array) => {
    recent.record(ch(c), frame);
    node.deliver(ch(c), frame);
  };
  return { node, hub, recent, history, presence, open, live };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('SseNode admission', () => {
  it('refuses bad tokens with 401 (503 when keys cannot be fetched), forbidden channels with 403', async () => {
    const refusals: Record<string, { code: number; reason: string }> = { bad: { code: CloseCode.Unauthorized, reason: 'no' }, old: { code: CloseCode.TokenExpired, reason: 'expired' }, jwks: { code: CloseCode.ServerError, reason: 'later' } };
    const t = setup({ auth: async (token) => (token && refusals[token] ? { ok: false, ...refusals[token]! } : { ok: true, identity: identity('alice', { forbid: ['secret'] }) }) });
    expect((await t.open(['a'], { token: 'bad' })).refused).toEqual({ status: 401, body: { code: 4501, error: 'no' } });
    expect((await t.open(['a'], { token: 'old' })).refused).toEqual({ status: 401, body: { code: 4006, error: 'expired' } });
    expect((await t.open(['a'], { token: 'jwks' })).refused?.status).toBe(503);
    expect((await t.open(['a', 'secret'])).refused).toEqual({ status: 403, body: { code: 104, error: 'not allowed to subscribe to secret', ch: 'secret' } });
    expect(t.hub.acquired).toEqual([]);
    expect(t.node.count).toBe(0);
  });

  it('answers 503 and holds nothing when a channel cannot be subscribed', async () => {
    const t = setup();
    t.hub.fail = true;
    const res = await t.open(['a', 'b']);
    expect(res.refused?.status).toBe(503);
    expect(t.hub.counts.size).toBe(0);
    expect(t.node.count).toBe(0);
  });

  it('releases the channels of a client that left while they were being subscribed', async () => {
    const t = setup();
    let open!: () => void;
    t.hub.gate = new Promise((r) => (open = r));
    const res = new FakeResponse();
    const opening = t.node.open({ channels: [ch('a')], token: 'alice', positions: [undefined], presence: false }, res);
    await flush();
    expect(t.node.count).toBe(1);
    res.aborted = true;
    res.events!.aborted();
    open();
    await opening;
    expect(t.hub.counts.size).toBe(0);
    expect(t.node.count).toBe(0);
    expect(res.chunks).toEqual([]);
  });
});

describe('SseNode streams', () => {
  it('starts with retry and connected, holds each channel once and reports presence', async () => {
    const t = setup();
    const res = await t.open(['a', 'b']);
    expect(res.text().startsWith('retry: 1000\n\nevent: connected\ndata: {"client":"c0","user":"alice"}\n\n')).toBe(true);
    expect([...t.hub.counts]).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
    expect(t.presence).toEqual(['c c0 alice', 'j c0 a', 'j c0 b']);
    expect(t.node.count).toBe(1);
  });

  it('encodes a live frame once and shares the bytes; each stream adds its own id vector', async () => {
    const t = setup();
    const one = await t.open(['a']);
    const two = await t.open(['b', 'a'], { positions: [{ ep: 'e1', seq: 0 }, undefined] });
    t.live('a', msg('a', 1));
    const shared = one.chunks.at(-1);
    expect(shared).toBeInstanceOf(Uint8Array);
    expect(two.chunks.at(-1)).toBe(shared);
    expect(one.chunks.at(-2)).toBe('id: e1:1\n');
    expect(two.chunks.at(-2)).toBe('id: e1:0,e1:1\n');
    expect(one.parsed().at(-1)).toEqual({ id: 'e1:1', event: 'message', data: { ch: 'a', seq: 1, ep: 'e1', ts: 1, data: 'm1' } });
  });

  it('drops a repeated seq, passes ephemeral frames, and presence frames only with presence=1', async () => {
    const t = setup();
    const plain = await t.open(['a']);
    const withPresence = await t.open(['a'], { presence: true });
    t.live('a', msg('a', 1));
    t.node.deliver(ch('a'), msg('a', 1));
    t.live('a', encodeFrameWithPayload({ t: FrameType.EphemeralMessage, ch: 'a', ts: 2, from: 'u' }, encodeValue('typing')));
    t.live('a', encodeServerFrame({ t: FrameType.Presence, ch: 'a', count: 3 }));
    expect(plain.parsed().map((e) => e.event)).toEqual(['connected', 'position', 'message', 'ephemeral']);
    expect(withPresence.parsed().map((e) => e.event)).toEqual(['connected', 'position', 'message', 'ephemeral', 'presence']);
  });

  it('sends the start of every channel as `position` (its id the whole vector) before any message; `:0` for an empty channel', async () => {
    const t = setup({ known: { b: { ep: 'k', seq: 9 } } });
    let open!: () => void;
    t.history.gate = new Promise((r) => (open = r));
    const res = await t.open(['a', 'b', 'c'], { positions: [undefined, undefined, { ep: 'e1', seq: 0 }] });
    // b's frame arrives while a's start is being read: held until the position event went out,
    // and `connected` waits for every start too (what is published after it is delivered).
    t.live('b', msg('b', 10, 'k'));
    expect(res.text()).toBe('retry: 1000\n\n');
    open();
    await flush();
    expect(res.parsed()).toEqual([
      { event: 'connected', data: { client: 'c0', user: 'alice' } },
      { id: ':0,k:9,e1:0', event: 'position', data: { positions: [{ ch: 'a', ep: '', seq: 0 }, { ch: 'b', ep: 'k', seq: 9 }, { ch: 'c', ep: 'e1', seq: 0 }] } },
      { id: ':0,k:10,e1:0', event: 'message', data: { ch: 'b', seq: 10, ep: 'k', ts: 1, data: 'm10' } },
    ]);
    // Only the channel neither the node nor the client placed was asked for.
    expect(t.history.positions).toBe(1);
    t.live('a', msg('a', 1, 'e7'));
    expect(res.parsed().at(-1)).toMatchObject({ id: 'e7:1,k:10,e1:0', data: { ch: 'a', seq: 1 } });
  });

  it('resumes from the ring: the missed messages, then live, each once', async () => {
    const t = setup();
    for (let s = 1; s <= 3; s++) t.recent.record(ch('a'), msg('a', s));
    const res = await t.open(['a'], { positions: [{ ep: 'e1', seq: 1 }] });
    t.live('a', msg('a', 4));
    expect(res.parsed().filter((e) => e.event === 'message').map((e) => [e.id, e.data.seq])).toEqual([
      ['e1:2', 2],
      ['e1:3', 3],
      ['e1:4', 4],
    ]);
  });

  it('resumes from history and says unrecovered for a position it cannot continue', async () => {
    const t = setup();
    t.history.stored = [msg('a', 1), msg('a', 2)];
    const ok = await t.open(['a'], { positions: [{ ep: 'e1', seq: 1 }] });
    expect(ok.parsed().filter((e) => e.event === 'message').map((e) => e.data.seq)).toEqual([2]);
    const gone = await t.open(['a'], { positions: [{ ep: 'old', seq: 9 }] });
    expect(gone.parsed().slice(-2)).toEqual([
      { event: 'unrecovered', data: { ch: 'a', ep: 'e1', seq: 2 } },
      { id: 'e1:2', event: 'position', data: { positions: [{ ch: 'a', ep: 'e1', seq: 2 }] } },
    ]);
    t.live('a', msg('a', 3));
    expect(gone.parsed().at(-1)).toMatchObject({ id: 'e1:3', data: { seq: 3 } });
  });

  it('ends the stream with 4004 when history cannot serve the catch-up', async () => {
    const t = setup();
    t.history.down = true;
    const res = await t.open(['a', 'b'], { positions: [{ ep: 'e1', seq: 1 }, undefined] });
    await flush();
    expect(res.parsed().at(-1)).toMatchObject({ event: 'error', data: { code: 4004, ch: 'a' } });
    expect(res.ended).toBe(true);
    expect(t.hub.counts.size).toBe(0);
  });
});

describe('SseNode endings', () => {
  it('releases everything when the client goes away', async () => {
    const t = setup();
    const res = await t.open(['a', 'b']);
    res.events!.aborted();
    expect(t.hub.counts.size).toBe(0);
    expect(t.presence.at(-1)).toBe('d c0');
    expect(t.node.count).toBe(0);
    t.live('a', msg('a', 1));
    expect(res.parsed().map((e) => e.event)).toEqual(['connected', 'position']);
  });

  it('ends the streams of a channel whose heal failed with 4004', async () => {
    const t = setup();
    const a = await t.open(['a']);
    const b = await t.open(['b']);
    expect(t.node.closeSubscribers(ch('a'), CloseCode.ServerError, 'lost')).toBe(1);
    expect(a.parsed().at(-1)).toEqual({ event: 'error', data: { code: 4004, msg: 'lost', ch: 'a' } });
    expect(a.ended).toBe(true);
    expect(b.ended).toBe(false);
    expect(t.hub.counts.get('a')).toBeUndefined();
  });

  it('ends a stream whose user lost a channel right (group removal) with 104', async () => {
    let forbid: string[] = [];
    const t = setup({ auth: async () => ({ ok: true, identity: { user: 'bob', may: (_a, c) => !forbid.includes(c), expiresAt: undefined } }) });
    const res = await t.open(['group:g', 'a']);
    t.node.revalidateUsers(new Set(['bob']), 'no longer a member');
    expect(res.ended).toBe(false);
    forbid = ['group:g'];
    t.node.revalidateUsers(new Set(['bob']), 'no longer a member');
    expect(res.parsed().at(-1)).toMatchObject({ event: 'error', data: { code: 104, ch: 'group:g' } });
  });

  it('ends the stream with 4006 when the token expires', async () => {
    vi.useFakeTimers();
    const t = setup({ auth: async () => ({ ok: true, identity: identity('alice', { expiresAt: Date.now() + 5000 }) }) });
    const res = new FakeResponse();
    await t.node.open({ channels: [ch('a')], token: 't', positions: [undefined], presence: false }, res);
    expect(res.parsed()[0]!.data.exp).toBeGreaterThan(Date.now());
    vi.advanceTimersByTime(4999);
    expect(res.ended).toBe(false);
    vi.advanceTimersByTime(2);
    expect(res.parsed().at(-1)).toMatchObject({ event: 'error', data: { code: 4006 } });
    expect(res.ended).toBe(true);
  });

  it('drain: advises a reconnect, then closes the connection after the delay', async () => {
    vi.useFakeTimers();
    const t = setup();
    const res = new FakeResponse();
    await t.node.open({ channels: [ch('a')], token: 't', positions: [undefined], presence: false }, res);
    const [c] = t.node.drainConnections();
    c!.advise(300);
    expect(res.parsed().at(-1)).toEqual({ event: 'reconnect', data: { delay: 300, reason: 'drain' } });
    vi.advanceTimersByTime(300);
    expect(res.closed).toBe(true);
    expect(t.node.count).toBe(0);
    expect(t.hub.counts.size).toBe(0);
  });

  it('sends keep-alive comments to every stream', async () => {
    vi.useFakeTimers();
    const t = setup();
    const res = new FakeResponse();
    await t.node.open({ channels: [ch('a')], token: 't', positions: [undefined], presence: false }, res);
    vi.advanceTimersByTime(2500);
    expect(res.text().split(': ka\n\n').length - 1).toBe(2);
  });
});

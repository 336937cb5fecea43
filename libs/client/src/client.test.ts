// CascadeClient against a scripted in-memory WebSocket: the test plays the server, so
// reconnect, resume, gap filling and close-code handling are checked without a network.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeValue, encodeServerFrame, type ServerFrame } from '@cascade/protocol';
import { CascadeClient } from './client.js';
import type { Message, RecoveryImpossible, SubscriptionHandlers, WebSocketLike } from './types.js';

type Sent = { t: number; id?: number; ch?: string; since?: { ep: string; seq: number }; psince?: { ep: string; seq: number }; key?: string; token?: string; limit?: number };

class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  binaryType = 'blob';
  readyState = 0;
  sent: Sent[] = [];
  closedWith: number | undefined;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
    queueMicrotask(() => {
      this.readyState = 1;
      this.onopen?.({});
    });
  }
  send(data: Uint8Array): void {
    const d = decodeValue(data);
    if (!d.ok) throw d.error;
    this.sent.push(d.frame as Sent);
  }
  close(code = 1000): void {
    this.closedWith = code;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code, reason: '' }));
  }
  // ---- the server side ----
  push(f: ServerFrame): void {
    const b = encodeServerFrame(f);
    this.onmessage?.({ data: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) });
  }
  drop(code: number, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  last(t: number): Sent {
    const f = this.sent.filter((s) => s.t === t).at(-1);
    if (!f) throw new Error(`no frame t:${t} sent`);
    return f;
  }
  welcome(extra: { exp?: number; personal?: string; psub?: { recovered?: boolean; ep?: string; seq?: number } } = {}): void {
    this.push({ t: 101, v: 1, client: 'c-1', user: 'u1', limits: { frame: 65536, subs: 128 }, ...extra });
  }
}

const msg = (seq: number, ep = 'e1', ch = 'chat:1') => ({ t: 103 as const, ch, seq, ep, ts: 1, data: { n: seq } });

async function started(o: Partial<ConstructorParameters<typeof CascadeClient>[0]> = {}) {
  const client = new CascadeClient({ url: 'ws://x/', WebSocket: FakeSocket, backoff: { initialMs: 5, maxMs: 20 }, ...o });
  const connected = client.connect();
  await vi.waitFor(() => expect(FakeSocket.all.at(-1)?.sent[0]?.t).toBe(1));
  const ws = FakeSocket.all.at(-1)!;
  ws.welcome();
  await connected;
  return { client, ws };
}

async function nextSocket(after: FakeSocket): Promise<FakeSocket> {
  await vi.waitFor(() => expect(FakeSocket.all.at(-1)).not.toBe(after));
  const ws = FakeSocket.all.at(-1)!;
  await vi.waitFor(() => expect(ws.sent[0]?.t).toBe(1));
  ws.welcome();
  return ws;
}

/** Subscribes on a started client and answers the subscribe as the server would. */
async function subscribed(client: CascadeClient, ws: FakeSocket, handlers: SubscriptionHandlers) {
  const sub = client.subscribe('chat:1', handlers);
  await vi.waitFor(() => ws.last(2));
  ws.push({ t: 102, id: ws.last(2).id! });
  await sub.ready;
  return sub;
}

afterEach(() => {
  FakeSocket.all = [];
});

describe('CascadeClient (scripted server)', () => {
  it('connects with binaryType arraybuffer, subscribes and delivers messages once, in order', async () => {
    const { client, ws } = await started();
    expect(ws.binaryType).toBe('arraybuffer');
    const got: number[] = [];
    const sub = client.subscribe('chat:1', { onMessage: (m) => got.push(m.seq) });
    await vi.waitFor(() => ws.last(2));
    ws.push({ t: 102, id: ws.last(2).id! });
    await expect(sub.ready).resolves.toEqual({ resumed: false, first: true });
    for (const s of [1, 2, 2, 1, 3]) ws.push(msg(s));
    expect(got).toEqual([1, 2, 3]);
    expect(sub.position).toEqual({ ep: 'e1', seq: 3 });
    await client.close();
    expect(client.state).toBe('closed');
  });

  it('keeps the start told by the subscribe reply and resumes from it when it drops before any message', async () => {
    for (const start of [{ ep: '', seq: 0 }, { ep: 'e1', seq: 7 }]) {
      const { client, ws } = await started();
      const got: Array<[string, number]> = [];
      const lost: RecoveryImpossible[] = [];
      const sub = client.subscribe('chat:1', { onMessage: (m) => got.push([m.ep, m.seq]), onRecoveryImpossible: (r) => lost.push(r) });
      await vi.waitFor(() => ws.last(2));
      expect(ws.last(2).since).toBeUndefined();
      ws.push({ t: 102, id: ws.last(2).id!, ...start });
      await expect(sub.ready).resolves.toEqual({ resumed: false, first: true });
      expect(sub.position).toEqual(start);
      ws.drop(1006);
      const ws2 = await nextSocket(ws);
      await vi.waitFor(() => ws2.last(2));
      expect(ws2.last(2).since).toEqual(start);
      ws2.push({ t: 102, id: ws2.last(2).id!, recovered: true });
      const ep = start.ep || 'e9';
      for (let i = 1; i <= 5; i++) ws2.push(msg(start.seq + i, ep));
      expect(got).toEqual([1, 2, 3, 4, 5].map((i) => [ep, start.seq + i]));
      expect(lost).toEqual([]);
      await client.close();
    }
  });

  describe('the personal channel (subscribed by the server at connect)', () => {
    // A token for user u1 (unsigned: only the server verifies it); its personal channel is user:u1.
    const token = `e30.${btoa(JSON.stringify({ sub: 'u1' })).replace(/=+$/, '')}.sig`;
    const personal = { personal: 'user:u1' };
    const pmsg = (seq: number) => msg(seq, 'e1', 'user:u1');

    async function connecting(client: CascadeClient, after?: FakeSocket) {
      if (after) await vi.waitFor(() => expect(FakeSocket.all.at(-1)).not.toBe(after));
      else void client.connect();
      await vi.waitFor(() => expect(FakeSocket.all.at(-1)?.sent[0]?.t).toBe(1));
      return FakeSocket.all.at(-1)!;
    }

    it('adopts the start from connected, resumes with psince on reconnect, and sends no subscribe for it', async () => {
      const client = new CascadeClient({ url: 'ws://x/', WebSocket: FakeSocket, token, backoff: { initialMs: 5, maxMs: 20 } });
      const got: number[] = [];
      const sub = client.subscribe('user:u1', { onMessage: (m) => got.push(m.seq) });
      const ws = await connecting(client);
      expect(ws.sent[0]!.psince).toBeUndefined();
      ws.welcome({ ...personal, psub: { ep: 'e1', seq: 3 } });
      await expect(sub.ready).resolves.toEqual({ resumed: false, first: true });
      expect(sub.position).toEqual({ ep: 'e1', seq: 3 });
      ws.push(pmsg(4));
      ws.drop(1006);
      const ws2 = await connecting(client, ws);
      expect(ws2.sent[0]!.psince).toEqual({ ep: 'e1', seq: 4 });
      ws2.welcome({ ...personal, psub: { recovered: true } });
      for (const q of [5, 6, 7]) ws2.push(pmsg(q));
      expect(got).toEqual([4, 5, 6, 7]);
      expect(ws.sent.concat(ws2.sent).some((f) => f.t === 2 || f.t === 3)).toBe(false);
      await client.close();
    });

    it('surfaces a resume the server refused in connected (recovered false) and continues after its position', async () => {
      const client = new CascadeClient({ url: 'ws://x/', WebSocket: FakeSocket, token, backoff: { initialMs: 5, maxMs: 20 } });
      const lost: RecoveryImpossible[] = [];
      const got: number[] = [];
      client.subscribe('user:u1', { onMessage: (m) => got.push(m.seq), onRecoveryImpossible: (r) => lost.push(r) }, { since: { ep: 'e1', seq: 2 } });
      const ws = await connecting(client);
      expect(ws.sent[0]!.psince).toEqual({ ep: 'e1', seq: 2 });
      ws.welcome({ ...personal, psub: { recovered: false, ep: 'e1', seq: 9 } });
      ws.push(pmsg(10));
      expect(lost).toEqual([{ channel: 'user:u1', reason: 'resume-refused', from: { ep: 'e1', seq: 2 }, to: { ep: 'e1', seq: 9 } }]);
      expect(got).toEqual([10]);
      await client.close();
    });

    it('a later subscribe to it releases the server-made one and resumes from where it started at connect', async () => {
      const client = new CascadeClient({ url: 'ws://x/', WebSocket: FakeSocket, token, backoff: { initialMs: 5, maxMs: 20 } });
      const ws = await connecting(client);
      ws.welcome({ ...personal, psub: { ep: 'e1', seq: 3 } });
      await client.connect();
      ws.push(pmsg(4)); // nobody listens yet
      const got: number[] = [];
      const sub = client.subscribe('user:u1', { onMessage: (m) => got.push(m.seq) });
      await vi.waitFor(() => ws.last(3));
      expect(ws.last(3).ch).toBe('user:u1');
      ws.push({ t: 102, id: ws.last(3).id! });
      await vi.waitFor(() => ws.last(2));
      expect(ws.last(2)).toMatchObject({ ch: 'user:u1', since: { ep: 'e1', seq: 3 } });
      ws.push({ t: 102, id: ws.last(2).id!, recovered: true });
      ws.push(pmsg(4));
      await expect(sub.ready).resolves.toEqual({ resumed: true, first: true });
      expect(got).toEqual([4]);
      await client.close();
    });

    it('with an older server (no psub) it falls back to subscribing, AlreadySubscribed counting as success', async () => {
      const client = new CascadeClient({ url: 'ws://x/', WebSocket: FakeSocket, token, backoff: { initialMs: 5, maxMs: 20 } });
      const sub = client.subscribe('user:u1', {});
      const ws = await connecting(client);
      ws.welcome(personal);
      await vi.waitFor(() => ws.last(3));
      ws.push({ t: 102, id: ws.last(3).id! });
      await vi.waitFor(() => ws.last(2));
      ws.push({ t: 106, id: ws.last(2).id!, ch: 'user:u1', code: 105, msg: 'already' });
      await expect(sub.ready).resolves.toMatchObject({ first: true });
      await client.close();
    });
  });

  it('resolves publish on the durable ack and reuses the key after a reconnect (dup ack = success)', async () => {
    const { client, ws } = await started();
    const p = client.publish('chat:1', { text: 'hi' });
    await vi.waitFor(() => ws.last(4));
    const key = ws.last(4).key!;
    expect(key).toMatch(/^[A-Za-z0-9_-]{22}$/);
    ws.drop(1006);
    const ws2 = await nextSocket(ws);
    await vi.waitFor(() => ws2.last(4));
    expect(ws2.last(4).key).toBe(key);
    ws2.push({ t: 102, id: ws2.last(4).id!, dup: true });
    await expect(p).resolves.toEqual({ dup: true, key });
    await client.close();
  });

  it('resubscribes after a reconnect with since = the last position; recovered:false calls onRecoveryImpossible then continues live', async () => {
    const { client, ws } = await started();
    const got: number[] = [];
    const lost: RecoveryImpossible[] = [];
    await subscribed(client, ws, { onMessage: (m) => got.push(m.seq), onRecoveryImpossible: (i) => lost.push(i) });
    ws.push(msg(7));
    ws.drop(1001, 'server shutting down');
    const ws2 = await nextSocket(ws);
    await vi.waitFor(() => ws2.last(2));
    expect(ws2.last(2).since).toEqual({ ep: 'e1', seq: 7 });
    ws2.push({ t: 102, id: ws2.last(2).id!, recovered: false, ep: 'e1', seq: 20 });
    await vi.waitFor(() => expect(lost).toHaveLength(1));
    expect(lost[0]).toMatchObject({ channel: 'chat:1', reason: 'resume-refused', from: { ep: 'e1', seq: 7 }, to: { ep: 'e1', seq: 20 } });
    ws2.push(msg(20));
    ws2.push(msg(21));
    expect(got).toEqual([7, 21]);
    await client.close();
  });

  it('fills a gap with a history request and delivers everything in order', async () => {
    const { client, ws } = await started();
    const got: Message[] = [];
    await subscribed(client, ws, { onMessage: (m) => got.push(m) });
    ws.push(msg(1));
    ws.push(msg(4));
    ws.push(msg(5));
    await vi.waitFor(() => ws.last(7));
    const h = ws.last(7);
    expect(h).toMatchObject({ ch: 'chat:1', since: { ep: 'e1', seq: 1 }, limit: 2 });
    ws.push({ t: 102, id: h.id!, ep: 'e1', seq: 5, msgs: [msg(2), msg(3)] });
    await vi.waitFor(() => expect(got.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]));
    expect(got[1]).toEqual({ channel: 'chat:1', seq: 2, ep: 'e1', ts: 1, data: { n: 2 } });
    await client.close();
  });

  it('without a history frame on the server, falls back to unsubscribe + subscribe with since', async () => {
    const { client, ws } = await started();
    const got: number[] = [];
    const lost: RecoveryImpossible[] = [];
    await subscribed(client, ws, { onMessage: (m) => got.push(m.seq), onRecoveryImpossible: (i) => lost.push(i) });
    ws.push(msg(1));
    ws.push(msg(3));
    await vi.waitFor(() => ws.last(7));
    ws.push({ t: 106, id: ws.last(7).id!, code: 102, msg: 'unknown frame type 7' });
    await vi.waitFor(() => ws.last(3));
    ws.push({ t: 102, id: ws.last(3).id! });
    await vi.waitFor(() => expect(ws.sent.filter((f) => f.t === 2)).toHaveLength(2));
    expect(ws.last(2).since).toEqual({ ep: 'e1', seq: 1 });
    ws.push({ t: 102, id: ws.last(2).id!, recovered: false });
    await vi.waitFor(() => expect(got).toEqual([1, 3]));
    expect(lost.map((l) => l.reason)).toEqual(['resume-refused']);
    await client.close();
  });

  it('gives a gap up when history cannot serve it (112), telling the application first', async () => {
    const { client, ws } = await started();
    const events: string[] = [];
    await subscribed(client, ws, {
      onMessage: (m) => events.push(`m${m.seq}`),
      onRecoveryImpossible: (i) => events.push(`lost ${i.missing?.from}-${i.missing?.to}`),
    });
    ws.push(msg(1));
    ws.push(msg(5));
    await vi.waitFor(() => ws.last(7));
    ws.push({ t: 106, id: ws.last(7).id!, ch: 'chat:1', code: 112, msg: 'trimmed' });
    await vi.waitFor(() => expect(events).toEqual(['m1', 'lost 2-4', 'm5']));
    await client.close();
  });

  it('ends a subscription the server refuses for good, and reports an epoch change before the new epoch', async () => {
    const { client, ws } = await started();
    const errors: string[] = [];
    const denied = client.subscribe('secret:1', { onError: (e) => errors.push(e.codeName) });
    await vi.waitFor(() => ws.last(2));
    ws.push({ t: 106, id: ws.last(2).id!, ch: 'secret:1', code: 104, msg: 'not allowed to subscribe to secret:1' });
    await expect(denied.ready).rejects.toMatchObject({ codeName: 'PermissionDenied', source: 'server', channel: 'secret:1' });
    expect([denied.status, errors]).toEqual(['failed', ['PermissionDenied']]);

    const events: string[] = [];
    await subscribed(client, ws, {
      onMessage: (m) => events.push(`${m.ep}/${m.seq}`),
      onRecoveryImpossible: (i) => events.push(`${i.reason} from ${i.from?.ep}/${i.from?.seq}`),
    });
    ws.push(msg(8));
    ws.push(msg(1, 'e2'));
    expect(events).toEqual(['e1/8', 'epoch-changed from e1/8', 'e2/1']);
    await client.close();
  });

  it('stops on a 4500-4999 close code and rejects connect with a typed error', async () => {
    const client = new CascadeClient({ url: 'ws://x/', WebSocket: FakeSocket, token: 'bad' });
    const p = client.connect();
    await vi.waitFor(() => expect(FakeSocket.all[0]?.sent[0]).toMatchObject({ t: 1, v: 1, token: 'bad' }));
    FakeSocket.all[0]!.drop(4501, 'token signature does not verify');
    await expect(p).rejects.toMatchObject({ name: 'CascadeError', code: 4501, codeName: 'Unauthorized', source: 'close' });
    expect(client.state).toBe('failed');
    await new Promise((r) => setTimeout(r, 30));
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('on 4006 reconnects at once with a fresh token from the callback; a fixed token fails instead', async () => {
    let n = 0;
    const { client, ws } = await started({ token: async () => `tok-${++n}` });
    expect(ws.sent[0]!.token).toBe('tok-1');
    ws.drop(4006, 'token expired');
    const ws2 = await nextSocket(ws);
    expect(ws2.sent[0]!.token).toBe('tok-2');
    await client.close();

    const fixed = await started({ token: 'static' });
    fixed.ws.drop(4006, 'token expired');
    expect(fixed.client.state).toBe('failed');
    expect(fixed.client.error?.codeName).toBe('TokenExpired');
  });

  it('refreshes the token before the exp the server announced', async () => {
    let n = 0;
    const client = new CascadeClient({ url: 'ws://x/', WebSocket: FakeSocket, token: () => `tok-${++n}` });
    const p = client.connect();
    await vi.waitFor(() => expect(FakeSocket.all[0]?.sent[0]?.t).toBe(1));
    const ws = FakeSocket.all[0]!;
    ws.welcome({ exp: Date.now() + 100 });
    await p;
    await vi.waitFor(() => expect(ws.last(6).token).toBe('tok-2'));
    ws.push({ t: 102, id: ws.last(6).id! });
    await client.close();
  });

  it('follows reconnect advice (t:107): keeps receiving for the delay, then closes with 1000 and comes back', async () => {
    const { client, ws } = await started();
    const states: string[] = [];
    client.on('state', (s) => states.push(s));
    ws.push({ t: 107, delay: 30, reason: 'draining' });
    expect(ws.closedWith).toBeUndefined();
    await vi.waitFor(() => expect(ws.closedWith).toBe(1000));
    await nextSocket(ws);
    await vi.waitFor(() => expect(states).toEqual(['reconnecting', 'connected']));
    await client.close();
  });

  it('refuses bad input locally with typed errors', async () => {
    const { client } = await started();
    expect(() => client.subscribe('chat.room', {})).toThrow(expect.objectContaining({ codeName: 'InvalidChannel' }));
    await expect(client.publish('a b', 1)).rejects.toMatchObject({ codeName: 'InvalidChannel', source: 'client' });
    await expect(client.publish('ok', 1, { key: 'bad key' })).rejects.toMatchObject({ codeName: 'BadRequest' });
    client.subscribe('dup', {});
    expect(() => client.subscribe('dup', {})).toThrow(expect.objectContaining({ codeName: 'AlreadySubscribed' }));
    await client.close();
  });
});

describe('CascadeClient timers', () => {
  it('leaves no timer running after close(), with publishes and subscriptions pending', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const client = new CascadeClient({ url: 'ws://x/', WebSocket: FakeSocket, token: () => 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.x' });
      const connected = client.connect();
      await vi.waitFor(() => expect(FakeSocket.all[0]?.sent[0]?.t).toBe(1));
      FakeSocket.all[0]!.welcome();
      await connected;
      client.subscribe('chat:1', {});
      const p = client.publish('chat:1', 1);
      expect(vi.getTimerCount()).toBeGreaterThan(0);
      await client.close();
      await expect(p).rejects.toMatchObject({ codeName: 'NotConnected' });
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

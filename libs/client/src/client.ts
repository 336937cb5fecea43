// CascadeClient: wires the pure parts (backoff, request table, publish queue, per-channel
// position trackers) to one WebSocket at a time. It owns the connection lifecycle: connect,
// token refresh, reconnect with backoff, resubscribe from each channel's last position, and
// filling gaps. No Node-only API is used, so the same code runs in browsers. In SSE mode
// (`transport: 'sse'`) every public method goes to SseTransport instead (sse-transport.ts).
import {
  CloseCode,
  decodeServerFrame,
  encodeClientFrame,
  encodeValue,
  ErrorCode,
  FrameType,
  parseChannel,
  PROTOCOL_VERSION,
  shouldReconnect,
  type ClientFrame,
  type ConnectedFrame,
  type ErrorFrame,
  type PersonalSubscription,
  type MessageFrame,
  type PresenceFrame,
  type ReplyFrame,
  type ServerFrame,
  type StreamPosition,
} from '@cascade/protocol';
import { Backoff } from './backoff.js';
import { Delivery, reportAsync } from './delivery.js';
import { Emitter } from './emitter.js';
import { CascadeError } from './errors.js';
import { presenceList } from './presence.js';
import { PublishQueue, type PublishEntry, type PublishResult } from './publish-queue.js';
import { RequestTable, realTimers, type Timers } from './requests.js';
import { SseTransport } from './sse-transport.js';
import { ChannelSubscription, PERMANENT_SUBSCRIBE_ERRORS, type Subscription } from './subscription.js';
import { jwtExpiry, jwtSubject, refreshDelay } from './token.js';
import type {
  CascadeClientOptions,
  ClientEvents,
  ClientState,
  ConnectionInfo,
  PresenceList,
  PublishOptions,
  SubscribeOptions,
  SubscriptionHandlers,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';

export const SDK_VERSION = '0.1.0';

const OPEN = 1;
/** Close code the client uses when it gives up on a connection itself (timeouts, advice). */
const CLIENT_RECONNECT = 4000;
/** Messages a history request may return (the server's bound). */
const HISTORY_PAGE = 1000;
/** Failed history reads for one gap before the client gives it up. */
const MAX_FILL_FAILURES = 3;

type Answer = ReplyFrame | ErrorFrame;

function serverError(f: ErrorFrame): CascadeError {
  return new CascadeError(f.code, f.msg, 'server', f.ch);
}

function positionOf(f: { ep?: unknown; seq?: unknown }): StreamPosition | undefined {
  return typeof f.ep === 'string' && typeof f.seq === 'number' ? { ep: f.ep, seq: f.seq } : undefined;
}

function isMessageFrame(f: unknown): f is MessageFrame {
  const m = f as Partial<MessageFrame> | null;
  return (
    typeof m === 'object' && m !== null && typeof m.ch === 'string' && typeof m.ep === 'string' &&
    typeof m.seq === 'number' && Number.isSafeInteger(m.seq) && m.seq >= 1
  );
}

function toBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

/**
 * Error listener of sockets the client is done with: closing one that is still connecting
 * makes it report an error, which no longer matters (and `ws` throws if nobody listens).
 */
function ignoreLateError(): void {
  return undefined;
}


export class CascadeClient {
  private readonly o: Required<Pick<CascadeClientOptions, 'connectTimeoutMs' | 'requestTimeoutMs' | 'reconnect' | 'clientName'>> & CascadeClientOptions;
  private readonly WS: WebSocketConstructor;
  private readonly timers: Timers = realTimers;
  private readonly backoff: Backoff;
  private readonly events = new Emitter<ClientEvents>(reportAsync);
  private readonly d = new Delivery((e) => this.events.emit('error', e));
  private readonly requests: RequestTable<Answer>;
  private readonly queue: PublishQueue;
  private readonly subs = new Map<string, ChannelSubscription>();
  private readonly urls: string[];
  /** Connection attempts so far: each one takes the next URL. */
  private attempt = 0;

  private current: ClientState = 'idle';
  private ws: WebSocketLike | undefined;
  /** Counts connections; work started for an older one is dropped when it completes. */
  private generation = 0;
  private connection: ConnectionInfo | undefined;
  private lastError: CascadeError | undefined;
  private token: string | undefined;
  /**
   * The personal channel (`user:<id>`) the server subscribes every token connection to:
   * from the last `connected`, before that from the token's `sub`.
   */
  private personal: string | undefined;
  /** The personal channel's position the current connect frame carried (`psince`), if any. */
  private personalSince: StreamPosition | undefined;
  /**
   * The server holds the personal channel on this connection for no subscription of ours
   * (the application subscribed to it later, or after it was adopted elsewhere): a subscribe
   * to it first releases that one; `personalStart` is where it started (connected.psub).
   */
  private personalHeld = false;
  private personalStart: StreamPosition | undefined;
  /** The server answered a history request with UnknownFrameType: gaps fall back to resubscribing. */
  private historyUnsupported = false;
  private refreshUnsupported = false;
  private connectTimer: unknown;
  private reconnectTimer: unknown;
  private refreshTimer: unknown;
  private adviceTimer: unknown;
  private pumpTimer: unknown;
  private waiters: { resolve(): void; reject(e: Error): void }[] = [];
  private closing: Promise<void> | undefined;
  /** Set in SSE mode (`transport: 'sse'`): it does all the work, this class only forwards. */
  private readonly sse: SseTransport | undefined;

  constructor(options: CascadeClientOptions) {
    this.o = {
      connectTimeoutMs: 10_000,
      requestTimeoutMs: 15_000,
      reconnect: true,
      clientName: `cascade-js/${SDK_VERSION}`,
      ...options,
    };
    const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (options.transport !== undefined && options.transport !== 'websocket' && options.transport !== 'sse') throw new TypeError(`options.transport must be 'websocket' or 'sse'`);
    if (options.transport === 'sse') this.sse = new SseTransport(this.o);
    else if (!WS) throw new TypeError('no WebSocket class: pass one as options.WebSocket (e.g. the `ws` package on Node 20)');
    // Unused in SSE mode, where every public method goes to the SSE transport.
    this.WS = WS!;
    this.urls = typeof options.url === 'string' ? [options.url] : [...options.url];
    if (this.urls.length === 0) throw new TypeError('options.url must name at least one edge');
    this.backoff = new Backoff(options.backoff);
    this.requests = new RequestTable<Answer>(this.timers, () => this.abandon('a request got no reply in time'));
    this.queue = new PublishQueue({ deadlineMs: options.publishTimeoutMs });
  }

  /** The connection state; `failed` after a close code that forbids reconnecting (see `error`). */
  get state(): ClientState {
    if (this.sse) return this.sse.state;
    return this.current;
  }

  /** What the server said when the current connection opened. */
  get info(): ConnectionInfo | undefined {
    if (this.sse) return this.sse.info;
    return this.connection;
  }

  /** The error that made the client fail, when `state` is `failed`. */
  get error(): CascadeError | undefined {
    if (this.sse) return this.sse.error;
    return this.lastError;
  }

  /** `websocket` or `sse`, as chosen by `options.transport`. */
  get transport(): 'websocket' | 'sse' {
    return this.sse ? 'sse' : 'websocket';
  }

  on<K extends keyof ClientEvents>(event: K, fn: (...args: ClientEvents[K]) => void): () => void {
    if (this.sse) return this.sse.on(event, fn);
    return this.events.on(event, fn);
  }

  /**
   * Opens the connection; resolves once the server said `connected`. Connection failures
   * are retried with backoff meanwhile, so this rejects only on a terminal close code
   * (4500-4999, e.g. Unauthorized) or when `close()` is called first.
   */
  connect(): Promise<void> {
    if (this.sse) return this.sse.connect();
    if (this.current === 'connected') return Promise.resolve();
    if (this.current === 'closed' || this.current === 'failed') {
      return Promise.reject(this.lastError ?? new CascadeError(ErrorCode.NotConnected, 'the client is closed', 'client'));
    }
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.current === 'idle') {
      this.setState('connecting');
      void this.open();
    }
    return p;
  }

  /**
   * Subscribes to a channel (now, or when connected) and keeps it subscribed across
   * reconnects, resuming from the last message delivered. Throws CascadeError for an
   * invalid channel name or a channel this client already subscribed to.
   */
  subscribe(channel: string, handlers: SubscriptionHandlers = {}, options: SubscribeOptions = {}): Subscription {
    if (this.sse) return this.sse.subscribe(channel, handlers, options);
    const parsed = parseChannel(channel);
    if (!parsed.ok) throw new CascadeError(ErrorCode.InvalidChannel, parsed.reason, 'client', channel);
    if (this.current === 'closed' || this.current === 'failed') throw new CascadeError(ErrorCode.NotConnected, 'the client is closed', 'client', channel);
    if (this.subs.has(channel)) throw new CascadeError(ErrorCode.AlreadySubscribed, `already subscribed to ${channel}`, 'client', channel);
    const sub = new ChannelSubscription(channel, handlers, options.since, (s) => this.leave(s), this.o.backoff, (s) => this.members(s));
    this.subs.set(channel, sub);
    if (this.current === 'connected') this.startSubscribe(sub);
    return sub.handle;
  }

  /**
   * Publishes a message; resolves when the server has durably stored it (`dup: true` when a
   * message with this key was stored before). Retried with the same idempotency key after
   * retryable errors and reconnects, until `publishTimeoutMs`. Publishing while
   * disconnected queues the message.
   */
  async publish(channel: string, data: unknown, options: PublishOptions = {}): Promise<PublishResult> {
    if (this.sse) return this.sse.publish(channel, data, options);
    const parsed = parseChannel(channel);
    if (!parsed.ok) throw new CascadeError(ErrorCode.InvalidChannel, parsed.reason, 'client', channel);
    if (this.current === 'closed' || this.current === 'failed') throw new CascadeError(ErrorCode.NotConnected, 'the client is closed', 'client', channel);
    this.checkPayload(channel, data);
    const { result } = this.queue.add(channel, data, options);
    this.pump();
    return result;
  }

  /**
   * Sends an ephemeral message (typing, cursors): not stored, not acknowledged, at most once.
   * Returns false when it was not sent because the client is not connected.
   */
  ephemeral(channel: string, data: unknown): boolean {
    if (this.sse) return this.sse.ephemeral(channel, data);
    const parsed = parseChannel(channel);
    if (!parsed.ok) throw new CascadeError(ErrorCode.InvalidChannel, parsed.reason, 'client', channel);
    this.checkPayload(channel, data);
    if (this.current !== 'connected') return false;
    return this.send({ t: FrameType.Ephemeral, ch: channel, data });
  }

  /** Closes for good: stops reconnecting, fails pending publishes, clears every timer. */
  close(): Promise<void> {
    if (this.sse) return this.sse.close();
    if (this.closing) return this.closing;
    const err = new CascadeError(ErrorCode.NotConnected, 'the client was closed', 'client');
    this.closing = this.shutDown('closed', err, 1000, 'client closed');
    return this.closing;
  }

  // ---- connection lifecycle ----

  private setState(next: ClientState): void {
    const prev = this.current;
    if (prev === next) return;
    this.current = next;
    this.events.emit('state', next, prev);
  }

  private async open(): Promise<void> {
    const gen = ++this.generation;
    let token: string | undefined;
    try {
      token = await this.fetchToken();
    } catch (cause) {
      if (gen !== this.generation || this.isFinal()) return;
      this.events.emit('error', new CascadeError(ErrorCode.Unavailable, 'the token callback failed', 'client', undefined, { cause }));
      this.scheduleReconnect({ code: CLIENT_RECONNECT, reason: 'no token' });
      return;
    }
    if (gen !== this.generation || this.isFinal()) return;
    this.token = token;
    const url = this.urls[this.attempt++ % this.urls.length]!;
    let ws: WebSocketLike;
    try {
      ws = new this.WS(url);
    } catch (cause) {
      // An invalid URL cannot get better by retrying.
      void this.shutDown('failed', new CascadeError(ErrorCode.BadRequest, `cannot open ${url}`, 'client', undefined, { cause }), 1000, '');
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.connectTimer = this.timers.set(() => this.abandon('no connected frame in time'), this.o.connectTimeoutMs);
    ws.onopen = () => {
      if (ws !== this.ws) return;
      // The personal channel resumes in the connect itself (psince), so its missed messages
      // come before any newer one; its subscribe answer arrives with `connected` (psub).
      if (token !== undefined) {
        const sub = jwtSubject(token);
        if (sub !== undefined) this.personal = `user:${sub}`;
      }
      const ps = this.personal === undefined || token === undefined ? undefined : this.subs.get(this.personal);
      this.personalSince = ps?.state === 'pending' ? ps.tracker.position : undefined;
      const psince = this.personalSince;
      this.send({ t: FrameType.Connect, v: PROTOCOL_VERSION, client: this.o.clientName, ...(token === undefined ? {} : { token }), ...(psince ? { psince } : {}) });
    };
    ws.onmessage = (ev: { data: unknown }) => {
      if (ws === this.ws) this.receive(ev.data);
    };
    let failure = '';
    ws.onclose = (ev: { code?: number; reason?: string }) => {
      if (ws === this.ws) this.lost(ev.code ?? 1006, ev.reason || failure);
    };
    // A close event always follows; the error's text (Node's `ws` has one, browsers do not)
    // only explains it. The `ws` package also throws when no error listener is attached.
    ws.onerror = (ev: { message?: unknown }) => {
      failure = typeof ev?.message === 'string' ? ev.message : 'connection error';
    };
  }

  private async fetchToken(): Promise<string | undefined> {
    const t = this.o.token;
    return typeof t === 'function' ? await t() : t;
  }

  private isFinal(): boolean {
    return this.current === 'closed' || this.current === 'failed';
  }

  /** Gives up on the current socket (no reply, no `connected`, server advice) and reconnects. */
  private abandon(reason: string, delayMs?: number, wireCode: number = CLIENT_RECONNECT): void {
    const ws = this.ws;
    if (!ws) return;
    this.detach(ws);
    ws.close(wireCode, reason.slice(0, 120));
    this.lost(CLIENT_RECONNECT, reason, delayMs, true);
  }

  private detach(ws: WebSocketLike): void {
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.onerror = ignoreLateError;
    if (this.ws === ws) this.ws = undefined;
  }

  /** The connection is gone: settle what depended on it, then reconnect or stop. */
  private lost(code: number, reason: string, delayMs?: number, detached = false): void {
    if (!detached && this.ws) this.detach(this.ws);
    this.endConnection();
    if (this.isFinal()) return;
    if (!shouldReconnect(code) || !this.o.reconnect) {
      const err = new CascadeError(code, reason || 'the server closed the connection', 'close');
      this.events.emit('disconnected', { code, reason, reconnect: false });
      void this.shutDown('failed', err, undefined, '');
      return;
    }
    if (code === CloseCode.TokenExpired) {
      if (typeof this.o.token !== 'function') {
        const err = new CascadeError(code, 'the token expired; pass a token callback to have it renewed', 'close');
        this.events.emit('disconnected', { code, reason, reconnect: false });
        void this.shutDown('failed', err, undefined, '');
        return;
      }
      // A fresh token fixes it: come back at once rather than after a backoff delay, unless
      // that was just tried (the callback handed out an expired token again).
      const first = this.backoff.attempts === 0;
      const backoff = this.backoff.next();
      delayMs = first ? 0 : backoff;
    }
    this.scheduleReconnect({ code, reason }, delayMs);
  }

  private scheduleReconnect(d: { code: number; reason: string }, delayMs?: number): void {
    const delay = delayMs ?? this.backoff.next();
    this.setState('reconnecting');
    this.events.emit('disconnected', { code: d.code, reason: d.reason, reconnect: true, delayMs: delay });
    this.timers.clear(this.reconnectTimer);
    this.reconnectTimer = this.timers.set(() => {
      this.reconnectTimer = undefined;
      void this.open();
    }, delay);
    this.schedulePump();
  }

  /** Per-connection cleanup: timers, outstanding requests, subscription phases, in-flight publishes. */
  private endConnection(): void {
    this.generation++;
    this.connection = undefined;
    for (const t of [this.connectTimer, this.refreshTimer, this.adviceTimer]) this.timers.clear(t);
    this.connectTimer = this.refreshTimer = this.adviceTimer = undefined;
    this.requests.rejectAll(() => new CascadeError(ErrorCode.NotConnected, 'the connection closed before the reply', 'client'));
    this.queue.requeueSent();
    for (const s of this.subs.values()) {
      this.timers.clear(s.retryTimer);
      s.retryTimer = undefined;
      s.filling = false;
      if (s.state === 'subscribing' || s.state === 'active') s.state = 'pending';
    }
  }

  private async shutDown(state: 'closed' | 'failed', err: CascadeError, code: number | undefined, reason: string): Promise<void> {
    if (this.isFinal()) return;
    this.lastError = state === 'failed' ? err : undefined;
    const ws = this.ws;
    this.endConnection();
    this.timers.clear(this.reconnectTimer);
    this.timers.clear(this.pumpTimer);
    this.reconnectTimer = this.pumpTimer = undefined;
    this.setState(state);
    if (state === 'failed') this.events.emit('error', err);
    this.queue.rejectAll(() => err);
    for (const s of this.subs.values()) {
      s.state = 'closed';
      s.ended(err);
    }
    this.subs.clear();
    for (const w of this.waiters.splice(0)) w.reject(err);
    if (!ws) return;
    const closed = new Promise<void>((resolve) => {
      ws.onopen = ws.onmessage = null;
      ws.onerror = ignoreLateError;
      ws.onclose = () => resolve();
    });
    this.ws = undefined;
    if (code !== undefined) ws.close(code, reason);
    if (ws.readyState === 3 /* CLOSED */) return;
    await closed;
  }

  // ---- frames in ----

  private receive(data: unknown): void {
    const bytes = toBytes(data);
    if (!bytes) {
      this.events.emit('error', new CascadeError(ErrorCode.BadRequest, 'the server sent a text frame', 'client'));
      return;
    }
    const decoded = decodeServerFrame(bytes);
    if (!decoded.ok) {
      // Unknown frame types are how the protocol grows: ignore them (docs/protocol.md section 15).
      if (decoded.error.code !== ErrorCode.UnknownFrameType) {
        this.events.emit('error', new CascadeError(decoded.error.code, `undecodable server frame: ${decoded.error.message}`, 'client'));
      }
      return;
    }
    this.dispatch(decoded.frame);
  }

  private dispatch(f: ServerFrame): void {
    switch (f.t) {
      case FrameType.Connected:
        return this.connected(f);
      case FrameType.Reply:
        this.requests.resolve(f.id, f);
        return;
      case FrameType.Error:
        return this.errorFrame(f);
      case FrameType.Message:
        if (isMessageFrame(f)) this.message(f);
        return;
      case FrameType.EphemeralMessage: {
        const s = this.subs.get(f.ch);
        if (s?.state === 'active') this.d.ephemeral(s, f);
        return;
      }
      case FrameType.Presence:
        return this.presence(f);
      case FrameType.Reconnect: {
        // Server advice (drain): keep taking messages for `delay` ms (the server already
        // randomised it across its clients), then close with 1000 and come back at once.
        const delay = typeof f.delay === 'number' && f.delay > 0 ? f.delay : 0;
        this.timers.clear(this.adviceTimer);
        this.adviceTimer = this.timers.set(() => this.abandon(`server asked to reconnect: ${f.reason}`, 0, CloseCode.Normal), delay);
        return;
      }
    }
  }

  private connected(f: ConnectedFrame): void {
    if (this.connection) return;
    this.timers.clear(this.connectTimer);
    this.connectTimer = undefined;
    this.connection = { client: f.client, user: f.user, limits: f.limits, personal: f.personal, exp: f.exp };
    this.backoff.reset();
    // A rolling deploy can put us on a newer edge: ask it again for what an older one lacked.
    this.historyUnsupported = this.refreshUnsupported = false;
    this.setState('connected');
    this.scheduleRefresh(f.exp ?? (this.token === undefined ? undefined : jwtExpiry(this.token)));
    for (const w of this.waiters.splice(0)) w.resolve();
    this.events.emit('connected', this.connection);
    // In this same step, before any frame after `connected` (its catch-up) is read.
    const adopted = this.adoptPersonal(f);
    for (const s of this.subs.values()) if (s.state === 'pending' && s !== adopted) this.startSubscribe(s);
    this.pump();
  }

  /**
   * The personal channel was subscribed by the server before `connected`: when `psub` answers
   * the position our connect sent for our subscription of it, that is its subscribe reply
   * (the catch-up, if any, follows). Otherwise the server holds it for nothing of ours yet,
   * and a subscribe to it releases that first (subscribeOnce). Returns the adopted one.
   */
  private adoptPersonal(f: ConnectedFrame): ChannelSubscription | undefined {
    const personal = typeof f.personal === 'string' ? f.personal : undefined;
    const psub: PersonalSubscription | undefined = typeof f.psub === 'object' && f.psub !== null ? f.psub : undefined;
    const since = this.personalSince;
    this.personalSince = undefined;
    this.personal = personal ?? this.personal;
    this.personalHeld = personal !== undefined;
    this.personalStart = psub && psub.recovered === undefined ? positionOf(psub) : undefined;
    if (personal === undefined || psub === undefined) return undefined;
    const s = this.subs.get(personal);
    const at = s?.tracker.position;
    // It answers our psince only if it says whether that was recovered (and vice versa).
    if (!s || s.state !== 'pending' || at?.ep !== since?.ep || at?.seq !== since?.seq || (since !== undefined) !== (psub.recovered !== undefined)) return undefined;
    this.personalHeld = false;
    this.subscribeAnswered(s, since, { t: FrameType.Reply, id: 0, ...psub });
    return s;
  }

  private errorFrame(f: ErrorFrame): void {
    if (typeof f.id === 'number' && this.requests.resolve(f.id, f)) return;
    const err = serverError(f);
    const s = f.ch === undefined ? undefined : this.subs.get(f.ch);
    if (!s) {
      this.events.emit('error', err);
      return;
    }
    // Without a request, a PermissionDenied about a channel means the server dropped the
    // subscription (a refreshed token no longer allows it): it is over.
    if (f.code === ErrorCode.PermissionDenied) this.fail(s, err);
    else this.d.call(s, 'onError', err);
  }

  private presence(f: PresenceFrame): void {
    const s = this.subs.get(f.ch);
    if (s?.state === 'active') this.d.presence(s, f);
  }

  // ---- messages, positions, gaps ----

  private message(f: MessageFrame): void {
    const s = this.subs.get(f.ch);
    // A frame racing the subscribe reply is tracked rather than lost (the server replies
    // before it replays, but nothing in the protocol forbids the other order).
    if (!s || (s.state !== 'active' && s.state !== 'subscribing')) return;
    this.d.accept(s, f);
    if (s.state === 'active') void this.fillGap(s);
  }

  /**
   * Asks for the messages missing before the held ones: with a history request when the
   * server has one, else by resubscribing from the last position (the server then replays,
   * or says it cannot). Gives up, telling the application, when the range is gone.
   */
  private async fillGap(s: ChannelSubscription): Promise<void> {
    if (s.filling || s.state !== 'active' || !s.tracker.gap()) return;
    const gen = this.generation;
    s.filling = true;
    try {
      for (let gap = s.tracker.gap(); gap; gap = s.tracker.gap()) {
        if (s.tracker.overflowed) return this.d.giveUpGap(s);
        if (this.historyUnsupported) return await this.resubscribe(s);
        const limit = Math.min(HISTORY_PAGE, gap.upTo - gap.after);
        const a = await this.request({ t: FrameType.History, id: 0, ch: s.channel, since: { ep: gap.ep, seq: gap.after }, limit });
        if (gen !== this.generation || s.state !== 'active') return;
        if (a.t === FrameType.Error) {
          if (a.code === ErrorCode.UnknownFrameType) {
            this.historyUnsupported = true;
            continue;
          }
          if (a.code === ErrorCode.RecoveryImpossible || ++s.fillFailures >= MAX_FILL_FAILURES) return this.d.giveUpGap(s);
          this.retryLater(s, () => void this.fillGap(s));
          return;
        }
        const msgs = (a.msgs ?? []).filter(isMessageFrame);
        // Nothing stored after our position: the range aged out of history.
        if (msgs.length === 0) return this.d.giveUpGap(s);
        for (const m of msgs) this.d.accept(s, m);
      }
      s.fillFailures = 0;
      s.retry.reset();
    } catch (err) {
      // The request failed with its connection; the resubscribe after the reconnect resumes
      // from the position, which covers this gap too.
      if (gen === this.generation) this.d.call(s, 'onError', err as CascadeError);
    } finally {
      if (gen === this.generation) s.filling = false;
    }
  }

  /** Fallback for servers without history reads: unsubscribe, then subscribe with `since`. */
  private async resubscribe(s: ChannelSubscription): Promise<void> {
    const gen = this.generation;
    const a = await this.request({ t: FrameType.Unsubscribe, id: 0, ch: s.channel });
    if (gen !== this.generation || s.state !== 'active') return;
    if (a.t === FrameType.Error && a.code !== ErrorCode.NotSubscribed) return this.d.giveUpGap(s);
    s.state = 'pending';
    s.filling = false;
    this.startSubscribe(s);
  }

  // ---- subscriptions ----

  private startSubscribe(s: ChannelSubscription): void {
    const run = this.subscribeOnce(s).finally(() => {
      if (s.inflight === run) s.inflight = undefined;
    });
    s.inflight = run;
  }

  private async subscribeOnce(s: ChannelSubscription): Promise<void> {
    const gen = this.generation;
    let a: Answer;
    if (this.personalHeld && s.channel === this.connection?.personal) {
      // The server subscribed this connection to it at connect, for no subscription of ours:
      // leave it, then subscribe from our position (or from where it started at connect), so
      // what arrived meanwhile is replayed to us in order, rather than refused with 105.
      this.personalHeld = false;
      if (!s.tracker.position && this.personalStart) s.tracker.reset(this.personalStart);
      try {
        a = await this.request({ t: FrameType.Unsubscribe, id: 0, ch: s.channel });
      } catch (err) {
        if (gen === this.generation) this.d.call(s, 'onError', err as CascadeError);
        return;
      }
      if (gen !== this.generation || s.state !== 'pending') return;
    }
    s.state = 'subscribing';
    const since = s.tracker.position;
    try {
      a = await this.request({ t: FrameType.Subscribe, id: 0, ch: s.channel, ...(since ? { since } : {}) });
    } catch (err) {
      // Lost with its connection: the next `connected` subscribes again.
      if (gen === this.generation) this.d.call(s, 'onError', err as CascadeError);
      return;
    }
    if (gen !== this.generation || s.state !== 'subscribing') return;
    this.subscribeAnswered(s, since, a);
  }

  /** A subscribe's answer (or the personal channel's, from `connected`): activate, recover, retry or fail. */
  private subscribeAnswered(s: ChannelSubscription, since: StreamPosition | undefined, a: Answer): void {
    if (a.t === FrameType.Error && a.code !== ErrorCode.AlreadySubscribed) {
      const err = serverError(a);
      if (a.code === ErrorCode.RecoveryImpossible) {
        this.d.recoveryImpossible(s, { channel: s.channel, reason: 'resume-refused', from: since, to: positionOf(a) });
        this.d.deliver(s, s.tracker.reset(undefined));
        s.state = 'pending';
        return this.startSubscribe(s);
      }
      if (PERMANENT_SUBSCRIBE_ERRORS.has(a.code)) return this.fail(s, err);
      // Unavailable, Internal, Timeout, unknown: the server may manage later.
      this.d.call(s, 'onError', err);
      s.state = 'pending';
      this.retryLater(s, () => {
        if (s.state === 'pending' && this.current === 'connected') this.startSubscribe(s);
      });
      return;
    }
    // AlreadySubscribed (a server-made personal channel of an older server) is success, but nothing was replayed.
    let resumed = since !== undefined && a.t === FrameType.Reply;
    if (a.t === FrameType.Reply && since !== undefined && a.recovered === false) {
      resumed = false;
      const to = positionOf(a);
      this.d.recoveryImpossible(s, { channel: s.channel, reason: 'resume-refused', from: since, ...(to ? { to } : {}) });
      s.state = 'active';
      this.d.deliver(s, s.tracker.reset(to));
    } else if (a.t === FrameType.Reply && since === undefined && !s.tracker.position) {
      // Where the new subscription starts (the channel's newest message, or BEFORE_FIRST):
      // a reconnect before its first message resumes from there instead of losing what
      // was published meanwhile.
      const start = positionOf(a);
      if (start) s.tracker.reset(start);
    }
    s.state = 'active';
    s.retry.reset();
    const info = { resumed, first: !s.subscribedOnce };
    s.subscribedOnce = true;
    s.subscribed(info);
    this.d.call(s, 'onSubscribed', info);
    void this.fillGap(s);
  }

  private retryLater(s: ChannelSubscription, fn: () => void): void {
    this.timers.clear(s.retryTimer);
    s.retryTimer = this.timers.set(() => {
      s.retryTimer = undefined;
      fn();
    }, Math.max(100, s.retry.next()));
  }

  private fail(s: ChannelSubscription, err: CascadeError): void {
    s.state = 'failed';
    s.error = err;
    this.timers.clear(s.retryTimer);
    this.subs.delete(s.channel);
    this.d.call(s, 'onError', err);
    s.ended(err);
  }

  private async leave(s: ChannelSubscription): Promise<void> {
    if (s.state === 'closed' || s.state === 'failed') return;
    const wasLive = s.state !== 'pending';
    s.state = 'closed';
    this.timers.clear(s.retryTimer);
    if (this.subs.get(s.channel) === s) this.subs.delete(s.channel);
    s.ended(new CascadeError(ErrorCode.NotSubscribed, `unsubscribed from ${s.channel}`, 'client', s.channel));
    // Wait for an in-flight subscribe, so the unsubscribe cannot overtake it on the server.
    if (s.inflight) await s.inflight;
    if (!wasLive || this.current !== 'connected') return;
    const gen = this.generation;
    let a: Answer;
    try {
      a = await this.request({ t: FrameType.Unsubscribe, id: 0, ch: s.channel });
    } catch (err) {
      // The connection closed meanwhile, and the server drops every subscription of a closed connection.
      if (gen !== this.generation) return;
      throw err;
    }
    if (a.t === FrameType.Error && a.code !== ErrorCode.NotSubscribed) throw serverError(a);
  }

  /** Who is present in a subscription's channel now: a `members` request (t:8). */
  private async members(s: ChannelSubscription): Promise<PresenceList> {
    if (s.state === 'closed' || s.state === 'failed') throw new CascadeError(ErrorCode.NotSubscribed, `not subscribed to ${s.channel}`, 'client', s.channel);
    const a = await this.request({ t: FrameType.Members, id: 0, ch: s.channel });
    if (a.t === FrameType.Error) throw serverError(a);
    return presenceList(a);
  }

  // ---- publishing ----

  private checkPayload(channel: string, data: unknown): void {
    let size: number;
    try {
      size = encodeValue(data).length;
    } catch (cause) {
      throw new CascadeError(ErrorCode.BadRequest, `data cannot be encoded as msgpack: ${String(cause)}`, 'client', channel, { cause });
    }
    const max = this.connection?.limits?.pub;
    if (max !== undefined && size > max) {
      throw new CascadeError(ErrorCode.PayloadTooLarge, `data is ${size} bytes encoded; the server accepts at most ${max}`, 'client', channel);
    }
  }

  /** Sends every publish that is due, and arms the timer for the next retry or deadline. */
  private pump(): void {
    this.queue.expire();
    if (this.current === 'connected') for (const e of this.queue.due()) void this.sendPublish(e);
    this.schedulePump();
  }

  private schedulePump(): void {
    this.timers.clear(this.pumpTimer);
    this.pumpTimer = undefined;
    const at = this.queue.nextWakeup(this.current === 'connected');
    if (at === undefined || this.isFinal()) return;
    this.pumpTimer = this.timers.set(() => this.pump(), Math.max(0, at - Date.now()));
  }

  private async sendPublish(e: PublishEntry): Promise<void> {
    const frame: ClientFrame = { t: FrameType.Publish, id: 0, ch: e.ch, data: e.data, key: e.key, ...(e.echo === undefined ? {} : { echo: e.echo }) };
    let a: Answer;
    try {
      a = await this.request(frame);
    } catch (err) {
      // Lost with its connection (or the client gave up on it): it goes out again, same key,
      // after the reconnect. Only too-large frames fail for good.
      if (err instanceof CascadeError && err.code === ErrorCode.PayloadTooLarge) this.queue.failed(e, err);
      else this.queue.retryLater(e);
      return;
    }
    if (a.t === FrameType.Reply) this.queue.acked(e, a.dup === true);
    else this.queue.failed(e, serverError(a));
    this.schedulePump();
  }

  // ---- token refresh ----

  private scheduleRefresh(exp: number | undefined): void {
    this.timers.clear(this.refreshTimer);
    this.refreshTimer = undefined;
    if (exp === undefined || typeof this.o.token !== 'function' || this.refreshUnsupported) return;
    this.refreshTimer = this.timers.set(() => void this.refresh(exp), refreshDelay(exp, Date.now()));
  }

  /** Sends a fresh token before `exp`. If that fails the server closes with 4006 and we reconnect with a fresh one. */
  private async refresh(exp: number): Promise<void> {
    const gen = this.generation;
    try {
      const token = await this.fetchToken();
      if (gen !== this.generation || token === undefined) return;
      const a = await this.request({ t: FrameType.Refresh, id: 0, token });
      if (gen !== this.generation) return;
      if (a.t === FrameType.Reply) {
        this.token = token;
        if (this.connection) this.connection.exp = a.exp;
        return this.scheduleRefresh(a.exp ?? jwtExpiry(token));
      }
      if (a.code === ErrorCode.UnknownFrameType) {
        this.refreshUnsupported = true;
        return;
      }
      this.events.emit('error', serverError(a));
    } catch (err) {
      if (gen !== this.generation) return;
      this.events.emit('error', err instanceof CascadeError ? err : new CascadeError(ErrorCode.Unavailable, 'the token callback failed', 'client', undefined, { cause: err }));
    }
    // Try again a little later while the token is still valid.
    if (gen === this.generation && exp - Date.now() > 2_000) {
      this.refreshTimer = this.timers.set(() => void this.refresh(exp), Math.min(5_000, (exp - Date.now()) / 2));
    }
  }

  // ---- frames out ----

  /** Sends a request with a fresh id; resolves with its reply or error frame. */
  private request(frame: ClientFrame & { id: number }): Promise<Answer> {
    if (this.current !== 'connected' || !this.ws) {
      return Promise.reject(new CascadeError(ErrorCode.NotConnected, 'not connected', 'client'));
    }
    const { id, reply } = this.requests.start(this.o.requestTimeoutMs, () => new CascadeError(ErrorCode.Timeout, `no reply within ${this.o.requestTimeoutMs} ms`, 'client'));
    frame.id = id;
    const bytes = encodeClientFrame(frame);
    const max = this.connection?.limits?.frame;
    if (max !== undefined && bytes.length > max) {
      const err = new CascadeError(ErrorCode.PayloadTooLarge, `frame is ${bytes.length} bytes; the server accepts at most ${max}`, 'client', 'ch' in frame ? frame.ch : undefined);
      this.requests.reject(id, err);
      return reply;
    }
    this.ws.send(bytes);
    return reply;
  }

  private send(frame: ClientFrame): boolean {
    if (!this.ws || this.ws.readyState !== OPEN) return false;
    this.ws.send(encodeClientFrame(frame));
    return true;
  }
}

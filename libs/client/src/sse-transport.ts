// SSE mode of CascadeClient: every subscription rides on ONE EventSource (`GET /v1/sse`),
// publishes and ephemeral messages go out as HTTP POSTs. The EventSource reconnects by itself
// after a network drop and sends Last-Event-ID, from which the edge resumes, so it is never
// closed for that. A new one is opened only when the channel set changes, when the token
// must be renewed (`event: error` 4006, or before expiry), when a gap shows, or when the
// browser gave up on it (an HTTP refusal: readyState CLOSED); it then resumes from the
// SDK's own positions (`since=`). Delivery (duplicates, order, recovery) is shared with the
// WebSocket path; the wire format is in sse-wire.ts.
import { CloseCode, ErrorCode, parseChannel, shouldReconnect } from '@cascade/protocol';
import { Backoff } from './backoff.js';
import { Delivery, reportAsync } from './delivery.js';
import { Emitter } from './emitter.js';
import { CascadeError } from './errors.js';
import { presenceList } from './presence.js';
import { PublishQueue, type PublishEntry, type PublishResult } from './publish-queue.js';
import { realTimers, type Timers } from './requests.js';
import {
  channelUrl,
  encodeVector,
  httpBase,
  httpFailure,
  parseConnected,
  parseEphemeral,
  parseMessage,
  parsePositions,
  parsePresence,
  parseReconnect,
  parseStreamError,
  parseUnrecovered,
  retryableHttp,
  streamUrl,
  vectorSafePosition,
  type HttpFailure,
} from './sse-wire.js';
import { ChannelSubscription, PERMANENT_SUBSCRIBE_ERRORS, type Subscription } from './subscription.js';
import { jwtExpiry, refreshDelay } from './token.js';
import type {
  PresenceList,
  CascadeClientOptions,
  ClientEvents,
  ClientState,
  ConnectionInfo,
  EventSourceConstructor,
  EventSourceLike,
  FetchLike,
  PublishOptions,
  SubscribeOptions,
  SubscriptionHandlers,
} from './types.js';

/** EventSource.readyState once the browser gave up on the stream. */
const ES_CLOSED = 2;
/** Gap-driven reopens of the stream without the gap closing before it is given up (also the bound after `unrecovered`). */
const MAX_GAP_REOPENS = 3;

function wantsPresence(h: SubscriptionHandlers): boolean {
  return h.onPresence !== undefined || h.onJoin !== undefined || h.onLeave !== undefined;
}

function httpError(f: HttpFailure, channel?: string): CascadeError {
  return new CascadeError(f.code, f.msg, 'http', channel ?? f.ch, { status: f.status });
}

/** The data as the JSON an HTTP publish carries; throws CascadeError(BadRequest) if it has none. */
function toJson(channel: string, data: unknown): void {
  let text: string | undefined;
  try {
    text = JSON.stringify(data);
  } catch (cause) {
    throw new CascadeError(ErrorCode.BadRequest, `data cannot be sent as JSON in SSE mode: ${String(cause)}`, 'client', channel, { cause });
  }
  if (text === undefined) throw new CascadeError(ErrorCode.BadRequest, 'data cannot be sent as JSON in SSE mode', 'client', channel);
}

export class SseTransport {
  private readonly ES: EventSourceConstructor;
  private readonly fetch: FetchLike | undefined;
  private readonly bases: string[];
  private readonly timers: Timers = realTimers;
  private readonly backoff: Backoff;
  private readonly events = new Emitter<ClientEvents>(reportAsync);
  private readonly d = new Delivery((e) => this.events.emit('error', e));
  private readonly queue: PublishQueue;
  private readonly subs = new Map<string, ChannelSubscription>();
  private readonly requestTimeoutMs: number;
  private attempt = 0;
  private current: ClientState = 'idle';
  private es: EventSourceLike | undefined;
  private esUrl = '';
  private base: string;
  /** The open stream's channels, in its `ch` order. */
  private streamChannels: string[] = [];
  /** Counts stream openings; work started for an older one is dropped when it completes. */
  private generation = 0;
  private connection: ConnectionInfo | undefined;
  private lastError: CascadeError | undefined;
  private token: string | undefined;
  private tokenStale = false;
  private tokenFetch: Promise<string | undefined> | undefined;
  /** What the edge said before it ends the response (`event: error`, `reconnect`): reported with the drop. */
  private dropReason: { code: number; reason: string } | undefined;
  private reopenQueued = false;
  /** New streams opened after `unrecovered` since the last message. */
  private unrecoveredReopens = 0;
  private reopenTimer: unknown;
  private refreshTimer: unknown;
  private pumpTimer: unknown;
  /** Channels with a publish on the wire: one at a time per channel keeps their order. */
  private readonly inflight = new Set<string>();
  private readonly aborts = new Set<AbortController>();
  private waiters: { resolve(): void; reject(e: Error): void }[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly o: CascadeClientOptions) {
    const ES = o.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
    if (!ES) throw new TypeError('no EventSource class: pass one as options.EventSource (e.g. the `eventsource` package on Node)');
    this.ES = ES;
    const g = globalThis as { fetch?: FetchLike };
    // The global fetch is called as a function of globalThis: some browsers refuse it detached.
    this.fetch = o.fetch ?? (g.fetch ? (url, init) => g.fetch!(url, init) : undefined);
    const urls = typeof o.url === 'string' ? [o.url] : [...o.url];
    if (urls.length === 0) throw new TypeError('options.url must name at least one edge');
    const here = (globalThis as { location?: { href?: string } }).location?.href;
    this.bases = urls.map((u) => httpBase(u, here));
    this.base = this.bases[0]!;
    this.backoff = new Backoff(o.backoff);
    this.queue = new PublishQueue({ deadlineMs: o.publishTimeoutMs });
    this.requestTimeoutMs = o.requestTimeoutMs ?? 15_000;
  }

  get state(): ClientState {
    return this.current;
  }

  get info(): ConnectionInfo | undefined {
    return this.connection;
  }

  get error(): CascadeError | undefined {
    return this.lastError;
  }

  on<K extends keyof ClientEvents>(event: K, fn: (...args: ClientEvents[K]) => void): () => void {
    return this.events.on(event, fn);
  }

  connect(): Promise<void> {
    if (this.current === 'connected') return Promise.resolve();
    if (this.isFinal()) return Promise.reject(this.lastError ?? new CascadeError(ErrorCode.NotConnected, 'the client is closed', 'client'));
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.current === 'idle') {
      this.setState('connecting');
      void this.open();
    }
    return p;
  }

  subscribe(channel: string, handlers: SubscriptionHandlers, options: SubscribeOptions): Subscription {
    const parsed = parseChannel(channel);
    if (!parsed.ok) throw new CascadeError(ErrorCode.InvalidChannel, parsed.reason, 'client', channel);
    if (this.isFinal()) throw new CascadeError(ErrorCode.NotConnected, 'the client is closed', 'client', channel);
    if (this.subs.has(channel)) throw new CascadeError(ErrorCode.AlreadySubscribed, `already subscribed to ${channel}`, 'client', channel);
    if (options.since && !vectorSafePosition(options.since)) {
      throw new CascadeError(ErrorCode.BadRequest, 'since must be {ep, seq} as delivered by the server', 'client', channel);
    }
    const sub = new ChannelSubscription(channel, handlers, options.since, (s) => this.leave(s), this.o.backoff, (s) => this.members(s));
    this.subs.set(channel, sub);
    if (this.current !== 'idle') this.queueReopen();
    return sub.handle;
  }

  publish(channel: string, data: unknown, options: PublishOptions): Promise<PublishResult> {
    const parsed = parseChannel(channel);
    if (!parsed.ok) return Promise.reject(new CascadeError(ErrorCode.InvalidChannel, parsed.reason, 'client', channel));
    if (this.isFinal()) return Promise.reject(new CascadeError(ErrorCode.NotConnected, 'the client is closed', 'client', channel));
    try {
      toJson(channel, data);
      const { result } = this.queue.add(channel, data, options);
      this.pump();
      return result;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  ephemeral(channel: string, data: unknown): boolean {
    const parsed = parseChannel(channel);
    if (!parsed.ok) throw new CascadeError(ErrorCode.InvalidChannel, parsed.reason, 'client', channel);
    toJson(channel, data);
    if (this.current !== 'connected' || !this.fetch) return false;
    void this.sendEphemeral(channel, data);
    return true;
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = this.shutDown('closed', new CascadeError(ErrorCode.NotConnected, 'the client was closed', 'client'));
    return this.closing;
  }

  // ---- the stream ----

  private setState(next: ClientState): void {
    const prev = this.current;
    if (prev === next) return;
    this.current = next;
    this.events.emit('state', next, prev);
  }

  private isFinal(): boolean {
    return this.current === 'closed' || this.current === 'failed';
  }

  private live(): ChannelSubscription[] {
    return [...this.subs.values()].filter((s) => s.state !== 'closed' && s.state !== 'failed');
  }

  /** Coalesces channel-set changes made in one go (several subscribes) into one new stream. */
  private queueReopen(): void {
    if (this.reopenQueued || this.isFinal() || this.current === 'idle') return;
    this.reopenQueued = true;
    this.timers.clear(this.reopenTimer);
    this.reopenTimer = this.timers.set(() => {
      this.reopenQueued = false;
      void this.open();
    }, 0);
  }

  /** Closes our EventSource, if any; it reports nothing after this. */
  private detach(): void {
    const es = this.es;
    this.es = undefined;
    es?.close();
  }

  /**
   * Opens a new stream for the current channel set, resuming each channel from the last
   * message delivered to the application. Subscriptions that were active stay active: the
   * switch loses nothing, so it is not a disconnect.
   */
  private async open(): Promise<void> {
    const gen = ++this.generation;
    this.detach();
    this.timers.clear(this.reopenTimer);
    this.reopenQueued = false;
    const subs = this.live();
    this.streamChannels = subs.map((s) => s.channel);
    if (subs.length === 0) {
      // Nothing to stream: publishing over HTTP is all there is to be ready for.
      this.timers.clear(this.refreshTimer);
      this.ready();
      return;
    }
    let token: string | undefined;
    try {
      token = await this.requestToken();
    } catch (cause) {
      if (gen !== this.generation || this.isFinal()) return;
      this.events.emit('error', new CascadeError(ErrorCode.Unavailable, 'the token callback failed', 'client', undefined, { cause }));
      return this.retry({ code: 4000, reason: 'no token' }, this.backoff.next());
    }
    if (gen !== this.generation || this.isFinal()) return;
    const since = encodeVector(subs.map((s) => s.tracker.position));
    this.base = this.bases[this.attempt++ % this.bases.length]!;
    const url = streamUrl(this.base, {
      channels: this.streamChannels,
      ...(token === undefined ? {} : { token }),
      ...(since === undefined ? {} : { since }),
      presence: subs.some((s) => wantsPresence(s.handlers)),
    });
    let es: EventSourceLike;
    try {
      es = new this.ES(url);
    } catch (cause) {
      void this.shutDown('failed', new CascadeError(ErrorCode.BadRequest, `cannot open ${url}`, 'client', undefined, { cause }));
      return;
    }
    this.es = es;
    this.esUrl = url;
    for (const s of subs) if (s.state === 'pending') s.state = 'subscribing';
    type SseEvent = { data?: unknown; message?: unknown; code?: unknown };
    const on = (type: string, fn: (ev: SseEvent) => void) =>
      es.addEventListener(type, (ev: SseEvent) => {
        if (es === this.es) fn(ev);
      });
    on('connected', (ev) => this.connected(ev.data));
    on('message', (ev) => this.message(ev.data));
    on('position', (ev) => this.positioned(ev.data));
    on('unrecovered', (ev) => this.unrecovered(ev.data));
    on('ephemeral', (ev) => this.ephemeralEvent(ev.data));
    on('presence', (ev) => this.presence(ev.data));
    on('reconnect', (ev) => {
      const r = parseReconnect(ev.data);
      if (r) this.dropReason = { code: CloseCode.GoingAway, reason: `server asked to reconnect: ${r.reason}` };
    });
    // The edge's `event: error` and the EventSource's own error share the name; only the first has data.
    on('error', (ev) => (typeof ev?.data === 'string' ? this.streamError(ev.data) : this.dropped(es, ev)));
  }

  private ready(): void {
    this.setState('connected');
    for (const w of this.waiters.splice(0)) w.resolve();
    this.pump();
  }

  private connected(data: unknown): void {
    const c = parseConnected(data);
    if (!c) return this.events.emit('error', new CascadeError(ErrorCode.BadRequest, 'the edge sent an unreadable connected event', 'client'));
    const wasConnected = this.current === 'connected' && this.connection !== undefined;
    this.connection = { client: c.client, user: c.user, ...(c.exp === undefined ? {} : { exp: c.exp }) };
    this.backoff.reset();
    this.dropReason = undefined;
    this.scheduleRefresh(c.exp ?? (this.token === undefined ? undefined : jwtExpiry(this.token)));
    this.ready();
    if (!wasConnected) this.events.emit('connected', this.connection);
    for (const ch of this.streamChannels) {
      const s = this.subs.get(ch);
      if (!s || (s.state !== 'subscribing' && s.state !== 'pending')) continue;
      s.state = 'active';
      // The edge resumes from the position sent (Last-Event-ID or since); a refusal follows as `unrecovered`.
      const info = { resumed: s.tracker.position !== undefined, first: !s.subscribedOnce };
      s.subscribedOnce = true;
      s.subscribed(info);
      this.d.call(s, 'onSubscribed', info);
    }
  }

  private message(data: unknown): void {
    const f = parseMessage(data);
    if (!f) return this.events.emit('error', new CascadeError(ErrorCode.BadRequest, 'the edge sent an unreadable message event', 'client'));
    this.unrecoveredReopens = 0;
    const s = this.subs.get(f.ch);
    if (!s || (s.state !== 'active' && s.state !== 'subscribing')) return;
    this.d.accept(s, f);
    this.checkGap(s);
  }

  /**
   * The edge sends each channel gap-free; a hole means something went wrong on the way. A
   * new stream from the last delivered position has the edge replay it; if it keeps
   * showing, the hole is given up on.
   */
  private checkGap(s: ChannelSubscription): void {
    if (!s.tracker.gap()) {
      s.fillFailures = 0;
      return;
    }
    if (s.tracker.overflowed || s.fillFailures >= MAX_GAP_REOPENS) return this.d.giveUpGap(s);
    if (this.reopenQueued) return;
    s.fillFailures++;
    this.queueReopen();
  }

  /**
   * `event: position`, before any message of the stream: where each channel starts. A
   * subscription without a position takes it, so a new stream (or the EventSource's own
   * reconnect, whose Last-Event-ID is this event's id) resumes from there and loses nothing
   * published before its first message.
   */
  private positioned(data: unknown): void {
    const ps = parsePositions(data);
    if (!ps) return this.events.emit('error', new CascadeError(ErrorCode.BadRequest, 'the edge sent an unreadable position event', 'client'));
    for (const { ch, position } of ps) {
      const s = this.subs.get(ch);
      if (!s || !position || s.state === 'closed' || s.state === 'failed' || s.tracker.position) continue;
      s.tracker.reset(position);
    }
  }

  private unrecovered(data: unknown): void {
    const u = parseUnrecovered(data);
    const s = u && this.subs.get(u.ch);
    if (!u || !s || s.state === 'closed' || s.state === 'failed') return;
    const from = s.tracker.position;
    this.d.recoveryImpossible(s, { channel: s.channel, reason: 'resume-refused', ...(from ? { from } : {}), to: u.position });
    this.d.deliver(s, s.tracker.reset(u.position));
    // The EventSource would resume from its last id, or from the stale `since` of its URL,
    // and be refused again: a new stream carries the new position. Bounded, in case the edge
    // keeps refusing even that.
    if (this.unrecoveredReopens++ < MAX_GAP_REOPENS) this.queueReopen();
  }

  private ephemeralEvent(data: unknown): void {
    const e = parseEphemeral(data);
    const s = e && this.subs.get(e.ch);
    if (e && s?.state === 'active') this.d.ephemeral(s, e);
  }

  private presence(data: unknown): void {
    const p = parsePresence(data);
    const s = p && this.subs.get(p.ch);
    if (p && s?.state === 'active') this.d.presence(s, p);
  }

  /** `event: error`: the edge ends the response after it. */
  private streamError(data: unknown): void {
    const e = parseStreamError(data);
    if (!e) return;
    const err = new CascadeError(e.code, e.msg || 'the edge ended the stream', e.code >= 1000 ? 'close' : 'server', e.ch);
    const s = e.ch === undefined ? undefined : this.subs.get(e.ch);
    if (s && PERMANENT_SUBSCRIBE_ERRORS.has(e.code)) {
      // A channel the identity may no longer read: drop it, and stream the others without it
      // before the EventSource's own retry is refused for it.
      this.fail(s, err);
      this.open().catch(reportAsync);
      return;
    }
    if (e.code === CloseCode.TokenExpired) {
      if (typeof this.o.token !== 'function' || this.o.reconnect === false) return this.giveUp(err);
      // The EventSource's retry would carry the expired token and get a 401: open a new stream now.
      this.tokenStale = true;
      this.lost();
      this.events.emit('disconnected', { code: e.code, reason: e.msg, reconnect: true, delayMs: 0 });
      this.open().catch(reportAsync);
      return;
    }
    if (!shouldReconnect(e.code)) return this.giveUp(err);
    // Slow consumer, lost backend, ...: the EventSource reconnects with Last-Event-ID and the
    // edge resumes. Reported with the drop that follows.
    this.dropReason = { code: e.code, reason: e.msg };
  }

  /** The EventSource's own error event: a drop it will retry by itself, or a refusal it will not. */
  private dropped(es: EventSourceLike, ev: { message?: unknown; code?: unknown }): void {
    if (es.readyState === ES_CLOSED) {
      this.es = undefined;
      void this.refused(typeof ev?.code === 'number' ? ev.code : undefined);
      return;
    }
    const why = this.dropReason ?? { code: 1006, reason: typeof ev?.message === 'string' ? ev.message : 'stream lost' };
    this.dropReason = undefined;
    if (this.o.reconnect === false) return this.giveUp(new CascadeError(why.code, why.reason || 'the stream was lost', 'close'));
    this.lost();
    this.events.emit('disconnected', { code: why.code, reason: why.reason, reconnect: true });
  }

  /** The stream is down: subscriptions wait for the next `connected`. */
  private lost(): void {
    for (const s of this.subs.values()) if (s.state === 'active' || s.state === 'subscribing') s.state = 'pending';
    this.timers.clear(this.refreshTimer);
    if (!this.isFinal() && this.current !== 'idle') this.setState('reconnecting');
  }

  /**
   * The EventSource gave up: the edge answered the (re)connect with an HTTP error. Browsers
   * do not say which, so the same request is made once with fetch to read the status and
   * the registry code, then the stream is opened again, fixed, or given up.
   */
  private async refused(status: number | undefined): Promise<void> {
    const gen = this.generation;
    this.lost();
    const f = await this.diagnose(this.esUrl, status);
    if (gen !== this.generation || this.isFinal()) return;
    const err = httpError(f);
    if (this.o.reconnect === false) return this.giveUp(err);
    if (f.status === 401) {
      if (f.code !== CloseCode.TokenExpired || typeof this.o.token !== 'function') return this.giveUp(err);
      this.tokenStale = true;
      // A fresh token fixes it at once, unless that was just tried.
      const first = this.backoff.attempts === 0;
      const delay = this.backoff.next();
      return this.retry({ code: f.code, reason: f.msg }, first ? 0 : delay);
    }
    if (f.status === 400 || f.status === 403) {
      const named = f.ch === undefined ? undefined : this.subs.get(f.ch);
      // Without a channel named, the new subscriptions are the suspects; if there are none,
      // retrying cannot help.
      const suspects = named ? [named] : this.live().filter((s) => !s.subscribedOnce);
      if (suspects.length === 0) return this.giveUp(err);
      for (const s of suspects) this.fail(s, httpError(f, s.channel));
      return this.retry({ code: f.code, reason: f.msg }, 0);
    }
    if (f.status === 404 || f.status === 405) {
      return this.giveUp(new CascadeError(ErrorCode.BadRequest, `the edge does not serve SSE (${this.base}v1/sse answered ${f.status})`, 'http', undefined, { status: f.status }));
    }
    // Full, draining, rate limited, unreachable, or fine by now: try again after a pause.
    this.retry({ code: f.code, reason: f.msg }, this.backoff.next());
  }

  private async diagnose(url: string, status: number | undefined): Promise<HttpFailure> {
    if (!this.fetch) return { status: status ?? 0, code: ErrorCode.Unavailable, msg: `the stream was refused${status ? ` (HTTP ${status})` : ''}` };
    try {
      const res = await this.http('GET', url, undefined, undefined, { Accept: 'text/event-stream' }, true);
      return httpFailure(res.status, res.text);
    } catch (cause) {
      return { status: 0, code: ErrorCode.Unavailable, msg: `the edge is unreachable: ${String(cause)}` };
    }
  }

  private retry(why: { code: number; reason: string }, delayMs: number): void {
    this.detach();
    if (this.current !== 'idle') this.setState('reconnecting');
    this.events.emit('disconnected', { code: why.code, reason: why.reason, reconnect: true, delayMs });
    this.timers.clear(this.reopenTimer);
    this.reopenTimer = this.timers.set(() => void this.open(), delayMs);
  }

  private fail(s: ChannelSubscription, err: CascadeError): void {
    s.state = 'failed';
    s.error = err;
    this.subs.delete(s.channel);
    this.d.call(s, 'onError', err);
    s.ended(err);
  }

  private leave(s: ChannelSubscription): Promise<void> {
    if (s.state === 'closed' || s.state === 'failed') return Promise.resolve();
    s.state = 'closed';
    if (this.subs.get(s.channel) === s) this.subs.delete(s.channel);
    s.ended(new CascadeError(ErrorCode.NotSubscribed, `unsubscribed from ${s.channel}`, 'client', s.channel));
    if (this.streamChannels.includes(s.channel)) this.queueReopen();
    return Promise.resolve();
  }

  private giveUp(err: CascadeError): void {
    this.events.emit('disconnected', { code: err.code, reason: err.message, reconnect: false });
    void this.shutDown('failed', err);
  }

  private async shutDown(state: 'closed' | 'failed', err: CascadeError): Promise<void> {
    if (this.isFinal()) return;
    this.lastError = state === 'failed' ? err : undefined;
    this.generation++;
    this.detach();
    for (const t of [this.reopenTimer, this.refreshTimer, this.pumpTimer]) this.timers.clear(t);
    this.reopenTimer = this.refreshTimer = this.pumpTimer = undefined;
    this.reopenQueued = false;
    for (const a of this.aborts) a.abort();
    this.aborts.clear();
    this.connection = undefined;
    this.setState(state);
    if (state === 'failed') this.events.emit('error', err);
    this.queue.rejectAll(() => err);
    for (const s of this.subs.values()) {
      s.state = 'closed';
      s.ended(err);
    }
    this.subs.clear();
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  // ---- tokens ----

  /** Asks the token callback (once for concurrent callers). */
  private freshToken(): Promise<string | undefined> {
    const t = this.o.token;
    if (typeof t !== 'function') {
      this.token = t;
      return Promise.resolve(t);
    }
    this.tokenFetch ??= (async () => {
      try {
        const token = await t();
        this.token = token;
        this.tokenStale = false;
        return token;
      } finally {
        this.tokenFetch = undefined;
      }
    })();
    return this.tokenFetch;
  }

  /**
   * For a new stream or a POST: the token in use, unless there is none yet, or it is stale
   * (refused as expired) or about to expire; then the callback is asked.
   */
  private async requestToken(): Promise<string | undefined> {
    if (typeof this.o.token !== 'function') return this.o.token;
    const exp = this.token === undefined ? undefined : jwtExpiry(this.token);
    if (this.token !== undefined && !this.tokenStale && (exp === undefined || exp - Date.now() > 5_000)) return this.token;
    return this.freshToken();
  }

  /** Before the token expires, a new stream with a fresh one (lossless: it resumes from our positions). */
  private scheduleRefresh(exp: number | undefined): void {
    this.timers.clear(this.refreshTimer);
    this.refreshTimer = undefined;
    if (exp === undefined || typeof this.o.token !== 'function') return;
    const delay = refreshDelay(exp, Date.now());
    // A token that is due already (it lives only seconds) would make new streams back to
    // back: leave it to the edge's 4006, which gets a fresh one then.
    if (delay < 1_000) return;
    this.refreshTimer = this.timers.set(() => {
      this.refreshTimer = undefined;
      this.tokenStale = true;
      void this.open();
    }, delay);
  }

  // ---- HTTP ----

  /** One request with a deadline; `probe`: only the status matters when it is 200 (a stream), so the body is not read. */
  private async http(
    method: 'GET' | 'POST',
    url: string,
    token: string | undefined,
    body: string | undefined,
    headers: Record<string, string> = {},
    probe = false,
  ): Promise<{ status: number; text: string }> {
    const fetch = this.fetch;
    if (!fetch) throw new CascadeError(ErrorCode.Unavailable, 'no fetch function: pass one as options.fetch', 'client');
    const abort = typeof AbortController === 'function' ? new AbortController() : undefined;
    if (abort) this.aborts.add(abort);
    const timer = this.timers.set(() => abort?.abort(), this.requestTimeoutMs);
    try {
      const res = await fetch(url, {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }) },
        ...(body === undefined ? {} : { body }),
        ...(abort ? { signal: abort.signal } : {}),
        cache: 'no-store',
      });
      if (probe && res.status === 200) {
        abort?.abort();
        return { status: 200, text: '' };
      }
      return { status: res.status, text: await res.text() };
    } finally {
      this.timers.clear(timer);
      if (abort) this.aborts.delete(abort);
    }
  }

  /** Who is present in a subscription's channel now: `GET /v1/channels/<ch>/presence` with the token. */
  private async members(s: ChannelSubscription): Promise<PresenceList> {
    if (s.state === 'closed' || s.state === 'failed') throw new CascadeError(ErrorCode.NotSubscribed, `not subscribed to ${s.channel}`, 'client', s.channel);
    let res: { status: number; text: string };
    try {
      res = await this.http('GET', channelUrl(this.base, s.channel, 'presence'), await this.requestToken(), undefined);
    } catch (cause) {
      throw cause instanceof CascadeError ? cause : new CascadeError(ErrorCode.Unavailable, `presence request failed: ${String(cause)}`, 'client', s.channel, { cause });
    }
    if (res.status !== 200) {
      const f = httpFailure(res.status, res.text);
      if (f.status === 401 && f.code === CloseCode.TokenExpired) this.tokenStale = true;
      throw httpError(f, s.channel);
    }
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch (cause) {
      throw new CascadeError(ErrorCode.Unavailable, 'the presence answer is not JSON', 'client', s.channel, { cause });
    }
    return presenceList(typeof body === 'object' && body !== null ? body : {});
  }

  private sendable = (e: PublishEntry): boolean => !this.inflight.has(e.ch);

  /** Sends every publish that is due (one per channel at a time), and arms the timer for the next. */
  private pump(): void {
    this.queue.expire();
    if (this.current !== 'idle' && !this.isFinal()) {
      const batch = new Set<string>();
      const due = this.queue.due((e) => {
        if (!this.sendable(e) || batch.has(e.ch)) return false;
        batch.add(e.ch);
        return true;
      });
      for (const e of due) void this.sendPublish(e);
    }
    this.schedulePump();
  }

  private schedulePump(): void {
    this.timers.clear(this.pumpTimer);
    this.pumpTimer = undefined;
    const at = this.queue.nextWakeup(this.current !== 'idle', this.sendable);
    if (at === undefined || this.isFinal()) return;
    this.pumpTimer = this.timers.set(() => this.pump(), Math.max(0, at - Date.now()));
  }

  private async sendPublish(e: PublishEntry): Promise<void> {
    this.inflight.add(e.ch);
    try {
      const token = await this.requestToken();
      const res = await this.http('POST', channelUrl(this.base, e.ch, 'messages'), token, JSON.stringify({ data: e.data, key: e.key }));
      if (res.status === 200 || res.status === 201) {
        let dup = res.status === 200;
        try {
          const b = JSON.parse(res.text) as { dup?: unknown };
          if (typeof b?.dup === 'boolean') dup = b.dup;
        } catch {
          // The status says enough.
        }
        this.queue.acked(e, dup);
        return;
      }
      const f = httpFailure(res.status, res.text);
      if (f.status === 401 && f.code === CloseCode.TokenExpired) this.tokenStale = true;
      this.queue.failed(e, httpError(f, e.ch), retryableHttp(f) && (f.status !== 401 || typeof this.o.token === 'function'));
    } catch (cause) {
      if (this.isFinal()) return;
      // Network failure, timeout, or the token callback failed: the same key goes out again.
      const err = cause instanceof CascadeError ? cause : new CascadeError(ErrorCode.Unavailable, `publish request failed: ${String(cause)}`, 'client', e.ch, { cause });
      this.queue.failed(e, err, true);
    } finally {
      this.inflight.delete(e.ch);
      if (!this.isFinal()) this.pump();
    }
  }

  private async sendEphemeral(channel: string, data: unknown): Promise<void> {
    try {
      const token = await this.requestToken();
      const res = await this.http('POST', channelUrl(this.base, channel, 'ephemeral'), token, JSON.stringify({ data }));
      if (res.status >= 200 && res.status < 300) return;
      const f = httpFailure(res.status, res.text);
      if (f.status === 401 && f.code === CloseCode.TokenExpired) this.tokenStale = true;
      if (!this.isFinal()) this.events.emit('error', httpError(f, channel));
    } catch (cause) {
      // At most once: a lost ephemeral message is not retried.
      if (!this.isFinal()) this.events.emit('error', new CascadeError(ErrorCode.Unavailable, `ephemeral request failed: ${String(cause)}`, 'client', channel, { cause }));
    }
  }
}

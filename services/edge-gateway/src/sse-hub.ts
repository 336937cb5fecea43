// The node's SSE streams: admits a `GET /v1/sse` (token, permissions, channels held), keeps
// the streams of each channel, and fans every live frame out to them with its event text
// built once (sse.ts) — each subscriber only adds its own `id:` line. Also the keep-alive
// tick, and the node-wide actions a WebSocket gets too: heal failures, lost group rights,
// drain. Transport-free: the HTTP response is an SseResponse port.
import { Expiries } from './expiry.js';
import { CloseCode, ErrorCode, type ChannelName } from '@cascade/protocol';
import type { DrainingConnection } from './drain.js';
import type { EdgeMetrics } from './metrics.js';
import type { ChannelPositions, HistoryReader } from './resume.js';
import type { RecentFrames } from './ring.js';
import { authFailureStatus, type Authenticate } from './session.js';
import type { ChannelHub } from './subscriptions.js';
import type { PresenceReports } from './transport.js';
import { sseFrameOf, type SseRequest } from './sse.js';
import { SseStream, type SseOutput } from './sse-stream.js';
import { SseSession, type SseFanout, type SseSubscriber } from './sse-session.js';

/** The HTTP response of one `GET /v1/sse`, from the transport. */
export interface SseResponse extends SseOutput {
  /** The client went away before or while the stream was set up. */
  readonly aborted: boolean;
  /** Refuses before the stream started: status and `{code, error, ch?}` as JSON. */
  refuse(status: number, body: SseRefusal): void;
  /** Routes the connection's events to the stream once it exists (uWS onWritable/onAborted). */
  bind(events: { writable(): void; aborted(): void }): void;
}

/** The JSON body of a refused `GET /v1/sse`; `ch`: the channel refused (403). */
export interface SseRefusal {
  code: number;
  error: string;
  ch?: string;
}

export interface SseNodeOptions {
  authenticate: Authenticate;
  hub: ChannelHub;
  resume: { recent: RecentFrames; history: HistoryReader; positions?: ChannelPositions | undefined };
  /** Unsent bytes per stream before it is ended as too slow (EDGE_MAX_BACKPRESSURE). */
  maxUnsentBytes: number;
  keepaliveMs: number;
  retryMs: number;
  presence?: PresenceReports | undefined;
  metrics?: EdgeMetrics | undefined;
  onError?: (err: unknown, context: string) => void;
  now?: () => number;
  /** The node's token-expiry timer, shared with the WebSocket sessions; default: one of its own. */
  expiries?: Expiries | undefined;
}

export class SseNode implements SseFanout {
  private readonly sessions = new Set<SseSession>();
  private readonly byChannel = new Map<ChannelName, Set<SseSubscriber>>();
  /** Streams admitted and still being set up (authenticating, acquiring): they count toward the limit. */
  private opening = 0;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private draining = false;
  private readonly expiries: Expiries;

  constructor(
    private readonly o: SseNodeOptions,
    private readonly newClientId: () => string,
  ) {
    this.expiries = o.expiries ?? new Expiries(o.now);
  }

  /** Streams open or being opened (counted with WebSockets against EDGE_MAX_CONNECTIONS). */
  get count(): number {
    return this.sessions.size + this.opening;
  }

  /**
   * Serves one admitted stream request (parameters checked, node not full): authenticates,
   * checks every channel's subscribe permission, holds the channels, then starts the stream.
   * Refusals are plain HTTP. Never rejects.
   */
  async open(request: SseRequest, res: SseResponse): Promise<void> {
    this.opening++;
    try {
      await this.admit(request, res);
    } catch (err) {
      this.o.onError?.(err, 'sse open');
      if (!res.aborted) res.refuse(500, { code: ErrorCode.Internal, error: 'the stream could not be opened' });
    } finally {
      this.opening--;
    }
  }

  private async admit(request: SseRequest, res: SseResponse): Promise<void> {
    const clientId = this.newClientId();
    const auth = await this.o.authenticate(request.token, clientId);
    if (res.aborted) return;
    if (!auth.ok) {
      const reason = request.token === undefined ? 'a token is required: token=<jwt> or Authorization: Bearer <jwt>' : auth.reason;
      res.refuse(authFailureStatus(auth.code), { code: auth.code, error: reason });
      return;
    }
    const identity = auth.identity;
    const forbidden = request.channels.find((ch) => !identity.may('subscribe', ch));
    if (forbidden !== undefined) {
      res.refuse(403, { code: ErrorCode.PermissionDenied, error: `not allowed to subscribe to ${forbidden}`, ch: forbidden });
      return;
    }
    let session: SseSession | undefined;
    const stream = new SseStream(res, { maxUnsentBytes: this.o.maxUnsentBytes, onSlow: () => session?.slow() });
    session = new SseSession({
      clientId,
      identity,
      request,
      stream,
      hub: this.o.hub,
      fanout: this,
      resume: this.o.resume,
      retryMs: this.o.retryMs,
      presence: this.o.presence,
      expiries: this.expiries,
      ...(this.o.now ? { now: this.o.now } : {}),
      ...(this.o.onError ? { onError: this.o.onError } : {}),
      onEnd: (s, code) => this.ended(s, code),
    });
    const s = session;
    res.bind({ writable: () => stream.writable(), aborted: () => {
      stream.aborted();
      s.aborted();
    } });
    if (!(await s.acquire())) {
      if (!res.aborted) res.refuse(503, { code: ErrorCode.Unavailable, error: 'cannot subscribe right now; retry' });
      return;
    }
    if (res.aborted) {
      s.aborted();
      return;
    }
    if (this.draining) {
      // Admitted just before the drain began: it would miss the reconnect advice.
      s.aborted();
      res.refuse(503, { code: CloseCode.GoingAway, error: 'this node is draining; connect to another one' });
      return;
    }
    this.sessions.add(s);
    this.o.metrics?.connectionsOpened.inc();
    this.keepaliveTimer ??= this.startKeepalive();
    s.start();
  }

  private ended(s: SseSession, code: number): void {
    if (!this.sessions.delete(s)) return;
    this.o.metrics?.disconnected(code);
    if (code === CloseCode.SlowConsumer) this.o.metrics?.drops.inc({ reason: 'slow_consumer' });
    if (this.sessions.size === 0 && this.keepaliveTimer !== undefined) {
      clearInterval(this.keepaliveTimer);
      this.keepaliveTimer = undefined;
    }
  }

  private startKeepalive(): NodeJS.Timeout {
    const t = setInterval(() => {
      for (const s of this.sessions) s.keepalive();
    }, this.o.keepaliveMs);
    t.unref();
    return t;
  }

  add(channel: ChannelName, sub: SseSubscriber): void {
    let set = this.byChannel.get(channel);
    if (!set) this.byChannel.set(channel, (set = new Set()));
    set.add(sub);
  }

  remove(channel: ChannelName, sub: SseSubscriber): void {
    const set = this.byChannel.get(channel);
    if (!set?.delete(sub)) return;
    if (set.size === 0) this.byChannel.delete(channel);
  }

  /**
   * One live frame of `channel` (after healing): turned into event text once, then written
   * to every stream receiving the channel. Returns how many streams it reached.
   */
  deliver(channel: ChannelName, frame: Uint8Array): number {
    const subs = this.byChannel.get(channel);
    if (subs === undefined) return 0;
    const f = sseFrameOf(channel, frame);
    if (f === undefined) return 0;
    const n = subs.size;
    // A subscriber that turns out too slow leaves the set during the loop: Set iteration
    // allows that (nothing joins during a delivery).
    for (const sub of subs) sub.live(f);
    return n;
  }

  /** Ends every stream receiving `channel` live with `code` (a heal failed: they must resume). */
  closeSubscribers(channel: ChannelName, code: number, reason: string): number {
    const subs = this.byChannel.get(channel);
    if (subs === undefined) return 0;
    const sessions = [...subs].map((s) => s.session);
    for (const s of sessions) s.fail(code, reason, channel);
    return sessions.length;
  }

  /** Re-checks the streams of these users (their group membership shrank). */
  revalidateUsers(users: ReadonlySet<string>, reason: string): void {
    for (const s of [...this.sessions]) if (users.has(s.user)) s.revalidate(reason);
  }

  /** The node stops taking streams (drain): those still being set up are refused. */
  stopAccepting(): void {
    this.draining = true;
  }

  /** The open streams as the drain sees them: advised with a `reconnect` event, then ended. */
  drainConnections(): DrainingConnection[] {
    return [...this.sessions].map((s) => ({
      advise: (delay: number) => s.advise(delay),
      close: () => s.shutdown(),
    }));
  }
}

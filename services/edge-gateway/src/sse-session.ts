// One SSE stream (`GET /v1/sse`): its channels are held through the node's hub like a
// WebSocket's subscriptions (one NATS subscription per channel per node, refcounted), each
// starts at the client's position, or at the channel's newest message for a channel without
// one, with the same catch-up as a WebSocket subscribe (resume.ts); once every channel's
// start is known it is sent as `event: position` with the whole vector as its id, then the
// catch-ups run and the node's live fan-out follows. The stream ends with an `error` event
// on token expiry, slowness, a failed heal or a lost permission, and with `reconnect` on
// drain. Transport-free: it talks to an SseStream and ports, so it is unit-tested.
import type { Expiries, Expiring } from './expiry.js';
import { CloseCode, ErrorCode, FrameType, type ChannelName } from '@cascade/protocol';
import { resumeSubscription, type ChannelPositions, type HistoryReader, type ResumeReply } from './resume.js';
import type { RecentFrames } from './ring.js';
import type { Identity } from './session.js';
import type { ChannelHub } from './subscriptions.js';
import type { PresenceReports } from './transport.js';
import { errorEvent, formatPosition, KEEPALIVE, positionEvent, retryField, sseEvent, sseFrameOf, type SseFrame, type SsePosition, type SseRequest } from './sse.js';
import type { SseStream } from './sse-stream.js';

/** One channel of one stream, as the node's live fan-out sees it. */
export class SseSubscriber {
  constructor(
    readonly session: SseSession,
    readonly index: number,
  ) {}

  live(f: SseFrame): void {
    this.session.live(this.index, f);
  }
}

/** Where a stream's channels receive the node's live frames (SseNode). */
export interface SseFanout {
  add(channel: ChannelName, sub: SseSubscriber): void;
  remove(channel: ChannelName, sub: SseSubscriber): void;
}

export interface SseSessionDeps {
  clientId: string;
  identity: Identity;
  request: SseRequest;
  stream: Pick<SseStream, 'send' | 'finish' | 'drained' | 'isOpen'>;
  hub: ChannelHub;
  fanout: SseFanout;
  resume: { recent: RecentFrames; history: HistoryReader; positions?: ChannelPositions | undefined };
  /** The reconnect delay announced first (`retry:`). */
  retryMs: number;
  presence?: PresenceReports | undefined;
  /** The node's one token-expiry timer (shared with WebSocket sessions). */
  expiries: Expiries;
  now?: () => number;
  onError?: (err: unknown, context: string) => void;
  /** Called once when the stream ends, whatever ended it; `code` says why (for metrics). */
  onEnd(session: SseSession, code: number): void;
}


type State = 'new' | 'acquired' | 'open' | 'closed';

export class SseSession implements Expiring {
  private state: State = 'new';
  private readonly channels: readonly ChannelName[];
  private readonly positions: SsePosition[];
  /** `formatPosition` of each channel, so an id costs one join. */
  private readonly parts: string[];
  private readonly subscribers: SseSubscriber[];
  /** Channels that joined the live fan-out. */
  private readonly joined: boolean[];
  private drainTimer: NodeJS.Timeout | undefined;
  private reported = false;
  /** Channels whose start is not known yet; at 0 `connected` and `position` go out and `started` settles. */
  private unplaced = 0;
  /** `connected`, then the `unrecovered` events: sent with `position` once every start is known. */
  private opening: string[] = [];
  private readonly started: Promise<void>;
  private begin!: () => void;

  constructor(private readonly deps: SseSessionDeps) {
    this.channels = deps.request.channels;
    this.positions = [...deps.request.positions];
    this.parts = this.positions.map(formatPosition);
    this.subscribers = this.channels.map((_, i) => new SseSubscriber(this, i));
    this.joined = this.channels.map(() => false);
    this.started = new Promise((resolve) => (this.begin = resolve));
  }

  get clientId(): string {
    return this.deps.clientId;
  }

  get user(): string {
    return this.deps.identity.user;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /**
   * Holds every channel on this node (the NATS subscription exists once this resolves), so
   * nothing published after the stream starts can be missed. False when that failed or the
   * session was closed meanwhile; everything is released then.
   */
  async acquire(): Promise<boolean> {
    const results = await Promise.allSettled(this.channels.map((ch) => this.deps.hub.acquire(ch)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) this.deps.onError?.(failed.reason, 'sse subscribe');
    if (failed || this.state !== 'new') {
      // Every acquire is paired with a release, failed ones included (the hub counted them).
      for (const ch of this.channels) this.deps.hub.release(ch);
      this.state = 'closed';
      return false;
    }
    this.state = 'acquired';
    return true;
  }

  /**
   * Starts the stream: `retry`, then, once every channel's start is known, `connected`,
   * `unrecovered` for each resume that was refused and one `position` event, then each
   * channel's catch-up and live delivery. So every message published after the client saw
   * `connected` is delivered, and no message goes out before `position`: every `id:` names
   * every channel.
   */
  start(): void {
    if (this.state !== 'acquired') return;
    this.state = 'open';
    const { identity, clientId, stream } = this.deps;
    this.deps.presence?.connect(clientId, identity.user);
    this.reported = this.deps.presence !== undefined;
    const exp = identity.expiresAt;
    stream.send(retryField(this.deps.retryMs));
    this.opening.push(sseEvent('connected', JSON.stringify(exp === undefined ? { client: clientId, user: identity.user } : { client: clientId, user: identity.user, exp })));
    this.scheduleExpiry();
    this.unplaced = this.channels.length;
    for (let i = 0; i < this.channels.length; i++) {
      if (this.state !== 'open') return;
      void this.resume(i, this.positions[i]);
    }
  }

  /** The client went away (or the connection dropped): release everything, write nothing. */
  aborted(): void {
    this.end(CloseCode.Normal);
  }

  /** Ends the stream with an `error` event after what is queued. */
  fail(code: number, msg: string, ch?: string): void {
    if (this.state !== 'open') return;
    this.end(code);
    this.deps.stream.finish(errorEvent(code, msg, ch));
  }

  /** The stream fell too far behind (SseStream's bound). */
  slow(): void {
    this.fail(CloseCode.SlowConsumer, 'slow consumer: too much unsent data; reconnect and resume');
  }

  /** Drain: advise a reconnect after `delay` ms, then end the stream (and its connection). */
  advise(delay: number): void {
    if (this.state !== 'open' || this.drainTimer !== undefined) return;
    this.deps.stream.send(sseEvent('reconnect', JSON.stringify({ delay, reason: 'drain' })));
    this.drainTimer = setTimeout(() => this.shutdown(), delay);
    this.drainTimer.unref();
  }

  /** Ends the stream now and drops its connection (drain), so a reconnect reaches another node. */
  shutdown(): void {
    if (this.state !== 'open') return;
    this.end(CloseCode.GoingAway);
    this.deps.stream.finish(undefined, true);
  }

  keepalive(): void {
    if (this.state === 'open') this.deps.stream.send(KEEPALIVE);
  }

  /** The identity's rights shrank outside its token (group membership): end if a channel is no longer allowed. */
  revalidate(reason: string): void {
    if (this.state !== 'open') return;
    const ch = this.channels.find((c) => !this.deps.identity.may('subscribe', c));
    if (ch !== undefined) this.fail(ErrorCode.PermissionDenied, `no longer allowed to subscribe to ${ch}: ${reason}`, ch);
  }

  /** Whether this stream receives `channel` live now (heal failures end those). */
  receives(channel: ChannelName): boolean {
    const i = this.channels.indexOf(channel);
    return i >= 0 && this.joined[i] === true;
  }

  /**
   * One frame of channel `index`, live or from the catch-up: a stored message gets its
   * `id:` (the vector with this channel's new position) before the shared event bytes.
   */
  live(index: number, f: SseFrame): void {
    if (this.state !== 'open') return;
    if (f.t === FrameType.Message) {
      const at = this.positions[index];
      if (at !== undefined && at.ep === f.ep && f.seq <= at.seq) return;
      const p = { ep: f.ep, seq: f.seq };
      this.positions[index] = p;
      this.parts[index] = formatPosition(p);
      this.deps.stream.send(`id: ${this.parts.length === 1 ? this.parts[0]! : this.parts.join(',')}\n`, f.bytes);
      return;
    }
    if (f.t === FrameType.Presence && !this.deps.request.presence) return;
    this.deps.stream.send(f.bytes);
  }

  private join(i: number): void {
    if (this.state !== 'open' || this.joined[i]) return;
    this.joined[i] = true;
    const ch = this.channels[i]!;
    this.deps.fanout.add(ch, this.subscribers[i]!);
    this.deps.presence?.join(this.deps.clientId, ch);
  }

  /**
   * Catch-up from the client's position, or from the channel's newest message when it has
   * none, then live (resume.ts, as for a WebSocket subscribe). Each channel's catch-up waits
   * until every channel's start is known and sent.
   */
  private async resume(i: number, since: SsePosition): Promise<void> {
    const ch = this.channels[i]!;
    const outcome = await resumeSubscription({
      channel: ch,
      since,
      recent: this.deps.resume.recent,
      history: this.deps.resume.history,
      positions: this.deps.resume.positions,
      target: {
        current: () => this.state === 'open',
        reply: (r) => this.placed(i, r),
        send: (frame) => {
          const f = sseFrameOf(ch, frame);
          if (f !== undefined) this.live(i, f);
        },
        join: () => this.join(i),
        drained: () => this.deps.stream.drained(),
      },
    });
    if (outcome.kind === 'live' && outcome.unplaced !== undefined) this.deps.onError?.(outcome.unplaced, `sse subscribe ${ch}: its start could not be read from history`);
    if (outcome.kind !== 'failed' || this.state !== 'open') return;
    this.deps.onError?.(outcome.error, `sse resume ${ch}`);
    // One channel cannot be dropped from a stream: the client reconnects and resumes it.
    this.fail(CloseCode.ServerError, `catch-up of ${ch} failed (history unavailable); reconnect and resume`, ch);
  }

  /** Channel `i`'s start is known; the last one sends `connected` ... `position` and lets every catch-up go. */
  private placed(i: number, r: ResumeReply): Promise<void> {
    if (r.recovered === false) {
      this.opening.push(sseEvent('unrecovered', JSON.stringify({ ch: this.channels[i], ep: r.position.ep, seq: r.position.seq })));
    }
    if (r.recovered !== true && r.position !== undefined) {
      this.positions[i] = r.position;
      this.parts[i] = formatPosition(r.position);
    }
    if (--this.unplaced === 0 && this.state === 'open') {
      this.deps.stream.send(...this.opening, positionEvent(this.channels, this.positions));
      this.opening = [];
      this.begin();
    }
    return this.started;
  }

  private scheduleExpiry(): void {
    const at = this.deps.identity.expiresAt;
    if (at === undefined || this.state !== 'open') return;
    if (at <= (this.deps.now ?? Date.now)()) this.expired();
    else this.deps.expiries.add(this, at);
  }

  /** The token's expiry passed (an SSE stream cannot refresh it): end with 4006. */
  expired(): void {
    if (this.state !== 'open') return;
    this.fail(CloseCode.TokenExpired, 'token expired; open a new stream with a fresh token and since=<last id>');
  }

  /** Releases the channels, the fan-out and presence; the stream itself is the caller's. */
  private end(code: number): void {
    if (this.state === 'closed') return;
    const held = this.state !== 'new';
    this.state = 'closed';
    // Catch-ups waiting for the start see the stream is over and stop.
    this.begin();
    const at = this.deps.identity.expiresAt;
    if (at !== undefined) this.deps.expiries.remove(this, at);
    clearTimeout(this.drainTimer);
    for (let i = 0; i < this.channels.length; i++) {
      const ch = this.channels[i]!;
      if (this.joined[i]) this.deps.fanout.remove(ch, this.subscribers[i]!);
      if (held) this.deps.hub.release(ch);
    }
    if (this.reported) this.deps.presence?.disconnect(this.deps.clientId);
    if (held) this.deps.onEnd(this, code);
  }
}

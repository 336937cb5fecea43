// One client connection's protocol state: connect, subscribe, unsubscribe, publish,
// ephemeral. Transport-free: it talks to a ClientSocket, so it is tested without a network.
import {
  CloseCode,
  ErrorCode,
  FrameType,
  PROTOCOL_VERSION,
  ProtocolError,
  decodeClientFrame,
  encodeFrameWithMessages,
  encodeFrameWithPayload,
  encodeServerFrame,
  type ChannelName,
  type InboundConnect,
  type InboundEphemeral,
  type InboundHistory,
  type InboundMembers,
  type InboundPublish,
  type InboundRefresh,
  type InboundSubscribe,
  type InboundUnsubscribe,
  type PersonalSubscription,
  type StreamPosition,
} from '@cascade/protocol';
import type { ChannelHub } from './subscriptions.js';
import { publishFailure, type IngestPort } from './ingest.js';
import { HistoryRequestError } from '@cascade/nats';
import { resumeSubscription, type ChannelPositions, type HistoryReader } from './resume.js';
import type { RecentFrames } from './ring.js';
import type { Clock, KeyedBuckets, Rate } from './rate-limit.js';
import { admitPublish, SenderBucket } from './publish-admission.js';
import type { Expiries, Expiring } from './expiry.js';
import { smallGet, smallHas, smallKeys, smallRemove, smallSet, smallSize, type SmallMap } from './small-map.js';
import { PresenceQueryError, presenceFailure, type PresenceMembersPort } from './presence-members.js';

/** What a session needs from its WebSocket. Every method is a no-op once the socket closed. */
export interface ClientSocket {
  send(frame: Uint8Array): void;
  /** Closes the socket from the server side. */
  end(code: number, reason: string): void;
  /** Start receiving the node's local fan-out of `channel`. */
  join(channel: ChannelName): void;
  leave(channel: ChannelName): void;
  /** Resolves when the socket's unsent bytes are low enough to send a batch more (catch-up pacing). */
  drained?(): Promise<void>;
  /** The connection's identity is established, before any subscription (presence, the connect deadline). */
  identified?(identity: Identity): void;
}

export interface SessionLimits {
  maxFrameBytes: number;
  maxSubscriptions: number;
  /** Largest publish/ephemeral payload (encoded `data`), bytes; unset = only the frame limit. */
  maxPublishBytes?: number;
}

/** Who the connection is; decided at connect, replaced (same user) by a refresh. */
export interface Identity {
  user: string;
  /** Whether this identity may subscribe to / publish on `channel` (identity.ts, permissions.ts). */
  may(action: 'subscribe' | 'publish', channel: ChannelName): boolean;
  /** The personal channel the connection is subscribed to at connect, if any. */
  personal?: ChannelName | undefined;
  /** When the token expires (close with 4006 unless refreshed), ms since the epoch; unset = never. */
  expiresAt?: number | undefined;
}

/** Turns the connect frame's token into an identity, or refuses the connection. */
export type Authenticate = (
  token: string | undefined,
  clientId: string,
) => Promise<{ ok: true; identity: Identity } | { ok: false; code: number; reason: string }>;

/** The HTTP status of a refused Authenticate (SSE, HTTP publish, presence): 503 when the check itself failed. */
export function authFailureStatus(code: number): 503 | 401 {
  return code === CloseCode.ServerError ? 503 : 401;
}

/**
 * What every session of a node shares: one object per node, never a copy per connection (an
 * edge holds very many); the socket and the connection id are the session's own.
 */
export interface SessionNode {
  hub: ChannelHub;
  ingest: IngestPort;
  authenticate: Authenticate;
  limits: SessionLimits;
  /** Token expiry of every connection, on one timer. */
  expiries: Expiries;
  onError?: (err: unknown, context: string) => void;
  /** Publishes (durable and ephemeral) per connection; unset = unlimited. */
  publishRate?: Rate;
  /** The node's per-channel publish buckets, shared by every session; unset = unlimited. */
  channelRates?: KeyedBuckets;
  /** The clock for rate limits and token expiry (tests); defaults to Date.now. */
  now?: Clock;
  /**
   * Where subscriptions start (told in the reply), resume (`since`) and history reads; unset =
   * replies carry no start and `since` is answered `recovered: false`.
   */
  resume?: { recent: RecentFrames; history: HistoryReader; positions?: ChannelPositions };
  /** Who is present in a channel (the presence service); unset = `members` requests get Unavailable. */
  presence?: PresenceMembersPort;
}

/** Frame bytes one `history` reply carries at most. */
const HISTORY_REPLY_MAX_BYTES = 256 * 1024;

type Phase = 'connecting' | 'authenticating' | 'open' | 'closed';

/**
 * Per-connection state is kept small (an idle connection holds only this object, its socket
 * and identity): the node's parts are shared, the publish bucket and the refresh queue are
 * made on first use, the subscriptions are a SmallMap, token expiry is the node's timer.
 */
export class Session implements Expiring {
  private phase: Phase = 'connecting';
  private identity: Identity | undefined;
  /** Channels this connection is subscribed to, or is becoming subscribed to, with the token of that subscription. */
  private channels: SmallMap<ChannelName, number> = undefined;
  private subscriptionTokens = 0;
  /** The connection's own publish rate, made at its first publish. */
  private rate: SenderBucket | undefined;
  /** Refreshes run one after another, so they take effect (and are answered) in the order sent. */
  private refreshes: Promise<void> | undefined;

  private readonly socket: ClientSocket;

  /**
   * `socket`: the connection's socket; none when the session is its own (a transport's
   * connection class that extends Session and implements ClientSocket: one object per
   * connection instead of two).
   */
  constructor(
    private readonly node: SessionNode,
    socket: ClientSocket | undefined,
    readonly clientId: string,
  ) {
    this.socket = socket ?? (this as unknown as ClientSocket);
  }

  get user(): string | undefined {
    return this.identity?.user;
  }

  /** The channels subscribed to or being subscribed to (a copy). */
  get subscribedChannels(): ChannelName[] {
    return smallKeys(this.channels);
  }

  get subscriptionCount(): number {
    return smallSize(this.channels);
  }

  get isOpen(): boolean {
    return this.phase === 'open';
  }

  /** Handles one WebSocket message. Never throws: failures become error frames or closes. */
  receive(data: Uint8Array, isBinary: boolean): void {
    if (this.phase === 'closed') return;
    if (!isBinary) {
      this.sendError(new ProtocolError(ErrorCode.BadRequest, 'frames must be binary msgpack, not text'));
      return;
    }
    const decoded = decodeClientFrame(data, { maxFrameBytes: this.node.limits.maxFrameBytes });
    if (!decoded.ok) {
      this.sendError(decoded.error);
      return;
    }
    const f = decoded.frame;
    if (f.t === FrameType.Connect) {
      void this.connect(f);
      return;
    }
    if (this.phase !== 'open') {
      const id = 'id' in f ? f.id : undefined;
      this.sendError(new ProtocolError(ErrorCode.NotConnected, 'send connect first', id));
      return;
    }
    switch (f.t) {
      case FrameType.Subscribe:
        void this.subscribe(f);
        break;
      case FrameType.Unsubscribe:
        this.unsubscribe(f);
        break;
      case FrameType.Publish:
        void this.publish(f);
        break;
      case FrameType.Ephemeral:
        this.ephemeral(f);
        break;
      case FrameType.History:
        void this.history(f);
        break;
      case FrameType.Members:
        void this.members(f);
        break;
      case FrameType.Refresh:
        this.refreshes = (this.refreshes ?? Promise.resolve())
          .then(() => this.refresh(f))
          .catch((err: unknown) => {
            this.node.onError?.(err, 'refresh');
            this.sendError(new ProtocolError(ErrorCode.Internal, 'refresh failed; the current token stays in force', f.id));
          });
        break;
    }
  }

  /** The socket closed (either side): release every channel. */
  closed(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    const at = this.identity?.expiresAt;
    if (at !== undefined) this.node.expiries.remove(this, at);
    for (const ch of smallKeys(this.channels)) this.node.hub.release(ch);
    this.channels = undefined;
  }

  /** Closes the connection from the server side. */
  close(code: number, reason: string): void {
    if (this.phase === 'closed') return;
    this.socket.end(code, reason);
    this.closed();
  }

  /** Called by the transport when the connect deadline passes. */
  connectTimedOut(): void {
    if (this.phase === 'connecting' || this.phase === 'authenticating') this.close(CloseCode.ConnectTimeout, 'no connect frame in time');
  }

  private async connect(f: InboundConnect): Promise<void> {
    if (this.phase !== 'connecting') {
      this.sendError(new ProtocolError(ErrorCode.AlreadyConnected, 'connect was already sent'));
      return;
    }
    if (f.v !== PROTOCOL_VERSION) {
      this.close(CloseCode.UnsupportedVersion, `protocol version ${f.v} is not supported; this server speaks ${PROTOCOL_VERSION}`);
      return;
    }
    this.phase = 'authenticating';
    const auth = await this.node.authenticate(f.token, this.clientId);
    if (this.phase !== 'authenticating') return;
    if (!auth.ok) {
      this.close(auth.code, auth.reason);
      return;
    }
    this.identity = auth.identity;
    this.socket.identified?.(auth.identity);
    const personal = auth.identity.personal;
    if (personal === undefined) this.open(undefined);
    else await this.subscribePersonal(personal, f.psince);
  }

  /** The connection is set up: `connected` goes out (with the personal channel's answer, `psub`). */
  private open(psub: PersonalSubscription | undefined): void {
    const identity = this.identity!;
    this.phase = 'open';
    this.scheduleExpiry();
    const { maxFrameBytes, maxSubscriptions, maxPublishBytes } = this.node.limits;
    this.socket.send(
      encodeServerFrame({
        t: FrameType.Connected,
        v: PROTOCOL_VERSION,
        client: this.clientId,
        user: identity.user,
        limits: { frame: maxFrameBytes, subs: maxSubscriptions, ...(maxPublishBytes === undefined ? {} : { pub: maxPublishBytes }) },
        ...(identity.personal === undefined ? {} : { personal: identity.personal }),
        ...(psub === undefined ? {} : { psub }),
        ...(identity.expiresAt === undefined ? {} : { exp: identity.expiresAt }),
      }),
    );
  }

  /**
   * Subscribes the connection to its own `user:<id>` before it is open, through the hub and
   * the resume path like any subscription, so nothing sent to the user is missed: from
   * `since` (the connect's `psince`) when the client had the channel before, else from the
   * channel's newest message now. `connected` is the subscribe reply (`psub`), sent before
   * any catch-up frame, so the client knows the channel before its first message arrives.
   * The connection is closed (4004, reconnect) when the channel cannot be subscribed, or
   * `since` cannot be served because the history service is unreachable.
   */
  private async subscribePersonal(ch: ChannelName, since: StreamPosition | undefined): Promise<void> {
    const token = ++this.subscriptionTokens;
    this.channels = smallSet(this.channels, ch, token);
    try {
      await this.node.hub.acquire(ch);
    } catch (err) {
      this.node.onError?.(err, `subscribe ${ch} at connect`);
      if (this.phase !== 'closed') this.close(CloseCode.ServerError, 'cannot subscribe to the personal channel right now; reconnect');
      return;
    }
    if (this.phase !== 'authenticating') return;
    const resume = this.node.resume;
    const known = since || !resume ? undefined : resume.positions?.known(ch);
    if (!resume || known) {
      // As a subscribe: the node's own position, read in the step the socket joins; without
      // a history service a `since` cannot be served, and the reply says so.
      this.socket.join(ch);
      this.open(known ? { ep: known.ep, seq: known.seq } : since ? { recovered: false } : undefined);
      return;
    }
    const socket = this.socket;
    const outcome = await resumeSubscription({
      channel: ch,
      since,
      recent: resume.recent,
      history: resume.history,
      positions: resume.positions,
      target: {
        current: () => (this.phase === 'authenticating' || this.phase === 'open') && smallGet(this.channels, ch) === token,
        reply: (r) => this.open(r.recovered === true ? { recovered: true } : { ...(r.recovered === false ? { recovered: false } : {}), ...r.position }),
        send: (frame) => socket.send(frame),
        join: () => socket.join(ch),
        drained: () => socket.drained?.() ?? Promise.resolve(),
      },
    });
    if (outcome.kind === 'live') {
      if (outcome.unplaced !== undefined) this.node.onError?.(outcome.unplaced, `subscribe ${ch} at connect: its start could not be read from history`);
      return;
    }
    // The phase may have moved on during the await (closed, or opened by the reply).
    if (outcome.kind === 'aborted' || (this.phase as Phase) === 'closed') return;
    this.node.onError?.(outcome.error, `resume ${ch} at connect`);
    this.close(
      CloseCode.ServerError,
      outcome.replied ? `catch-up of ${ch} failed; reconnect and resume` : 'history is unavailable, cannot resume the personal channel right now; reconnect',
    );
  }

  /**
   * Closes the connection with 4006 when its token expires, unless a refresh moved the expiry
   * (`previous`: the deadline it replaces). The node's one timer keeps the deadline.
   */
  private scheduleExpiry(previous?: number): void {
    if (previous !== undefined) this.node.expiries.remove(this, previous);
    const at = this.identity?.expiresAt;
    if (at === undefined || this.phase === 'closed') return;
    if (at <= (this.node.now ?? Date.now)()) {
      this.close(CloseCode.TokenExpired, 'token expired; reconnect with a fresh token');
      return;
    }
    this.node.expiries.add(this, at);
  }

  /** The node's expiry timer: the deadline this session was added with has passed. */
  expired(): void {
    if (this.phase !== 'closed') this.scheduleExpiry();
  }

  /**
   * Leaves every channel the identity may no longer subscribe to, when rights shrank outside
   * the token (the user was removed from a group); each gets a PermissionDenied error naming it.
   */
  revalidate(reason: string): void {
    if (this.phase === 'open') this.leaveForbidden(reason);
  }

  private leaveForbidden(reason: string): void {
    const identity = this.identity!;
    for (const ch of smallKeys(this.channels)) {
      if (ch === identity.personal || identity.may('subscribe', ch)) continue;
      this.channels = smallRemove(this.channels, ch);
      this.socket.leave(ch);
      this.node.hub.release(ch);
      this.sendError(new ProtocolError(ErrorCode.PermissionDenied, `unsubscribed from ${ch}: ${reason}`), ch);
    }
  }

  /** Replaces the token: it must verify and name the same user; rights and expiry follow it. */
  private async refresh(f: InboundRefresh): Promise<void> {
    const auth = await this.node.authenticate(f.token, this.clientId);
    if (this.phase !== 'open') return;
    if (!auth.ok) {
      this.sendError(new ProtocolError(ErrorCode.InvalidToken, `refresh refused: ${auth.reason}; the current token stays in force`, f.id));
      return;
    }
    if (auth.identity.user !== this.identity!.user) {
      this.sendError(new ProtocolError(ErrorCode.InvalidToken, 'refresh refused: the token names another user; reconnect to change users', f.id));
      return;
    }
    const previous = this.identity!.expiresAt;
    this.identity = auth.identity;
    this.scheduleExpiry(previous);
    // Rights may have shrunk: leave channels the new token no longer allows.
    this.leaveForbidden('the refreshed token does not allow it');
    const exp = auth.identity.expiresAt;
    this.socket.send(encodeServerFrame(exp === undefined ? { t: FrameType.Reply, id: f.id } : { t: FrameType.Reply, id: f.id, exp }));
  }

  /** The checks every client publish passes (publish-admission.ts); sends the error and returns false on failure. */
  private admitPublish(ch: ChannelName, payload: Uint8Array, id?: number): boolean {
    const { publishRate, limits, channelRates } = this.node;
    if (publishRate && !this.rate) this.rate = new SenderBucket(publishRate, this.node.now);
    const refused = admitPublish(this.identity!, ch, payload.length, { maxPublishBytes: limits.maxPublishBytes, channelRates }, this.rate, id);
    if (refused === undefined) return true;
    this.sendError(refused, ch);
    return false;
  }

  private async subscribe(f: InboundSubscribe): Promise<void> {
    // The node's copy of the name: this connection (and its presence record) keeps that one.
    if (this.node.hub.intern) f.ch = this.node.hub.intern(f.ch);
    if (!this.identity!.may('subscribe', f.ch)) return this.sendError(new ProtocolError(ErrorCode.PermissionDenied, `not allowed to subscribe to ${f.ch}`, f.id), f.ch);
    if (smallHas(this.channels, f.ch)) {
      this.sendError(new ProtocolError(ErrorCode.AlreadySubscribed, `already subscribed to ${f.ch}`, f.id), f.ch);
      return;
    }
    if (smallSize(this.channels) >= this.node.limits.maxSubscriptions) {
      this.sendError(new ProtocolError(ErrorCode.SubscriptionLimit, `at most ${this.node.limits.maxSubscriptions} subscriptions per connection`, f.id), f.ch);
      return;
    }
    // Claimed before the await, so a second subscribe to the same channel is refused. The
    // token tells, after the await, whether this subscription is still the current one: an
    // unsubscribe or a close in between has already released it.
    const token = ++this.subscriptionTokens;
    this.channels = smallSet(this.channels, f.ch, token);
    try {
      await this.node.hub.acquire(f.ch);
    } catch (err) {
      if (smallGet(this.channels, f.ch) === token) {
        this.channels = smallRemove(this.channels, f.ch);
        this.node.hub.release(f.ch);
      }
      this.node.onError?.(err, `subscribe ${f.ch}`);
      this.sendError(new ProtocolError(ErrorCode.Unavailable, 'cannot subscribe right now; retry', f.id), f.ch);
      return;
    }
    if (this.phase === 'closed') return;
    const resume = this.node.resume;
    // The common case: a new subscription on a channel the node carries starts at the last
    // message the node forwarded, read in the same synchronous step as the socket joins, so
    // nothing can fall between the two (no tap, no catch-up needed).
    const known = f.since || !resume ? undefined : resume.positions?.known(f.ch);
    if (resume && !known) return this.resume(f, token, resume);
    if (smallGet(this.channels, f.ch) === token) this.socket.join(f.ch);
    // Without a history service `since` cannot be served: say so, so the client reloads.
    this.socket.send(encodeServerFrame(f.since ? { t: FrameType.Reply, id: f.id, recovered: false } : { t: FrameType.Reply, id: f.id, ...known }));
  }

  /**
   * Catch-up from `since`, or from the channel's newest message now, then live (resume.ts);
   * the reply is sent when the start is known: recovered or not, or where a new subscription
   * starts (its `ep`/`seq`, which the client resumes from if it drops before any message).
   */
  private async resume(f: InboundSubscribe, token: number, deps: NonNullable<SessionNode['resume']>): Promise<void> {
    const socket = this.socket;
    const outcome = await resumeSubscription({
      channel: f.ch,
      since: f.since,
      recent: deps.recent,
      history: deps.history,
      positions: deps.positions,
      target: {
        current: () => this.phase === 'open' && smallGet(this.channels, f.ch) === token,
        reply: (r) =>
          socket.send(
            encodeServerFrame(
              r.recovered === true
                ? { t: FrameType.Reply, id: f.id, recovered: true }
                : r.recovered === false
                  ? { t: FrameType.Reply, id: f.id, recovered: false, ...r.position }
                  : { t: FrameType.Reply, id: f.id, ...r.position },
            ),
          ),
        send: (frame) => socket.send(frame),
        join: () => socket.join(f.ch),
        drained: () => socket.drained?.() ?? Promise.resolve(),
      },
    });
    if (outcome.kind === 'live') {
      if (outcome.unplaced !== undefined) this.node.onError?.(outcome.unplaced, `subscribe ${f.ch}: its start could not be read from history`);
      return;
    }
    if (this.phase === 'closed') return;
    if (outcome.kind === 'aborted') {
      // Unsubscribed meanwhile: both requests succeed and the connection is not subscribed.
      if (!outcome.replied) socket.send(encodeServerFrame(f.since ? { t: FrameType.Reply, id: f.id, recovered: false } : { t: FrameType.Reply, id: f.id }));
      return;
    }
    this.node.onError?.(outcome.error, `resume ${f.ch}`);
    if (outcome.replied) {
      // Part of the catch-up was sent and the rest cannot be: a reconnect resumes from
      // what the client got, which beats a stream with a hole in it.
      this.close(CloseCode.ServerError, `catch-up of ${f.ch} failed; reconnect and resume`);
      return;
    }
    if (smallGet(this.channels, f.ch) === token) {
      this.channels = smallRemove(this.channels, f.ch);
      this.node.hub.release(f.ch);
    }
    this.sendError(new ProtocolError(ErrorCode.Unavailable, 'history is unavailable, cannot resume right now; retry', f.id), f.ch);
  }

  /** A client's read of stored messages, e.g. to fill a gap it saw; only on subscribed channels. */
  private async history(f: InboundHistory): Promise<void> {
    if (!smallHas(this.channels, f.ch)) {
      this.sendError(new ProtocolError(ErrorCode.NotSubscribed, `subscribe to ${f.ch} before reading its history`, f.id), f.ch);
      return;
    }
    const reader = this.node.resume?.history;
    try {
      if (!reader) throw new Error('no history service configured');
      const r = await reader.read(f.since ? { ch: f.ch, ep: f.since.ep, from: f.since.seq + 1, limit: f.limit } : { ch: f.ch, dir: 'back', limit: f.limit });
      if (this.phase === 'closed') return;
      // In read order (after `since`: oldest first; newest: newest first), one reply stays well
      // under the send buffer bound; the client asks again for the rest.
      let bytes = 0;
      const kept = r.msgs.filter((m, i) => (bytes += m.length) <= HISTORY_REPLY_MAX_BYTES || i === 0);
      const msgs = f.since ? kept : kept.reverse();
      const more = f.since !== undefined && (r.next !== undefined || kept.length < r.msgs.length);
      this.socket.send(encodeFrameWithMessages({ t: FrameType.Reply, id: f.id, ep: r.ep, seq: r.seq, ...(more ? { more } : {}) }, msgs));
    } catch (err) {
      if (err instanceof HistoryRequestError && err.reply.code === ErrorCode.RecoveryImpossible) {
        const { ep, seq } = err.position ?? {};
        this.socket.send(encodeServerFrame({ t: FrameType.Error, id: f.id, ch: f.ch, code: ErrorCode.RecoveryImpossible, msg: err.message, ep, seq }));
        return;
      }
      this.node.onError?.(err, `history ${f.ch}`);
      this.sendError(new ProtocolError(ErrorCode.Unavailable, 'history is unavailable right now; retry', f.id), f.ch);
    }
  }

  /**
   * Who is present in a channel now, for a channel this identity may subscribe to (it need
   * not be subscribed: a page asks before or as it subscribes); join/leave frames follow.
   */
  private async members(f: InboundMembers): Promise<void> {
    if (!this.identity!.may('subscribe', f.ch)) return this.sendError(new ProtocolError(ErrorCode.PermissionDenied, `not allowed to subscribe to ${f.ch}`, f.id), f.ch);
    const presence = this.node.presence;
    try {
      if (!presence) throw new PresenceQueryError(ErrorCode.Unavailable, 'presence is not available on this server');
      const p = await presence.members(f.ch);
      if (this.phase === 'closed') return;
      this.socket.send(encodeServerFrame({ t: FrameType.Reply, id: f.id, ...p }));
    } catch (err) {
      if (!(err instanceof PresenceQueryError)) this.node.onError?.(err, `members ${f.ch}`);
      const e = presenceFailure(err);
      this.sendError(new ProtocolError(e.code, e.message, f.id), f.ch);
    }
  }

  private unsubscribe(f: InboundUnsubscribe): void {
    if (!smallHas(this.channels, f.ch)) {
      this.sendError(new ProtocolError(ErrorCode.NotSubscribed, `not subscribed to ${f.ch}`, f.id), f.ch);
      return;
    }
    this.channels = smallRemove(this.channels, f.ch);
    this.socket.leave(f.ch);
    this.node.hub.release(f.ch);
    this.socket.send(encodeServerFrame({ t: FrameType.Reply, id: f.id }));
  }

  private async publish(f: InboundPublish): Promise<void> {
    if (!this.admitPublish(f.ch, f.payload, f.id)) return;
    const user = this.identity!.user;
    try {
      const meta = { from: user, key: f.key, ...(f.echo ? {} : { excludeClient: this.clientId }) };
      const { duplicate } = await this.node.ingest.publish(f.ch, f.payload, meta);
      this.socket.send(encodeServerFrame(duplicate ? { t: FrameType.Reply, id: f.id, dup: true } : { t: FrameType.Reply, id: f.id }));
    } catch (err) {
      this.node.onError?.(err, `publish ${f.ch}`);
      const failure = publishFailure(err);
      this.sendError(new ProtocolError(failure.code, failure.msg, f.id), f.ch);
    }
  }

  private ephemeral(f: InboundEphemeral): void {
    if (!this.admitPublish(f.ch, f.payload)) return;
    const frame = encodeFrameWithPayload({ t: FrameType.EphemeralMessage, ch: f.ch, ts: Date.now(), from: this.identity!.user }, f.payload);
    this.node.ingest.ephemeral(f.ch, frame);
  }

  private sendError(e: ProtocolError, ch?: string): void {
    this.socket.send(
      encodeServerFrame({ t: FrameType.Error, ...(e.id === undefined ? {} : { id: e.id }), ...(ch === undefined ? {} : { ch }), code: e.code, msg: e.message }),
    );
  }
}

// One client connection's protocol state: connect, subscribe, unsubscribe, publish,
// ephemeral. Transport-free: it talks to a ClientSocket, so it is tested without a network.
import {
  CloseCode,
  ErrorCode,
  FrameType,
  PROTOCOL_VERSION,
  ProtocolError,
  decodeClientFrame,
  encodeFrameWithPayload,
  encodeServerFrame,
  type ChannelName,
  type InboundConnect,
  type InboundEphemeral,
  type InboundPublish,
  type InboundSubscribe,
  type InboundUnsubscribe,
} from '@cascade/protocol';
import type { ChannelHub } from './subscriptions.js';
import type { IngestPort } from './ingest.js';

/** What a session needs from its WebSocket. Every method is a no-op once the socket closed. */
export interface ClientSocket {
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
  /** Start receiving the node's local fan-out of `channel`. */
  join(channel: ChannelName): void;
  leave(channel: ChannelName): void;
}

export interface SessionLimits {
  maxFrameBytes: number;
  maxSubscriptions: number;
}

/** Who the connection is; decided once, at connect. */
export interface Identity {
  user: string;
}

/** Turns the connect frame's token into an identity, or refuses the connection. */
export type Authenticate = (
  token: string | undefined,
  clientId: string,
) => Promise<{ ok: true; identity: Identity } | { ok: false; code: number; reason: string }>;

export interface SessionDeps {
  socket: ClientSocket;
  hub: ChannelHub;
  ingest: IngestPort;
  authenticate: Authenticate;
  limits: SessionLimits;
  clientId: string;
  onError?: (err: unknown, context: string) => void;
}

type Phase = 'connecting' | 'authenticating' | 'open' | 'closed';

export class Session {
  private phase: Phase = 'connecting';
  private identity: Identity | undefined;
  /** Channels this connection is subscribed to, or is becoming subscribed to, with the token of that subscription. */
  private readonly channels = new Map<ChannelName, number>();
  private subscriptionTokens = 0;

  constructor(private readonly deps: SessionDeps) {}

  get clientId(): string {
    return this.deps.clientId;
  }

  get user(): string | undefined {
    return this.identity?.user;
  }

  get subscriptionCount(): number {
    return this.channels.size;
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
    const decoded = decodeClientFrame(data, { maxFrameBytes: this.deps.limits.maxFrameBytes });
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
    }
  }

  /** The socket closed (either side): release every channel. */
  closed(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    for (const ch of this.channels.keys()) this.deps.hub.release(ch);
    this.channels.clear();
  }

  /** Closes the connection from the server side. */
  close(code: number, reason: string): void {
    if (this.phase === 'closed') return;
    this.deps.socket.close(code, reason);
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
    const auth = await this.deps.authenticate(f.token, this.deps.clientId);
    if (this.phase !== 'authenticating') return;
    if (!auth.ok) {
      this.close(auth.code, auth.reason);
      return;
    }
    this.identity = auth.identity;
    this.phase = 'open';
    this.deps.socket.send(
      encodeServerFrame({
        t: FrameType.Connected,
        v: PROTOCOL_VERSION,
        client: this.deps.clientId,
        user: auth.identity.user,
        limits: { frame: this.deps.limits.maxFrameBytes, subs: this.deps.limits.maxSubscriptions },
      }),
    );
  }

  private async subscribe(f: InboundSubscribe): Promise<void> {
    if (this.channels.has(f.ch)) {
      this.sendError(new ProtocolError(ErrorCode.AlreadySubscribed, `already subscribed to ${f.ch}`, f.id), f.ch);
      return;
    }
    if (this.channels.size >= this.deps.limits.maxSubscriptions) {
      this.sendError(new ProtocolError(ErrorCode.SubscriptionLimit, `at most ${this.deps.limits.maxSubscriptions} subscriptions per connection`, f.id), f.ch);
      return;
    }
    // Claimed before the await, so a second subscribe to the same channel is refused. The
    // token tells, after the await, whether this subscription is still the current one: an
    // unsubscribe or a close in between has already released it.
    const token = ++this.subscriptionTokens;
    this.channels.set(f.ch, token);
    try {
      await this.deps.hub.acquire(f.ch);
    } catch (err) {
      if (this.channels.get(f.ch) === token) {
        this.channels.delete(f.ch);
        this.deps.hub.release(f.ch);
      }
      this.deps.onError?.(err, `subscribe ${f.ch}`);
      this.sendError(new ProtocolError(ErrorCode.Unavailable, 'cannot subscribe right now; retry', f.id), f.ch);
      return;
    }
    if (this.phase === 'closed') return;
    if (this.channels.get(f.ch) === token) this.deps.socket.join(f.ch);
    // Resume (`since`) is not served yet: say so, so the client reloads instead of trusting a gap-free stream.
    this.deps.socket.send(encodeServerFrame(f.since ? { t: FrameType.Reply, id: f.id, recovered: false } : { t: FrameType.Reply, id: f.id }));
  }

  private unsubscribe(f: InboundUnsubscribe): void {
    if (!this.channels.delete(f.ch)) {
      this.sendError(new ProtocolError(ErrorCode.NotSubscribed, `not subscribed to ${f.ch}`, f.id), f.ch);
      return;
    }
    this.deps.socket.leave(f.ch);
    this.deps.hub.release(f.ch);
    this.deps.socket.send(encodeServerFrame({ t: FrameType.Reply, id: f.id }));
  }

  private async publish(f: InboundPublish): Promise<void> {
    const user = this.identity!.user;
    try {
      const { duplicate } = await this.deps.ingest.publish(f.ch, f.payload, { from: user, key: f.key });
      this.deps.socket.send(encodeServerFrame(duplicate ? { t: FrameType.Reply, id: f.id, dup: true } : { t: FrameType.Reply, id: f.id }));
    } catch (err) {
      this.deps.onError?.(err, `publish ${f.ch}`);
      const timedOut = err instanceof Error && /timeout/i.test(err.message);
      this.sendError(
        timedOut
          ? new ProtocolError(ErrorCode.Timeout, 'the message store did not confirm in time; retry with the same key', f.id)
          : new ProtocolError(ErrorCode.Unavailable, 'the message store is unavailable; retry with the same key', f.id),
        f.ch,
      );
    }
  }

  private ephemeral(f: InboundEphemeral): void {
    const frame = encodeFrameWithPayload({ t: FrameType.EphemeralMessage, ch: f.ch, ts: Date.now(), from: this.identity!.user }, f.payload);
    this.deps.ingest.ephemeral(f.ch, frame);
  }

  private sendError(e: ProtocolError, ch?: string): void {
    this.deps.socket.send(
      encodeServerFrame({ t: FrameType.Error, ...(e.id === undefined ? {} : { id: e.id }), ...(ch === undefined ? {} : { ch }), code: e.code, msg: e.message }),
    );
  }
}

// The uWebSockets.js adapter: accepts upgrades, maps each socket to a Session, fans live
// frames out with uWS topics (the same bytes to every local subscriber), and serves the
// HTTP health endpoints. uWS is imported nowhere else.
import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { HttpResponse, TemplatedApp, WebSocket, us_listen_socket } from 'uWebSockets.js';
import type { ChannelName } from '@cascade/protocol';
import { CloseCode, ErrorCode, FrameType, encodeServerFrame } from '@cascade/protocol';
import type { DrainingConnection, DrainTarget } from './drain.js';
import { SlowConsumerSweep } from './backpressure.js';
import { uws } from './uws.js';
import { Session, type ClientSocket, type Identity, type SessionNode } from './session.js';
import { Expiries } from './expiry.js';
import { skipNotice } from './echo.js';
import { DirectChannels, isDirectChannel } from './direct-channels.js';
import type { EdgeMetrics } from './metrics.js';
import { toJson, type ServerApi } from './http-api.js';
import { corsHeaders, preflight, type CorsPolicy } from './cors.js';
import { STATIC_PREFIX, type StaticFiles } from './static-files.js';
import type { DevTokenReply } from './dev-tokens.js';
import { parseSseRequest } from './sse.js';
import { SseNode, type SseNodeOptions, type SseRefusal, type SseResponse } from './sse-hub.js';
import type { SseChunk } from './sse-stream.js';

export interface TransportOptions {
  host: string;
  port: number;
  maxFrameBytes: number;
  maxBackpressureBytes: number;
  /** Connections held at most; one more is closed at once with 4005 (ConnectionLimit). */
  maxConnections: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  /** What every session shares (the transport adds the node's expiry timer). */
  session: Omit<SessionNode, 'expiries'>;
  ready(): boolean;
  health(): Record<string, unknown>;
  metrics: EdgeMetrics;
  /** The HTTP server API (`/v1/...`); unset = not served. */
  api?: ServerApi;
  /** Told who is connected and subscribed where (the presence reporter). */
  presence?: PresenceReports;
  /** Files served under /demo/ (EDGE_STATIC_DIR); unset = none. */
  staticFiles?: StaticFiles;
  /** `GET /v1/dev/token` (EDGE_DEV_TOKENS=on); unset = not served. */
  devTokens?: (query: string) => Promise<DevTokenReply>;
  /** Origins allowed to call /v1/... from a browser (EDGE_CORS_ORIGINS); unset = no CORS headers. */
  cors?: CorsPolicy;
  /** `GET /v1/sse` (server-sent events); unset = not served. */
  sse?: SseNodeOptions & { maxSubscriptions: number };
}

/** An HTTP status line: `404 Not Found`. */
function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
}

/** What the presence service learns from this node, one call per change (coalesced downstream). */
export interface PresenceReports {
  connect(client: string, user: string): void;
  disconnect(client: string): void;
  join(client: string, ch: ChannelName): void;
  leave(client: string, ch: ChannelName): void;
}

/** uWS's own send-buffer limit (abrupt close): ours plus room for a burst between sweeps. */
export function hardBackpressureLimit(maxBackpressureBytes: number): number {
  return Math.max(2 * maxBackpressureBytes, maxBackpressureBytes + 4 * 1024 * 1024);
}

/** The transport's hard cut-off for one frame: twice the protocol limit, at least 64 KiB more. */
export function hardFrameLimit(maxFrameBytes: number): number {
  return Math.max(2 * maxFrameBytes, maxFrameBytes + 64 * 1024);
}

// Each connection's send buffer is checked four times a second (10 ticks of 25 ms): the
// distance between our limit and uWS's must absorb what one client can fall behind in that
// time.
const SWEEP_TICK_MS = 25;

/** Largest HTTP API request body: a group change of 1000 user ids of up to 123 characters fits. */
const MAX_API_BODY_BYTES = 256 * 1024;
const SWEEP_TICKS_PER_CYCLE = 10;

export class Transport {
  private readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | undefined;
  /** Open sockets, dense (each knows its index: O(1) removal by moving the last one into its place). */
  private readonly sockets: WebSocket<SocketData>[] = [];
  /** Open sockets by connection id, to find the publisher of an `echo: false` message. */
  private readonly byClient = new Map<string, WebSocket<SocketData>>();
  /** Who holds each personal channel here: sent to directly, not through a uWS topic (direct-channels.ts). */
  private readonly direct = new DirectChannels<WebSocket<SocketData>>();
  /** Shared by every session of this node. */
  private readonly sessionNode: SessionNode;
  private readonly nodeId = randomBytes(4).toString('hex');
  private nextClient = 0;
  private boundPort = 0;
  private readonly sweep: SlowConsumerSweep<WebSocket<SocketData>>;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly sse: SseNode | undefined;
  /** False once draining started: new SSE streams get 503 (new WebSockets cannot connect). */
  private accepting = true;

  constructor(private readonly o: TransportOptions) {
    this.sessionNode = { ...o.session, expiries: new Expiries(o.session.now) };
    this.sweep = new SlowConsumerSweep<WebSocket<SocketData>>(
      {
        connections: () => this.sockets,
        // A socket being closed still holds its buffer until the client reads it: count it.
        bufferedBytes: (ws) => ws.getBufferedAmount(),
        closeSlow: (ws) => {
          if (ws.getUserData().c.ended) return;
          o.metrics.drops.inc({ reason: 'slow_consumer' });
          // Stop queueing live frames first, so the close frame follows what is buffered and
          // the buffer stops growing while the client reads its way to it.
          for (const topic of ws.getTopics()) ws.unsubscribe(topic);
          this.closeSocket(ws, CloseCode.SlowConsumer, 'slow consumer: send buffer over the limit; reconnect and resume');
        },
      },
      o.maxBackpressureBytes,
      SWEEP_TICKS_PER_CYCLE,
    );
    this.sse = o.sse && new SseNode({ ...o.sse, expiries: this.sessionNode.expiries }, () => this.newClientId());
    this.app = uws.App();
    this.app.ws<SocketData>('/*', {
      compression: uws.DISABLED,
      // uWS drops a socket over this limit without a close frame, so its hard limit sits above
      // ours: a frame between the two gets a clear PayloadTooLarge error from the decoder and
      // the connection stays; only a grossly oversized one is cut.
      maxPayloadLength: hardFrameLimit(o.maxFrameBytes),
      // Our bound is enforced by the slow-consumer sweep (close 4002, a clean close frame
      // after the buffered data). uWS's own limit, twice ours, is the backstop for a burst
      // between two sweeps: it closes abruptly (1006) rather than skipping messages silently.
      maxBackpressure: hardBackpressureLimit(o.maxBackpressureBytes),
      closeOnBackpressureLimit: 1,
      idleTimeout: Math.max(8, Math.round(o.idleTimeoutMs / 1000)),
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => {
        // Request headers are only valid synchronously, inside this handler.
        const key = req.getHeader('sec-websocket-key');
        const protocol = req.getHeader('sec-websocket-protocol');
        const extensions = req.getHeader('sec-websocket-extensions');
        // uWS copies the user data's own properties onto its socket object: one property only,
        // the connection (its session and socket in one).
        res.upgrade<SocketData>({ c: new UwsConnection(this, this.sessionNode, this.newClientId()) }, key, protocol, extensions, context);
      },
      open: (ws) => this.open(ws),
      message: (ws, message, isBinary) => {
        o.metrics.framesIn.inc();
        // The ArrayBuffer is only valid during this call; decoding copies what it keeps.
        ws.getUserData().c.receive(new Uint8Array(message), isBinary);
      },
      close: (ws, code) => {
        o.metrics.disconnected(code);
        const data = ws.getUserData().c;
        data.ended = true;
        clearTimeout(data.connectTimer);
        this.removeSocket(ws, data);
        this.byClient.delete(data.clientId);
        // uWS drops a closed socket's topics itself; the personal channels' holders are ours.
        for (const ch of data.subscribedChannels) if (isDirectChannel(ch)) this.direct.remove(ch, ws);
        data.closed();
        if (data.present) o.presence?.disconnect(data.clientId);
      },
    });
    this.app.get('/healthz', (res) => {
      res.writeHeader('content-type', 'application/json').end(JSON.stringify({ status: 'ok', ...o.health() }));
    });
    this.app.get('/readyz', (res) => {
      const ok = o.ready();
      res.writeStatus(ok ? '200 OK' : '503 Service Unavailable').end(ok ? 'ready\n' : 'not ready\n');
    });
    this.app.get('/metrics', (res) => {
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      void o.metrics.render().then((text) => {
        if (aborted) return;
        res.cork(() => res.writeHeader('content-type', o.metrics.contentType).end(text));
      });
    });
    const sse = this.sse;
    if (sse && o.sse) {
      const maxSubscriptions = o.sse.maxSubscriptions;
      this.app.get('/v1/sse', (res, req) => {
        // Request fields are only valid synchronously, inside this handler.
        const origin = req.getHeader('origin');
        const parsed = parseSseRequest({ query: req.getQuery() ?? '', lastEventId: req.getHeader('last-event-id'), authorization: req.getHeader('authorization'), maxSubscriptions });
        if (!parsed.ok) {
          this.writeJson(res, parsed.status, { code: parsed.code, error: parsed.error }, origin);
          return;
        }
        if (!this.accepting) {
          this.writeJson(res, 503, { code: CloseCode.GoingAway, error: 'this node is draining; connect to another one' }, origin);
          return;
        }
        if (this.connections >= o.maxConnections) {
          o.metrics.drops.inc({ reason: 'connection_limit' });
          this.writeJson(res, 503, { code: CloseCode.ConnectionLimit, error: 'node full: try again later or another node' }, origin);
          return;
        }
        void sse.open(parsed.request, new UwsSseResponse(res, origin, this));
      });
    }
    const devTokens = o.devTokens;
    if (devTokens) {
      this.app.get('/v1/dev/token', (res, req) => {
        const query = req.getQuery() ?? '';
        const origin = req.getHeader('origin');
        let aborted = false;
        res.onAborted(() => {
          aborted = true;
        });
        void devTokens(query).then((reply) => {
          if (!aborted) res.cork(() => this.writeJson(res, reply.status, reply.body, origin, [['Cache-Control', 'no-store']]));
        });
      });
    }
    const api = o.api;
    this.app.any('/v1/*', (res, req) => {
      // Request fields are only valid synchronously, inside this handler.
      const request = { method: req.getMethod(), path: req.getUrl(), query: req.getQuery() ?? '', authorization: req.getHeader('authorization') };
      const origin = req.getHeader('origin');
      if (request.method === 'options') {
        const answer = preflight(o.cors, origin);
        res.writeStatus(statusLine(answer.status));
        for (const [k, v] of answer.headers) res.writeHeader(k, v);
        res.end();
        return;
      }
      if (!api) {
        this.writeJson(res, 404, { code: ErrorCode.BadRequest, error: 'no such endpoint' }, origin);
        return;
      }
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      const answer = (body?: Uint8Array) =>
        void api.handle(body === undefined ? request : { ...request, body }).then((reply) => {
          if (!aborted) res.cork(() => this.writeJson(res, reply.status, reply.body, origin));
        });
      if (request.method !== 'post' && request.method !== 'delete') {
        answer();
        return;
      }
      // Bodies (group membership changes, publishes) are read whole, up to a bound: a larger
      // one is refused before it is buffered any further.
      const chunks: Buffer[] = [];
      let size = 0;
      let refused = false;
      res.onData((chunk, isLast) => {
        if (refused || aborted) return;
        size += chunk.byteLength;
        if (size > MAX_API_BODY_BYTES) {
          refused = true;
          res.cork(() => this.writeJson(res, 413, { code: ErrorCode.PayloadTooLarge, error: `the body is larger than ${MAX_API_BODY_BYTES} bytes` }, origin));
          return;
        }
        // The chunk is only valid during this call: copy it.
        chunks.push(Buffer.from(new Uint8Array(chunk)));
        if (isLast) answer(new Uint8Array(Buffer.concat(chunks)));
      });
    });
    const files = o.staticFiles;
    if (files) {
      // Same-origin pages of a demo: no CORS, and never cached stale while it is edited.
      this.app.get('/', (res) => {
        res.writeStatus('302 Found').writeHeader('Location', STATIC_PREFIX).end();
      });
      this.app.get(STATIC_PREFIX.slice(0, -1), (res) => {
        res.writeStatus('301 Moved Permanently').writeHeader('Location', STATIC_PREFIX).end();
      });
      this.app.get(`${STATIC_PREFIX}*`, (res, req) => {
        const file = files.lookup(req.getUrl());
        if (!file) {
          res.writeStatus('404 Not Found').writeHeader('Content-Type', 'text/plain; charset=utf-8').end('not found\n');
          return;
        }
        res.writeHeader('Content-Type', file.contentType).writeHeader('Cache-Control', 'no-cache').writeHeader('X-Content-Type-Options', 'nosniff').end(file.body);
      });
    }
    this.app.any('/*', (res) => {
      res.writeStatus('404 Not Found').end('not found; connect a WebSocket to /\n');
    });
  }

  /** A JSON answer with the CORS headers for `origin`; call corked when outside the request handler (also for UwsSseResponse). */
  writeJson(res: HttpResponse, status: number, body: unknown, origin: string, headers: Array<[string, string]> = []): void {
    res.writeStatus(statusLine(status)).writeHeader('Content-Type', 'application/json');
    for (const [k, v] of [...corsHeaders(this.o.cors, origin), ...headers]) res.writeHeader(k, v);
    res.end(toJson(body));
  }

  private open(ws: WebSocket<SocketData>): void {
    const data = ws.getUserData().c;
    data.ws = ws;
    if (this.connections >= this.o.maxConnections) {
      // Closed with a code rather than refused at the upgrade, so the client knows to try
      // another node later instead of seeing a bare HTTP error.
      data.ended = true;
      this.o.metrics.drops.inc({ reason: 'connection_limit' });
      ws.end(CloseCode.ConnectionLimit, 'node full: try again later or another node');
      return;
    }
    data.index = this.sockets.length;
    this.sockets.push(ws);
    this.o.metrics.connectionsOpened.inc();
    this.byClient.set(data.clientId, ws);
    data.connectTimer = setTimeout(() => data.connectTimedOut(), this.o.connectTimeoutMs);
    data.connectTimer.unref();
  }

  /** A connection id unique on this node (WebSocket and SSE share the space: presence sees both). */
  private newClientId(): string {
    return `${this.nodeId}-${(this.nextClient++).toString(36)}`;
  }

  /** @internal for UwsSseResponse: the CORS headers for a request from `origin`. */
  corsHeaders(origin: string): Array<[string, string]> {
    return corsHeaders(this.o.cors, origin);
  }

  /** @internal for UwsConnection: counts a direct send's outcome. */
  countSend(sent: number): void {
    if (sent === 0) this.o.metrics.backpressure.inc();
    else if (sent === 2) this.o.metrics.drops.inc({ reason: 'backpressure_limit' });
  }

  /** @internal for UwsConnection */
  get presenceReports(): PresenceReports | undefined {
    return this.o.presence;
  }

  /**
   * Resolves once the socket's unsent bytes fall under a quarter of the backpressure limit
   * (or it closed), so a catch-up never pushes a socket over the limit by itself.
   */
  /** @internal for UwsConnection */
  async drained(ws: WebSocket<SocketData>, data: UwsConnection): Promise<void> {
    const low = this.o.maxBackpressureBytes / 4;
    while (!data.ended && ws.getBufferedAmount() > low) await new Promise((r) => setTimeout(r, 5));
  }

  /**
   * Sends one live frame to every local subscriber of `channel`: encoded once, sent as is.
   * With `excludeClient` (publish with `echo: false`) held here and subscribed, that socket's
   * own `ws.publish` reaches everyone but itself, and it gets a `skip` notice instead. A
   * personal channel goes to its holders one by one (direct-channels.ts), in the same order.
   */
  deliver(channel: ChannelName, frame: Uint8Array, excludeClient?: string): void {
    this.o.metrics.liveFrames.inc();
    const sse = this.sse?.deliver(channel, frame) ?? 0;
    if (isDirectChannel(channel)) {
      // No array made per frame: most personal channels have one holder, kept without one.
      const held = this.direct.of(channel);
      let sent = 0;
      if (Array.isArray(held)) for (const ws of held as readonly WebSocket<SocketData>[]) sent += this.sendDirect(ws, frame, excludeClient);
      else if (held !== undefined) sent = this.sendDirect(held as WebSocket<SocketData>, frame, excludeClient);
      this.o.metrics.framesOut.inc(sent + sse);
      return;
    }
    this.o.metrics.framesOut.inc(this.app.numSubscribers(channel) + sse);
    const sender = excludeClient === undefined ? undefined : this.byClient.get(excludeClient);
    if (sender === undefined || sender.getUserData().c.ended || !sender.isSubscribed(channel)) {
      this.app.publish(channel, frame, true, false);
      return;
    }
    sender.publish(channel, frame, true, false);
    const notice = skipNotice(frame);
    if (notice !== undefined) sender.send(notice, true);
  }

  /** One live frame to one holder of a personal channel; 1 when it was sent. */
  private sendDirect(ws: WebSocket<SocketData>, frame: Uint8Array, excludeClient: string | undefined): number {
    const c = ws.getUserData().c;
    if (c.ended) return 0;
    if (excludeClient !== undefined && c.clientId === excludeClient) {
      const notice = skipNotice(frame);
      if (notice !== undefined) ws.send(notice, true);
      return 0;
    }
    this.countSend(ws.send(frame, true));
    return 1;
  }

  /** @internal for UwsConnection: starts the local fan-out of `channel` to `ws`. */
  join(ws: WebSocket<SocketData>, channel: ChannelName): void {
    if (isDirectChannel(channel)) this.direct.add(channel, ws);
    else ws.subscribe(channel);
  }

  /** @internal for UwsConnection */
  leave(ws: WebSocket<SocketData>, channel: ChannelName): void {
    if (isDirectChannel(channel)) this.direct.remove(channel, ws);
    else ws.unsubscribe(channel);
  }

  /**
   * Closes every socket that receives `channel` live (joined its topic, or holds it) with
   * `code`: the node lost frames of the channel it could not heal, so those clients must
   * resume with `since`. Topics are left first, so nothing after the hole reaches them. Scans
   * all sockets for a topic: rare (a failed heal), never per frame.
   */
  closeSubscribers(channel: ChannelName, code: number, reason: string): number {
    let n = this.sse?.closeSubscribers(channel, code, reason) ?? 0;
    const receivers = isDirectChannel(channel) ? this.direct.copyOf(channel) : this.sockets.filter((ws) => ws.isSubscribed(channel));
    for (const ws of receivers) {
      if (ws.getUserData().c.ended) continue;
      this.leave(ws, channel);
      for (const topic of ws.getTopics()) ws.unsubscribe(topic);
      this.closeSocket(ws, code, reason);
      n++;
    }
    return n;
  }

  /** Re-checks the subscriptions of every connection of these users (their group membership shrank). */
  revalidateUsers(users: ReadonlySet<string>, reason: string): void {
    this.sse?.revalidateUsers(users, reason);
    for (const ws of this.sockets) {
      const connection = ws.getUserData().c;
      const user = connection.user;
      if (user !== undefined && users.has(user)) connection.revalidate(reason);
    }
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen(this.o.host, this.o.port, (token) => {
        if (!token) {
          reject(new Error(`cannot listen on ${this.o.host}:${this.o.port} (address in use or not available)`));
          return;
        }
        this.listenSocket = token;
        this.sweepTimer ??= setInterval(() => this.sweep.tick(), SWEEP_TICK_MS);
        this.sweepTimer.unref();
        this.boundPort = uws.us_socket_local_port(token as never);
        resolve(this.boundPort);
      });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  /** Unsent bytes buffered over all connections (from the slow-consumer sweep). */
  get sendBufferBytes(): number {
    return this.sweep.bufferedBytes;
  }

  /** WebSocket connections and SSE streams (open or being opened). */
  get connections(): number {
    return this.sockets.length + (this.sse?.count ?? 0);
  }

  /** Stops accepting connections and closes every open one with 1001 (going away). */
  close(): void {
    this.stopAccepting();
    for (const ws of this.sockets.slice()) this.closeSocket(ws, CloseCode.GoingAway, 'server shutting down');
    for (const c of this.sse?.drainConnections() ?? []) c.close(CloseCode.GoingAway, 'server shutting down');
  }

  private stopAccepting(): void {
    this.accepting = false;
    this.sse?.stopAccepting();
    if (this.listenSocket) uws.us_listen_socket_close(this.listenSocket);
    this.listenSocket = undefined;
  }

  private removeSocket(ws: WebSocket<SocketData>, data: UwsConnection): void {
    const i = data.index;
    if (this.sockets[i] !== ws) return;
    const last = this.sockets.pop()!;
    if (last === ws) return;
    this.sockets[i] = last;
    last.getUserData().c.index = i;
  }

  private closeSocket(ws: WebSocket<SocketData>, code: number, reason: string): void {
    ws.getUserData().c.close(code, reason);
  }

  /** This node as the drain sees it (drain.ts). */
  drainTarget(): DrainTarget {
    const toConnection = (ws: WebSocket<SocketData>): DrainingConnection => ({
      advise: (delay) => {
        if (!ws.getUserData().c.ended) ws.send(encodeServerFrame({ t: FrameType.Reconnect, delay, reason: 'server draining' }), true);
      },
      close: (code, reason) => this.closeSocket(ws, code, reason),
    });
    const sockets = this.sockets;
    const sse = this.sse;
    return {
      stopAccepting: () => this.stopAccepting(),
      connections: () => [...sockets.map(toConnection), ...(sse?.drainConnections() ?? [])],
      get openConnections() {
        return sockets.length + (sse?.count ?? 0);
      },
    };
  }
}

/** uWS's user data of a socket (uWS copies it onto the socket object: keep it one property). */
interface SocketData {
  c: UwsConnection;
}

/**
 * One WebSocket connection: its session and that session's socket, in one object (a session
 * is its own socket when given none; two objects were 32 B more per connection). A class rather
 * than an object of closures: its methods live once on the prototype, which matters at hundreds
 * of thousands of connections. Every socket method is a no-op once the socket closed (uWS
 * forbids touching a closed socket).
 */
class UwsConnection extends Session implements ClientSocket {
  /** Set when the socket opens (user data is made at the upgrade, before the socket exists). */
  ws!: WebSocket<SocketData>;
  /** The socket closed, or is being closed by us: nothing more is sent. */
  ended = false;
  /** The connection was reported to presence (it has an identity). */
  present = false;
  /** Its place in the transport's list of open sockets (-1: not in it). */
  index = -1;
  connectTimer: NodeJS.Timeout | undefined = undefined;

  constructor(
    private readonly transport: Transport,
    node: SessionNode,
    clientId: string,
  ) {
    super(node, undefined, clientId);
  }

  send(frame: Uint8Array): void {
    if (!this.ended) this.transport.countSend(this.ws.send(frame, true));
  }

  end(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.ws.end(code, reason.slice(0, 120));
  }

  join(channel: ChannelName): void {
    if (this.ended) return;
    this.transport.join(this.ws, channel);
    if (this.present) this.transport.presenceReports?.join(this.clientId, channel);
  }

  leave(channel: ChannelName): void {
    if (this.ended) return;
    this.transport.leave(this.ws, channel);
    if (this.present) this.transport.presenceReports?.leave(this.clientId, channel);
  }

  drained(): Promise<void> {
    return this.transport.drained(this.ws, this);
  }

  identified(identity: Identity): void {
    // Connected in time: the deadline's timer would only hold memory until it fired.
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.present = true;
    this.transport.presenceReports?.connect(this.clientId, identity.user);
  }
}

const SSE_HEADERS: ReadonlyArray<[string, string]> = [
  ['Content-Type', 'text/event-stream; charset=utf-8'],
  ['Cache-Control', 'no-cache, no-transform'],
  ['X-Accel-Buffering', 'no'],
  ['Connection', 'keep-alive'],
];

/**
 * One `GET /v1/sse` response as the SSE stream sees it. The status line and headers go out
 * with the first write; every write is corked (calls come from NATS callbacks and timers,
 * outside uWS's request handler). Nothing touches the response once it was answered, ended,
 * closed or aborted (uWS forbids it).
 */
class UwsSseResponse implements SseResponse {
  aborted = false;
  private done = false;
  private started = false;
  private events: { writable(): void; aborted(): void } | undefined;

  constructor(
    private readonly res: HttpResponse,
    private readonly origin: string,
    private readonly transport: Transport,
  ) {
    res.onAborted(() => {
      this.aborted = true;
      if (this.done) return;
      this.done = true;
      this.events?.aborted();
    });
    res.onWritable(() => {
      if (!this.done) this.events?.writable();
      return true;
    });
  }

  bind(events: { writable(): void; aborted(): void }): void {
    this.events = events;
  }

  refuse(status: number, body: SseRefusal): void {
    if (this.done) return;
    if (this.started) {
      // Too late for a status: the stream is already flowing.
      this.end();
      return;
    }
    this.done = true;
    this.res.cork(() => this.transport.writeJson(this.res, status, body, this.origin));
  }

  write(chunks: readonly SseChunk[]): boolean {
    if (this.done) return true;
    let ok = true;
    this.res.cork(() => {
      this.head();
      for (const c of chunks) if (!this.res.write(c)) ok = false;
    });
    return ok;
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    this.res.cork(() => {
      this.head();
      this.res.end();
    });
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    // Only after what was written left the cork buffer (the callers' writes are uncorked by now).
    this.res.close();
  }

  private head(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeStatus('200 OK');
    for (const [k, v] of SSE_HEADERS) this.res.writeHeader(k, v);
    for (const [k, v] of this.transport.corsHeaders(this.origin)) this.res.writeHeader(k, v);
  }
}

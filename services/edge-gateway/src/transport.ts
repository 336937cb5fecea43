// The uWebSockets.js adapter: accepts upgrades, maps each socket to a Session, fans live
// frames out with uWS topics (the same bytes to every local subscriber), and serves the
// HTTP health endpoints. uWS is imported nowhere else.
import { randomBytes } from 'node:crypto';
import type { TemplatedApp, WebSocket, us_listen_socket } from 'uWebSockets.js';
import type { ChannelName } from '@cascade/protocol';
import { CloseCode } from '@cascade/protocol';
import { uws } from './uws.js';
import { Session, type SessionDeps } from './session.js';

export interface TransportOptions {
  host: string;
  port: number;
  maxFrameBytes: number;
  maxBackpressureBytes: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  /** Everything a session needs except its socket and id. */
  session: Omit<SessionDeps, 'socket' | 'clientId'>;
  ready(): boolean;
  health(): Record<string, unknown>;
}

/** The transport's hard cut-off for one frame: twice the protocol limit, at least 64 KiB more. */
export function hardFrameLimit(maxFrameBytes: number): number {
  return Math.max(2 * maxFrameBytes, maxFrameBytes + 64 * 1024);
}

interface SocketData {
  session?: Session;
  closed: boolean;
  connectTimer?: NodeJS.Timeout;
}

export class Transport {
  private readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | undefined;
  private readonly sockets = new Set<WebSocket<SocketData>>();
  private readonly nodeId = randomBytes(4).toString('hex');
  private nextClient = 0;
  private boundPort = 0;

  constructor(private readonly o: TransportOptions) {
    this.app = uws.App();
    this.app.ws<SocketData>('/*', {
      compression: uws.DISABLED,
      // uWS drops a socket over this limit without a close frame, so its hard limit sits above
      // ours: a frame between the two gets a clear PayloadTooLarge error from the decoder and
      // the connection stays; only a grossly oversized one is cut.
      maxPayloadLength: hardFrameLimit(o.maxFrameBytes),
      maxBackpressure: o.maxBackpressureBytes,
      // A client that cannot keep up is closed rather than silently skipped, so it can
      // reconnect and resume instead of missing messages without knowing.
      closeOnBackpressureLimit: 1,
      idleTimeout: Math.max(8, Math.round(o.idleTimeoutMs / 1000)),
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => {
        // Request headers are only valid synchronously, inside this handler.
        const key = req.getHeader('sec-websocket-key');
        const protocol = req.getHeader('sec-websocket-protocol');
        const extensions = req.getHeader('sec-websocket-extensions');
        res.upgrade<SocketData>({ closed: false }, key, protocol, extensions, context);
      },
      open: (ws) => this.open(ws),
      message: (ws, message, isBinary) => {
        // The ArrayBuffer is only valid during this call; decoding copies what it keeps.
        ws.getUserData().session?.receive(new Uint8Array(message), isBinary);
      },
      close: (ws) => {
        const data = ws.getUserData();
        data.closed = true;
        clearTimeout(data.connectTimer);
        this.sockets.delete(ws);
        data.session?.closed();
      },
    });
    this.app.get('/healthz', (res) => {
      res.writeHeader('content-type', 'application/json').end(JSON.stringify({ status: 'ok', ...o.health() }));
    });
    this.app.get('/readyz', (res) => {
      const ok = o.ready();
      res.writeStatus(ok ? '200 OK' : '503 Service Unavailable').end(ok ? 'ready\n' : 'not ready\n');
    });
    this.app.any('/*', (res) => {
      res.writeStatus('404 Not Found').end('not found; connect a WebSocket to /\n');
    });
  }

  private open(ws: WebSocket<SocketData>): void {
    const data = ws.getUserData();
    this.sockets.add(ws);
    const clientId = `${this.nodeId}-${(this.nextClient++).toString(36)}`;
    const session = new Session({
      ...this.o.session,
      clientId,
      socket: {
        send: (frame) => {
          if (!data.closed) ws.send(frame, true);
        },
        close: (code, reason) => {
          if (data.closed) return;
          data.closed = true;
          ws.end(code, reason.slice(0, 120));
        },
        join: (channel) => {
          if (!data.closed) ws.subscribe(channel);
        },
        leave: (channel) => {
          if (!data.closed) ws.unsubscribe(channel);
        },
      },
    });
    data.session = session;
    data.connectTimer = setTimeout(() => session.connectTimedOut(), this.o.connectTimeoutMs);
    data.connectTimer.unref();
  }

  /** Sends one live frame to every local subscriber of `channel`: encoded once, sent as is. */
  deliver(channel: ChannelName, frame: Uint8Array): void {
    this.app.publish(channel, frame, true, false);
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen(this.o.host, this.o.port, (token) => {
        if (!token) {
          reject(new Error(`cannot listen on ${this.o.host}:${this.o.port} (address in use or not available)`));
          return;
        }
        this.listenSocket = token;
        this.boundPort = uws.us_socket_local_port(token as never);
        resolve(this.boundPort);
      });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** Stops accepting connections and closes every open one with 1001 (going away). */
  close(): void {
    if (this.listenSocket) uws.us_listen_socket_close(this.listenSocket);
    this.listenSocket = undefined;
    for (const ws of [...this.sockets]) ws.getUserData().session?.close(CloseCode.GoingAway, 'server shutting down');
  }
}

// How the generator speaks to each system under test: the upgrade path, the handshake that
// makes a connection "ready" (subscribed, or able to publish), and the publish frame. The
// deliveries themselves are found by the payload marker, whatever the framing around it.
import { createHmac } from 'node:crypto';
import { Decoder, Encoder } from '@msgpack/msgpack';
import { findT0, nowUs } from './payload.js';
import type { RawWs } from './ws-client.js';

export type DialectName = 'cascade' | 'cascade-ephemeral' | 'plain' | 'socketio' | 'nats';
/** 'sub': subscribe to the connection's channels; 'pub': publish; 'conn': only the (authenticated) handshake. */
export type Role = 'sub' | 'pub' | 'conn';

export interface DeliverySink {
  /** One delivered payload whose send time was `t0Us`, received at `atUs`. */
  delivered(t0Us: number, atUs: number): void;
}

export interface ConnOptions {
  role: Role;
  /** The publisher's channel, or the subscriber's only one. */
  ch: string;
  /** A subscriber's channels (default: [ch]). */
  channels?: string[];
  /**
   * Sign a development token for user `u<index>`: Cascade verifies it (and gives the user a
   * personal channel); the uWS, ws and Socket.IO peers verify it when started with the secret.
   */
  hs256Secret?: string;
  /** A subscriber without a token that must still hold its user's channel (NATS). */
  personal?: boolean;
  index: number;
}

/** One connection's protocol state. */
export interface Driver {
  readonly path: string;
  /** Called once upgraded; sends the handshake. */
  start(ws: RawWs): void;
  /** Handles every message; returns 'ready' once, or an error text when the server refused. */
  onMessage(ws: RawWs, data: Buffer, binary: boolean, sink: DeliverySink): 'ready' | string | undefined;
  /** The bytes of one publish carrying `payload` to `ch`. */
  publishFrame(payload: Buffer, ch: string): Uint8Array;
  /** Publishes acknowledged / refused so far (Cascade replies to each; others do not). */
  acks: number;
  errors: number;
}

function scan(data: Buffer, sink: DeliverySink): number {
  let n = 0;
  let at = 0;
  for (let i = findT0(data, 0); i >= 0; i = findT0(data, i + 8)) {
    if (n === 0) at = nowUs();
    sink.delivered(data.readDoubleBE(i), at);
    n += 1;
  }
  return n;
}

// One encoder and decoder per process: msgpack's encode()/decode() build new ones per call
// (a CachedKeyDecoder's tables each time), which was a few per cent of a storm's generator
// core. encode() returns a copy, so sharing is safe.
const encoder = new Encoder();
const decoder = new Decoder();
const encode = (v: unknown): Uint8Array => encoder.encode(v);
const decode = (b: Uint8Array): unknown => decoder.decode(b);

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');
const JWT_HEAD = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

/** An HS256 JWT built by hand, so the bench needs no JWT library. */
export function hs256Token(secret: string, claims: Record<string, unknown>): string {
  // Every token expires, as production tokens do (verifiers check exp).
  claims = { exp: Math.floor(Date.now() / 1000) + 3600, ...claims };
  const head = JWT_HEAD;
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

const DATA_KEY = Buffer.from(encode('data'));

class CascadeDriver implements Driver {
  readonly path = '/';
  acks = 0;
  errors = 0;
  private nextId = 1_000_000;
  private ready = false;
  private pendingSubs = 0;
  private readonly channels: string[];
  /** `ephemeral` publishes t:5 frames: core NATS only, no JetStream and no worker. */
  constructor(
    private readonly o: ConnOptions,
    private readonly ephemeral = false,
  ) {
    this.channels = o.channels ?? [o.ch];
  }

  start(ws: RawWs): void {
    const token = this.o.hs256Secret === undefined ? undefined : hs256Token(this.o.hs256Secret, { sub: `u${this.o.index}` });
    ws.send(encode(token === undefined ? { t: 1, client: 'cascade-bench/0.1' } : { t: 1, token, client: 'cascade-bench/0.1' }));
  }

  onMessage(ws: RawWs, data: Buffer, binary: boolean, sink: DeliverySink): 'ready' | string | undefined {
    if (scan(data, sink) > 0) return undefined;
    if (!binary) return `unexpected text frame ${data.toString('utf8', 0, 80)}`;
    const f = decode(data) as { t?: number; id?: number; code?: number; msg?: string; message?: string };
    if (f.t === 101) {
      if (this.o.role !== 'sub') return this.becomeReady();
      // Subscribe ids 1..n; ready once all are confirmed.
      this.pendingSubs = this.channels.length;
      ws.sendMany(this.channels.map((ch, i) => encode({ t: 2, id: i + 1, ch })));
      return undefined;
    }
    if (f.t === 102) {
      if (!this.ready && f.id !== undefined && f.id <= this.channels.length) {
        this.pendingSubs -= 1;
        return this.pendingSubs === 0 ? this.becomeReady() : undefined;
      }
      this.acks += 1;
      return undefined;
    }
    if (f.t === 106) {
      this.errors += 1;
      return this.ready ? undefined : `error frame ${JSON.stringify(f)}`;
    }
    return undefined;
  }

  private becomeReady(): 'ready' {
    this.ready = true;
    return 'ready';
  }

  // The publish map is encoded once without `data`, widened by one entry, and the payload
  // appended as is: the same trick the edge uses so the bytes reach subscribers verbatim.
  publishFrame(payload: Buffer, ch: string): Uint8Array {
    if (this.ephemeral) {
      const head = Buffer.from(encode({ t: 5, ch }));
      head[0] = head[0]! + 1;
      return Buffer.concat([head, DATA_KEY, payload]);
    }
    const id = this.nextId;
    this.nextId = this.nextId >= 0xfffffff0 ? 1_000_000 : this.nextId + 1;
    const head = Buffer.from(encode({ t: 4, id, ch }));
    head[0] = head[0]! + 1;
    return Buffer.concat([head, DATA_KEY, payload]);
  }
}

/**
 * The peers in bench/peers: channels named in the URL (`?ch=a,b`), "ok" once subscribed (and,
 * with `&token=`, authenticated), any binary message is a publish. A publisher opened with
 * `?pub=*` names the channel in each message: one length byte, the name, then the payload.
 */
class PlainDriver implements Driver {
  readonly path: string;
  acks = 0;
  errors = 0;
  constructor(private readonly o: ConnOptions) {
    const auth = o.hs256Secret === undefined ? '' : `&token=${hs256Token(o.hs256Secret, { sub: `u${o.index}` })}`;
    const chs = (o.channels ?? [o.ch]).map(encodeURIComponent).join(',');
    this.path = o.role === 'sub' ? `/?ch=${chs}${auth}` : o.role === 'pub' ? `/?pub=*${auth}` : `/?x=${auth}`;
  }
  start(): void {}
  onMessage(_ws: RawWs, data: Buffer, binary: boolean, sink: DeliverySink): 'ready' | string | undefined {
    if (scan(data, sink) > 0) return undefined;
    return !binary && data.toString() === 'ok' ? 'ready' : undefined;
  }
  publishFrame(payload: Buffer, ch: string): Uint8Array {
    const name = Buffer.from(ch);
    return Buffer.concat([Buffer.from([name.length]), name, payload]);
  }
}

/**
 * Engine.IO 4 over a WebSocket, Socket.IO packets in msgpack (socket.io-msgpack-parser). The
 * token, when signed, travels in the namespace CONNECT packet (`auth`), as Socket.IO clients
 * send it.
 */
class SocketIoDriver implements Driver {
  readonly path: string;
  acks = 0;
  errors = 0;
  constructor(private readonly o: ConnOptions) {
    const q = o.role === 'sub' ? `ch=${(o.channels ?? [o.ch]).map(encodeURIComponent).join(',')}` : o.role === 'pub' ? 'pub=*' : 'x=';
    this.path = `/socket.io/?EIO=4&transport=websocket&${q}`;
  }
  start(): void {}
  onMessage(ws: RawWs, data: Buffer, binary: boolean, sink: DeliverySink): 'ready' | string | undefined {
    if (binary) {
      if (scan(data, sink) > 0) return undefined;
      const p = decode(data) as { type?: number; data?: unknown };
      if (p.type === 2 && Array.isArray(p.data) && p.data[0] === 'ok') return 'ready';
      if (p.type === 4) return `connect error ${JSON.stringify(p.data)}`;
      return undefined;
    }
    const text = data.toString('latin1');
    if (text === '2') ws.send(Buffer.from('3'), false); // engine.io ping → pong
    else if (text.startsWith('0')) {
      // open → connect the default namespace (with the token as `auth`)
      const token = this.o.hs256Secret === undefined ? undefined : hs256Token(this.o.hs256Secret, { sub: `u${this.o.index}` });
      ws.send(encode(token === undefined ? { type: 0, nsp: '/' } : { type: 0, nsp: '/', data: { token } }));
    }
    return undefined;
  }
  publishFrame(payload: Buffer, ch: string): Uint8Array {
    return encode({ type: 2, nsp: '/', data: ['p', ch, payload] });
  }
}

const PING = Buffer.from('PING\r\n');
const PONG = Buffer.from('PONG\r\n');

const subjectOf = (ch: string) => `bench.${ch.replace(/[^A-Za-z0-9_-]/g, '_')}`;

/**
 * The NATS text protocol over nats-server's WebSocket listener; messages may span frames.
 * No authentication: nats-server's own JWT scheme (operator, accounts, nkey signatures) is a
 * different, heavier handshake; its storm figure is therefore an upper bound.
 */
class NatsDriver implements Driver {
  readonly path = '/';
  acks = 0;
  errors = 0;
  private tail: Buffer | undefined;
  private ready = false;
  constructor(private readonly o: ConnOptions) {}
  start(): void {}
  onMessage(ws: RawWs, data: Buffer, _binary: boolean, sink: DeliverySink): 'ready' | string | undefined {
    // A payload cut between two frames is found by scanning the previous frame's tail too.
    const buf = this.tail === undefined ? data : Buffer.concat([this.tail, data]);
    scan(buf, sink);
    // 12 bytes cannot hold a whole marker plus value (13), so nothing is counted twice.
    this.tail = Buffer.from(buf.subarray(Math.max(0, buf.length - 12)));
    if (buf.indexOf(PING) >= 0) ws.send(PONG);
    if (!this.ready) {
      if (buf.includes('INFO ')) {
        const channels = [...(this.o.channels ?? [this.o.ch]), ...(this.o.personal ? [`user:u${this.o.index}`] : [])];
        const subs = this.o.role === 'sub' ? channels.map((ch, i) => `SUB ${subjectOf(ch)} ${i + 1}\r\n`).join('') : '';
        ws.send(Buffer.from(`CONNECT {"verbose":false,"pedantic":false,"protocol":1,"echo":false,"lang":"bench","version":"0.1"}\r\n${subs}PING\r\n`));
        return undefined;
      }
      if (buf.indexOf(PONG) >= 0) {
        this.ready = true;
        return 'ready';
      }
      if (buf.includes('-ERR')) return buf.toString('utf8', 0, 120);
    }
    return undefined;
  }
  publishFrame(payload: Buffer, ch: string): Uint8Array {
    return Buffer.concat([Buffer.from(`PUB ${subjectOf(ch)} ${payload.length}\r\n`), payload, Buffer.from('\r\n')]);
  }
}

export function driverFor(dialect: DialectName, o: ConnOptions): Driver {
  switch (dialect) {
    case 'cascade':
      return new CascadeDriver(o);
    case 'cascade-ephemeral':
      return new CascadeDriver(o, true);
    case 'plain':
      return new PlainDriver(o);
    case 'socketio':
      return new SocketIoDriver(o);
    case 'nats':
      return new NatsDriver(o);
  }
}

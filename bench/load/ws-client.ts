// A lean WebSocket client over a raw TCP socket: one upgrade request, then a frame parser
// that hands each message to a callback as a view of the received chunk (no copy, no event
// per message). `ws` allocates and emits per message, which would make the generator, not
// the server under test, the bottleneck at hundreds of thousands of deliveries per second.
import { randomFillSync } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface WsHandlers {
  /** One complete message; `data` is only valid during the call. */
  message(ws: RawWs, data: Buffer, binary: boolean): void;
  close(reason: string): void;
}

const OP_CONT = 0x0;
const OP_TEXT = 0x1;
const OP_BIN = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const MAX_HEADER_BYTES = 8192;
/**
 * One read buffer for every socket of the process (`onread`): the kernel's bytes land in it
 * and are parsed at once, without the stream machinery's allocation and 'data' event per
 * read. Whatever must outlive the callback (a partial frame, fragments) is copied.
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

// Masks and handshake keys come from one pool refilled 64 KiB at a time: randomBytes per
// connection (twice) was about 5 % of a storm's generator core.
const RANDOM = Buffer.allocUnsafe(64 * 1024);
let randomAt = RANDOM.length;
function randomSlice(n: number): Buffer {
  if (randomAt + n > RANDOM.length) {
    randomFillSync(RANDOM);
    randomAt = 0;
  }
  randomAt += n;
  return RANDOM.subarray(randomAt - n, randomAt);
}

export class RawWs {
  private buf: Buffer | undefined;
  private upgraded = false;
  private closed = false;
  private fragments: Buffer[] = [];
  private fragmentOp = OP_BIN;
  private readonly mask = Buffer.from(randomSlice(4));

  private constructor(
    private readonly socket: Socket,
    private readonly h: WsHandlers,
  ) {}

  /** Connects and upgrades; rejects on refusal, a non-101 answer or after `timeoutMs`. */
  static open(o: { host: string; port: number; path: string; localAddress?: string; timeoutMs: number }, h: WsHandlers): Promise<RawWs> {
    return new Promise((resolve, reject) => {
      let ws!: RawWs;
      const socket = connect({
        host: o.host,
        port: o.port,
        localAddress: o.localAddress,
        noDelay: true,
        onread: { buffer: READ_BUFFER, callback: (n: number, buf: Uint8Array) => ws.onRead(buf.subarray(0, n) as Buffer) !== false },
      });
      ws = new RawWs(socket, h);
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(new Error(why));
      };
      const timer = setTimeout(() => fail(`upgrade timed out after ${o.timeoutMs} ms`), o.timeoutMs);
      socket.once('connect', () => {
        const key = randomSlice(16).toString('base64');
        socket.write(
          `GET ${o.path} HTTP/1.1\r\nHost: ${o.host}:${o.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      socket.on('error', (e) => (settled ? ws.end(`socket error: ${e.message}`) : fail(e.message)));
      socket.on('close', () => (settled ? ws.end('socket closed') : fail('closed before upgrade')));
      ws.onUpgradeData = (chunk: Buffer) => {
        ws.buf = ws.buf === undefined ? Buffer.from(chunk) : Buffer.concat([ws.buf, chunk]);
        const end = ws.buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (ws.buf.length > MAX_HEADER_BYTES) fail('upgrade response too large');
          return;
        }
        const head = ws.buf.subarray(0, end).toString('latin1');
        if (!/^HTTP\/1\.1 101/.test(head)) return fail(`upgrade refused: ${head.split('\r\n')[0]}`);
        const rest = ws.buf.subarray(end + 4);
        ws.buf = undefined;
        ws.upgraded = true;
        settled = true;
        clearTimeout(timer);
        resolve(ws);
        if (rest.length > 0) ws.onData(rest);
      };
    });
  }

  private onUpgradeData: (chunk: Buffer) => void = () => {};

  /** Bytes read from the socket; `chunk` is a view of the shared read buffer, valid only now. */
  private onRead(chunk: Buffer): boolean {
    if (this.upgraded) this.onData(chunk);
    else this.onUpgradeData(chunk);
    return true;
  }

  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  /** Sends one message; `frames` below batches many into one write. */
  send(data: Uint8Array, binary = true): void {
    if (!this.closed) this.socket.write(this.frame(data, binary));
  }

  /** Sends several messages with one write call. */
  sendMany(messages: Uint8Array[], binary = true): void {
    if (this.closed || messages.length === 0) return;
    this.socket.write(Buffer.concat(messages.map((m) => this.frame(m, binary))));
  }

  /** Client frames must be masked (RFC 6455 5.3); the key is fixed per connection. */
  private frame(data: Uint8Array, binary: boolean, op = binary ? OP_BIN : OP_TEXT): Buffer {
    const n = data.length;
    const headLen = n < 126 ? 2 : n < 65536 ? 4 : 10;
    const out = Buffer.allocUnsafe(headLen + 4 + n);
    out[0] = 0x80 | op;
    if (n < 126) out[1] = 0x80 | n;
    else if (n < 65536) {
      out[1] = 0x80 | 126;
      out.writeUInt16BE(n, 2);
    } else {
      out[1] = 0x80 | 127;
      out.writeBigUInt64BE(BigInt(n), 2);
    }
    this.mask.copy(out, headLen);
    const m = this.mask;
    for (let i = 0; i < n; i++) out[headLen + 4 + i] = data[i]! ^ m[i & 3]!;
    return out;
  }

  private onData(chunk: Buffer): void {
    let b = this.buf === undefined ? chunk : Buffer.concat([this.buf, chunk]);
    this.buf = undefined;
    let p = 0;
    while (!this.closed) {
      if (b.length - p < 2) break;
      const b0 = b[p]!;
      const b1 = b[p + 1]!;
      let len = b1 & 0x7f;
      let head = 2;
      if (len === 126) {
        if (b.length - p < 4) break;
        len = b.readUInt16BE(p + 2);
        head = 4;
      } else if (len === 127) {
        if (b.length - p < 10) break;
        len = Number(b.readBigUInt64BE(p + 2));
        head = 10;
      }
      // Server frames are never masked (RFC 6455 5.1).
      if (b.length - p < head + len) break;
      const payload = b.subarray(p + head, p + head + len);
      p += head + len;
      this.onFrame(b0 & 0x0f, (b0 & 0x80) !== 0, payload);
    }
    if (p < b.length && !this.closed) {
      b = b.subarray(p);
      // Keep only the unread tail; copying detaches it from the (possibly large) chunk.
      this.buf = Buffer.from(b);
    }
  }

  private onFrame(op: number, fin: boolean, payload: Buffer): void {
    if (op === OP_BIN || op === OP_TEXT) {
      if (fin) return this.h.message(this, payload, op === OP_BIN);
      this.fragmentOp = op;
      this.fragments = [Buffer.from(payload)];
      return;
    }
    if (op === OP_CONT) {
      this.fragments.push(Buffer.from(payload));
      if (fin) {
        const whole = Buffer.concat(this.fragments);
        this.fragments = [];
        this.h.message(this, whole, this.fragmentOp === OP_BIN);
      }
      return;
    }
    if (op === OP_PING) {
      this.socket.write(this.frame(payload, true, 0xa));
      return;
    }
    if (op === OP_CLOSE) {
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      this.end(`closed by server (${code} ${payload.subarray(2).toString('utf8')})`);
    }
  }

  private end(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.h.close(reason);
  }

  /** Closes the TCP socket at once (no close handshake: the benchmark only needs it gone). */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
  }
}

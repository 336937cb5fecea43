// A WebSocket test client speaking msgpack frames, with awaitable access to what it receives.
import { decode, encode } from '@msgpack/msgpack';
import WebSocket from 'ws';
import type { RawData } from 'ws';

export interface ConnectOptions {
  protocols?: string[];
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

type Predicate = (frame: any) => boolean;
interface Waiter {
  match: Predicate;
  resolve: (frame: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const DEFAULT_CONNECT_MS = 5_000;
const DEFAULT_NEXT_MS = 5_000;
const DEFAULT_CLOSE_MS = 5_000;
const MAX_LISTED_FRAMES = 50;

function toBytes(data: RawData): Uint8Array {
  // Copy: ws may hand out slices of a shared pool that later frames overwrite.
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  return data instanceof ArrayBuffer ? new Uint8Array(data.slice(0)) : new Uint8Array(data);
}

function decodeFrame(data: RawData, isBinary: boolean): unknown {
  const bytes = toBytes(data);
  if (!isBinary) return { text: Buffer.from(bytes).toString('utf8') };
  try {
    return decode(bytes);
  } catch {
    // Tests assert on undecodable frames explicitly rather than losing them.
    return { undecodable: bytes };
  }
}

function safeMatch(match: Predicate, frame: unknown): boolean {
  try {
    return match(frame);
  } catch {
    // Predicates like f => f.type === 'x' throw on null frames; that frame simply does not match.
    return false;
  }
}

export function describeFrame(frame: unknown): string {
  const text = JSON.stringify(frame, (_key, value: unknown) => {
    if (value instanceof Uint8Array) return `<${value.byteLength} bytes ${Buffer.from(value.subarray(0, 16)).toString('hex')}>`;
    if (typeof value === 'bigint') return `${value}n`;
    return value;
  });
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

export class TestWsClient {
  readonly frames: unknown[] = [];
  private readonly consumed = new Set<number>();
  private readonly waiters: Waiter[] = [];
  private closeInfo: CloseInfo | undefined;
  private readonly closed: Promise<CloseInfo>;
  private lastError: Error | undefined;

  private constructor(
    private readonly ws: WebSocket,
    readonly url: string,
  ) {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data, isBinary) => this.onFrame(decodeFrame(data, isBinary)));
    // Without an 'error' listener ws would crash the test process on a socket error.
    ws.on('error', (err) => {
      this.lastError = err;
    });
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString('utf8') };
        this.rejectWaiters();
        resolve(this.closeInfo);
      });
    });
  }

  static async connect(url: string, o: ConnectOptions = {}): Promise<TestWsClient> {
    const timeoutMs = o.timeoutMs ?? DEFAULT_CONNECT_MS;
    const ws = new WebSocket(url, o.protocols ?? [], { headers: o.headers ?? {}, handshakeTimeout: timeoutMs });
    const client = new TestWsClient(ws, url);
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string): void => {
        ws.terminate();
        reject(new Error(`TestWsClient.connect(${url}): ${why}`));
      };
      ws.once('open', () => resolve());
      ws.once('error', (err) => fail(err.message));
      ws.once('unexpected-response', (req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => fail(`HTTP ${res.statusCode ?? '?'} instead of an upgrade: ${body.slice(0, 500)}`));
        res.on('error', (err) => fail(`HTTP ${res.statusCode ?? '?'} instead of an upgrade (${err.message})`));
        req.on('error', (err) => fail(`HTTP ${res.statusCode ?? '?'} instead of an upgrade (${err.message})`));
      });
    });
    return client;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** The subprotocol the server selected ('' if none). */
  get protocol(): string {
    return this.ws.protocol;
  }

  send(frame: unknown): void {
    this.sendRaw(encode(frame));
  }

  sendRaw(data: Uint8Array | string): void {
    if (!this.isOpen) {
      throw new Error(`TestWsClient(${this.url}): cannot send, socket is not open${this.closeInfo ? ` (closed ${this.closeInfo.code} ${this.closeInfo.reason})` : ''}`);
    }
    if (typeof data === 'string') this.ws.send(data);
    else this.ws.send(data, { binary: true });
  }

  next(match: Predicate = () => true, timeoutMs = DEFAULT_NEXT_MS): Promise<any> {
    for (let i = 0; i < this.frames.length; i++) {
      if (!this.consumed.has(i) && safeMatch(match, this.frames[i])) {
        this.consumed.add(i);
        return Promise.resolve(this.frames[i]);
      }
    }
    if (this.closeInfo !== undefined) return Promise.reject(this.failure('socket closed before a matching frame arrived'));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(this.failure(`no matching frame within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  async waitClosed(timeoutMs = DEFAULT_CLOSE_MS): Promise<CloseInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.failure(`socket not closed within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(code = 1000, reason = ''): Promise<void> {
    if (this.closeInfo !== undefined) return;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
    let timer: NodeJS.Timeout | undefined;
    // A peer that never answers the close handshake must not hang the test.
    const forced = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, DEFAULT_CLOSE_MS);
    });
    await Promise.race([this.closed.then(() => undefined), forced]);
    clearTimeout(timer);
    await this.closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private onFrame(frame: unknown): void {
    const index = this.frames.push(frame) - 1;
    const waiter = this.waiters.find((w) => safeMatch(w.match, frame));
    if (waiter === undefined) return;
    this.waiters.splice(this.waiters.indexOf(waiter), 1);
    clearTimeout(waiter.timer);
    this.consumed.add(index);
    waiter.resolve(frame);
  }

  private rejectWaiters(): void {
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(this.failure('socket closed before a matching frame arrived'));
    }
  }

  private failure(what: string): Error {
    const first = Math.max(0, this.frames.length - MAX_LISTED_FRAMES);
    const seen = this.frames.slice(first).map((f, k) => `  #${first + k}${this.consumed.has(first + k) ? ' (consumed)' : ''} ${describeFrame(f)}`);
    const closed = this.closeInfo ? ` [closed ${this.closeInfo.code} ${JSON.stringify(this.closeInfo.reason)}]` : '';
    const error = this.lastError ? ` [last error: ${this.lastError.message}]` : '';
    return new Error(`TestWsClient(${this.url}): ${what}${closed}${error}; ${this.frames.length} frame(s) seen:\n${seen.join('\n') || '  (none)'}`);
  }
}

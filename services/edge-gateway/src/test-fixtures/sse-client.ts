// A raw SSE client over node:http for the edge's integration tests: it keeps every event
// and comment as parsed from the wire (id, event, data), can stop reading (a slow consumer),
// and reports how the response ended.
import { request, type ClientRequest, type IncomingMessage } from 'node:http';

export interface SseEventRecord {
  id?: string;
  event: string;
  data: string;
  /** `data` parsed as JSON (every event of the edge carries JSON). */
  json: any;
}

export interface SseOpenOptions {
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export class SseTestClient {
  readonly events: SseEventRecord[] = [];
  readonly comments: string[] = [];
  retry: number | undefined;
  /** Resolves when the response ended or the connection dropped ('end' | 'aborted'). */
  readonly ended: Promise<'end' | 'aborted'>;
  private buffer = '';
  private waiters: Array<() => void> = [];
  private endedAs: 'end' | 'aborted' | undefined;

  private constructor(
    private readonly req: ClientRequest,
    readonly res: IncomingMessage,
    /** The body of a refused request (status other than 200). */
    readonly body: string,
  ) {
    this.ended = new Promise((resolve) => {
      const done = (how: 'end' | 'aborted') => {
        if (this.endedAs) return;
        this.endedAs = how;
        this.wake();
        resolve(how);
      };
      res.on('end', () => done('end'));
      res.on('aborted', () => done('aborted'));
      res.on('error', () => done('aborted'));
      res.on('close', () => done(res.complete ? 'end' : 'aborted'));
    });
    if (res.statusCode === 200) {
      res.setEncoding('utf8');
      res.on('data', (d: string) => this.feed(d));
    }
  }

  get status(): number {
    return this.res.statusCode ?? 0;
  }

  get isEnded(): boolean {
    return this.endedAs !== undefined;
  }

  /** Opens `url`; resolves with the response head (a refusal's body read whole). */
  static open(url: string, o: SseOpenOptions = {}): Promise<SseTestClient> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream', ...o.headers } });
      const timer = setTimeout(() => {
        req.destroy();
        reject(new Error(`${url}: no response within ${o.timeoutMs ?? 10_000} ms`));
      }, o.timeoutMs ?? 10_000);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.on('response', (res) => {
        clearTimeout(timer);
        if (res.statusCode === 200) {
          resolve(new SseTestClient(req, res, ''));
          return;
        }
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve(new SseTestClient(req, res, body)));
      });
      req.end();
    });
  }

  /** Stops reading from the socket (the edge's send buffer fills) / reads again. */
  pause(): void {
    this.res.socket.pause();
  }

  resume(): void {
    this.res.socket.resume();
  }

  close(): void {
    this.req.destroy();
  }

  /** The first event (from `from` on) that matches; waits for it. */
  async next(match: (e: SseEventRecord) => boolean, timeoutMs = 10_000, from = 0): Promise<SseEventRecord> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find(match);
      if (found) return found;
      if (this.endedAs) throw new Error(`stream ended (${this.endedAs}) before the event; got ${JSON.stringify(this.events.slice(-5))}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms; last events ${JSON.stringify(this.events.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits until `n` events of the stream's stored messages (no `event:` line) arrived. */
  async messages(n: number, timeoutMs = 10_000): Promise<SseEventRecord[]> {
    const msgs = () => this.events.filter((e) => e.event === 'message');
    const until = Date.now() + timeoutMs;
    while (msgs().length < n) {
      if (this.endedAs) throw new Error(`stream ended with ${msgs().length} of ${n} messages`);
      if (Date.now() > until) throw new Error(`${msgs().length} of ${n} messages within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return msgs();
  }

  private feed(text: string): void {
    this.buffer += text;
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end < 0) break;
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      this.block(block);
    }
    this.wake();
  }

  private block(block: string): void {
    let id: string | undefined;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'retry') this.retry = Number(value);
    }
    if (data.length === 0) return;
    const text = data.join('\n');
    this.events.push({ ...(id === undefined ? {} : { id }), event, data: text, json: JSON.parse(text) });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

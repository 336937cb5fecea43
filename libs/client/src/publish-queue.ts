// Durable publishes waiting for the server's acknowledgement. Each gets an idempotency key
// once, when the application calls publish, and keeps it through every retry, across
// reconnects too: the server stores a (user, channel, key) once within its duplicate window
// and acknowledges a repeat with `dup: true`, so a retry cannot duplicate a message. Pure:
// the clock and random source are injected; the connection sends what `due` returns.
import { ErrorCode, MAX_KEY_LENGTH } from '@cascade/protocol';
import { CascadeError } from './errors.js';

/** Keys the server accepts: 1-128 of A-Z a-z 0-9 _ - : . = + / (docs/protocol.md 5.4). */
const KEY_RE = /^[A-Za-z0-9_\-:.=+/]+$/;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** 16 random bytes (crypto.getRandomValues, in browsers and Node) as 22 base64url characters. */
export function newIdempotencyKey(): string {
  const b = globalThis.crypto.getRandomValues(new Uint8Array(16));
  let out = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    const chars = i + 2 < b.length ? 4 : i + 1 < b.length ? 3 : 2;
    for (let j = 0; j < chars; j++) out += B64URL[(n >> (18 - 6 * j)) & 63];
  }
  return out;
}

export function isValidKey(key: string): boolean {
  return key.length >= 1 && key.length <= MAX_KEY_LENGTH && KEY_RE.test(key);
}

/** Error codes after which the same publish, with the same key, may succeed later. */
export function isRetryablePublishError(code: number): boolean {
  switch (code) {
    case ErrorCode.BadRequest:
    case ErrorCode.InvalidChannel:
    case ErrorCode.PermissionDenied:
    case ErrorCode.PayloadTooLarge:
      return false;
    default:
      // Internal, RateLimited, Unavailable, Timeout, and codes this SDK does not know yet
      // (docs/protocol.md: treat an unknown code like Internal).
      return true;
  }
}

export interface PublishResult {
  /** The server had already accepted a message with this key: nothing new was stored. */
  dup: boolean;
  /** The idempotency key the message was published with. */
  key: string;
}

export interface PublishEntry {
  readonly ch: string;
  readonly data: unknown;
  readonly key: string;
  readonly echo: boolean | undefined;
  /** Sends so far (including ones lost with a connection). */
  attempts: number;
  /** Clock time after which it is given up. */
  readonly deadline: number;
  /** `sent`: on the wire, waiting for its reply. */
  state: 'waiting' | 'sent';
  /** Clock time before which it is not resent (after a retryable error). */
  notBefore: number;
  readonly resolve: (r: PublishResult) => void;
  readonly reject: (e: Error) => void;
}

export interface PublishQueueOptions {
  now?: () => number;
  random?: () => number;
  /** How long a publish may keep retrying before it fails with Timeout (default 60 s). */
  deadlineMs?: number;
}

export class PublishQueue {
  private readonly entries: PublishEntry[] = [];
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly deadlineMs: number;

  constructor(o: PublishQueueOptions = {}) {
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
    this.deadlineMs = o.deadlineMs ?? 60_000;
  }

  get size(): number {
    return this.entries.length;
  }

  /** Queues a publish; throws CascadeError(BadRequest) for a key the server would refuse. */
  add(ch: string, data: unknown, o: { key?: string; echo?: boolean } = {}): { entry: PublishEntry; result: Promise<PublishResult> } {
    const key = o.key ?? newIdempotencyKey();
    if (!isValidKey(key)) {
      throw new CascadeError(ErrorCode.BadRequest, `key must be 1-${MAX_KEY_LENGTH} characters of letters, digits and _ - : . = + /`, 'client', ch);
    }
    let entry!: PublishEntry;
    const result = new Promise<PublishResult>((resolve, reject) => {
      const now = this.now();
      entry = { ch, data, key, echo: o.echo, attempts: 0, deadline: now + this.deadlineMs, state: 'waiting', notBefore: now, resolve, reject };
    });
    this.entries.push(entry);
    return { entry, result };
  }

  /**
   * Waiting entries whose retry time has come, in publish order; they are marked sent.
   * `take` can leave some for later (e.g. one in flight per channel).
   */
  due(take: (e: PublishEntry) => boolean = () => true): PublishEntry[] {
    const now = this.now();
    const out = this.entries.filter((e) => e.state === 'waiting' && e.notBefore <= now && take(e));
    for (const e of out) {
      e.state = 'sent';
      e.attempts++;
    }
    return out;
  }

  /** The connection closed: whatever was on the wire goes out again, with the same key. */
  requeueSent(): void {
    for (const e of this.entries) if (e.state === 'sent') e.state = 'waiting';
  }

  /** The attempt's answer was lost with its connection: send it again (same key) when connected. */
  retryLater(e: PublishEntry): void {
    if (this.entries.includes(e)) e.state = 'waiting';
  }

  acked(e: PublishEntry, dup: boolean): void {
    if (!this.remove(e)) return;
    e.resolve({ dup, key: e.key });
  }

  /**
   * A failed attempt: retried later with the same key when the code allows it (or
   * `retryable` says so) and time is left.
   */
  failed(e: PublishEntry, err: CascadeError, retryable = isRetryablePublishError(err.code)): void {
    if (!this.entries.includes(e)) return;
    const now = this.now();
    if (!retryable || now >= e.deadline) {
      this.remove(e);
      e.reject(err);
      return;
    }
    // Full jitter again, small scale: a publish retry should be quick but not a tight loop.
    const cap = Math.min(5_000, 100 * 2 ** Math.min(e.attempts, 10));
    e.state = 'waiting';
    e.notBefore = now + Math.floor(this.random() * cap);
  }

  /** Fails entries past their deadline; the outcome of one that was sent is unknown. */
  expire(): void {
    const now = this.now();
    for (const e of [...this.entries]) {
      if (e.deadline > now) continue;
      this.remove(e);
      e.reject(
        new CascadeError(
          ErrorCode.Timeout,
          `publish on ${e.ch} not acknowledged within the deadline (key ${e.key}; it may have been stored: retrying with the same key is safe)`,
          'client',
          e.ch,
        ),
      );
    }
  }

  /**
   * The earliest clock time something needs doing, or undefined: a retry (only while
   * `connected`, since offline entries go out on the next connect, and only for entries
   * `sendable` allows) or a deadline.
   */
  nextWakeup(connected: boolean, sendable: (e: PublishEntry) => boolean = () => true): number | undefined {
    let at: number | undefined;
    for (const e of this.entries) {
      // An entry that cannot go out now (`sendable`) is woken by whoever unblocks it, not by the clock.
      const t = connected && e.state === 'waiting' && sendable(e) ? Math.min(e.notBefore, e.deadline) : e.deadline;
      at = at === undefined ? t : Math.min(at, t);
    }
    return at;
  }

  rejectAll(err: () => Error): void {
    const all = this.entries.splice(0);
    for (const e of all) e.reject(err());
  }

  private remove(e: PublishEntry): boolean {
    const i = this.entries.indexOf(e);
    if (i < 0) return false;
    this.entries.splice(i, 1);
    return true;
  }
}

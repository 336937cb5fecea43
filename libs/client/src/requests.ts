// Request ids and the table of requests waiting for their reply. Ids run 1..2^32-1 and wrap,
// skipping ids still in use, so answers are never confused. Every request has a deadline:
// a reply that never comes means the connection is broken (docs/protocol.md section 7).
// Pure apart from the injected timer functions.

const MAX_ID = 0xffff_ffff;

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

interface Pending<R> {
  resolve(reply: R): void;
  reject(err: Error): void;
  timer: unknown;
}

export class RequestTable<R> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending<R>>();

  constructor(
    private readonly timers: Timers = realTimers,
    /** Called with the id when a request times out (before its promise rejects). */
    private readonly onTimeout?: (id: number) => void,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** Allocates an id and a promise settled by `resolve`/`reject`, or by `timeoutError` after `timeoutMs`. */
  start(timeoutMs: number, timeoutError: () => Error): { id: number; reply: Promise<R> } {
    const id = this.allocate();
    const reply = new Promise<R>((resolve, reject) => {
      const timer = this.timers.set(() => {
        this.pending.delete(id);
        this.onTimeout?.(id);
        reject(timeoutError());
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
    });
    return { id, reply };
  }

  /** Settles a request with its reply; false when the id is not pending (late or unknown). */
  resolve(id: number, reply: R): boolean {
    const p = this.take(id);
    p?.resolve(reply);
    return p !== undefined;
  }

  reject(id: number, err: Error): boolean {
    const p = this.take(id);
    p?.reject(err);
    return p !== undefined;
  }

  /** Fails every pending request (the connection closed: their answers will never come). */
  rejectAll(err: () => Error): void {
    const all = [...this.pending.values()];
    for (const p of all) this.timers.clear(p.timer);
    this.pending.clear();
    for (const p of all) p.reject(err());
  }

  private take(id: number): Pending<R> | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    this.timers.clear(p.timer);
    return p;
  }

  private allocate(): number {
    if (this.pending.size >= MAX_ID) throw new RangeError('no free request id');
    while (this.pending.has(this.nextId)) this.nextId = this.nextId === MAX_ID ? 1 : this.nextId + 1;
    const id = this.nextId;
    this.nextId = id === MAX_ID ? 1 : id + 1;
    return id;
  }
}

// The orchestrator's side of the load generator: forks worker processes (each below the
// per-process file limit), pins them to the generator core, spreads connections over them
// and merges their counts and latency histograms.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track, stopChild } from '../system/children.js';
import { pin } from '../system/proc.js';
import type { DialectName, Role } from './dialects.js';
import { Histogram } from './histogram.js';
import type { OpenResult, PublishResult, Reply, Request, Stats } from './protocol.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
/** Connections per worker: well under the 20,000 open files a process may have. */
export const MAX_CONNS_PER_WORKER = 15_000;
/**
 * Receiving is spread over several processes even on one core: each small message costs a
 * read and a callback per socket, and on a shared machine the scheduler gives each process
 * its share, so a single generator process would be starved before the server is.
 */
const TARGET_CONNS_PER_WORKER = 250;
const MAX_WORKERS = 8;
const REQUEST_TIMEOUT_MS = 180_000;

export interface Target {
  host: string;
  port: number;
  dialect: DialectName;
  hs256Secret?: string;
}

class Worker {
  private seq = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  onProgress: (opened: number, failed: number) => void = () => {};

  constructor(readonly child: ChildProcess) {
    child.on('message', (m: Reply) => {
      if (m.op === 'progress') return this.onProgress(m.opened, m.failed);
      const p = this.pending.get(m.seq);
      if (p === undefined) return;
      this.pending.delete(m.seq);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`worker ${child.pid}: ${m.error}`));
    });
    child.on('error', (e) => process.stderr.write(`bench: worker ${child.pid}: ${e.message}\n`));
    child.once('exit', (code, signal) => {
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`worker ${child.pid} exited (${signal ?? code})`));
      }
      this.pending.clear();
    });
  }

  request<T>(req: Request, timeoutMs = REQUEST_TIMEOUT_MS): Promise<T> {
    const seq = ++this.seq;
    if (!this.child.connected) return Promise.reject(new Error(`worker ${this.child.pid} is gone (${req.op})`));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`worker ${this.child.pid}: ${req.op} got no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ ...req, seq });
    });
  }
}

export interface Deliveries {
  delivered: number;
  stale: number;
  hist: Histogram;
  open: number;
  lost: number;
  lostReasons: string[];
}

/** Subscriber workers plus one publisher worker, all on `core`. */
export class LoadGenerator {
  private readonly subs: Worker[] = [];
  private publisher: Worker | undefined;
  /**
   * A worker process with only a few subscribers (latency probes): it is idle between
   * messages, so it does not read a delivery only after hundreds of other sockets in its
   * own loop. It is pinned to the generator's core like the others and competes with them
   * (and with Cascade's helpers) for it.
   */
  private probe: Worker | undefined;
  private nextIndex = 0;

  constructor(private readonly core: number | undefined) {}

  private spawn(): Worker {
    const child = track(fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    if (this.core !== undefined && child.pid !== undefined) pin(child.pid, this.core);
    return new Worker(child);
  }

  /** Worker processes `count` connections are spread over. */
  private workersFor(count: number): number {
    return Math.max(1, Math.ceil(count / MAX_CONNS_PER_WORKER), Math.min(MAX_WORKERS, Math.ceil(count / TARGET_CONNS_PER_WORKER)));
  }

  /** Starts (and waits for) the worker processes `count` connections will need, so that forking them is not timed. */
  async prepare(count: number): Promise<void> {
    const workers = this.workersFor(count);
    while (this.subs.length < workers) this.subs.push(this.spawn());
    await Promise.all(this.subs.map((w) => w.request({ op: 'stats' })));
  }

  /** Opens `count` ready subscribers on `ch` (`personal`: also on their user's channel), printing a progress line while it ramps up. */
  subscribe(t: Target, ch: string, count: number, label: string, personal = false): Promise<OpenResult> {
    return this.open(t, { role: 'sub', ch, count, label, personal });
  }

  /**
   * Opens `count` connections that are ready in `role` (subscribed, or only through the
   * handshake for 'conn'), `concurrency` at a time per worker process (default 32), spread
   * over the subscriber workers; with `spread`, subscribers get the many-small-channels
   * layout over `<ch>0` … `<ch><spread.count-1>`.
   */
  async open(t: Target, o: { role: Role; ch: string; count: number; label: string; concurrency?: number; spread?: { count: number; perConnection: number }; personal?: boolean }): Promise<OpenResult> {
    const { count, label } = o;
    const workers = this.workersFor(count);
    while (this.subs.length < workers) this.subs.push(this.spawn());
    const shares = this.subs.slice(0, workers).map((_, i) => Math.floor(count / workers) + (i < count % workers ? 1 : 0));
    const progress = shares.map(() => ({ opened: 0, failed: 0 }));
    const started = Date.now();
    let printed = 0;
    const line = () => {
      if (Date.now() - printed < 1000) return;
      printed = Date.now();
      const opened = progress.reduce((a, p) => a + p.opened, 0);
      const failed = progress.reduce((a, p) => a + p.failed, 0);
      process.stdout.write(`\r  ${label}: ${opened}/${count} connected, ${failed} failed, ${((Date.now() - started) / 1000).toFixed(1)} s   `);
    };
    const base = this.nextIndex;
    const results = await Promise.all(
      shares.map((n, i) => {
        const w = this.subs[i]!;
        w.onProgress = (opened, failed) => {
          progress[i] = { opened, failed };
          line();
        };
        const first = this.nextIndex;
        this.nextIndex += n;
        return w.request<OpenResult>({
          op: 'open',
          host: t.host,
          port: t.port,
          dialect: t.dialect,
          role: o.role,
          ch: o.ch,
          ...(o.spread ? { spread: { ...o.spread, base } } : {}),
          count: n,
          first,
          concurrency: o.concurrency ?? 32,
          hs256Secret: t.hs256Secret,
          ...(o.personal ? { personal: true } : {}),
        });
      }),
    );
    const hist = new Histogram();
    for (const x of results) hist.add(x.hist, x.maxUs);
    const r: OpenResult = {
      opened: results.reduce((a, x) => a + x.opened, 0),
      failed: results.reduce((a, x) => a + x.failed, 0),
      errors: results.flatMap((x) => x.errors).slice(0, 5),
      ms: Date.now() - started,
      hist: Array.from(hist.counts),
      maxUs: hist.max,
    };
    process.stdout.write(`\r  ${label}: ${r.opened}/${count} connected, ${r.failed} failed, ${(r.ms / 1000).toFixed(1)} s   \n`);
    return r;
  }

  /** Opens `count` ready subscribers on `ch` in the probe process (see `probe`). */
  async openProbes(t: Target, ch: string, count: number): Promise<void> {
    this.probe ??= this.spawn();
    const r = await this.probe.request<OpenResult>({ op: 'open', host: t.host, port: t.port, dialect: t.dialect, role: 'sub', ch, count, first: this.nextIndex, concurrency: 8, hs256Secret: t.hs256Secret });
    this.nextIndex += count;
    if (r.failed > 0) throw new Error(`${r.failed} of ${count} probe subscribers failed: ${r.errors.join('; ')}`);
  }

  /** The probe subscribers' deliveries alone (they are counted in deliveries() too). */
  async probeDeliveries(): Promise<Deliveries | undefined> {
    if (this.probe === undefined) return undefined;
    return merge([await this.probe.request<Stats>({ op: 'stats' })]);
  }

  async openPublisher(t: Target, ch: string): Promise<void> {
    this.publisher ??= this.spawn();
    const r = await this.publisher.request<OpenResult>({ op: 'open', host: t.host, port: t.port, dialect: t.dialect, role: 'pub', ch, count: 1, first: this.nextIndex++, concurrency: 1, hs256Secret: t.hs256Secret });
    if (r.opened !== 1) throw new Error(`publisher could not connect: ${r.errors.join('; ')}`);
  }

  /** `spread`: round-robin over `<ch>0` … `<ch><spread-1>` (the many-small-channels layout). */
  publish(rate: number, durationMs: number, spread?: number): Promise<PublishResult> {
    if (this.publisher === undefined) throw new Error('openPublisher first');
    return this.publisher.request<PublishResult>({ op: 'publish', rate, durationMs, ...(spread === undefined ? {} : { spread }) }, durationMs + 30_000);
  }

  /** Starts counting afresh; payloads sent before `sinceUs` (monotonic µs) no longer count. */
  async reset(sinceUs: number): Promise<void> {
    await Promise.all(this.receivers().map((w) => w.request({ op: 'reset', sinceUs })));
  }

  /** Every subscriber's deliveries, the probes' included. */
  async deliveries(): Promise<Deliveries> {
    return merge(await Promise.all(this.receivers().map((w) => w.request<Stats>({ op: 'stats' }))));
  }

  pids(): number[] {
    return this.all().map((w) => w.child.pid ?? -1);
  }

  /** Closes every connection but keeps the worker processes (a scenario's next phase reuses them). */
  async closeAll(): Promise<void> {
    await Promise.all(this.all().map((w) => w.request({ op: 'close' })));
  }

  private receivers(): Worker[] {
    return [...this.subs, ...(this.probe ? [this.probe] : [])];
  }

  private all(): Worker[] {
    return [...this.receivers(), ...(this.publisher ? [this.publisher] : [])];
  }

  /** Closes every connection and stops every worker, whatever state they are in. */
  async stop(): Promise<void> {
    const all = this.all();
    this.subs.length = 0;
    this.publisher = undefined;
    this.probe = undefined;
    await Promise.all(
      all.map(async (w) => {
        await w.request({ op: 'close' }, 10_000).catch((e: unknown) => process.stderr.write(`bench: ${String(e)}\n`));
        if (w.child.connected) w.child.disconnect();
        await stopChild(w.child);
      }),
    );
  }
}

function merge(all: Stats[]): Deliveries {
  const hist = new Histogram();
  for (const s of all) hist.add(s.hist, s.maxUs);
  return {
    delivered: all.reduce((a, s) => a + s.delivered, 0),
    stale: all.reduce((a, s) => a + s.stale, 0),
    hist,
    open: all.reduce((a, s) => a + s.open, 0),
    lost: all.reduce((a, s) => a + s.lost, 0),
    lostReasons: all.flatMap((s) => s.lostReasons).slice(0, 5),
  };
}

// A generator worker process: holds many client connections to one target, counts the
// deliveries and their latency, and publishes at a given rate when asked. The parent drives
// it over IPC; it exits by itself if the parent goes away or after its maximum lifetime.
import { driverFor, type DeliverySink, type Driver } from './dialects.js';
import { Histogram } from './histogram.js';
import { makePayload, nowUs } from './payload.js';
import type { OpenRequest, OpenResult, PublishResult, Reply, Request, Stats } from './protocol.js';
import { RawWs } from './ws-client.js';

const MAX_LIFETIME_MS = 45 * 60_000;
const OPEN_TIMEOUT_MS = 15_000;
const PUBLISH_TICK_MS = 5;

interface Conn {
  ws: RawWs;
  driver: Driver;
  /** The channel it was opened for (a publisher's default target). */
  ch: string;
}

const conns: Conn[] = [];
const hist = new Histogram();
let delivered = 0;
let stale = 0;
/** Deliveries sent before this time (µs) belong to an earlier step and are only counted as stale. */
let sinceUs = 0;
let lost = 0;
const lostReasons = new Map<string, number>();

const sink: DeliverySink = {
  delivered(t0Us, atUs) {
    if (t0Us < sinceUs) {
      stale += 1;
      return;
    }
    delivered += 1;
    hist.recordUs(atUs - t0Us);
  },
};

function send(msg: Reply): void {
  if (process.connected) process.send?.(msg);
}

/** Source addresses 127.0.0.1–127.0.0.250 give each its own 64k ephemeral ports. */
function localAddress(index: number): string {
  return `127.0.0.${1 + (index % 250)}`;
}

/** Connection `index`'s channels in a many-small-channels layout (see ChannelSpread). */
function spreadChannels(r: OpenRequest, index: number): string[] | undefined {
  const s = r.spread;
  if (s === undefined) return undefined;
  const i = index - s.base;
  return Array.from({ length: s.perConnection }, (_, j) => `${r.ch}${(i * s.perConnection + j) % s.count}`);
}

async function openOne(r: OpenRequest, index: number, handshakes: Histogram): Promise<Conn> {
  const began = nowUs();
  const channels = spreadChannels(r, index);
  const driver = driverFor(r.dialect, { role: r.role, ch: r.ch, index, hs256Secret: r.hs256Secret, personal: r.personal, ...(channels ? { channels } : {}) });
  let readyResolve!: () => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    readyResolve = res;
    readyReject = rej;
  });
  // The server may refuse before `await ready` below is reached: never an unhandled rejection.
  ready.catch(() => {});
  let isReady = false;
  let connRef: Conn | undefined;
  const ws = await RawWs.open(
    { host: r.host, port: r.port, path: driver.path, localAddress: localAddress(index), timeoutMs: OPEN_TIMEOUT_MS },
    {
      message(ws, data, binary) {
        const out = driver.onMessage(ws, data, binary, sink);
        if (out === 'ready') {
          isReady = true;
          readyResolve();
        } else if (out !== undefined && !isReady) readyReject(new Error(out));
      },
      close(reason) {
        if (!isReady) return readyReject(new Error(reason));
        lost += 1;
        lostReasons.set(reason, (lostReasons.get(reason) ?? 0) + 1);
        if (connRef !== undefined) conns.splice(conns.indexOf(connRef), 1);
      },
    },
  );
  driver.start(ws);
  const timer = setTimeout(() => readyReject(new Error(`not ready after ${OPEN_TIMEOUT_MS} ms`)), OPEN_TIMEOUT_MS);
  try {
    await ready;
  } catch (e) {
    ws.destroy();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  handshakes.recordUs(nowUs() - began);
  connRef = { ws, driver, ch: r.ch };
  return connRef;
}

async function open(r: OpenRequest): Promise<OpenResult> {
  const started = Date.now();
  let next = 0;
  let opened = 0;
  let failed = 0;
  const errors = new Map<string, number>();
  const handshakes = new Histogram();
  let lastProgress = Date.now();
  // `concurrency` lanes each open connections one after another: bounded by `count`.
  const lane = async () => {
    while (next < r.count) {
      const i = next++;
      try {
        conns.push(await openOne(r, r.first + i, handshakes));
        opened += 1;
      } catch (e) {
        failed += 1;
        const m = e instanceof Error ? e.message : String(e);
        errors.set(m, (errors.get(m) ?? 0) + 1);
      }
      if (Date.now() - lastProgress > 500) {
        lastProgress = Date.now();
        send({ op: 'progress', opened, failed });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(r.concurrency, r.count) }, lane));
  return { opened, failed, errors: [...errors].map(([m, n]) => `${n}× ${m}`).slice(0, 5), ms: Date.now() - started, hist: Array.from(handshakes.counts), maxUs: handshakes.max };
}

/**
 * Sends `rate` publishes per second, spread over ticks, for `durationMs`, from the first
 * connection: to its channel, or round-robin over `<ch>0` … `<ch><spread-1>`.
 */
let nextSpread = 0;
function publish(rate: number, durationMs: number, spread: number | undefined): Promise<PublishResult> {
  const c = conns[0];
  if (c === undefined) return Promise.reject(new Error('no publisher connection'));
  const acks0 = c.driver.acks;
  const errors0 = c.driver.errors;
  return new Promise((resolve) => {
    const start = performance.now();
    let sent = 0;
    const total = Math.round((rate * durationMs) / 1000);
    const tick = () => {
      const elapsed = performance.now() - start;
      const due = Math.min(total, Math.floor((rate * Math.min(elapsed, durationMs)) / 1000));
      if (due > sent) {
        const batch: Uint8Array[] = [];
        const t0 = nowUs();
        for (; sent < due; sent++) {
          let ch = c.ch;
          if (spread !== undefined) {
            ch = `${c.ch}${nextSpread}`;
            nextSpread = (nextSpread + 1) % spread;
          }
          batch.push(c.driver.publishFrame(makePayload(t0), ch));
        }
        c.ws.sendMany(batch);
      }
      if (sent >= total || elapsed >= durationMs + 1000) {
        clearInterval(timer);
        // Replies still in flight get a moment to be counted (the step's drain waits longer).
        setTimeout(
          () => resolve({ sent, acks: c.driver.acks - acks0, errors: c.driver.errors - errors0, backlogBytes: c.ws.bufferedBytes }),
          50,
        );
      }
    };
    const timer = setInterval(tick, PUBLISH_TICK_MS);
  });
}

function stats(): Stats {
  return { delivered, stale, hist: Array.from(hist.counts), maxUs: hist.max, open: conns.length, lost, lostReasons: [...lostReasons].map(([m, n]) => `${n}× ${m}`).slice(0, 5) };
}

function closeAll(): void {
  for (const c of conns.splice(0)) c.ws.destroy();
}

async function handle(req: Request): Promise<unknown> {
  switch (req.op) {
    case 'open':
      return open(req);
    case 'publish':
      return publish(req.rate, req.durationMs, req.spread);
    case 'reset':
      sinceUs = req.sinceUs;
      delivered = 0;
      stale = 0;
      hist.reset();
      return null;
    case 'stats':
      return stats();
    case 'close':
      // The next scenario starts from nothing: no connections, no counts.
      closeAll();
      delivered = 0;
      stale = 0;
      sinceUs = 0;
      lost = 0;
      lostReasons.clear();
      hist.reset();
      return null;
  }
}

process.on('message', (m: Request & { seq: number }) => {
  handle(m).then(
    (result) => send({ op: 'reply', seq: m.seq, ok: true, result }),
    (e: unknown) => send({ op: 'reply', seq: m.seq, ok: false, error: e instanceof Error ? e.message : String(e) }),
  );
});
// Without its parent nobody would ever stop it: leave at once.
process.on('disconnect', () => {
  closeAll();
  process.exit(0);
});
// Exit through process.exit so that exit hooks (the CPU profiler's preload) run.
process.on('SIGTERM', () => {
  closeAll();
  process.exit(0);
});
setTimeout(() => {
  process.stderr.write(`bench worker ${process.pid}: maximum lifetime reached, exiting\n`);
  process.exit(3);
}, MAX_LIFETIME_MS).unref();

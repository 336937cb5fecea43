// Resume (Cascade only): how long a client that dropped off takes to catch up on 1,000
// missed messages. The client subscribes and gets one message, disconnects; 1,000 messages
// are published and stored; the client reconnects, subscribes with `since` = the last one it
// had, and the clock stops when the 1,000th missed message arrives (all checked: in order,
// gapless, once). Two paths: "ring" (another subscriber keeps the channel live on the edge,
// whose ring of recent frames, EDGE_RING_SIZE=1024 here, holds all 1,000) and "history" (no
// other local subscriber, so the edge reads them from the history service). The peers have no
// equivalent (raw uWS and ws keep nothing; Socket.IO's connection-state recovery and NATS
// JetStream consumers are different products), so there is no comparison row.
import { decode, encode } from '@msgpack/msgpack';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { RawWs } from '../load/ws-client.js';
import { startTarget, type RunningTarget } from '../targets/targets.js';
import { sleep } from './common.js';

export type ResumePath = 'ring' | 'history';

export interface ResumeTrial {
  path: ResumePath;
  /** Reconnect (TCP connect) → last missed message received. */
  totalMs: number;
  /** Subscribe with `since` sent → last missed message received. */
  catchUpMs: number;
  received: number;
}

export interface ResumeResult {
  path: ResumePath;
  missed: number;
  trials: ResumeTrial[];
  medianTotalMs: number;
  maxTotalMs: number;
  medianCatchUpMs: number;
  /** Missed messages per second of catch-up (median trial). */
  messagesPerSec: number;
  notes: string[];
}

const RING = 1024;
const TIMEOUT_MS = 30_000;

interface Frame {
  t?: number;
  id?: number;
  seq?: number;
  ep?: string;
  recovered?: boolean;
  code?: number;
  msg?: string;
}

/** A Cascade client in the orchestrator: connect, then hand every decoded frame to `onFrame`. */
async function client(t: RunningTarget, onFrame: (f: Frame) => void): Promise<RawWs> {
  let connected!: () => void;
  let failed!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    connected = res;
    failed = rej;
  });
  const ws = await RawWs.open(
    { host: t.target.host, port: t.target.port, path: '/', timeoutMs: 10_000 },
    {
      message(_ws, data) {
        const f = decode(data) as Frame;
        if (f.t === 101) connected();
        else if (f.t === 106 && f.id === undefined) failed(new Error(`error frame ${JSON.stringify(f)}`));
        onFrame(f);
      },
      close(reason) {
        failed(new Error(reason));
      },
    },
  );
  ws.send(encode({ t: 1, client: 'cascade-bench/0.1' }));
  const timer = setTimeout(() => failed(new Error('no connected frame')), 10_000);
  try {
    await ready;
  } finally {
    clearTimeout(timer);
  }
  return ws;
}

function waitFor(check: () => boolean, what: string, timeoutMs = TIMEOUT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const end = performance.now() + timeoutMs;
    const poll = () => {
      if (check()) return resolve();
      if (performance.now() > end) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 2);
    };
    poll();
  });
}

/** The newest seq emitted live on `ch`, watched on NATS (the worker emits after storing). */
function watchLive(nc: NatsConnection, prefix: string, ch: string): { last: () => number; stop: () => void } {
  let last = 0;
  const sub = nc.subscribe(`${prefix}.live.${ch}`, {
    callback: (_e, m) => {
      const f = decode(m.data) as Frame;
      if (typeof f.seq === 'number' && f.seq > last) last = f.seq;
    },
  });
  return { last: () => last, stop: () => sub.unsubscribe() };
}

async function trial(t: RunningTarget, nc: NatsConnection, path: ResumePath, ch: string, missed: number): Promise<ResumeTrial> {
  const watch = watchLive(nc, t.nats!.prefix, ch);
  await nc.flush();
  const closers: RawWs[] = [];
  try {
    // The ring path keeps the channel live on the edge with a second subscriber.
    if (path === 'ring') {
      const anchor = await client(t, () => {});
      closers.push(anchor);
      anchor.send(encode({ t: 2, id: 1, ch }));
    }
    let acks = 0;
    let refused = 0;
    const pub = await client(t, (f) => {
      if (f.t === 102) acks += 1;
      if (f.t === 106) refused += 1;
    });
    closers.push(pub);
    // The resumer subscribes and gets the first message: its position.
    let pos: { ep: string; seq: number } | undefined;
    const first = await client(t, (f) => {
      if (f.t === 103 && typeof f.seq === 'number' && typeof f.ep === 'string') pos = { ep: f.ep, seq: f.seq };
    });
    first.send(encode({ t: 2, id: 1, ch }));
    await sleep(50);
    pub.send(encode({ t: 4, id: 1, ch, data: { n: 0 } }));
    await waitFor(() => pos !== undefined, 'the first message');
    first.destroy();
    // 1,000 messages while it is away; wait until all are stored and emitted.
    const batch = Array.from({ length: missed }, (_, i) => encode({ t: 4, id: i + 2, ch, data: { n: i + 1 } }));
    for (let i = 0; i < batch.length; i += 100) pub.sendMany(batch.slice(i, i + 100));
    const target = pos!.seq + missed;
    await waitFor(() => watch.last() >= target && acks >= missed + 1, `${missed} messages stored (acks ${acks}, refused ${refused})`, 60_000);
    if (refused > 0) throw new Error(`${refused} publishes refused`);
    await sleep(100);
    // Reconnect and resume.
    let next = pos!.seq + 1;
    let done: number | undefined;
    let bad: string | undefined;
    let recovered: boolean | undefined;
    const began = performance.now();
    const back = await client(t, (f) => {
      if (f.t === 102 && f.id === 1) recovered = f.recovered;
      if (f.t !== 103 || done !== undefined) return;
      if (f.seq !== next) bad ??= `expected seq ${next}, got ${f.seq}`;
      next += 1;
      if (f.seq === target) done = performance.now();
    });
    closers.push(back);
    const subscribed = performance.now();
    back.send(encode({ t: 2, id: 1, ch, since: pos }));
    await waitFor(() => done !== undefined || bad !== undefined, `seq ${target}`);
    if (bad !== undefined) throw new Error(`resume out of order: ${bad}`);
    if (recovered !== true) throw new Error(`resume not recovered (${String(recovered)})`);
    return { path, totalMs: done! - began, catchUpMs: done! - subscribed, received: next - pos!.seq - 1 };
  } finally {
    watch.stop();
    for (const c of closers) c.destroy();
  }
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor((s.length - 1) / 2)]!;
};

export async function runResume(o: { missed: number; trials: number }): Promise<ResumeResult[]> {
  const t = await startTarget('cascade', { history: true, serviceEnv: { EDGE_RING_SIZE: String(RING) } });
  const nc = await connect({ servers: t.nats!.url, name: 'bench-resume' });
  try {
    const out: ResumeResult[] = [];
    for (const path of ['ring', 'history'] as const) {
      const trials: ResumeTrial[] = [];
      for (let i = 0; i < o.trials; i++) {
        const r = await trial(t, nc, path, `bench:resume-${path}-${i}`, o.missed);
        trials.push(r);
        process.stdout.write(`    ${path}: ${r.received} missed messages in ${r.totalMs.toFixed(1)} ms from reconnect (${r.catchUpMs.toFixed(1)} ms from subscribe)\n`);
      }
      const mt = median(trials.map((x) => x.totalMs));
      const mc = median(trials.map((x) => x.catchUpMs));
      out.push({
        path,
        missed: o.missed,
        trials,
        medianTotalMs: mt,
        maxTotalMs: Math.max(...trials.map((x) => x.totalMs)),
        medianCatchUpMs: mc,
        messagesPerSec: o.missed / (mc / 1000),
        notes: path === 'ring' ? [`EDGE_RING_SIZE=${RING}; another subscriber keeps the channel live on the edge`] : ['no other subscriber on the edge: read from the history service'],
      });
    }
    return out;
  } finally {
    await nc.close();
    await t.stop();
  }
}

// Idle density: N connections that are connected and subscribed to one shared channel and do
// nothing; with `auth` (the scenario) each is authenticated and also in its user's own
// channel: Cascade's personal channel `user:<id>`, a `user:<sub>` topic/room the uWS, ws and
// Socket.IO peers join from the verified token, a `user` subject NATS subscribes (no token). The server's resident
// memory grows by (RSS after − RSS before) / N per connection. With `instances` > 1 the
// connections are spread evenly over that many server processes (Cascade: edges behind one
// NATS; the raw uWS, ws and Socket.IO peers: independent copies), each under the 20,000 open-files limit of a process,
// and the RSS of all of them is summed.
import { LoadGenerator } from '../load/generator.js';
import { rssBytes } from '../system/proc.js';
import { LABELS, startTarget, type RunningTarget, type TargetName } from '../targets/targets.js';
import { scaled, sleep } from './common.js';

export interface IdleResult {
  target: TargetName;
  label: string;
  requested: number;
  connections: number;
  /** Server processes holding the connections (absent in runs recorded before it existed: 1). */
  instances?: number;
  connectMs: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  bytesPerConnection: number;
  /** RSS growth over the second half of the connections divided by their number. */
  marginalBytesPerConnection: number;
  /** The same after a full GC of the (Node) server's heap; absent in runs recorded before it existed. */
  collectedBytesPerConnection?: number;
  /** Runs recorded before 2026-12-04 18:30 UTC forced a GC at the half-way reading too and had this. */
  collectedMarginalBytesPerConnection?: number;
  /**
   * Runs of 2026-12-04 17:34–18:11 UTC only: RSS after `quietMs` idle, nothing forced. It
   * depended on whether V8 had run a major GC since the burst (which a forced GC at the
   * half-way reading did for every system), so it was dropped.
   */
  quietBytesPerConnection?: number;
  quietMs?: number;
  /** How long after the forced GC the "after a full GC" reading was taken (absent: 1.5 s). */
  collectedAfterMs?: number;
  /** Cascade's other processes, which hold no per-connection state but are shown for honesty. */
  helperRssDeltaBytes: Record<string, number>;
  personalChannels: boolean;
  notes: string[];
}

const SETTLE_MS = 2000;
/** Connections one server process is given at most: its open-files limit is 20,000. */
export const MAX_PER_PROCESS = 19_000;

const serverRss = (t: RunningTarget) => t.serverPids.reduce((a, p) => a + rssBytes(p), 0);

/** Time a full GC of a server's heap is given before the baseline reading. */
const GC_WAIT_MS = 1500;

/**
 * The servers' RSS `waitMs` after a full garbage collection (Node servers run
 * bench/tools/gc-preload.mjs: SIGWINCH collects; nats-server is not asked). Forced only
 * before the first connection (the baseline) and after the last reading as it is, so the
 * readings in between are what the servers hold on their own. V8 gives freed pages back to
 * the system some time after the collection, hence the wait.
 */
async function collectedRss(t: RunningTarget, waitMs: number): Promise<number> {
  if (t.name !== 'nats-ws') for (const pid of t.serverPids) process.kill(pid, 'SIGWINCH');
  await sleep(waitMs);
  return serverRss(t);
}

/**
 * `auth`: connect with a token (NATS: none) and hold the user's own channel too.
 * `settleMs`: pause before each RSS reading as it is (default 2 s). `collectedAfterMs`: the
 * wait between the final forced GC and its reading (default: the baseline's 1.5 s).
 */
export async function runIdle(gen: LoadGenerator, name: TargetName, n: number, o: { auth?: boolean; instances?: number; settleMs?: number; collectedAfterMs?: number } = {}): Promise<IdleResult> {
  const { auth = false, instances = 1, settleMs = SETTLE_MS } = o;
  const collectedAfterMs = o.collectedAfterMs ?? scaled(GC_WAIT_MS);
  if (n / instances > MAX_PER_PROCESS) throw new Error(`${n} connections over ${instances} server process(es) exceed ${MAX_PER_PROCESS} per process`);
  const t = await startTarget(name, { auth: auth && name !== 'nats-ws' && name !== 'cascade-ephemeral', instances });
  try {
    await sleep(settleMs);
    const before = await collectedRss(t, scaled(GC_WAIT_MS));
    const helpersBefore = Object.fromEntries(Object.entries(t.helperPids).map(([k, pid]) => [k, rssBytes(pid)]));
    // Two halves: the growth over the second half alone is free of start-up effects (heaps
    // that grow on first use), and cross-checks the figure over all N.
    const label = `${LABELS[name]}${auth ? ' (token)' : ''} idle`;
    const openHalf = async (count: number) => {
      const rs = [];
      for (let i = 0; i < t.targets.length; i++) {
        const share = Math.floor(count / t.targets.length) + (i < count % t.targets.length ? 1 : 0);
        rs.push(await gen.subscribe(t.targets[i]!, 'bench:idle', share, t.targets.length > 1 ? `${label} (process ${i + 1}/${t.targets.length})` : label, auth && name === 'nats-ws'));
      }
      return { opened: rs.reduce((a, r) => a + r.opened, 0), failed: rs.reduce((a, r) => a + r.failed, 0), errors: rs.flatMap((r) => r.errors), ms: rs.reduce((a, r) => a + r.ms, 0) };
    };
    const first = await openHalf(Math.floor(n / 2));
    await sleep(settleMs);
    const half = serverRss(t);
    const second = await openHalf(n - Math.floor(n / 2));
    const opened = { opened: first.opened + second.opened, failed: first.failed + second.failed, errors: [...first.errors, ...second.errors], ms: first.ms + second.ms };
    if (opened.opened === 0) throw new Error(`no connection opened: ${opened.errors.join('; ')}`);
    await sleep(settleMs);
    const afterAsIs = serverRss(t);
    const collected = await collectedRss(t, collectedAfterMs);
    const d = await gen.deliveries();
    const notes = [...t.notes];
    if (opened.failed > 0) notes.push(`${opened.failed} connections failed: ${opened.errors.slice(0, 5).join('; ')}`);
    if (d.lost > 0) notes.push(`${d.lost} connections dropped while idle: ${d.lostReasons.join('; ')}`);
    if (instances > 1) notes.push(`${instances} server processes, ${Math.ceil(n / instances)} connections each; RSS summed`);
    const base =
      name === 'cascade'
        ? `Cascade (${auth ? 'token: + personal channel' : 'anonymous, shared channel only'})`
        : `${LABELS[name]}${auth ? (name === 'nats-ws' ? ' (+ user subject, no token)' : ' (token: + user room)') : ''}`;
    return {
      target: name,
      label: instances > 1 ? `${base}, ${instances} processes` : base,
      requested: n,
      connections: d.open,
      instances,
      connectMs: opened.ms,
      rssBeforeBytes: before,
      rssAfterBytes: afterAsIs,
      bytesPerConnection: (afterAsIs - before) / Math.max(1, d.open),
      marginalBytesPerConnection: (afterAsIs - half) / Math.max(1, second.opened),
      collectedBytesPerConnection: (collected - before) / Math.max(1, d.open),
      collectedAfterMs,
      helperRssDeltaBytes: Object.fromEntries(Object.entries(t.helperPids).map(([k, pid]) => [k, rssBytes(pid) - (helpersBefore[k] ?? 0)])),
      personalChannels: auth,
      notes,
    };
  } finally {
    await gen.closeAll();
    await t.stop();
  }
}

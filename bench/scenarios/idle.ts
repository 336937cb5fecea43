// Idle density: N connections that are connected and subscribed (to one shared channel; on
// Cascade with tokens, also to their personal channel) and do nothing. The server's resident
// memory grows by (RSS after − RSS before) / N per connection.
import { LoadGenerator } from '../load/generator.js';
import { rssBytes } from '../system/proc.js';
import { GENERATOR_CORE, LABELS, startTarget, type TargetName } from '../targets/targets.js';
import { sleep } from './common.js';

export interface IdleResult {
  target: TargetName;
  label: string;
  requested: number;
  connections: number;
  connectMs: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  bytesPerConnection: number;
  /** RSS growth over the second half of the connections divided by their number. */
  marginalBytesPerConnection: number;
  /** Cascade's other processes, which hold no per-connection state but are shown for honesty. */
  helperRssDeltaBytes: Record<string, number>;
  personalChannels: boolean;
  notes: string[];
}

const SETTLE_MS = 2000;

/** `auth` (Cascade only): connect with a token, which adds each user's personal channel. */
export async function runIdle(name: TargetName, n: number, auth = false): Promise<IdleResult> {
  const t = await startTarget(name, { auth });
  const gen = new LoadGenerator(GENERATOR_CORE);
  try {
    await sleep(SETTLE_MS);
    const before = rssBytes(t.serverPid);
    const helpersBefore = Object.fromEntries(Object.entries(t.helperPids).map(([k, pid]) => [k, rssBytes(pid)]));
    // Two halves: the growth over the second half alone is free of start-up effects (heaps
    // that grow on first use), and cross-checks the figure over all N.
    const label = `${LABELS[name]}${auth ? ' (token)' : ''} idle`;
    const first = await gen.subscribe(t.target, 'bench:idle', Math.floor(n / 2), label);
    await sleep(SETTLE_MS);
    const half = rssBytes(t.serverPid);
    const second = await gen.subscribe(t.target, 'bench:idle', n - Math.floor(n / 2), label);
    const opened = { opened: first.opened + second.opened, failed: first.failed + second.failed, errors: [...first.errors, ...second.errors], ms: first.ms + second.ms };
    if (opened.opened === 0) throw new Error(`no connection opened: ${opened.errors.join('; ')}`);
    await sleep(SETTLE_MS);
    const d = await gen.deliveries();
    const after = rssBytes(t.serverPid);
    const notes = [...t.notes];
    if (opened.failed > 0) notes.push(`${opened.failed} connections failed: ${opened.errors.join('; ')}`);
    if (d.lost > 0) notes.push(`${d.lost} connections dropped while idle: ${d.lostReasons.join('; ')}`);
    return {
      target: name,
      label: name === 'cascade' ? `Cascade (${auth ? 'token: + personal channel' : 'anonymous'})` : LABELS[name],
      requested: n,
      connections: d.open,
      connectMs: opened.ms,
      rssBeforeBytes: before,
      rssAfterBytes: after,
      bytesPerConnection: (after - before) / Math.max(1, d.open),
      marginalBytesPerConnection: (after - half) / Math.max(1, second.opened),
      helperRssDeltaBytes: Object.fromEntries(Object.entries(t.helperPids).map(([k, pid]) => [k, rssBytes(pid) - (helpersBefore[k] ?? 0)])),
      personalChannels: auth,
      notes,
    };
  } finally {
    await gen.stop();
    await t.stop();
  }
}

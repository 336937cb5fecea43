// Connection storm (the reconnect herd after a drain): N clients connect at once, each
// through the whole authenticated handshake: for Cascade a connect frame with an HS256 JWT,
// answered by `connected` (t:101) once the edge verified it (and subscribed the user's
// personal channel); for the uWS and ws peers a WebSocket upgrade whose URL token the server
// verifies before accepting; for Socket.IO the Engine.IO open plus a namespace CONNECT whose
// `auth` token a middleware verifies; for NATS the CONNECT/PING/PONG exchange (no token: see
// dialects.ts). Reported: connects per second (N over the time until the last is ready), the
// handshake time per connection, the server's CPU per connect and its memory afterwards.
import { LoadGenerator } from '../load/generator.js';
import { Histogram } from '../load/histogram.js';
import { cpuSeconds, rssBytes } from '../system/proc.js';
import { LABELS, startProfiles, startTarget, type TargetName } from '../targets/targets.js';
import { pause, summarize, type LatencySummary } from './common.js';

export interface StormResult {
  target: TargetName;
  label: string;
  requested: number;
  opened: number;
  failed: number;
  errors: string[];
  ms: number;
  connectsPerSec: number;
  /** Handshake time per connection (TCP connect → ready). */
  handshake: LatencySummary;
  serverCpuSec: number;
  /** Connects per CPU-second of the server process(es): robust to other load on the machine. */
  connectsPerServerCpuSec: number;
  helperCpuSec: number;
  generatorCpuSec: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  authenticated: boolean;
  notes: string[];
}

function histogramOf(counts: number[], maxUs: number): Histogram {
  const h = new Histogram();
  h.add(counts, maxUs);
  return h;
}

const sumCpu = (pids: number[]) => pids.reduce((a, p) => a + (cpuSeconds(p) || 0), 0);
const sumRss = (pids: number[]) => pids.reduce((a, p) => a + (rssBytes(p) || 0), 0);

/** `concurrency`: handshakes in flight per generator process (8 processes for a few thousand or more). */
export async function runStorm(gen: LoadGenerator, name: TargetName, n: number, concurrency: number): Promise<StormResult> {
  // NATS gets no token (its JWT scheme is another protocol); everyone else verifies one.
  const authenticated = name !== 'nats-ws';
  const t = await startTarget(name, { auth: authenticated });
  try {
    // Start the generator processes before the clock runs (forking them is not the storm),
    // and warm the server's handshake path with a few connections.
    await gen.prepare(n);
    await gen.open(t.target, { role: 'conn', ch: 'bench:storm', count: 200, label: `${LABELS[name]} warm-up`, concurrency: 8 });
    await gen.closeAll();
    await pause(500);
    startProfiles(t);
    const rssBefore = sumRss(t.serverPids);
    const cpu0 = sumCpu(t.serverPids);
    const helpers0 = sumCpu(Object.values(t.helperPids));
    const gen0 = sumCpu(gen.pids());
    const r = await gen.open(t.target, { role: 'conn', ch: 'bench:storm', count: n, label: `${LABELS[name]} storm`, concurrency });
    const serverCpuSec = sumCpu(t.serverPids) - cpu0;
    const helperCpuSec = sumCpu(Object.values(t.helperPids)) - helpers0;
    const generatorCpuSec = sumCpu(gen.pids()) - gen0;
    await pause(1000);
    const notes = [...t.notes];
    if (r.failed > 0) notes.push(`${r.failed} connections failed: ${r.errors.join('; ')}`);
    return {
      target: name,
      label: LABELS[name],
      requested: n,
      opened: r.opened,
      failed: r.failed,
      errors: r.errors,
      ms: r.ms,
      connectsPerSec: r.opened / (r.ms / 1000),
      handshake: summarize(histogramOf(r.hist, r.maxUs)),
      serverCpuSec,
      connectsPerServerCpuSec: serverCpuSec > 0 ? r.opened / serverCpuSec : Number.NaN,
      helperCpuSec,
      generatorCpuSec,
      rssBeforeBytes: rssBefore,
      rssAfterBytes: sumRss(t.serverPids),
      authenticated,
      notes,
    };
  } finally {
    await gen.closeAll();
    await t.stop();
  }
}

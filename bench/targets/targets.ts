// The systems under test. Each starts in its own processes so its memory can be read, with
// the server that does the fan-out pinned to core 0 (the generator runs on core 1).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, natsServerBinary, startCascade, type CascadeSystem } from '@cascade/testing';
import type { Target } from '../load/generator.js';
import { trackDir } from '../system/children.js';
import { pin } from '../system/proc.js';
import { spawnServer, type Spawned } from './spawn.js';

export type TargetName = 'cascade' | 'cascade-ephemeral' | 'uws' | 'uws-batched' | 'ws' | 'socketio' | 'nats-ws';

export const LABELS: Record<TargetName, string> = {
  cascade: 'Cascade',
  'cascade-ephemeral': 'Cascade, ephemeral (no JetStream)',
  uws: 'raw uWebSockets.js',
  'uws-batched': 'raw uWebSockets.js, batched per loop turn',
  ws: 'ws (naive loop)',
  socketio: 'Socket.IO 4 + msgpack',
  'nats-ws': 'NATS WebSocket',
};

export const SERVER_CORE = 0;
export const GENERATOR_CORE = 1;
/**
 * Where Cascade's nats-server and fan-out worker run: BENCH_HELPERS_CORE=0 (with the edge),
 * 1 (with the generator, the default) or "none" (left to the scheduler). Two cores leave no
 * place that is fair to everyone; the choice is recorded in the target's notes.
 */
function helpersCore(): number | undefined {
  const v = process.env.BENCH_HELPERS_CORE ?? String(GENERATOR_CORE);
  if (v === 'none') return undefined;
  if (v !== '0' && v !== '1') throw new Error(`BENCH_HELPERS_CORE must be 0, 1 or none, got ${v}`);
  return Number(v);
}

export interface RunningTarget {
  name: TargetName;
  target: Target;
  /** The process that holds the connections and does the fan-out (RSS and CPU are read here). */
  serverPid: number;
  /** With several server processes (`instances`), each one's address and pid; [target] / [serverPid] otherwise. */
  targets: Target[];
  serverPids: number[];
  /** Other processes of the system (Cascade's NATS and worker), reported separately. */
  helperPids: Record<string, number>;
  notes: string[];
  /** Cascade only: its NATS and subject prefix, for probes that watch the path between the processes. */
  nats?: { url: string; prefix: string };
  stop(): Promise<void>;
}

/** A secret for the development tokens the bench signs (idle with tokens, connection storm). */
export const BENCH_SECRET = 'cascade-bench-hs256-secret-not-for-production';

const PEER_DIR = fileURLToPath(new URL('../peers/', import.meta.url));

const PRELOAD = fileURLToPath(new URL('../tools/cpu-prof-preload.mjs', import.meta.url));
/** A full GC on SIGWINCH in every Node server (bench/tools/gc-preload.mjs; the idle scenario uses it). */
export const GC_PRELOAD = fileURLToPath(new URL('../tools/gc-preload.mjs', import.meta.url));

/**
 * BENCH_PROFILE_DIR=<dir>: Cascade's services run with the CPU profiler preloaded, started
 * by `startProfiles` when a scenario's measured window begins and written to <dir> when the
 * services stop (run.ts then summarises each profile next to it).
 */
function profileEnv(): Record<string, string> {
  const dir = process.env.BENCH_PROFILE_DIR;
  if (!dir) return {};
  mkdirSync(resolve(dir), { recursive: true });
  return { NODE_OPTIONS: `--import=${PRELOAD}`, BENCH_CPU_PROF_DIR: resolve(dir), BENCH_CPU_PROF_ON_SIGNAL: '1' };
}

/**
 * NODE_OPTIONS for Cascade's services: BENCH_CASCADE_NODE_OPTIONS (V8 flags to compare, e.g.
 * a smaller young generation) and the profiler's preload.
 */
function cascadeEnv(): Record<string, string> {
  const profile = profileEnv();
  const options = [process.env.BENCH_CASCADE_NODE_OPTIONS ?? '', `--import=${GC_PRELOAD}`, profile.NODE_OPTIONS ?? ''].filter(Boolean).join(' ');
  return { ...profile, NODE_OPTIONS: options };
}

/** Starts the CPU profilers of a Cascade target (no-op without BENCH_PROFILE_DIR or for peers). */
export function startProfiles(t: RunningTarget): void {
  if (!process.env.BENCH_PROFILE_DIR || t.nats === undefined) return;
  for (const pid of [...t.serverPids, ...Object.entries(t.helperPids).filter(([k]) => k !== 'nats-server').map(([, v]) => v)]) process.kill(pid, 'SIGUSR2');
}

/** Options of a target start; each scenario asks for what it needs. */
export interface StartOptions {
  /** Connections bring an HS256 token: Cascade verifies it (+ personal channel), the uWS/ws/Socket.IO peers too. */
  auth?: boolean;
  /** Server processes holding connections (Cascade: edges behind one NATS; peers: independent copies). */
  instances?: number;
  /** Cascade only: extra environment for its services (e.g. a profiler preload, EDGE_RING_SIZE). */
  serviceEnv?: Record<string, string>;
  /**
   * Cascade only: start the history service (default true). A deployment always runs it: an
   * edge asks it for a channel's start position when the first local subscriber arrives, so
   * without it every first subscribe waits for a no-responders error.
   */
  history?: boolean;
}

async function startPeer(name: TargetName, file: string, dialect: Target['dialect'], o: StartOptions, env: Record<string, string> = {}): Promise<RunningTarget> {
  const started: Spawned[] = [];
  const targets: Target[] = [];
  try {
    for (let i = 0; i < (o.instances ?? 1); i++) {
      const port = await freePort();
      started.push(
        await spawnServer({
          name,
          cmd: process.execPath,
          args: ['--import', GC_PRELOAD, '--import', '@cascade/ts-loader', join(PEER_DIR, file)],
          env: { ...env, PORT: String(port), ...(o.auth ? { PEER_JWT_SECRET: BENCH_SECRET } : {}) },
          core: SERVER_CORE,
          ready: /peer ready/,
        }),
      );
      targets.push({ host: '127.0.0.1', port, dialect, ...(o.auth ? { hs256Secret: BENCH_SECRET } : {}) });
    }
  } catch (e) {
    await Promise.all(started.map((s) => s.stop()));
    throw e;
  }
  const notes = started.some((s) => /uws=fallback/.test(s.output())) ? ['uWebSockets.js ran its JavaScript fallback, not the native binary'] : [];
  if (o.auth) notes.push('the peer verifies an HS256 token per connection (bench/peers/jwt.ts)');
  return {
    name,
    target: targets[0]!,
    serverPid: started[0]!.pid,
    targets,
    serverPids: started.map((s) => s.pid),
    helperPids: {},
    notes,
    stop: async () => {
      await Promise.all(started.map((s) => s.stop()));
    },
  };
}

/** nats-server on its own temp dir; JetStream for Cascade, a WebSocket listener for peer (e). */
async function startNats(o: { jetstream: boolean; wsPort?: number; core?: number }): Promise<{ url: string; spawned: Spawned; dir: string }> {
  const dir = trackDir(mkdtempSync(join(tmpdir(), 'cascade-bench-nats-')));
  const port = await freePort();
  const lines = [`listen: "127.0.0.1:${port}"`, 'max_payload: 1MB'];
  if (o.jetstream) lines.push(`jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))}, max_memory_store: 512MB, max_file_store: 4GB }`);
  if (o.wsPort !== undefined) lines.push(`websocket { listen: "127.0.0.1:${o.wsPort}", no_tls: true, compression: false }`);
  writeFileSync(join(dir, 'nats.conf'), `${lines.join('\n')}\n`);
  try {
    const spawned = await spawnServer({ name: 'nats-server', cmd: natsServerBinary(), args: ['-c', join(dir, 'nats.conf')], core: o.core, ready: /Server is ready/ });
    return { url: `nats://127.0.0.1:${port}`, spawned, dir };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function startNatsWs(): Promise<RunningTarget> {
  const wsPort = await freePort();
  const n = await startNats({ jetstream: false, wsPort, core: SERVER_CORE });
  return {
    name: 'nats-ws',
    target: { host: '127.0.0.1', port: wsPort, dialect: 'nats' },
    serverPid: n.spawned.pid,
    targets: [{ host: '127.0.0.1', port: wsPort, dialect: 'nats' }],
    serverPids: [n.spawned.pid],
    helperPids: {},
    notes: [],
    stop: async () => {
      await n.spawned.stop();
      rmSync(n.dir, { recursive: true, force: true });
    },
  };
}

/** NATS (JetStream) + one fan-out worker + edge(s); only the edges are on the server core. */
async function startCascadeTarget(ephemeral: boolean, o: StartOptions): Promise<RunningTarget> {
  const helpers = helpersCore();
  const n = await startNats({ jetstream: true, core: helpers });
  let sys: CascadeSystem | undefined;
  try {
    sys = await startCascade({
      natsUrl: n.url,
      edges: o.instances ?? 1,
      services: o.history === false ? ['fan-out-worker'] : ['fan-out-worker', 'history'],
      env: {
        // The benchmark publishes from one connection far above the per-connection and
        // per-channel limits that protect a production edge.
        EDGE_PUBLISH_RATE: '1000000',
        EDGE_PUBLISH_BURST: '1000000',
        EDGE_CHANNEL_PUBLISH_RATE: '1000000',
        EDGE_CHANNEL_PUBLISH_BURST: '1000000',
        ...(o.auth ? { EDGE_JWT_HS256_SECRET: BENCH_SECRET } : {}),
        ...cascadeEnv(),
        ...o.serviceEnv,
      },
    });
    const worker = sys.services.get('fan-out-worker')?.[0];
    const history = sys.services.get('history')?.[0];
    for (const e of sys.edges) pin(e.process.pid, SERVER_CORE);
    if (helpers !== undefined) for (const p of [worker, history]) if (p !== undefined) pin(p.pid, helpers);
    const system = sys;
    const targets: Target[] = sys.edges.map((e) => ({ host: '127.0.0.1', port: e.port, dialect: ephemeral ? 'cascade-ephemeral' : 'cascade', ...(o.auth ? { hs256Secret: BENCH_SECRET } : {}) }));
    return {
      name: ephemeral ? 'cascade-ephemeral' : 'cascade',
      target: targets[0]!,
      serverPid: sys.edges[0]!.process.pid,
      targets,
      serverPids: sys.edges.map((e) => e.process.pid),
      helperPids: { 'nats-server': n.spawned.pid, ...(worker ? { 'fan-out-worker': worker.pid } : {}), ...(history ? { history: history.pid } : {}) },
      nats: { url: n.url, prefix: system.prefix },
      notes: [helpers === undefined ? 'NATS, the fan-out worker and history unpinned' : `NATS, the fan-out worker and history pinned to core ${helpers}${helpers === GENERATOR_CORE ? ' with the load generator' : ' with the edge'}`],
      stop: async () => {
        await system.stop();
        await n.spawned.stop();
        rmSync(n.dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await sys?.stop();
    await n.spawned.stop();
    rmSync(n.dir, { recursive: true, force: true });
    throw e;
  }
}

export function startTarget(name: TargetName, o: StartOptions = {}): Promise<RunningTarget> {
  switch (name) {
    case 'cascade':
    case 'cascade-ephemeral':
      return startCascadeTarget(name === 'cascade-ephemeral', o);
    case 'uws':
      return startPeer(name, 'uws-server.ts', 'plain', o);
    case 'uws-batched':
      // The same server publishing what one turn of the event loop received together, as an
      // edge does with the many messages NATS hands it per read.
      return startPeer(name, 'uws-server.ts', 'plain', o, { PEER_BATCH: '1' });
    case 'ws':
      return startPeer(name, 'ws-server.ts', 'plain', o);
    case 'socketio':
      return startPeer(name, 'socketio-server.ts', 'socketio', o);
    case 'nats-ws':
      if ((o.instances ?? 1) > 1) return Promise.reject(new Error('nats-ws: one server process only'));
      return startNatsWs();
  }
}

// The systems under test. Each starts in its own processes so its memory can be read, with
// the server that does the fan-out pinned to core 0 (the generator runs on core 1).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, natsServerBinary, startCascade, type CascadeSystem } from '@cascade/testing';
import type { Target } from '../load/generator.js';
import { trackDir } from '../system/children.js';
import { pin } from '../system/proc.js';
import { spawnServer, type Spawned } from './spawn.js';

export type TargetName = 'cascade' | 'cascade-ephemeral' | 'uws' | 'ws' | 'socketio' | 'nats-ws';

export const LABELS: Record<TargetName, string> = {
  cascade: 'Cascade',
  'cascade-ephemeral': 'Cascade, ephemeral (no JetStream)',
  uws: 'raw uWebSockets.js',
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
  /** Other processes of the system (Cascade's NATS and worker), reported separately. */
  helperPids: Record<string, number>;
  notes: string[];
  stop(): Promise<void>;
}

/** A secret for the development tokens the bench signs (Cascade's idle scenario). */
export const BENCH_SECRET = 'cascade-bench-hs256-secret-not-for-production';

const PEER_DIR = fileURLToPath(new URL('../peers/', import.meta.url));

async function startPeer(name: TargetName, file: string, dialect: Target['dialect']): Promise<RunningTarget> {
  const port = await freePort();
  const s = await spawnServer({
    name,
    cmd: process.execPath,
    args: ['--import', 'tsx', join(PEER_DIR, file)],
    env: { PORT: String(port) },
    core: SERVER_CORE,
    ready: /peer ready/,
  });
  const notes = /uws=fallback/.test(s.output()) ? ['uWebSockets.js ran its JavaScript fallback, not the native binary'] : [];
  return { name, target: { host: '127.0.0.1', port, dialect }, serverPid: s.pid, helperPids: {}, notes, stop: () => s.stop() };
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
    helperPids: {},
    notes: [],
    stop: async () => {
      await n.spawned.stop();
      rmSync(n.dir, { recursive: true, force: true });
    },
  };
}

/** NATS (JetStream) + one fan-out worker + one edge; only the edge is on the server core. */
async function startCascadeTarget(o: { auth: boolean; ephemeral: boolean }): Promise<RunningTarget> {
  const helpers = helpersCore();
  const n = await startNats({ jetstream: true, core: helpers });
  let sys: CascadeSystem | undefined;
  try {
    sys = await startCascade({
      natsUrl: n.url,
      edges: 1,
      services: ['fan-out-worker'],
      env: {
        // The benchmark publishes from one connection far above the per-connection and
        // per-channel limits that protect a production edge.
        EDGE_PUBLISH_RATE: '1000000',
        EDGE_PUBLISH_BURST: '1000000',
        EDGE_CHANNEL_PUBLISH_RATE: '1000000',
        EDGE_CHANNEL_PUBLISH_BURST: '1000000',
        ...(o.auth ? { EDGE_JWT_HS256_SECRET: BENCH_SECRET } : {}),
      },
    });
    const edge = sys.edges[0]!;
    const worker = sys.services.get('fan-out-worker')?.[0];
    pin(edge.process.pid, SERVER_CORE);
    if (worker !== undefined && helpers !== undefined) pin(worker.pid, helpers);
    const system = sys;
    return {
      name: o.ephemeral ? 'cascade-ephemeral' : 'cascade',
      target: { host: '127.0.0.1', port: edge.port, dialect: o.ephemeral ? 'cascade-ephemeral' : 'cascade', ...(o.auth ? { hs256Secret: BENCH_SECRET } : {}) },
      serverPid: edge.process.pid,
      helperPids: { 'nats-server': n.spawned.pid, ...(worker ? { 'fan-out-worker': worker.pid } : {}) },
      notes: [helpers === undefined ? 'NATS and the fan-out worker unpinned' : `NATS and the fan-out worker pinned to core ${helpers}${helpers === GENERATOR_CORE ? ' with the load generator' : ' with the edge'}`],
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

export function startTarget(name: TargetName, o: { auth?: boolean } = {}): Promise<RunningTarget> {
  switch (name) {
    case 'cascade':
    case 'cascade-ephemeral':
      return startCascadeTarget({ auth: o.auth ?? false, ephemeral: name === 'cascade-ephemeral' });
    case 'uws':
      return startPeer(name, 'uws-server.ts', 'plain');
    case 'ws':
      return startPeer(name, 'ws-server.ts', 'plain');
    case 'socketio':
      return startPeer(name, 'socketio-server.ts', 'socketio');
    case 'nats-ws':
      return startNatsWs();
  }
}

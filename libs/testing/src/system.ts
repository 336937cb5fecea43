// Starts Cascade's services as child processes against a given NATS, the way a deployment
// runs them, for end-to-end tests. Services are addressed by entry path, never imported.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { repoRoot } from './repo.js';
import { spawnService, type ServiceProcess } from './processes.js';

export type CascadeServiceName = 'edge-gateway' | 'fan-out-worker' | 'history' | 'presence';

export interface EdgeProcess {
  readonly port: number;
  /** ws://127.0.0.1:<port>/ */
  readonly url: string;
  readonly process: ServiceProcess;
}

export interface CascadeSystem {
  /** The subject prefix this system uses (unique per system, so tests never share streams). */
  readonly prefix: string;
  readonly natsUrl: string;
  readonly edges: EdgeProcess[];
  readonly services: Map<CascadeServiceName, ServiceProcess[]>;
  /** Environment every service got (NATS_URL, RT_PREFIX, ...), for starting more. */
  readonly env: Record<string, string>;
  /**
   * Starts one more edge with extra env. `EDGE_PORT` in it picks the port (to restart an edge
   * on the port its clients know); otherwise a free one is used.
   */
  startEdge(env?: Record<string, string>): Promise<EdgeProcess>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A subject prefix unique to this test run: a letter, then hex (fits RT_PREFIX's rule). */
export function uniquePrefix(): string {
  return `t${randomBytes(5).toString('hex')}`;
}

export function serviceEntry(name: CascadeServiceName): string {
  return join(repoRoot(), 'services', name, 'src', 'main.ts');
}

const READY: Record<CascadeServiceName, string> = {
  'edge-gateway': 'edge-gateway ready',
  'fan-out-worker': 'fan-out-worker ready',
  history: 'history ready',
  presence: 'presence ready',
};

/**
 * V8 flags every edge runs with, in tests and benchmarks as in production (k8s, compose,
 * `npm start`): a 4 MiB young generation instead of 16 MiB, so a node's committed heap does not
 * grow by 2 × 16 MiB under a burst of connects (docs/operations.md, "Edge memory").
 */
export const EDGE_NODE_OPTIONS = '--max-semi-space-size=4';

export function startCascadeService(name: CascadeServiceName, env: Record<string, string>): Promise<ServiceProcess> {
  return spawnService({ name, entry: serviceEntry(name), env, ready: READY[name], timeoutMs: 30_000 });
}

export async function startCascade(o: {
  natsUrl: string;
  edges?: number;
  prefix?: string;
  env?: Record<string, string>;
  /** Services besides the edges (default: all three). */
  services?: Exclude<CascadeServiceName, 'edge-gateway'>[];
}): Promise<CascadeSystem> {
  const prefix = o.prefix ?? uniquePrefix();
  const env: Record<string, string> = {
    NATS_URL: o.natsUrl,
    RT_PREFIX: prefix,
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    // Tests that are not about auth connect without a token and use any channel; auth tests
    // override these (and tokens are checked with the edge's development secret).
    EDGE_ANONYMOUS: 'publish',
    // Test publishers send as fast as acks return; publish rate limits are tested where a
    // test sets them (auth.int), not tripped by accident elsewhere.
    EDGE_PUBLISH_RATE: '100000',
    EDGE_PUBLISH_BURST: '100000',
    EDGE_CHANNEL_PUBLISH_RATE: '100000',
    EDGE_CHANNEL_PUBLISH_BURST: '100000',
    // Stopping a test system should not wait the production drain window; drain tests set it.
    EDGE_DRAIN_WINDOW: '200ms',
    EDGE_DRAIN_GRACE: '200ms',
    EDGE_NAMESPACES: '{"*":["subscribe","publish"]}',
    ...o.env,
  };
  const services = new Map<CascadeServiceName, ServiceProcess[]>();
  const edges: EdgeProcess[] = [];
  const all: ServiceProcess[] = [];
  const add = (name: CascadeServiceName, p: ServiceProcess) => {
    services.set(name, [...(services.get(name) ?? []), p]);
    all.push(p);
  };
  const startEdge = async (extra: Record<string, string> = {}): Promise<EdgeProcess> => {
    const port = extra.EDGE_PORT === undefined ? await freePort() : Number(extra.EDGE_PORT);
    // 0 ("any free port") is refused: the url handed back must name the real port.
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`startEdge: EDGE_PORT must be a port number 1-65535, got ${String(extra.EDGE_PORT)}`);
    const all = { ...env, ...extra };
    const nodeOptions = [EDGE_NODE_OPTIONS, all.NODE_OPTIONS ?? ''].filter(Boolean).join(' ');
    const p = await startCascadeService('edge-gateway', { ...all, NODE_OPTIONS: nodeOptions, EDGE_PORT: String(port) });
    add('edge-gateway', p);
    const edge = { port, url: `ws://127.0.0.1:${port}/`, process: p };
    edges.push(edge);
    return edge;
  };
  const stop = async () => {
    await Promise.all(all.map((p) => p.stop('SIGTERM', 5000)));
  };
  try {
    // The first service creates the streams; starting the rest in parallel also exercises
    // concurrent "ensure" of the same contract.
    const names = o.services ?? ['fan-out-worker', 'history', 'presence'];
    await Promise.all([
      ...names.map(async (n) => add(n, await startCascadeService(n, env))),
      ...Array.from({ length: o.edges ?? 1 }, () => startEdge()),
    ]);
  } catch (e) {
    await stop();
    throw e;
  }
  return { prefix, natsUrl: o.natsUrl, edges, services, env, startEdge, stop, [Symbol.asyncDispose]: stop };
}

// Runs a local JetStream cluster of nats-servers routed to each other on loopback.
import { makeTempDir } from './cleanup.js';
import { monitorJson } from './nats-monitor.js';
import { LocalNatsServer, withPortRetry, type NatsServerFixture } from './nats-server.js';
import { freePort } from './ports.js';
import { uniqueName } from './names.js';
import { sleep } from './wait.js';

export interface NatsClusterFixture {
  readonly name: string;
  readonly nodes: NatsServerFixture[];
  readonly urls: string[];
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface StartNatsClusterOptions {
  size?: number;
  config?: string;
}

const FORM_TIMEOUT_MS = 30_000;

interface Routez {
  num_routes: number;
}
interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number; replicas?: { name: string; current: boolean }[] };
}

// Why a node is not ready yet, or undefined when it is: routed to every peer and agreeing on a
// meta leader that sees all peers current (before that, R>1 stream creation can fail).
async function notReadyReason(node: LocalNatsServer, size: number): Promise<string | undefined> {
  try {
    const routez = await monitorJson<Routez>(node.monitorPort, '/routez');
    if (routez.num_routes < size - 1) return `${node.name}: ${routez.num_routes}/${size - 1} routes`;
    const meta = (await monitorJson<Jsz>(node.monitorPort, '/jsz')).meta_cluster;
    if (!meta?.leader) return `${node.name}: no JetStream meta leader`;
    if (meta.leader === node.name) {
      const current = (meta.replicas ?? []).filter((r) => r.current).length;
      if (current < size - 1) return `${node.name}: meta leader sees ${current}/${size - 1} current peers`;
    }
    return undefined;
  } catch (err) {
    return `${node.name}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

async function launchCluster(size: number, config: string | undefined): Promise<NatsClusterFixture> {
  const clusterName = uniqueName('cluster');
  const ports: { port: number; monitorPort: number; clusterPort: number }[] = [];
  for (let i = 0; i < size; i++) ports.push({ port: await freePort(), monitorPort: await freePort(), clusterPort: await freePort() });
  const nodes = ports.map((p, i) => {
    const name = `${clusterName}_n${i + 1}`;
    return new LocalNatsServer(name, p.port, p.monitorPort, makeTempDir(name), {
      jetstream: true,
      cluster: {
        name: clusterName,
        port: p.clusterPort,
        routePorts: ports.filter((_, j) => j !== i).map((other) => other.clusterPort),
      },
      ...(config !== undefined ? { extra: config } : {}),
    });
  });
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    // All nodes must be up together: a JetStream cluster node is not healthy until it has peers.
    for (const node of nodes) node.launch();
    await Promise.all(nodes.map((n) => n.waitReady(FORM_TIMEOUT_MS)));
    const deadline = Date.now() + FORM_TIMEOUT_MS;
    for (;;) {
      const reasons = (await Promise.all(nodes.map((n) => notReadyReason(n, size)))).filter((r) => r !== undefined);
      if (reasons.length === 0) break;
      if (Date.now() > deadline) {
        const tails = nodes.map((n) => `--- ${n.name} output tail ---\n${n.output().split('\n').slice(-15).join('\n')}`);
        throw new Error(`NATS cluster ${clusterName} did not form within ${FORM_TIMEOUT_MS} ms: ${reasons.join('; ')}\n${tails.join('\n')}`);
      }
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { name: clusterName, nodes, urls: nodes.map((n) => n.url), stop, [Symbol.asyncDispose]: stop };
}

export async function startNatsCluster(o: StartNatsClusterOptions = {}): Promise<NatsClusterFixture> {
  const size = o.size ?? 3;
  if (!Number.isInteger(size) || size < 1) throw new Error(`startNatsCluster: size must be a positive integer, got ${size}`);
  return withPortRetry(() => launchCluster(size, o.config));
}

// Proves startNatsCluster: routes are up on every node and an R3 stream can be created at once.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { expect, it } from 'vitest';
import { startNatsCluster, uniqueName } from './index.js';

it('forms a 3-node JetStream cluster that accepts a replicas-3 stream', async () => {
  await using cluster = await startNatsCluster();
  expect(cluster.nodes).toHaveLength(3);
  expect(cluster.urls).toEqual(cluster.nodes.map((n) => n.url));

  for (const node of cluster.nodes) {
    const routez = (await (await fetch(`http://127.0.0.1:${node.monitorPort}/routez`)).json()) as { num_routes: number };
    expect(routez.num_routes).toBe(2);
  }

  const nc = await connect({ servers: cluster.urls });
  try {
    const jsm = await jetstreamManager(nc);
    const stream = uniqueName('replicated');
    const created = await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], num_replicas: 3 });
    expect(created.config.num_replicas).toBe(3);
    await jetstream(nc).publish(`${stream}.msg`, 'hello');
    const info = await jsm.streams.info(stream);
    expect(info.state.messages).toBe(1);
    expect(info.cluster?.replicas).toHaveLength(2);
  } finally {
    await nc.close();
  }
});

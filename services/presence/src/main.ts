// presence: reads its config and wires the presence engine to NATS (docs/presence.md).
import { runService } from '@cascade/service';
import { disabledNamespacesOf, presenceConfig } from './config.js';
import { EmitterLease } from './emitter-lease.js';
import { NatsPresence } from './nats-presence.js';

process.exit(
  await runService({
    name: 'presence',
    displayName: 'presence',
    config: presenceConfig,
    async start({ config, nc, contract, log, instance }) {
      const lease = await EmitterLease.open(nc, contract.buckets.leases, instance, log);
      await lease.start();
      const presence = new NatsPresence(
        nc,
        contract,
        log,
        {
          graceMs: config.gracePeriod,
          edgeTimeoutMs: config.edgeTimeout,
          snapshotTimeoutMs: config.snapshotTimeout,
          maxMembers: config.maxMembers,
          disabledNamespaces: disabledNamespacesOf(config.disabledNamespaces),
          frameRate: config.frameRate,
          lastSeenCapacity: config.lastSeenCapacity,
        },
        { batchIntervalMs: config.batchInterval, mayPublish: () => lease.held },
      );
      await presence.start();
      return {
        stop: async () => {
          await presence.stop();
          await lease.stop();
        },
        health: () => ({ ...presence.engine.stats, emitter: lease.held }),
      };
    },
  }),
);

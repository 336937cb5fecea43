// fan-out-worker: wires the partition leases, the per-partition consumers, the sequencer
// and the history log.
import { NatsLiveOutput } from './live.js';
import { JetStreamApiError } from '@nats-io/jetstream';
import { LeaseBucket } from '@cascade/nats';
import { runService } from '@cascade/service';
import { JetStreamHistoryLog } from './history-log.js';
import { leaseTimings } from './lease.js';
import { PartitionOwner } from './owner.js';
import { PartitionConsumer, type WriteStats } from './partition-consumer.js';

const CONSUMER_NOT_FOUND = 10014;

process.exit(
  await runService({
    name: 'fanout',
    displayName: 'fan-out-worker',
    config: {},
    async start({ nc, js, jsm, contract, log, instance, config }) {
      // The single all-partitions consumer of earlier versions overlaps every partition
      // consumer, which a work-queue stream refuses; its unacked messages stay in the stream.
      try {
        await jsm.consumers.delete(contract.ingestStream, 'fanout');
        log.info('removed the legacy all-partitions consumer "fanout"');
      } catch (e) {
        if (!(e instanceof JetStreamApiError && e.code === CONSUMER_NOT_FOUND)) throw e;
      }
      const stats: WriteStats = { stored: 0, redelivered: 0, rejected: 0, retried: 0 };
      const deps = {
        js,
        jsm,
        contract,
        log,
        stats,
        history: new JetStreamHistoryLog(js, jsm, contract),
        live: new NatsLiveOutput(nc, contract),
      };
      const owner = new PartitionOwner({
        bucket: await LeaseBucket.open(nc, jsm, contract),
        instance,
        partitions: contract.partitions,
        timings: leaseTimings(config.leaseTtl),
        log,
        consumerFor: (p, lease) => new PartitionConsumer(p, lease, deps),
        flush: () => nc.flush(),
      });
      await owner.start();
      return {
        stop: () => owner.stop(),
        health: () => ({ ...stats, partitions: owner.owned(), leasesLost: owner.lost }),
      };
    },
  }),
);

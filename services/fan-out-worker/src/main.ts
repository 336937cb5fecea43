// fan-out-worker: wires the partition leases, the per-partition consumers, the sequencer,
// the history log, the live output (following whether the history stream republishes),
// and group fan-out with the group API.
import { int } from '@cascade/config';
import { DEFAULT_GROUP_FANOUT_THRESHOLD, GroupMembership, LeaseBucket } from '@cascade/nats';
import { runService } from '@cascade/service';
import { GroupFanout, serveGroupApi } from './groups.js';
import { JetStreamHistoryLog } from './history-log.js';
import { leaseTimings } from './lease.js';
import { HistoryLiveMode, NatsLiveOutput } from './live.js';
import { PartitionOwner } from './owner.js';
import { PartitionConsumer, type WriteStats } from './partition-consumer.js';

process.exit(
  await runService({
    name: 'fanout',
    displayName: 'fan-out-worker',
    config: {
      groupFanoutThreshold: int({
        env: 'GROUP_FANOUT_THRESHOLD',
        describe: "Largest group whose messages are written into each member's personal channel; larger groups are stored once in group:<name>",
        default: DEFAULT_GROUP_FANOUT_THRESHOLD,
        min: 0,
        max: 100_000,
      }),
    },
    async start({ nc, js, jsm, contract, log, instance, config }) {
      const stats: WriteStats = { stored: 0, redelivered: 0, rejected: 0, retried: 0, fannedOut: 0 };
      // The membership cache is complete before any partition is consumed, so the first group
      // message already takes the right path.
      const membership = await GroupMembership.open(nc, jsm, contract, {
        onError: (err) => log.warn({ err }, 'group membership watch failed; restarting it'),
      });
      const groupApi = serveGroupApi(nc, contract, membership, config.groupFanoutThreshold, log);
      const history = new JetStreamHistoryLog(nc, jsm, contract);
      // Who emits stored messages live, from the history stream's actual config (logged).
      const liveMode = await HistoryLiveMode.open(jsm, contract, log);
      const deps = {
        js,
        jsm,
        contract,
        log,
        stats,
        history,
        live: new NatsLiveOutput(nc, contract, liveMode),
        groups: new GroupFanout(js, contract, membership, config.groupFanoutThreshold, log),
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
        stop: async () => {
          groupApi.unsubscribe();
          await owner.stop();
          liveMode.stop();
          history.close();
          membership.stop();
        },
        health: () => ({ ...stats, live: liveMode.emitter, partitions: owner.owned(), leasesLost: owner.lost }),
      };
    },
  }),
);

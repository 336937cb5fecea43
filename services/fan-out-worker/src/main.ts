// fan-out-worker: wires the ingest consumer, the sequencer and the history log.
import { runService } from '@cascade/service';
import { ChannelPositions } from './positions.js';
import { JetStreamHistoryLog } from './history-log.js';
import { Sequencer } from './sequencer.js';
import { IngestConsumer } from './consumer.js';

process.exit(
  await runService({
    name: 'fanout',
    displayName: 'fan-out-worker',
    config: {},
    async start({ nc, js, jsm, contract, log }) {
      const history = new JetStreamHistoryLog(js, jsm, contract);
      const sequencer = new Sequencer(history, { emit: (ch, frame) => nc.publish(contract.live(ch), frame) }, new ChannelPositions());
      const consumer = new IngestConsumer(js, jsm, contract, sequencer, log);
      await consumer.start();
      return {
        stop: () => consumer.stop(),
        health: () => ({ ...consumer.stats }),
      };
    },
  }),
);

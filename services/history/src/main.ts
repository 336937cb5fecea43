// history: serves a channel's past over request-reply (`<prefix>.svc.history.*`): reads
// forward and backward, the channel's current position, and the resume check; and sweeps
// per-namespace retention.
import { duration } from '@cascade/config';
import { runService } from '@cascade/service';
import { HistoryApi } from './api.js';
import { HistoryQuery } from './query.js';
import { RetentionSweeper, retentionSpec } from './retention.js';
import { JetStreamHistoryStore } from './store.js';

process.exit(
  await runService({
    name: 'history',
    displayName: 'history',
    config: {
      retention: retentionSpec(),
      retentionInterval: duration({ env: 'HISTORY_RETENTION_INTERVAL', describe: 'How often per-namespace retention is swept', default: '1m', min: '1s', max: '1d' }),
    },
    async start({ config, nc, jsm, contract, log }) {
      // Replies carry frames and must fit in one NATS message: leave room for the envelope.
      const maxReplyBytes = Math.max(64 * 1024, (nc.info?.max_payload ?? 1024 * 1024) - 64 * 1024);
      const store = new JetStreamHistoryStore(nc, jsm, contract, { log });
      const api = new HistoryApi(nc, contract, new HistoryQuery(store, maxReplyBytes), log);
      api.start();
      const sweeper = new RetentionSweeper(jsm, contract, config.retention, config.retentionInterval, log);
      sweeper.start();
      if (config.retention.size > 0) log.info({ namespaces: [...config.retention.keys()] }, 'per-namespace retention active');
      return {
        stop: async () => {
          await sweeper.stop();
          await api.stop();
          store.close();
        },
        health: () => ({ stream: contract.historyStream, ...api.stats, retentionPurged: sweeper.purged }),
      };
    },
  }),
);

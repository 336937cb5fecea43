// `node --import tsx infra/demo/ticker-main.ts`: runs the demo ticker as a process (npm start
// does), with the services' NATS variables (NATS_URL, RT_PREFIX, RT_PARTITIONS).
import { ConfigError, duration, loadConfig } from '@cascade/config';
import { createLogger, defaultLogFormat, logConfig } from '@cascade/log';
import { connectNats, contractFrom, natsConfig } from '@cascade/nats';
import { startTicker, TICKER_CHANNEL } from './ticker.js';

const config = (() => {
  try {
    return loadConfig({
      ...natsConfig,
      ...logConfig,
      interval: duration({ env: 'DEMO_TICKER_INTERVAL', describe: 'Time between two ticker messages', default: '100ms', min: '10ms', max: '1m' }),
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`demo-ticker: cannot start, invalid configuration:\n${e.message}\n`);
    process.exit(78);
  }
})();

const log = createLogger({ service: 'demo-ticker', level: config.logLevel, format: config.logFormat ?? defaultLogFormat() });
const nc = await connectNats({ servers: config.natsUrl, name: 'demo-ticker', log });
let failures = 0;
const ticker = startTicker({
  nc,
  contract: contractFrom(config),
  intervalMs: config.interval,
  onError: (err, n) => {
    // One line per burst of failures, not one per tick.
    if (failures++ % 50 === 0) log.warn({ err, n }, 'ticker publish failed; retrying');
  },
});
log.info({ channel: TICKER_CHANNEL, everyMs: config.interval }, 'demo-ticker ready');
const report = setInterval(() => log.debug({ published: ticker.published }, 'ticker progress'), 30_000);

const signal = await new Promise<NodeJS.Signals>((resolve) => {
  process.once('SIGTERM', () => resolve('SIGTERM'));
  process.once('SIGINT', () => resolve('SIGINT'));
});
clearInterval(report);
await ticker.stop();
await nc.drain();
log.info({ signal, published: ticker.published }, 'demo-ticker stopped');

// edge-gateway: reads config and wires NATS, the live channels, the ingest adapter and
// the uWebSockets.js transport.
import { runService } from '@cascade/service';
import { edgeConfig } from './config.js';
import { anonymous } from './identity.js';
import { NatsIngest } from './ingest.js';
import { LiveChannels } from './subscriptions.js';
import { Transport } from './transport.js';
import { uwsRuntime } from './uws.js';

process.exit(
  await runService({
    name: 'edge',
    displayName: 'edge-gateway',
    config: edgeConfig,
    async start({ config, nc, js, contract, log, instance }) {
      const runtime = uwsRuntime();
      if (runtime === 'native') log.info({ uws: runtime }, 'uWebSockets.js native binary loaded');
      else log.warn({ uws: runtime }, 'uWebSockets.js runs its slow JavaScript fallback: the native binary did not load');
      let transport: Transport | undefined = undefined;
      const channels = new LiveChannels(nc, contract, (channel, frame) => transport?.deliver(channel, frame));
      let stopping = false;
      transport = new Transport({
        host: config.host,
        port: config.port,
        maxFrameBytes: config.maxFrameBytes,
        maxBackpressureBytes: config.maxBackpressure,
        idleTimeoutMs: config.idleTimeout,
        connectTimeoutMs: config.connectTimeout,
        session: {
          hub: channels,
          ingest: new NatsIngest(nc, js, contract, config.publishTimeout),
          authenticate: anonymous,
          limits: { maxFrameBytes: config.maxFrameBytes, maxSubscriptions: config.maxSubscriptions },
          onError: (err, context) => log.warn({ err, context }, 'request failed'),
        },
        ready: () => !stopping && !nc.isClosed(),
        health: () => ({ instance, uws: runtime, connections: transport?.connections ?? 0, natsSubscriptions: channels.natsSubscriptions }),
      });
      const port = await transport.listen();
      log.info({ url: `ws://${config.host}:${port}/`, port }, 'edge-gateway listening');
      return {
        stop: async () => {
          stopping = true;
          transport?.close();
        },
        health: () => ({ uws: runtime, port, connections: transport?.connections ?? 0, natsSubscriptions: channels.natsSubscriptions }),
        ready: () => !stopping,
      };
    },
  }),
);

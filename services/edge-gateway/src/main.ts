// edge-gateway: reads config and wires NATS, the live channels, the ingest adapter and
// the uWebSockets.js transport.
import { ConfigError, loadConfig } from '@cascade/config';
import { runService } from '@cascade/service';
import { EdgePresenceLink, HistoryClient, edgeIdOf } from '@cascade/nats';
import { authConfig, authSettings, type AuthSettings } from './auth-config.js';
import { edgeConfig } from './config.js';
import { createAuthenticator } from './identity.js';
import { NatsIngest } from './ingest.js';
import { KeyedBuckets } from './rate-limit.js';
import { drain } from './drain.js';
import { EdgeMetrics } from './metrics.js';
import { LiveChannels } from './subscriptions.js';
import { RecentFrames } from './ring.js';
import { ServerApi } from './http-api.js';
import { Transport } from './transport.js';
import { uwsRuntime } from './uws.js';

// The auth variables are checked together before anything starts, so a production edge with
// the development secret or anonymous access exits 78 without touching NATS.
let auth: AuthSettings;
try {
  auth = authSettings(loadConfig(authConfig), process.env);
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  process.stderr.write(`edge-gateway: cannot start, invalid configuration:\n${e.message}\n`);
  process.exit(78);
}

process.exit(
  await runService({
    name: 'edge',
    displayName: 'edge-gateway',
    config: edgeConfig,
    async start({ config, nc, js, contract, log, instance }) {
      const runtime = uwsRuntime();
      if (auth.devSecret) log.warn('tokens are checked with the built-in development secret (EDGE_JWT_HS256_SECRET unset): for development only');
      if (auth.anonymous) log.info({ anonymous: [...auth.anonymous] }, 'connections without a token are accepted as anonymous (EDGE_ANONYMOUS)');
      if (runtime === 'native') log.info({ uws: runtime }, 'uWebSockets.js native binary loaded');
      else log.warn({ uws: runtime }, 'uWebSockets.js runs its slow JavaScript fallback: the native binary did not load');
      let transport: Transport | undefined = undefined;
      // Each live frame feeds the channel's ring (and resuming connections' taps), then the local fan-out.
      const recent = new RecentFrames(config.ringSize);
      const channels = new LiveChannels(
        nc,
        contract,
        (channel, frame, excludeClient) => {
          recent.record(channel, frame);
          transport?.deliver(channel, frame, excludeClient);
        },
        (channel) => recent.drop(channel),
      );
      const history = new HistoryClient(nc, contract, config.historyTimeout);
      // Presence: this node's connections and subscriptions, coalesced and reported to the
      // presence service (docs/presence.md); reporting never blocks or fails a client.
      const presence = new EdgePresenceLink(nc, contract, {
        edge: edgeIdOf(instance),
        onError: (err, what) => log.warn({ err, what }, 'presence report failed; the next heartbeat heals it'),
      });
      presence.start();
      const metrics = new EdgeMetrics();
      metrics.observe({
        connections: () => transport?.connections ?? 0,
        subscriptions: () => channels.localSubscriptions,
        natsSubscriptions: () => channels.natsSubscriptions,
        sendBuffers: () => transport?.sendBufferBytes ?? 0,
      });
      let stopping = false;
      transport = new Transport({
        host: config.host,
        port: config.port,
        maxFrameBytes: config.maxFrameBytes,
        maxBackpressureBytes: config.maxBackpressure,
        presence: presence.reporter,
        idleTimeoutMs: config.idleTimeout,
        connectTimeoutMs: config.connectTimeout,
        session: {
          hub: channels,
          ingest: new NatsIngest(nc, js, contract, config.publishTimeout, metrics),
          authenticate: createAuthenticator(auth),
          limits: {
            maxFrameBytes: config.maxFrameBytes,
            maxSubscriptions: config.maxSubscriptions,
            maxPublishBytes: Math.min(config.maxPublishBytes, config.maxMessageBytes),
          },
          publishRate: { perSecond: config.publishRate, burst: config.publishBurst },
          channelRates: new KeyedBuckets({ perSecond: config.channelPublishRate, burst: config.channelPublishBurst }),
          onError: (err, context) => log.warn({ err, context }, 'request failed'),
          resume: { recent, history },
        },
        api: new ServerApi(history, config.apiKey),
        metrics,
        ready: () => !stopping && !nc.isClosed(),
        health: () => ({ instance, uws: runtime, connections: transport?.connections ?? 0, natsSubscriptions: channels.natsSubscriptions }),
      });
      const port = await transport.listen();
      log.info({ url: `ws://${config.host}:${port}/`, port }, 'edge-gateway listening');
      return {
        stop: async () => {
          stopping = true;
          if (!transport) return;
          const report = await drain(transport.drainTarget(), { windowMs: config.drainWindow, graceMs: config.drainGrace });
          log.info(report, 'drained: clients were told to reconnect elsewhere');
          // Every connection is gone: say so at once instead of waiting for the heartbeat timeout.
          presence.stop({ bye: true });
        },
        health: () => ({ uws: runtime, port, connections: transport?.connections ?? 0, natsSubscriptions: channels.natsSubscriptions }),
        ready: () => !stopping,
      };
    },
  }),
);

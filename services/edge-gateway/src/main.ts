// edge-gateway: reads config and wires NATS, the live channels, the ingest adapter and
// the uWebSockets.js transport.
import { ConfigError, loadConfig } from '@cascade/config';
import { runService } from '@cascade/service';
import { CloseCode, framesDecodeWithTextDecoder } from '@cascade/protocol';
import { Counter } from 'prom-client';
import { CoreSubscriptions, EdgePresenceLink, GroupMembership, GroupsClient, HistoryClient, edgeIdOf } from '@cascade/nats';
import { authConfig, authSettings, type AuthSettings } from './auth-config.js';
import { edgeConfig } from './config.js';
import { createAuthenticator } from './identity.js';
import { NatsIngest } from './ingest.js';
import { KeyedBuckets } from './rate-limit.js';
import { drain } from './drain.js';
import { EdgeMetrics } from './metrics.js';
import { LiveChannels } from './subscriptions.js';
import { ChannelHealer } from './heal.js';
import { RecentFrames } from './ring.js';
import { ServerApi } from './http-api.js';
import { Transport } from './transport.js';
import { StaticFiles } from './static-files.js';
import { devToken } from './dev-tokens.js';
import { UserPublisher } from './http-user.js';
import { NatsPresenceMembers } from './presence-members.js';
import { uwsRuntime } from './uws.js';

/** Users whose HTTP publish buckets an edge keeps at most (idle ones are forgotten first). */
const MAX_PUBLISHING_USERS = 100_000;

/** Delay of the second heal pass after a NATS reconnect. */
const RECONNECT_RECHECK_MS = 2000;

// The auth variables are checked together before anything starts, so a production edge with
// the development secret or anonymous access exits 78 without touching NATS.
// So are the static files (EDGE_STATIC_DIR): an unreadable directory is a configuration error.
let auth: AuthSettings;
let staticFiles: StaticFiles | undefined;
try {
  auth = authSettings(loadConfig(authConfig), process.env);
  const { staticDir } = loadConfig({ staticDir: edgeConfig.staticDir });
  try {
    staticFiles = staticDir === undefined ? undefined : StaticFiles.load(staticDir);
  } catch (err) {
    throw new ConfigError([{ variable: 'EDGE_STATIC_DIR', message: err instanceof Error ? err.message : String(err) }]);
  }
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
    async start({ config, nc, jsm, contract, log, instance }) {
      const runtime = uwsRuntime();
      if (auth.devSecret) log.warn('tokens are checked with the built-in development secret (EDGE_JWT_HS256_SECRET unset): for development only');
      if (auth.devTokens) log.warn('development tokens are handed out to anyone at GET /v1/dev/token (EDGE_DEV_TOKENS=on): for development only');
      if (staticFiles) log.info({ dir: config.staticDir, files: staticFiles.size }, 'serving static files under /demo/ (EDGE_STATIC_DIR)');
      if (auth.anonymous) log.info({ anonymous: [...auth.anonymous] }, 'connections without a token are accepted as anonymous (EDGE_ANONYMOUS)');
      if (runtime === 'native') log.info({ uws: runtime }, 'uWebSockets.js native binary loaded');
      else log.warn({ uws: runtime }, 'uWebSockets.js runs its slow JavaScript fallback: the native binary did not load');
      if (!framesDecodeWithTextDecoder) log.warn('client frames decode their strings with msgpack\'s slower JavaScript decoder: this @msgpack/msgpack version is not the one the protocol codec was checked against');
      let transport: Transport | undefined = undefined;
      const recent = new RecentFrames(config.ringSize);
      const history = new HistoryClient(nc, contract, config.historyTimeout);
      const metrics = new EdgeMetrics();
      const ingest = new NatsIngest(nc, contract, config.publishTimeout, metrics);
      const heals = new Counter({
        name: 'cascade_edge_heals_total',
        help: 'Channels healed from history after a lost live frame (trigger: gap, reconnect), by result: healed, abandoned (subscribers closed with 4004)',
        labelNames: ['trigger', 'result'],
        registers: [metrics.registry],
      });
      const healedFrames = new Counter({ name: 'cascade_edge_healed_frames_total', help: 'Frames fetched from history to fill lost live frames', registers: [metrics.registry] });
      // Live frames pass the healer (heal.ts), which fills what NATS lost from history, then
      // feed the channel's ring (and resuming connections' taps) and the local fan-out.
      const channels = new LiveChannels(
        new CoreSubscriptions(nc),
        contract,
        (channel, frame, excludeClient) => healer.live(channel, frame, excludeClient),
        (channel) => {
          healer.drop(channel);
          recent.drop(channel);
        },
      );
      const healer = new ChannelHealer({
        forward: (channel, frame, position, excludeClient) => {
          recent.record(channel, frame, position);
          transport?.deliver(channel, frame, excludeClient);
        },
        read: (request) => history.read(request),
        abandon: (channel, reason) => {
          transport?.closeSubscribers(channel, CloseCode.ServerError, `live messages of ${channel} were lost (${reason}); reconnect and resume`);
        },
        report: (r) => {
          heals.inc({ trigger: r.trigger, result: r.result });
          healedFrames.inc(r.frames);
          // A reconnect heals every channel; most have lost nothing and are not worth a line.
          if (r.result === 'healed') {
            if (r.frames > 0) log.info({ channel: r.channel, trigger: r.trigger, frames: r.frames }, 'channel healed from history');
          }
          else log.warn({ channel: r.channel, trigger: r.trigger, frames: r.frames, reason: r.reason, err: r.error }, 'channel could not be healed; its subscribers were closed to resume');
        },
      }, {}, channels.healStates);
      // nats.js resends the subscriptions itself on reconnect (before it reports it); what
      // was published meanwhile is healed from history. A second pass a moment later catches
      // a channel's last frames emitted while the resubscription was still settling (under
      // load, seen in tests): with no later frame there would be no seq jump to reveal them.
      void (async () => {
        for await (const s of nc.status()) {
          if (s.type !== 'reconnect') continue;
          healer.reconnected();
          setTimeout(() => healer.reconnected(), RECONNECT_RECHECK_MS).unref();
        }
      })();
      // Presence: this node's connections and subscriptions, coalesced and reported to the
      // presence service (docs/presence.md); reporting never blocks or fails a client.
      const presence = new EdgePresenceLink(nc, contract, {
        edge: edgeIdOf(instance),
        onError: (err, what) => log.warn({ err, what }, 'presence report failed; the next heartbeat heals it'),
      });
      presence.start();
      metrics.observe({
        connections: () => transport?.connections ?? 0,
        subscriptions: () => channels.localSubscriptions,
        natsSubscriptions: () => channels.natsSubscriptions,
        sendBuffers: () => transport?.sendBufferBytes ?? 0,
      });
      // Group membership decides subscribes to `group:` channels (permissions.ts); the cache is
      // complete before the first connection is accepted.
      // A removed member's subscriptions to the group's channels end at once: removals are
      // collected and every connection is scanned once per batch, not once per member.
      let removed = new Set<string>();
      const groups = await GroupMembership.open(nc, jsm, contract, {
        onChange: (_group, user, member) => {
          if (member) return;
          if (removed.size === 0) {
            setImmediate(() => {
              const users = removed;
              removed = new Set();
              transport?.revalidateUsers(users, 'no longer a member of the group');
            });
          }
          removed.add(user);
        },
        onError: (err) => log.warn({ err }, 'group membership watch failed; restarting it'),
      });
      const groupsClient = new GroupsClient(nc, contract, config.historyTimeout);
      // "Who is here now" for clients (t:8, GET .../presence), with the history deadline.
      const presenceMembers = new NatsPresenceMembers(nc, contract, config.historyTimeout);
      let stopping = false;
      const authenticate = createAuthenticator(auth, { groups });
      const maxPublishBytes = Math.min(config.maxPublishBytes, config.maxMessageBytes);
      // One set of per-channel buckets for every publish path (WebSocket and HTTP with a user token).
      const channelRates = new KeyedBuckets({ perSecond: config.channelPublishRate, burst: config.channelPublishBurst });
      const publishRate = { perSecond: config.publishRate, burst: config.publishBurst };
      const onError = (err: unknown, context: string) => log.warn({ err, context }, 'request failed');
      transport = new Transport({
        host: config.host,
        port: config.port,
        maxFrameBytes: config.maxFrameBytes,
        maxBackpressureBytes: config.maxBackpressure,
        maxConnections: config.maxConnections,
        presence: presence.reporter,
        idleTimeoutMs: config.idleTimeout,
        connectTimeoutMs: config.connectTimeout,
        session: {
          hub: channels,
          ingest,
          authenticate,
          limits: {
            maxFrameBytes: config.maxFrameBytes,
            maxSubscriptions: config.maxSubscriptions,
            maxPublishBytes,
          },
          publishRate,
          channelRates,
          onError,
          resume: { recent, history, positions: healer },
          presence: presenceMembers,
        },
        sse: {
          authenticate,
          hub: channels,
          resume: { recent, history, positions: healer },
          maxSubscriptions: config.maxSubscriptions,
          maxUnsentBytes: config.maxBackpressure,
          keepaliveMs: config.sseKeepalive,
          retryMs: config.sseRetry,
          presence: presence.reporter,
          metrics,
          onError,
        },
        api: new ServerApi(history, config.apiKey, {
          call: (verb, request) => groupsClient.call(verb, request),
          caughtUp: (rev) => groups.waitFor(rev, config.historyTimeout),
        }, { ingest, maxPublishBytes }, new UserPublisher({ authenticate, ingest, maxPublishBytes, userRates: new KeyedBuckets(publishRate, MAX_PUBLISHING_USERS), channelRates }), { port: presenceMembers, authenticate }),
        metrics,
        ...(staticFiles ? { staticFiles } : {}),
        ...(auth.devTokens && auth.hs256Secret ? { devTokens: (query: string) => devToken(query, { secret: auth.hs256Secret!, issuer: auth.issuer, audience: auth.audience }) } : {}),
        ...(config.corsOrigins ? { cors: config.corsOrigins } : {}),
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
          groups.stop();
        },
        health: () => ({ uws: runtime, port, connections: transport?.connections ?? 0, natsSubscriptions: channels.natsSubscriptions, healing: healer.healing, healDuplicates: healer.duplicates }),
        ready: () => !stopping,
      };
    },
  }),
);

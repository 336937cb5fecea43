// The life of a service process: read and validate config, connect to NATS, ensure the
// contract, start the service's own parts, answer health, and stop cleanly on SIGTERM or
// SIGINT. main.ts files call runService() and exit with the code it resolves to.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import { ConfigError, loadConfig, optional, port, str, type ConfigOf, type Spec } from '@cascade/config';
import { createLogger, defaultLogFormat, logConfig, type Logger } from '@cascade/log';
import {
  connectNats,
  contractFrom,
  ensureContract,
  natsConfig,
  serveHealth,
  streamSettingsFrom,
  type Contract,
  type ServiceName,
} from '@cascade/nats';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { serveHealthHttp } from './health-http.js';

/** Variables every service reads besides its own. */
export const commonConfig = {
  ...natsConfig,
  ...logConfig,
  healthPort: optional(
    port({ env: 'HEALTH_PORT', describe: 'HTTP port for /healthz and /readyz probes; unset = no HTTP health endpoint' }),
  ),
  healthHost: str({ env: 'HEALTH_HOST', describe: 'Address the health endpoint binds', default: '127.0.0.1' }),
};

export type ServiceConfig<S extends Record<string, Spec<unknown>>> = ConfigOf<typeof commonConfig> & ConfigOf<S>;

export interface ServiceContext<S extends Record<string, Spec<unknown>>> {
  readonly config: ServiceConfig<S>;
  readonly log: Logger;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly contract: Contract;
  /** This process's id, unique across the cluster: `<service>-<host>-<random>`. */
  readonly instance: string;
}

export interface RunningService {
  /** Stops taking work and releases resources; resolves when it is safe to close NATS. */
  stop(signal: NodeJS.Signals): Promise<void>;
  /** Extra fields for the health answer. */
  health?(): Record<string, unknown>;
  /** Whether the service is ready for traffic (defaults to true once started). */
  ready?(): boolean;
}

export interface ServiceDefinition<S extends Record<string, Spec<unknown>>> {
  name: ServiceName;
  /** Name in logs, e.g. 'edge-gateway'. */
  displayName: string;
  config: S;
  start(ctx: ServiceContext<S>): Promise<RunningService>;
  env?: Record<string, string | undefined>;
}

/** Runs the service until a stop signal; resolves to the process exit code. */
export async function runService<S extends Record<string, Spec<unknown>>>(def: ServiceDefinition<S>): Promise<number> {
  let config: ServiceConfig<S>;
  try {
    config = loadConfig({ ...commonConfig, ...def.config }, def.env ?? process.env) as unknown as ServiceConfig<S>;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${def.displayName}: cannot start, invalid configuration:\n${e.message}\n`);
    return 78; // EX_CONFIG
  }
  const log = createLogger({ service: def.displayName, level: config.logLevel, format: config.logFormat ?? defaultLogFormat() });
  const instance = `${def.name}-${hostname()}-${randomBytes(3).toString('hex')}`;
  let stopping = false;
  let started: RunningService | undefined;
  let httpHealth: Server | undefined;
  let nc: NatsConnection | undefined;

  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });

  try {
    nc = await connectNats({ servers: config.natsUrl, name: instance, log });
    const contract = contractFrom(config);
    const jsm = await jetstreamManager(nc);
    await ensureContract(nc, jsm, contract, streamSettingsFrom(config));
    const js = jetstream(nc);
    started = await def.start({ config, log, nc, js, jsm, contract, instance });
    const service = started;
    serveHealth(nc, contract, def.name, instance, () => service.health?.() ?? {});
    if (config.healthPort !== undefined) {
      const conn = nc;
      httpHealth = await serveHealthHttp(config.healthHost, config.healthPort, {
        ready: () => !stopping && !conn.isClosed() && (service.ready?.() ?? true),
      });
    }
    log.info({ instance }, `${def.displayName} ready`);
  } catch (err) {
    log.error({ err }, `${def.displayName} failed to start`);
    await nc?.close().catch(() => undefined);
    return 1;
  }

  const signal = await stopSignal;
  stopping = true;
  log.info({ signal }, `${def.displayName} stopping`);
  // A second signal while stopping means "now": do not wait for a clean drain.
  const force = () => {
    log.warn('second stop signal: exiting without finishing the drain');
    process.exit(130);
  };
  process.once('SIGTERM', force);
  process.once('SIGINT', force);
  try {
    await started.stop(signal);
    httpHealth?.close();
    await nc.drain();
    log.info(`${def.displayName} stopped`);
    return 0;
  } catch (err) {
    log.error({ err }, `${def.displayName} did not stop cleanly`);
    return 1;
  }
}

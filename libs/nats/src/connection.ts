// Connecting to NATS: reconnect forever with jittered backoff, and every connection state
// change logged, so an operator sees a disruption in each service's log.
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { coalesceWritesPerTurn } from './write-coalescing.js';

/** The logging the adapter needs (pino's Logger satisfies it). */
export interface ConnectionLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ConnectOptions {
  servers: string[];
  /** Connection name shown by the server's monitoring (e.g. "edge-gateway@host"). */
  name: string;
  log: ConnectionLog;
  /** Keep trying the first connect instead of failing (default true): services may start before NATS. */
  waitOnFirstConnect?: boolean;
  /** Called after every reconnect, e.g. to heal subscriptions. */
  onReconnect?: () => void;
}

export async function connectNats(o: ConnectOptions): Promise<NatsConnection> {
  const nc = await connect({
    servers: o.servers,
    name: o.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    reconnectJitter: 250,
    waitOnFirstConnect: o.waitOnFirstConnect ?? true,
    pingInterval: 10_000,
    maxPingOut: 3,
    // By default nats.js captures a stack trace (two Error objects) for every request, to
    // decorate a possible timeout: measured as a quarter of the fan-out worker's CPU (every
    // history append is a request) plus much of its GC. Errors keep their message and cause.
    noAsyncTraces: true,
  });
  const coalesced = coalesceWritesPerTurn(nc);
  o.log.info({ server: nc.getServer(), version: nc.info?.version, writesPerTurn: coalesced ? 'one' : 'per callback' }, 'connected to NATS');
  if (!coalesced) o.log.warn({}, 'this nats.js version is not the one write coalescing was written for: one write per callback');
  void watchStatus(nc, o);
  return nc;
}

async function watchStatus(nc: NatsConnection, o: ConnectOptions): Promise<void> {
  for await (const s of nc.status()) {
    switch (s.type) {
      case 'disconnect':
        o.log.warn({ server: s.server }, 'NATS connection lost');
        break;
      case 'reconnect':
        o.log.info({ server: s.server }, 'NATS connection restored');
        o.onReconnect?.();
        break;
      case 'error':
        o.log.error({ err: s.error }, 'NATS error');
        break;
      case 'ldm':
        o.log.warn({ server: s.server }, 'NATS server entering lame-duck mode');
        break;
      case 'slowConsumer':
        o.log.warn({ subject: s.sub.getSubject(), pending: s.pending }, 'NATS slow consumer');
        break;
      default:
        break;
    }
  }
}

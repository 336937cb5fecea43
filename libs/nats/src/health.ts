// The `<prefix>.svc.<service>.health` responder every service runs: a JSON answer that
// says the process is up and connected, for operators (`nats req`) and for tests.
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import type { Contract, ServiceName } from './subjects.js';

export interface HealthReport {
  service: ServiceName;
  instance: string;
  status: 'ok';
  uptimeMs: number;
  [extra: string]: unknown;
}

export function serveHealth(
  nc: NatsConnection,
  contract: Contract,
  service: ServiceName,
  instance: string,
  details: () => Record<string, unknown> = () => ({}),
): Subscription {
  const started = Date.now();
  return nc.subscribe(contract.service(service, 'health'), {
    callback: (err, msg) => {
      if (err) return;
      const report: HealthReport = { ...details(), service, instance, status: 'ok', uptimeMs: Date.now() - started };
      msg.respond(JSON.stringify(report));
    },
  });
}

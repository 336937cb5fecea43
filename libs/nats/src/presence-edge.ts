// The edge's presence link on NATS: publishes the PresenceReporter's coalesced deltas every
// delta interval and a heartbeat every heartbeat interval on `<prefix>.presence.<edge>.*`,
// answers the presence service's snapshot requests, and says goodbye when it stops. An edge
// calls connect/disconnect/join/leave on `reporter` and never publishes presence itself.
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { PresenceSubjects, encodeJson, type DeltaReport } from './presence-api.js';
import { PresenceReporter } from './presence-reporter.js';
import type { Contract } from './subjects.js';

export interface EdgePresenceOptions {
  /** This edge's id (edgeIdOf(instance)): unique per edge process. */
  edge: string;
  /** How often pending changes are sent (default 500 ms). */
  deltaIntervalMs?: number;
  /** How often the heartbeat is sent (default 2 s); the service's PRESENCE_EDGE_TIMEOUT should be at least 3 of these. */
  heartbeatIntervalMs?: number;
  /** Connections per snapshot part, to stay under the server's max_payload (default 5,000). */
  maxConnsPerSnapshotPart?: number;
  /** A publish failed (e.g. the connection is closing); presence heals itself through the next heartbeat. */
  onError?: (err: unknown, what: string) => void;
}

export class EdgePresenceLink {
  readonly reporter = new PresenceReporter();
  private readonly subjects: PresenceSubjects;
  private readonly timers: NodeJS.Timeout[] = [];
  private snapshotSub: Subscription | undefined;
  /** Publishes that failed so far (also reported to onError). */
  failures = 0;

  constructor(
    private readonly nc: NatsConnection,
    contract: Pick<Contract, 'prefix'>,
    private readonly o: EdgePresenceOptions,
  ) {
    this.subjects = new PresenceSubjects(contract);
  }

  start(): void {
    this.snapshotSub = this.nc.subscribe(this.subjects.snapshot(this.o.edge), {
      callback: (err, msg) => (err ? this.failed(err, 'snapshot subscription') : this.guard('snapshot', () => this.answerSnapshot(msg))),
    });
    this.timers.push(setInterval(() => this.guard('delta', () => this.flush()), this.o.deltaIntervalMs ?? 500));
    const every = this.o.heartbeatIntervalMs ?? 2000;
    this.timers.push(setInterval(() => this.guard('heartbeat', () => this.heartbeat(every)), every));
    this.guard('heartbeat', () => this.heartbeat(every));
  }

  /** Sends pending changes now. */
  flush(): void {
    this.publishDeltas(this.reporter.flush(Date.now()));
  }

  /** Stops reporting. `bye: true` (a clean shutdown) tells the service at once that the connections are gone. */
  stop(o: { bye: boolean }): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    this.guard('unsubscribe', () => this.snapshotSub?.unsubscribe());
    if (!o.bye) return;
    this.guard('bye', () => {
      const { heartbeat } = this.reporter.heartbeat(Date.now(), 0);
      this.nc.publish(this.subjects.report(this.o.edge, 'bye'), encodeJson({ seq: heartbeat.seq, ts: heartbeat.ts }));
    });
  }

  private heartbeat(every: number): void {
    const { deltas, heartbeat } = this.reporter.heartbeat(Date.now(), every);
    this.publishDeltas(deltas);
    this.nc.publish(this.subjects.report(this.o.edge, 'heartbeat'), encodeJson(heartbeat));
  }

  private answerSnapshot(msg: Msg): void {
    if (!msg.reply) return;
    const { deltas, parts } = this.reporter.snapshot(Date.now(), this.o.maxConnsPerSnapshotPart);
    this.publishDeltas(deltas);
    for (const part of parts) this.nc.publish(msg.reply, encodeJson(part));
  }

  // Reporting must never take the edge down: a failed publish is counted and reported, and
  // the state it carried reaches the service with the next snapshot.
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.failed(err, what);
    }
  }

  private failed(err: unknown, what: string): void {
    this.failures++;
    this.o.onError?.(err, what);
  }

  private publishDeltas(deltas: DeltaReport[]): void {
    for (const d of deltas) this.nc.publish(this.subjects.report(this.o.edge, 'delta'), encodeJson(d));
  }
}

// The presence engine on NATS: edge reports in (validated, bad ones dropped with a log),
// snapshot requests out to edges, queries answered from memory, and once per batch
// interval the engine's frames and events published. Thin on purpose: every decision is
// in PresenceEngine.
import { createInbox, headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import type { Logger } from '@cascade/log';
import {
  Header,
  PresenceSubjects,
  encodeJson,
  parseByeReport,
  parseDeltaReport,
  parseHeartbeatReport,
  parseMembersQuery,
  parseSnapshotPart,
  parseStatusQuery,
  type Contract,
  type Parsed,
  type SnapshotConnection,
  type SnapshotPart,
} from '@cascade/nats';
import { PresenceEngine, type PresenceSettings } from './engine.js';

export interface PresenceServiceOptions {
  batchIntervalMs: number;
  /** Whether this replica publishes frames and events (it holds the emitter lease). */
  mayPublish(): boolean;
}

/** Queue group of the query responders: with several replicas, one answers each query. */
const QUERY_QUEUE = 'presence';

export class NatsPresence {
  readonly engine: PresenceEngine;
  private readonly subjects: PresenceSubjects;
  private readonly subs: Subscription[] = [];
  private readonly snapshots = new Map<string, () => void>();
  private timer: NodeJS.Timeout | undefined;
  private readonly rejected = new RejectLog();

  constructor(
    private readonly nc: NatsConnection,
    private readonly contract: Contract,
    private readonly log: Logger,
    private readonly settings: PresenceSettings,
    private readonly o: PresenceServiceOptions,
  ) {
    this.subjects = new PresenceSubjects(contract);
    this.engine = new PresenceEngine(
      settings,
      { requestSnapshot: (edge) => this.requestSnapshot(edge), warn: (details, message) => log.warn(details, message) },
      Date.now(),
    );
  }

  async start(): Promise<void> {
    this.subs.push(this.nc.subscribe(this.subjects.reports, { callback: (err, msg) => this.guard('report', err, () => this.report(msg)) }));
    this.serveQuery('status', this.subjects.status, parseStatusQuery, (q) => this.engine.status(q.users, Date.now()));
    this.serveQuery('members', this.subjects.members, parseMembersQuery, (q) => this.engine.members(q.ch, Date.now()));
    await this.nc.flush();
    this.timer = setInterval(() => this.guard('tick', null, () => this.tick()), this.o.batchIntervalMs);
  }

  /** Answers one query verb from memory; a request that does not parse gets `{error}`. */
  private serveQuery<Q>(verb: string, subject: string, parse: (bytes: Uint8Array) => Parsed<Q>, answer: (q: Q) => unknown): void {
    this.subs.push(
      this.nc.subscribe(subject, {
        queue: QUERY_QUEUE,
        callback: (err, msg) =>
          this.guard(`${verb} query`, err, () => {
            const q = parse(msg.data);
            msg.respond(encodeJson(q.ok ? answer(q.value) : { error: q.reason }));
          }),
      }),
    );
  }

  /** Stops listening and publishes what is already due (events of the last interval). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const sub of this.subs) sub.unsubscribe();
    for (const cancel of this.snapshots.values()) cancel();
    this.snapshots.clear();
    this.tick();
    await this.nc.flush();
  }

  private tick(): void {
    // A standby replica runs the same logic (its state stays current) and drops the output.
    const out = this.engine.tick(Date.now());
    if (!this.o.mayPublish()) return;
    for (const f of out.frames) {
      const h = natsHeaders();
      h.set(Header.Ephemeral, '1');
      this.nc.publish(this.contract.live(f.ch), f.frame, { headers: h });
    }
    for (const batch of out.events) this.nc.publish(this.subjects.event(batch.kind), encodeJson(batch));
  }

  private report(msg: Msg): void {
    const route = this.subjects.parseReportSubject(msg.subject);
    if (!route) return this.reject(msg.subject, 'not a presence report subject');
    const now = Date.now();
    switch (route.kind) {
      case 'delta': {
        const d = parseDeltaReport(msg.data);
        if (!d.ok) return this.reject(msg.subject, d.reason);
        return this.engine.delta(route.edge, d.value, now);
      }
      case 'heartbeat': {
        const hb = parseHeartbeatReport(msg.data);
        if (!hb.ok) return this.reject(msg.subject, hb.reason);
        return this.engine.heartbeat(route.edge, hb.value, now);
      }
      case 'bye': {
        const bye = parseByeReport(msg.data);
        if (!bye.ok) return this.reject(msg.subject, bye.reason);
        return this.engine.bye(route.edge, bye.value, now);
      }
    }
  }

  /**
   * Asks one edge for its full state. The edge answers on our inbox with one or more parts;
   * once all are in, the engine takes them. A newer request for the same edge replaces an
   * older one, so two snapshots of different ages are never mixed.
   */
  private requestSnapshot(edge: string): void {
    this.snapshots.get(edge)?.();
    const inbox = createInbox();
    const parts = new Map<number, SnapshotPart>();
    const finish = (failure?: string) => {
      clearTimeout(timer);
      sub.unsubscribe();
      if (this.snapshots.get(edge) === cancel) this.snapshots.delete(edge);
      if (failure !== undefined) {
        this.log.warn({ edge, reason: failure }, 'presence snapshot request failed; will ask again');
        this.engine.snapshotFailed(edge);
      }
    };
    const cancel = () => finish();
    const timer = setTimeout(() => finish('no complete answer in time'), this.settings.snapshotTimeoutMs);
    const sub = this.nc.subscribe(inbox, {
      callback: (err, msg) =>
        this.guard('snapshot part', err, () => {
          if (msg.headers?.code === 503) return finish('the edge does not answer snapshot requests');
          const p = parseSnapshotPart(msg.data);
          if (!p.ok) return finish(`bad snapshot part: ${p.reason}`);
          const first = parts.values().next().value;
          if (first && (first.seq !== p.value.seq || first.parts !== p.value.parts)) return finish('snapshot parts disagree on seq or parts');
          parts.set(p.value.part, p.value);
          if (parts.size < p.value.parts) return;
          finish();
          const conns: SnapshotConnection[] = [];
          for (let i = 0; i < p.value.parts; i++) conns.push(...parts.get(i)!.conns);
          this.engine.snapshot(edge, p.value.seq, conns, Date.now());
        }),
    });
    this.snapshots.set(edge, cancel);
    this.nc.publish(this.subjects.snapshot(edge), encodeJson({}), { reply: inbox });
  }

  private reject(subject: string, reason: string): void {
    const note = this.rejected.note(Date.now());
    if (note) this.log.warn({ subject, reason, droppedSinceLastLog: note.dropped }, 'dropped an invalid presence report');
  }

  // A NATS callback must never take the service down: a bug in one message is logged and
  // that message is lost, the service keeps going.
  private guard(what: string, err: Error | null, fn: () => void): void {
    if (err) {
      this.log.warn({ err }, `presence ${what}: subscription error`);
      return;
    }
    try {
      fn();
    } catch (e) {
      this.log.error({ err: e }, `presence ${what} failed`);
    }
  }
}

/** Logs the first rejected report and then at most one per interval, counting the rest. */
class RejectLog {
  private last = -Infinity;
  private dropped = 0;

  constructor(private readonly everyMs = 5_000) {}

  note(now: number): { dropped: number } | undefined {
    this.dropped++;
    if (now - this.last < this.everyMs) return undefined;
    this.last = now;
    const dropped = this.dropped;
    this.dropped = 0;
    return { dropped };
  }
}

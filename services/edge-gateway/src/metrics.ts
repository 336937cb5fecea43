// Prometheus metrics of one edge node (prom-client), served on GET /metrics. Counters are
// bumped per event, never per subscriber: a fan-out to N sockets adds N in one call.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { closeCodeName } from '@cascade/protocol';

export class EdgeMetrics {
  readonly registry = new Registry();
  readonly connections: Gauge;
  readonly connectionsOpened: Counter;
  readonly disconnects: Counter<'code'>;
  readonly subscriptions: Gauge;
  readonly natsSubscriptions: Gauge;
  readonly framesIn: Counter;
  readonly framesOut: Counter;
  readonly liveFrames: Counter;
  readonly publishes: Counter<'result'>;
  readonly publishLatency: Histogram;
  readonly drops: Counter<'reason'>;
  readonly backpressure: Counter;
  readonly sendBuffers: Gauge;

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'cascade_edge_process_' });
    const r = [this.registry];
    this.connections = new Gauge({ name: 'cascade_edge_connections', help: 'Open connections: WebSockets and SSE streams', registers: r });
    this.connectionsOpened = new Counter({ name: 'cascade_edge_connections_opened_total', help: 'Connections accepted (WebSockets and SSE streams)', registers: r });
    this.disconnects = new Counter({
      name: 'cascade_edge_disconnects_total',
      help: 'Closed connections by close code name (why they ended)',
      labelNames: ['code'],
      registers: r,
    });
    this.subscriptions = new Gauge({ name: 'cascade_edge_subscriptions', help: 'Channel subscriptions held by connections', registers: r });
    this.natsSubscriptions = new Gauge({ name: 'cascade_edge_nats_subscriptions', help: 'NATS subscriptions for live channels (one per channel)', registers: r });
    this.framesIn = new Counter({ name: 'cascade_edge_frames_in_total', help: 'Frames received from clients', registers: r });
    this.framesOut = new Counter({ name: 'cascade_edge_frames_out_total', help: 'Live frames sent to clients (one per subscriber)', registers: r });
    this.liveFrames = new Counter({ name: 'cascade_edge_live_frames_total', help: 'Live frames received from NATS (one per channel message)', registers: r });
    this.publishes = new Counter({
      name: 'cascade_edge_publishes_total',
      help: 'Client publishes by result: stored, duplicate, failed',
      labelNames: ['result'],
      registers: r,
    });
    this.publishLatency = new Histogram({
      name: 'cascade_edge_publish_seconds',
      help: 'Time from a client publish to JetStream confirming it stored',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    });
    this.drops = new Counter({
      name: 'cascade_edge_drops_total',
      help: 'Frames not delivered, by reason',
      labelNames: ['reason'],
      registers: r,
    });
    this.sendBuffers = new Gauge({
      name: 'cascade_edge_send_buffer_bytes',
      help: 'Unsent bytes buffered for all connections (bounded per connection by EDGE_MAX_BACKPRESSURE)',
      registers: r,
    });
    this.backpressure = new Counter({
      name: 'cascade_edge_backpressure_total',
      help: 'Sends that left data buffered because the client was slower than the stream',
      registers: r,
    });
  }

  /** Gauges read their value when scraped, from the parts that own the numbers. */
  observe(sources: { connections(): number; subscriptions(): number; natsSubscriptions(): number; sendBuffers(): number }): void {
    const bind = (g: Gauge, read: () => number) => {
      (g as unknown as { collect: () => void }).collect = function (this: Gauge) {
        this.set(read());
      };
    };
    bind(this.connections, sources.connections);
    bind(this.subscriptions, sources.subscriptions);
    bind(this.natsSubscriptions, sources.natsSubscriptions);
    bind(this.sendBuffers, sources.sendBuffers);
  }

  disconnected(code: number): void {
    this.disconnects.inc({ code: closeCodeName(code) });
  }

  /** Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

// Pulls ingest messages from JetStream and hands them to the sequencer in stream order,
// acknowledging each only after it is stored and emitted. Until partition leases exist
// (one worker per partition), one durable consumer serves every partition in order.
import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { Logger } from '@cascade/log';
import type { Contract } from '@cascade/nats';
import { readIngest } from './ingest.js';
import type { Sequencer } from './sequencer.js';

export interface ConsumerStats {
  stored: number;
  redelivered: number;
  rejected: number;
  retried: number;
}

export class IngestConsumer {
  readonly stats: ConsumerStats = { stored: 0, redelivered: 0, rejected: 0, retried: 0 };
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly contract: Contract,
    private readonly sequencer: Sequencer,
    private readonly log: Logger,
    private readonly durableName = 'fanout',
  ) {}

  async start(): Promise<void> {
    await this.jsm.consumers.add(this.contract.ingestStream, {
      durable_name: this.durableName,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: this.contract.ingestAll,
      ack_wait: 30_000_000_000,
      max_deliver: -1,
      max_ack_pending: 1000,
    });
    const consumer = await this.js.consumers.get(this.contract.ingestStream, this.durableName);
    this.messages = await consumer.consume({ max_messages: 256 });
    const messages = this.messages;
    this.loop = (async () => {
      for await (const m of messages) await this.handle(m);
    })();
  }

  private async handle(m: JsMsg): Promise<void> {
    const read = readIngest(this.contract, {
      subject: m.subject,
      data: m.data,
      header: (name) => m.headers?.get(name),
      ingestSeq: m.seq,
      timestampMs: Math.floor(m.info.timestampNanos / 1e6),
    });
    if (!read.ok) {
      this.stats.rejected++;
      this.log.warn({ subject: m.subject, seq: m.seq, reason: read.reason }, 'rejected ingest message');
      m.term(read.reason);
      return;
    }
    try {
      const outcome = await this.sequencer.sequence(read.message);
      if (outcome.kind === 'contended') {
        this.stats.retried++;
        m.nak(1000);
        return;
      }
      if (outcome.kind === 'stored') this.stats.stored++;
      else this.stats.redelivered++;
      m.ack();
    } catch (err) {
      // Storage unavailable or similar: leave it to redelivery, in order, after a pause.
      this.stats.retried++;
      this.log.warn({ err, subject: m.subject, seq: m.seq }, 'could not store message; will retry');
      m.nak(1000);
    }
  }

  async stop(): Promise<void> {
    await this.messages?.close();
    await this.loop;
  }
}

// One partition's ingest, consumed only while this worker holds the partition's lease:
// a fresh durable consumer per ownership, pipelined writes through the sequencer (channels
// in parallel, each channel in order), and an ack once a message is stored in history (and
// live: the history stream republished it, or the sequencer emitted it).
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { Logger } from '@cascade/log';
import type { Contract } from '@cascade/nats';
import type { GroupFanout } from './groups.js';
import type { HistoryLog } from './history-log.js';
import { readIngest, type IngestMessage } from './ingest.js';
import type { PartitionLease } from './lease.js';
import { ChannelPipeline } from './pipeline.js';
import { ChannelPositions } from './positions.js';
import { Sequencer, type LiveOutput } from './sequencer.js';

export interface WriteStats {
  stored: number;
  redelivered: number;
  rejected: number;
  retried: number;
  /** Small-group messages written into their members' personal channels. */
  fannedOut: number;
}

export interface PartitionDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  contract: Contract;
  history: HistoryLog;
  live: LiveOutput;
  log: Logger;
  stats: WriteStats;
  /** Small-group fan-out; unset = `group:` channels are sequenced like any channel. */
  groups?: GroupFanout;
}

/** Unacked messages per partition: bounds the writes in flight and the memory they hold. */
const MAX_ACK_PENDING = 1024;
const ACK_WAIT_NS = 30_000_000_000;
const CONSUMER_NOT_FOUND = 10014;
const POSITIONS_PER_PARTITION = 20_000;

export function consumerName(partition: number): string {
  return `fanout-p${partition}`;
}

interface Work {
  m: JsMsg;
  message: IngestMessage;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class PartitionConsumer {
  private readonly pipeline = new ChannelPipeline<Work>();
  private readonly writes = new Set<Promise<void>>();
  private readonly sequencer: Sequencer;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  /** Taking new messages from the consumer. */
  private accepting = false;
  /** Ownership ended (lease lost or lapsed): write nothing more, ack nothing more. */
  private revoked = false;
  private closing: Promise<void> | undefined;

  constructor(
    readonly partition: number,
    private readonly lease: PartitionLease,
    private readonly d: PartitionDeps,
  ) {
    // Positions cached under an earlier ownership may be stale; the fence would catch that,
    // but starting empty saves the failed append per channel.
    this.sequencer = new Sequencer(d.history, d.live, new ChannelPositions(POSITIONS_PER_PARTITION), () => this.owning());
  }

  async start(): Promise<void> {
    const { jsm, js, contract } = this.d;
    const name = consumerName(this.partition);
    // A previous owner's delivered-but-unacked messages would be redelivered only after
    // ack_wait, behind newer ones, reordering their channels. A new consumer on the
    // work-queue stream starts at the oldest message still stored, which is exactly the
    // unacked ones, in stream order. Deleting it also cuts off a stale owner still pulling.
    try {
      await jsm.consumers.delete(contract.ingestStream, name);
    } catch (e) {
      if (!(e instanceof JetStreamApiError && e.code === CONSUMER_NOT_FOUND)) throw e;
    }
    await jsm.consumers.add(contract.ingestStream, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: contract.ingestPartition(this.partition),
      ack_wait: ACK_WAIT_NS,
      max_deliver: -1,
      max_ack_pending: MAX_ACK_PENDING,
    });
    const consumer = await js.consumers.get(contract.ingestStream, name);
    const messages = await consumer.consume({ max_messages: 256 });
    if (this.closing) {
      // Revoked while starting (the lease lapsed): take nothing.
      await messages.close();
      return;
    }
    this.messages = messages;
    this.accepting = true;
    this.loop = (async () => {
      for await (const m of messages) {
        if (!this.accepting) break;
        this.offer(m);
      }
    })().then(
      () => this.endedUnasked(undefined),
      (err: unknown) => this.endedUnasked(err),
    );
  }

  /** The message stream ended without us closing it: give the partition up rather than idle on it. */
  private endedUnasked(err: unknown): void {
    if (!this.accepting) return;
    this.d.log.warn({ err, partition: this.partition }, 'partition message stream ended; giving the partition up');
    void this.revoke();
  }

  /**
   * Stops at once: the lease is gone, or this consumer cannot go on. In-flight appends settle
   * but nothing more is acked; the lease counts as lost, so the owner gives it back.
   */
  revoke(): Promise<void> {
    this.revoked = true;
    this.lease.lost();
    this.closing ??= this.close();
    return this.closing;
  }

  /** Graceful hand-over: stop taking messages, let in-flight writes finish and ack. */
  drain(): Promise<void> {
    this.closing ??= this.close();
    return this.closing;
  }

  private owning(): boolean {
    if (this.revoked) return false;
    if (this.lease.owns(Date.now())) return true;
    // The lease lapsed: stop the whole partition now (a channel left half-way would hold
    // its later messages unacked and stall the partition). The owner then gives it back.
    void this.revoke();
    return false;
  }

  private async close(): Promise<void> {
    this.accepting = false;
    // Messages waiting behind a channel's head are dropped unacked: the next owner's fresh
    // consumer delivers them again, in order.
    this.pipeline.clear();
    await this.messages?.close();
    await this.loop;
    await Promise.all([...this.writes]);
  }

  private offer(m: JsMsg): void {
    const read = readIngest(this.d.contract, {
      subject: m.subject,
      data: m.data,
      header: (name) => m.headers?.get(name),
      ingestSeq: m.seq,
      timestampMs: Math.floor(m.info.timestampNanos / 1e6),
    });
    if (!read.ok) {
      this.d.stats.rejected++;
      this.d.log.warn({ subject: m.subject, seq: m.seq, reason: read.reason }, 'rejected ingest message');
      m.term(read.reason);
      return;
    }
    const work = { m, message: read.message };
    if (this.pipeline.offer(read.message.channel, m.seq, work) !== 'start') return;
    const write = this.writeChannel(read.message.channel, work).catch((err: unknown) => {
      // A channel left half-way would hold its later messages unacked and stall the
      // partition: give the partition up instead; a fresh ownership starts clean.
      this.d.log.error({ err, partition: this.partition }, 'channel writer failed; giving the partition up');
      void this.revoke();
    });
    this.writes.add(write);
    void write.then(() => this.writes.delete(write));
  }

  /** Writes a channel's messages one after another until its queue is empty. */
  private async writeChannel(channel: string, first: Work): Promise<void> {
    let work: Work | undefined = first;
    while (work) {
      if (!(await this.write(work))) return;
      work = this.pipeline.done(channel);
    }
  }

  /** Stores and emits one message, retrying in place; false once ownership ended. */
  private async write(w: Work): Promise<boolean> {
    // Stored (and live): ack at once, in the same tick as a live frame we emit, so both go
    // out in one write (see Sequencer.sequence); never before the append is stored. After
    // losing the lease we leave the ack to the next owner, which recognises the message as a
    // duplicate; only the owner touches the consumer.
    let acked = false;
    const ackNow = () => {
      if (!this.owning()) return;
      w.m.ack();
      acked = true;
    };
    for (let attempt = 0; ; attempt++) {
      if (!this.owning()) return false;
      let outcome: Awaited<ReturnType<Sequencer['sequence']>> | { kind: 'fanned-out' } | undefined;
      try {
        // A small group's message becomes one ingest message per member (their partitions'
        // owners sequence them); it is acked only once every copy is stored.
        const routed = this.d.groups ? await this.d.groups.deliver(w.message, () => this.owning()) : 'sequence';
        if (routed === 'sequence') outcome = await this.sequencer.sequence(w.message, ackNow);
        else outcome = routed === 'not-owner' ? { kind: 'not-owner' } : { kind: 'fanned-out' };
      } catch (err) {
        this.d.log.warn({ err, subject: w.m.subject, seq: w.m.seq }, 'could not store message; will retry');
      }
      if (outcome?.kind === 'not-owner') return false;
      if (outcome === undefined || outcome.kind === 'contended') {
        // Retry in place rather than nak: a nak'd message comes back after the channel's
        // later messages, which would then be numbered first. working() holds off redelivery.
        this.d.stats.retried++;
        w.m.working();
        await sleep(Math.min(2000, 100 * 2 ** attempt));
        continue;
      }
      if (outcome.kind === 'fanned-out') ackNow();
      if (!acked) return false;
      if (outcome.kind === 'stored') this.d.stats.stored++;
      else if (outcome.kind === 'fanned-out') this.d.stats.fannedOut++;
      else this.d.stats.redelivered++;
      return true;
    }
  }
}

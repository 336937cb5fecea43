// The publish port and its NATS adapter: durable publishes go into the ingest stream and
// are acknowledged once JetStream stored them; ephemeral frames go straight to live.
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { Header, JetStreamPublisher, RequestTimeoutError, type Contract } from '@cascade/nats';
import { ErrorCode, type ChannelName } from '@cascade/protocol';
import type { EdgeMetrics } from './metrics.js';

export interface PublishMeta {
  /** Publishing user, from the connection's identity (never from the client frame). */
  from: string;
  /** Idempotency key chosen by the client; scoped to (user, channel). */
  key: string | undefined;
  /** `echo: false`: the publishing connection's id, carried in `Rt-Exclude-Client` so the live frame skips it. */
  excludeClient?: string;
}

/**
 * `publish` resolves only after the message is durably stored in the ingest stream; it
 * will then be sequenced and delivered even if this node dies. `duplicate` is true when
 * the same (user, channel, key) was already accepted within the duplicate window.
 * `ephemeral` is fire-and-forget: delivered to current subscribers, never stored.
 */
export interface IngestPort {
  publish(channel: ChannelName, payload: Uint8Array, meta: PublishMeta): Promise<{ duplicate: boolean }>;
  ephemeral(channel: ChannelName, frame: Uint8Array): void;
}

/**
 * What a failed durable publish means for the publisher, as an error code and a message:
 * a timeout leaves the outcome unknown, anything else means the store was unreachable.
 * Either way a retry with the same key cannot store the message twice.
 */
export function publishFailure(err: unknown): { code: ErrorCode; msg: string } {
  return err instanceof RequestTimeoutError
    ? { code: ErrorCode.Timeout, msg: 'the message store did not confirm in time; retry with the same key' }
    : { code: ErrorCode.Unavailable, msg: 'the message store is unavailable; retry with the same key' };
}

export class NatsIngest implements IngestPort {
  // Every durable publish is one JetStream publish: through one reply subscription, not
  // nats.js's per-request machinery (libs/nats js-publish.ts).
  private readonly publisher: JetStreamPublisher;

  constructor(
    private readonly nc: NatsConnection,
    private readonly contract: Contract,
    timeoutMs: number,
    private readonly metrics?: EdgeMetrics,
  ) {
    this.publisher = new JetStreamPublisher(nc, timeoutMs);
  }

  async publish(channel: ChannelName, payload: Uint8Array, meta: PublishMeta): Promise<{ duplicate: boolean }> {
    const h = natsHeaders();
    h.set(Header.From, meta.from);
    if (meta.key !== undefined) {
      h.set(Header.Key, meta.key);
      // Keys are scoped per user and channel, so two users' keys can never collide.
      h.set(Header.MsgId, `${meta.from}|${channel}|${meta.key}`);
    }
    if (meta.excludeClient !== undefined) h.set(Header.ExcludeClient, meta.excludeClient);
    const timer = this.metrics?.publishLatency.startTimer();
    try {
      const ack = await this.publisher.publish(this.contract.ingest(channel), payload, h);
      timer?.();
      this.metrics?.publishes.inc({ result: ack.duplicate ? 'duplicate' : 'stored' });
      return { duplicate: ack.duplicate };
    } catch (e) {
      this.metrics?.publishes.inc({ result: 'failed' });
      throw e;
    }
  }

  ephemeral(channel: ChannelName, frame: Uint8Array): void {
    const h = natsHeaders();
    h.set(Header.Ephemeral, '1');
    this.nc.publish(this.contract.live(channel), frame, { headers: h });
  }
}

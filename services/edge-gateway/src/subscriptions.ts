// The node's live channels: one core-NATS subscription on `<prefix>.live.<ch>` per channel
// with local subscribers, opened by the first and closed with the last. Frames arriving
// there are handed on as the bytes they are, to be sent to every local subscriber.
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { Header, type Contract } from '@cascade/nats';
import type { ChannelName } from '@cascade/protocol';
import { ChannelRefcounts } from './refcounts.js';

/**
 * The port sessions use. `acquire` resolves once the node receives every frame published
 * on the channel from then on; each successful `acquire` must be paired with one `release`.
 */
export interface ChannelHub {
  acquire(channel: ChannelName): Promise<void>;
  release(channel: ChannelName): void;
}

/**
 * Receives each live frame for a channel once per node. `excludeClient`: the connection id
 * from `Rt-Exclude-Client` (a publish with `echo: false`), which must not get the frame.
 */
export type LocalDelivery = (channel: ChannelName, frame: Uint8Array, excludeClient?: string) => void;

interface LiveChannel {
  sub: Subscription;
  ready: Promise<void>;
}

export class LiveChannels implements ChannelHub {
  private readonly live = new Map<string, LiveChannel>();
  private readonly refcounts = new ChannelRefcounts();

  constructor(
    private readonly nc: NatsConnection,
    private readonly contract: Contract,
    private readonly deliver: LocalDelivery,
    /** Called when a channel lost its last local subscriber (e.g. to drop its ring of recent frames). */
    private readonly idle?: (channel: ChannelName) => void,
  ) {}

  acquire(channel: ChannelName): Promise<void> {
    if (!this.refcounts.acquire(channel)) return this.live.get(channel)!.ready;
    const sub = this.nc.subscribe(this.contract.live(channel), {
      callback: (err, msg) => {
        if (!err) this.deliver(channel, msg.data, msg.headers?.get(Header.ExcludeClient) || undefined);
      },
    });
    // The SUB reaches the server with the next flush; once it has, nothing published
    // afterwards can be missed.
    const ready = this.nc.flush();
    this.live.set(channel, { sub, ready });
    return ready;
  }

  release(channel: ChannelName): void {
    if (!this.refcounts.release(channel)) return;
    this.live.get(channel)?.sub.unsubscribe();
    this.live.delete(channel);
    this.idle?.(channel);
  }

  /** NATS subscriptions this node holds for live channels (one per channel). */
  get natsSubscriptions(): number {
    return this.live.size;
  }

  /** Local subscriptions over all channels. */
  get localSubscriptions(): number {
    return this.refcounts.total;
  }

  localSubscribers(channel: string): number {
    return this.refcounts.count(channel);
  }
}

// The node's live channels: one core-NATS subscription on `<prefix>.live.<ch>` per channel
// with local subscribers, opened by the first and closed with the last (first-subscriber
// refcounting). Frames arriving there are handed on as the bytes they are, to be sent to
// every local subscriber.
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { Header, type Contract } from '@cascade/nats';
import type { ChannelName } from '@cascade/protocol';

/**
 * The port sessions use. `acquire` resolves once the node receives every frame published
 * on the channel from then on; each successful `acquire` must be paired with one `release`.
 */
export interface ChannelHub {
  acquire(channel: ChannelName): Promise<void>;
  release(channel: ChannelName): void;
  /**
   * The node's own string for `channel` when it is live here (else `channel`): connections
   * keep that one instead of each holding the copy its frame decoded to.
   */
  intern?(channel: ChannelName): ChannelName;
}

/**
 * Receives each live frame for a channel once per node. `excludeClient`: the connection id
 * from `Rt-Exclude-Client` (a publish with `echo: false`), which must not get the frame.
 */
export type LocalDelivery = (channel: ChannelName, frame: Uint8Array, excludeClient?: string) => void;

/** One live channel: its NATS subscription and how many local subscriptions hold it. */
class LiveChannel {
  holders = 1;
  /** Until the node's SUB is confirmed (the flush); dropped then, so an idle channel holds no promise. */
  ready: Promise<void> | undefined;

  constructor(
    readonly name: ChannelName,
    readonly sub: Subscription,
  ) {}
}

const SETTLED = Promise.resolve();

/**
 * Per channel one Map entry and one NATS subscription, nothing else: a node holds one per
 * user with a token (the personal channel), so what each costs counts. The subscriptions
 * share one callback, which finds the channel from the subject.
 */
export class LiveChannels implements ChannelHub {
  private readonly live = new Map<string, LiveChannel>();
  private subscribers = 0;
  /** Length of `<prefix>.live.`, cut from a subject to get its channel. */
  private readonly liveSubjectPrefix: number;

  constructor(
    private readonly nc: NatsConnection,
    private readonly contract: Contract,
    private readonly deliver: LocalDelivery,
    /** Called when a channel lost its last local subscriber (e.g. to drop its ring of recent frames). */
    private readonly idle?: (channel: ChannelName) => void,
  ) {
    const probe = 'x' as ChannelName;
    this.liveSubjectPrefix = contract.live(probe).length - probe.length;
  }

  private readonly onMessage = (err: Error | null, msg: Msg): void => {
    if (err) return;
    // A subject that passed here is `<prefix>.live.<channel>` of a channel we subscribed.
    this.deliver(msg.subject.slice(this.liveSubjectPrefix) as ChannelName, msg.data, msg.headers?.get(Header.ExcludeClient) || undefined);
  };

  acquire(channel: ChannelName): Promise<void> {
    this.subscribers++;
    const held = this.live.get(channel);
    if (held) {
      held.holders++;
      return held.ready ?? SETTLED;
    }
    const entry = new LiveChannel(channel, this.nc.subscribe(this.contract.live(channel), { callback: this.onMessage }));
    // The SUB reaches the server with the next flush; once it has, nothing published
    // afterwards can be missed.
    const ready = this.nc.flush();
    entry.ready = ready;
    this.live.set(channel, entry);
    ready.then(
      () => {
        if (entry.ready === ready) entry.ready = undefined;
      },
      () => undefined,
    );
    return ready;
  }

  release(channel: ChannelName): void {
    const entry = this.live.get(channel);
    if (!entry) throw new Error(`release of channel ${channel} that has no subscribers`);
    this.subscribers--;
    if (--entry.holders > 0) return;
    entry.sub.unsubscribe();
    this.live.delete(channel);
    this.idle?.(channel);
  }

  intern(channel: ChannelName): ChannelName {
    return this.live.get(channel)?.name ?? channel;
  }

  /** NATS subscriptions this node holds for live channels (one per channel). */
  get natsSubscriptions(): number {
    return this.live.size;
  }

  /** Local subscriptions over all channels. */
  get localSubscriptions(): number {
    return this.subscribers;
  }

  localSubscribers(channel: string): number {
    return this.live.get(channel)?.holders ?? 0;
  }
}

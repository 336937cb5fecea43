// The node's live channels: one core-NATS subscription on `<prefix>.live.<ch>` per channel
// with local subscribers, opened by the first and closed with the last (first-subscriber
// refcounting). Frames arriving there are handed on as the bytes they are, to be sent to
// every local subscriber.
import type { Msg } from '@nats-io/nats-core';
import { CoreSubscription, Header, type Contract, type SubscriptionTable } from '@cascade/nats';
import type { ChannelName } from '@cascade/protocol';
import type { HealState, HealStates, Healing } from './heal.js';

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

/**
 * One live channel: its NATS subscription (a CoreSubscription: a few fields, not nats.js's
 * 1.3 KiB Subscription, since a node holds one per personal channel of every connection with
 * a token), how many local subscriptions hold it, and the healer's state for it (heal.ts).
 */
class LiveChannel extends CoreSubscription implements HealState {
  holders = 1;
  /** Until the node's SUB is confirmed (the flush); dropped then, so an idle channel holds no promise. */
  ready: Promise<void> | undefined;
  ep: string | undefined = undefined;
  seq = 0;
  healing: Healing | undefined = undefined;
  learned = false;

  constructor(
    private readonly hub: LiveChannels,
    readonly name: ChannelName,
  ) {
    super();
  }

  protected get owner(): SubscriptionTable {
    return this.hub.subscriptions;
  }

  /** Built when the SUB is written (and on nats.js's resend after a reconnect), not kept per channel. */
  get subject(): string {
    return this.hub.subjectOf(this.name);
  }

  callback(err: Error | null, msg: Msg): void {
    // A refused SUB (permissions) closes the subscription; the channel then receives nothing,
    // which heal's reconnect pass and the subscribers' seq checks report.
    if (err) return;
    this.hub.frame(this.name, msg);
  }
}

const SETTLED = Promise.resolve();

/** The node's live channels as the healer's store: a channel's state is on its own record, made and dropped with it. */
class LiveHealStates implements HealStates {
  constructor(private readonly live: Map<string, LiveChannel>) {}

  get(channel: ChannelName): HealState | undefined {
    return this.live.get(channel);
  }

  ensure(channel: ChannelName): HealState | undefined {
    return this.live.get(channel);
  }

  /** Nothing to do: the state goes with the channel's record. */
  forget(): void {}

  entries(): Iterable<[ChannelName, HealState]> {
    return this.live.entries() as Iterable<[ChannelName, HealState]>;
  }
}

/**
 * Per channel one Map entry and one small NATS subscription record, nothing else: a node
 * holds one per user with a token (the personal channel), so what each costs counts.
 */
export class LiveChannels implements ChannelHub {
  private readonly live = new Map<string, LiveChannel>();
  private subscribers = 0;
  private pendingFlush: Promise<void> | undefined;
  /**
   * The healer's per-channel state, kept on each channel's record (heal.ts). A healer using it
   * must be told when a channel goes (`drop`, from the `idle` callback): that is what releases
   * the frames a running heal holds.
   */
  readonly healStates: HealStates = new LiveHealStates(this.live);
  constructor(
    /** The NATS connection's subscription table (CoreSubscriptions). */
    readonly subscriptions: SubscriptionTable,
    private readonly contract: Contract,
    private readonly deliver: LocalDelivery,
    /**
     * Called when a channel lost its last local subscriber (e.g. to drop its ring of recent
     * frames), while its record (and heal state) is still there.
     */
    private readonly idle?: (channel: ChannelName) => void,
  ) {}

  subjectOf(channel: ChannelName): string {
    return this.contract.live(channel);
  }

  frame(channel: ChannelName, msg: Msg): void {
    this.deliver(channel, msg.data, msg.headers?.get(Header.ExcludeClient) || undefined);
  }

  acquire(channel: ChannelName): Promise<void> {
    this.subscribers++;
    const held = this.live.get(channel);
    if (held) {
      held.holders++;
      return held.ready ?? SETTLED;
    }
    const entry = new LiveChannel(this, channel);
    this.subscriptions.add(entry);
    // The SUB reaches the server with the next flush; once it has, nothing published
    // afterwards can be missed.
    const ready = this.flushSoon();
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
    this.subscriptions.remove(entry);
    try {
      this.idle?.(channel);
    } finally {
      // Never left behind: a record with no holders and no NATS subscription would be reused
      // by the next acquire and receive nothing.
      this.live.delete(channel);
    }
  }

  /**
   * One flush (a PING and its PONG) for every SUB written in the same turn of the event loop:
   * a connection storm subscribes thousands of personal channels, and a PING each was one
   * more write and one more wake-up of nats-server per connect. The PING is written after
   * those SUBs, so its PONG confirms them all; a SUB written later waits for the next one.
   */
  private flushSoon(): Promise<void> {
    return (this.pendingFlush ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.pendingFlush = undefined;
      return this.subscriptions.flush();
    }));
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

// One channel subscription: the handle the application holds (Subscription), and the state
// the client keeps for it across reconnects (ChannelSubscription: handlers, position tracker,
// where the subscribe stands on the current connection). The handle exposes no internals.
import { ErrorCode, type MessageFrame, type StreamPosition } from '@cascade/protocol';
import { Backoff, type BackoffOptions } from './backoff.js';
import type { CascadeError } from './errors.js';
import { PositionTracker } from './position.js';
import type { PresenceList, SubscribeInfo, SubscriptionHandlers } from './types.js';

/** Subscribe refusals a retry cannot fix (both transports fail the subscription on them). */
export const PERMANENT_SUBSCRIBE_ERRORS: ReadonlySet<number> = new Set<number>([
  ErrorCode.BadRequest,
  ErrorCode.InvalidChannel,
  ErrorCode.PermissionDenied,
  ErrorCode.SubscriptionLimit,
]);

/**
 * - `pending`: to be subscribed when a connection is open.
 * - `subscribing`: the subscribe request is on the wire.
 * - `active`: subscribed on the current connection.
 * - `failed`: refused for good (see the error); no more resubscribing.
 * - `closed`: unsubscribed by the application, or the client closed.
 */
export type SubscriptionState = 'pending' | 'subscribing' | 'active' | 'failed' | 'closed';

/** What the application holds. Created by `CascadeClient.subscribe`. */
export class Subscription {
  /** @internal */
  constructor(private readonly s: ChannelSubscription) {}

  get channel(): string {
    return this.s.channel;
  }

  /** Resolves when the first subscribe succeeded; rejects if it is refused for good or the subscription ends first. */
  get ready(): Promise<SubscribeInfo> {
    return this.s.ready;
  }

  /**
   * Where the subscription stands: the last message delivered, or, before the first one,
   * where it started (`{ep: '', seq: 0}` on a channel that had no message yet). Persist it
   * to resume after a page reload (`subscribe(ch, handlers, {since})`).
   */
  get position(): StreamPosition | undefined {
    return this.s.tracker.position;
  }

  get status(): SubscriptionState {
    return this.s.state;
  }

  /** Why the subscription failed, when `status` is `failed`. */
  get error(): CascadeError | undefined {
    return this.s.error;
  }

  /** Leaves the channel. No handler is called once this has started. */
  unsubscribe(): Promise<void> {
    return this.s.leave(this.s);
  }

  /**
   * Who is present in the channel now (one entry per user), as the server's presence service
   * knows it; `onJoin`/`onLeave` tell the changes after. The array also carries `count` (users
   * present) and `partial`; over the service's list cap it holds no entries, only `count`.
   * Rejects with CascadeError: `Unavailable` (no presence service), `PermissionDenied`,
   * `NotConnected`, `UnknownFrameType` (an older server).
   */
  presence(): Promise<PresenceList> {
    return this.s.members(this.s);
  }
}

/** The client's state for one subscribed channel. */
export class ChannelSubscription {
  readonly handle: Subscription;
  readonly ready: Promise<SubscribeInfo>;
  state: SubscriptionState = 'pending';
  readonly tracker: PositionTracker<MessageFrame>;
  subscribedOnce = false;
  /** A range (or the fallback resubscribe) for a gap is being fetched. */
  filling = false;
  /** Failed history reads for the current gap. */
  fillFailures = 0;
  retryTimer: unknown;
  /** Delays between retries of a failed subscribe or history read. */
  readonly retry: Backoff;
  /** The in-flight subscribe, so that an unsubscribe waits for it. */
  inflight: Promise<void> | undefined;
  error: CascadeError | undefined;
  private settle: { resolve(i: SubscribeInfo): void; reject(e: Error): void } | undefined;

  constructor(
    readonly channel: string,
    readonly handlers: SubscriptionHandlers,
    since: StreamPosition | undefined,
    readonly leave: (s: ChannelSubscription) => Promise<void>,
    backoff: BackoffOptions | undefined,
    readonly members: (s: ChannelSubscription) => Promise<PresenceList>,
  ) {
    this.tracker = new PositionTracker<MessageFrame>(since);
    this.retry = new Backoff(backoff);
    this.ready = new Promise<SubscribeInfo>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // The same failure also reaches onError; an application that never awaits `ready`
    // must not get an unhandled rejection for it.
    this.ready.catch(() => this.error);
    this.handle = new Subscription(this);
  }

  subscribed(info: SubscribeInfo): void {
    this.settle?.resolve(info);
    this.settle = undefined;
  }

  ended(err: Error): void {
    this.settle?.reject(err);
    this.settle = undefined;
  }
}

// Core-NATS subscriptions as small records, for a process that holds very many of them (an
// edge holds one per live channel, and every connection with a token brings its personal
// channel). nats.js's own Subscription is an async-iterator queue with three deferred
// promises, six closures and an options copy: about 1.3 KiB of heap each, more than the rest
// of an idle connection. A CoreSubscription is an object of a few fields, registered in the
// connection's own subscription table (nats-core's ProtocolHandler, the API its sibling
// packages use), so SUB/UNSUB, the resend on reconnect, drain and close stay nats.js's.
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import type { NatsConnectionImpl, ProtocolHandler } from '@nats-io/nats-core/internal';
import { errors } from '@nats-io/nats-core';

/**
 * One subscription: a subclass names its subject and handles its messages. What nats-core
 * reads and writes on it (sid, received, max, queue, callback, close, drain) is all here.
 * Guarantees, as nats.js's: every message of the subject published after the SUB reached the
 * server (`CoreSubscriptions.flush`) is passed to `callback` once, in order; after a reconnect
 * the SUB is resent by nats.js (what was published meanwhile is lost, as for any core
 * subscription).
 */
export abstract class CoreSubscription {
  /** Set by nats-core when the subscription is registered (and again on a resubscribe). */
  sid = 0;
  /** Messages received, counted by nats-core. */
  received = 0;

  /** The table it is registered in (a getter, so a subclass that can reach it holds no copy). */
  protected abstract get owner(): SubscriptionTable;

  /** The subject, read when the SUB is written (also when nats.js resends it after a reconnect). */
  abstract get subject(): string;

  /**
   * A message for this subscription, or `err` when the server refused it (a permissions
   * violation: the subscription is then closed).
   */
  abstract callback(err: Error | null, msg: Msg): void;

  /** No queue group, no auto-unsubscribe. */
  get queue(): undefined {
    return undefined;
  }

  get max(): undefined {
    return undefined;
  }

  /** nats-core records an UNSUB's count here; no auto-unsubscribe is ever asked for, so there is none to keep. */
  set max(_count: number | undefined) {}

  /** nats-core's notice that it dropped the subscription (unsubscribed, refused, connection closed). */
  close(): void {}

  /** Part of draining the connection: stop receiving, then leave the table once the server confirmed. */
  drain(): Promise<void> {
    return this.owner.drainOne(this);
  }
}

/** Where CoreSubscriptions are registered: the connection's table (CoreSubscriptions), or a fake in unit tests. */
export interface SubscriptionTable {
  /** Registers `sub` and writes its SUB; `flush` confirms it reached the server. */
  add(sub: CoreSubscription): void;
  /** Writes its UNSUB and drops it from the table. */
  remove(sub: CoreSubscription): void;
  /** Resolves once the server has processed everything written so far. */
  flush(): Promise<void>;
  /** Stops `sub` receiving and drops it once the server confirmed (the connection drains). */
  drainOne(sub: CoreSubscription): Promise<void>;
}

export class CoreSubscriptions implements SubscriptionTable {
  private readonly protocol: ProtocolHandler;

  constructor(private readonly nc: NatsConnection) {
    const protocol = (nc as NatsConnectionImpl).protocol as ProtocolHandler | undefined;
    if (protocol?.subscriptions === undefined) throw new Error('CoreSubscriptions needs a nats.js v3 connection (NatsConnectionImpl)');
    this.protocol = protocol;
  }

  /** Registers `sub` and writes its SUB; `flush` confirms it reached the server. */
  add(sub: CoreSubscription): void {
    if (this.nc.isClosed()) throw new errors.ClosedConnectionError();
    if (this.nc.isDraining()) throw new errors.DrainingConnectionError();
    // ProtocolHandler.subscribe takes any object with the fields above; its parameter type
    // names the class nats.js uses.
    this.protocol.subscribe(sub as unknown as Parameters<ProtocolHandler['subscribe']>[0]);
  }

  /** Writes its UNSUB and drops it from the table. */
  remove(sub: CoreSubscription): void {
    this.protocol.unsubscribe(sub as unknown as Parameters<ProtocolHandler['unsubscribe']>[0]);
  }

  /** Resolves once the server has processed everything written so far (a PING's PONG). */
  flush(): Promise<void> {
    return this.nc.flush();
  }

  drainOne(sub: CoreSubscription): Promise<void> {
    const s = sub as unknown as Parameters<ProtocolHandler['unsub']>[0];
    this.protocol.unsub(s);
    const cancel = () => this.protocol.subscriptions.cancel(s);
    return this.nc.flush().then(cancel, cancel);
  }
}

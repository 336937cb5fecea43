// Handing a channel's traffic to the application, the same for both transports: messages go
// through the channel's position tracker (duplicates dropped, order kept, epoch changes and
// given-up gaps announced before what follows them), and every handler call is guarded so an
// exception in application code cannot break the SDK's processing.
import type { MessageFrame, PresenceMember } from '@cascade/protocol';
import type { CascadeError } from './errors.js';
import type { ChannelSubscription } from './subscription.js';
import type { RecoveryImpossible, SubscriptionHandlers } from './types.js';

/** Reports an exception thrown by application code without breaking the SDK's processing, as EventTarget does. */
export function reportAsync(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}

export class Delivery {
  /** @param unhandled where an `onError` goes when the subscription has none (the client's `error` event). */
  constructor(private readonly unhandled: (e: CascadeError) => void) {}

  /** Calls an application handler; an exception in it is reported, not allowed to break delivery. */
  call<K extends keyof SubscriptionHandlers>(s: ChannelSubscription, name: K, ...args: Parameters<NonNullable<SubscriptionHandlers[K]>>): void {
    const fn = s.handlers[name] as ((...a: unknown[]) => void) | undefined;
    if (!fn) {
      if (name === 'onError') this.unhandled(args[0] as CascadeError);
      return;
    }
    try {
      fn.apply(s.handlers, args);
    } catch (err) {
      reportAsync(err);
    }
  }

  /** Runs one message (live, replayed or read from history) through the channel's tracker. */
  accept(s: ChannelSubscription, f: MessageFrame): void {
    const r = s.tracker.offer(f);
    if (!r.epochChanged) return this.deliver(s, r.deliver);
    // Held messages of the old epoch first, then the news that history was reset, then the new epoch.
    this.deliver(s, r.deliver.slice(0, -1));
    this.call(s, 'onRecoveryImpossible', { channel: s.channel, reason: 'epoch-changed', from: r.epochChanged.previous, to: { ep: f.ep, seq: f.seq - 1 } });
    this.deliver(s, r.deliver.slice(-1));
  }

  deliver(s: ChannelSubscription, frames: MessageFrame[]): void {
    for (const f of frames) {
      if (s.state === 'closed' || s.state === 'failed') return;
      this.call(s, 'onMessage', {
        channel: f.ch,
        seq: f.seq,
        ep: f.ep,
        ts: f.ts,
        ...(f.from === undefined ? {} : { from: f.from }),
        ...(f.key === undefined ? {} : { key: f.key }),
        data: f.data,
      });
    }
  }

  recoveryImpossible(s: ChannelSubscription, info: RecoveryImpossible): void {
    this.call(s, 'onRecoveryImpossible', info);
  }

  /** The missing range cannot be had: say so, then deliver what was held behind it. */
  giveUpGap(s: ChannelSubscription): void {
    const gap = s.tracker.gap();
    if (!gap) return;
    s.fillFailures = 0;
    this.recoveryImpossible(s, {
      channel: s.channel,
      reason: 'gap',
      from: { ep: gap.ep, seq: gap.after },
      to: { ep: gap.ep, seq: gap.upTo },
      missing: { ep: gap.ep, from: gap.after + 1, to: gap.upTo },
    });
    this.deliver(s, s.tracker.skip());
  }

  presence(s: ChannelSubscription, f: { ch: string; join?: PresenceMember[]; leave?: PresenceMember[]; count?: number }): void {
    const join = Array.isArray(f.join) ? f.join : [];
    const leave = Array.isArray(f.leave) ? f.leave : [];
    this.call(s, 'onPresence', { channel: f.ch, join, leave, ...(f.count === undefined ? {} : { count: f.count }) });
    if (join.length > 0) this.call(s, 'onJoin', join, f.ch);
    if (leave.length > 0) this.call(s, 'onLeave', leave, f.ch);
  }

  ephemeral(s: ChannelSubscription, f: { ch: string; ts: number; from?: string; data: unknown }): void {
    this.call(s, 'onEphemeral', { channel: f.ch, ts: f.ts, ...(f.from === undefined ? {} : { from: f.from }), data: f.data });
  }
}

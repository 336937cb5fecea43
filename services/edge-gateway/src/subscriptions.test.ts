// LiveChannels' first-subscriber refcounting against a minimal fake of the NATS connection
// (subscribe, flush): one subscription per channel, opened by the first acquire and closed
// by the last release, and frames handed on with their channel.
import { describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/nats-core';
import { Contract } from '@cascade/nats';
import type { ChannelName } from '@cascade/protocol';
import { LiveChannels } from './subscriptions.js';

function fakeNats() {
  const subs = new Map<string, { callback: (err: Error | null, msg: unknown) => void; closed: boolean }>();
  let flushes = 0;
  let settle!: () => void;
  const nc = {
    subscribe(subject: string, o: { callback: (err: Error | null, msg: unknown) => void }) {
      const s = { callback: o.callback, closed: false };
      subs.set(subject, s);
      return { unsubscribe: () => (s.closed = true) };
    },
    flush() {
      flushes++;
      return new Promise<void>((r) => (settle = r));
    },
  };
  return { nc: nc as unknown as NatsConnection, subs, flushes: () => flushes, settle: () => settle() };
}

const ch = (s: string) => s as ChannelName;

describe('LiveChannels', () => {
  it('subscribes a channel once for its first holder, and unsubscribes it with the last', async () => {
    const f = fakeNats();
    const idle: string[] = [];
    const live = new LiveChannels(f.nc, new Contract({ prefix: 'rt', partitions: 16 }), () => undefined, (c) => idle.push(c));
    const first = live.acquire(ch('a'));
    const second = live.acquire(ch('a'));
    expect([f.subs.size, f.flushes(), live.natsSubscriptions, live.localSubscribers('a')]).toEqual([1, 1, 1, 2]);
    let ready = 0;
    void second.then(() => ready++);
    f.settle();
    await first;
    await second;
    expect(ready).toBe(1);
    // Once ready, a later holder waits for nothing.
    await live.acquire(ch('a'));
    expect(live.localSubscriptions).toBe(3);
    live.release(ch('a'));
    live.release(ch('a'));
    expect([f.subs.get('rt.live.a')!.closed, idle]).toEqual([false, []]);
    live.release(ch('a'));
    expect([f.subs.get('rt.live.a')!.closed, idle, live.natsSubscriptions, live.localSubscriptions]).toEqual([true, ['a'], 0, 0]);
    expect(() => live.release(ch('a'))).toThrow(/no subscribers/);
  });

  it('hands each frame on with the channel of its subject and the excluded client', () => {
    const f = fakeNats();
    const got: unknown[] = [];
    const live = new LiveChannels(f.nc, new Contract({ prefix: 'rt', partitions: 16 }), (c, frame, ex) => got.push([c, frame.length, ex]));
    void live.acquire(ch('user:al:ice'));
    const headers = { get: (h: string) => (h === 'Rt-Exclude-Client' ? 'c-7' : '') };
    f.subs.get('rt.live.user:al:ice')!.callback(null, { subject: 'rt.live.user:al:ice', data: new Uint8Array(3), headers });
    f.subs.get('rt.live.user:al:ice')!.callback(null, { subject: 'rt.live.user:al:ice', data: new Uint8Array(1) });
    expect(got).toEqual([
      ['user:al:ice', 3, 'c-7'],
      ['user:al:ice', 1, undefined],
    ]);
  });
});

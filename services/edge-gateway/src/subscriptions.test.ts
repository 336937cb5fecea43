// LiveChannels' first-subscriber refcounting against a fake subscription table (add, remove,
// flush): one subscription per channel, opened by the first acquire and closed by the last
// release, confirmed by one flush per turn of the event loop, and frames handed on with
// their channel.
import { describe, expect, it } from 'vitest';
import type { Msg } from '@nats-io/nats-core';
import { Contract, type CoreSubscription, type SubscriptionTable } from '@cascade/nats';
import type { ChannelName } from '@cascade/protocol';
import { LiveChannels } from './subscriptions.js';

function fakeTable() {
  const subs = new Map<string, { sub: CoreSubscription; closed: boolean }>();
  const log: string[] = [];
  let flushes = 0;
  let settle!: () => void;
  const table: SubscriptionTable = {
    add(sub) {
      log.push(`SUB ${sub.subject}`);
      subs.set(sub.subject, { sub, closed: false });
    },
    remove(sub) {
      log.push(`UNSUB ${sub.subject}`);
      subs.get(sub.subject)!.closed = true;
    },
    flush() {
      flushes++;
      log.push('PING');
      return new Promise<void>((r) => (settle = r));
    },
    drainOne: () => Promise.resolve(),
  };
  return { table, subs, log, flushes: () => flushes, settle: () => settle() };
}

const ch = (s: string) => s as ChannelName;
const nextTurn = () => new Promise<void>((r) => setImmediate(r));
const contract = new Contract({ prefix: 'rt', partitions: 16 });

describe('LiveChannels', () => {
  it('subscribes a channel once for its first holder, and unsubscribes it with the last', async () => {
    const f = fakeTable();
    const idle: string[] = [];
    const live = new LiveChannels(f.table, contract, () => undefined, (c) => idle.push(c));
    const first = live.acquire(ch('a'));
    const second = live.acquire(ch('a'));
    await nextTurn();
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

  it('confirms the SUBs of one turn of the event loop with one flush, written after them', async () => {
    const f = fakeTable();
    const live = new LiveChannels(f.table, contract, () => undefined);
    const turn1 = [live.acquire(ch('a')), live.acquire(ch('b')), live.acquire(ch('c'))];
    await nextTurn();
    expect(f.log).toEqual(['SUB rt.live.a', 'SUB rt.live.b', 'SUB rt.live.c', 'PING']);
    // A SUB written after that PING is not covered by its PONG: it gets a flush of its own.
    const later = live.acquire(ch('d'));
    let laterReady = false;
    void later.then(() => (laterReady = true));
    f.settle();
    await Promise.all(turn1);
    expect(laterReady).toBe(false);
    await nextTurn();
    expect(f.log.slice(4)).toEqual(['SUB rt.live.d', 'PING']);
    f.settle();
    await later;
  });

  it('hands each frame on with its channel and the excluded client', () => {
    const f = fakeTable();
    const got: unknown[] = [];
    const live = new LiveChannels(f.table, contract, (c, frame, ex) => got.push([c, frame.length, ex]));
    void live.acquire(ch('user:al:ice'));
    const sub = f.subs.get('rt.live.user:al:ice')!.sub;
    const headers = { get: (h: string) => (h === 'Rt-Exclude-Client' ? 'c-7' : '') };
    sub.callback(null, { data: new Uint8Array(3), headers } as unknown as Msg);
    sub.callback(null, { data: new Uint8Array(1) } as unknown as Msg);
    // A refused subscription's error notice is not a frame.
    sub.callback(new Error('permissions violation'), {} as Msg);
    expect(got).toEqual([
      ['user:al:ice', 3, 'c-7'],
      ['user:al:ice', 1, undefined],
    ]);
  });
});

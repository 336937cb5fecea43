import { describe, expect, it } from 'vitest';
import type { ChannelName } from '@cascade/protocol';
import { PositionBatch, type BatchAnswer } from './position-batch.js';

const ch = (s: string) => s as ChannelName;

/** A batch whose turn ends when the test says so, and whose requests the test answers. */
function harness(maxBatch = 100) {
  const turns: Array<() => void> = [];
  const requests: Array<{ channels: readonly ChannelName[]; answer(a: ReadonlyArray<BatchAnswer<number>>): void; fail(e: Error): void }> = [];
  const batch = new PositionBatch<number>({
    maxBatch,
    schedule: (flush) => turns.push(flush),
    fetch: (channels) =>
      new Promise((resolve, reject) => {
        requests.push({ channels, answer: resolve, fail: reject });
      }),
  });
  const endTurn = () => {
    const run = turns.splice(0);
    for (const f of run) f();
  };
  return { batch, turns, requests, endTurn };
}

const settled = async <T>(p: Promise<T>) => p.then((v) => ({ v }), (e: Error) => ({ e: e.message }));

describe('PositionBatch', () => {
  it('sends the lookups of one turn as one request, in the order asked, after the turn', async () => {
    const h = harness();
    const a = h.batch.position(ch('user:a'));
    const b = h.batch.position(ch('user:b'));
    const c = h.batch.position(ch('room:c'));
    expect(h.requests).toHaveLength(0); // nothing before the turn ends
    expect(h.turns).toHaveLength(1); // one flush scheduled for the three
    h.endTurn();
    expect(h.requests.map((r) => r.channels)).toEqual([['user:a', 'user:b', 'room:c']]);
    h.requests[0]!.answer([
      { ok: true, position: 1 },
      { ok: true, position: 2 },
      { ok: true, position: 3 },
    ]);
    expect(await Promise.all([a, b, c])).toEqual([1, 2, 3]);
  });

  it('asks a channel once per request when it is looked up twice in a turn', async () => {
    const h = harness();
    const first = h.batch.position(ch('user:a'));
    const second = h.batch.position(ch('user:a'));
    h.endTurn();
    expect(h.requests.map((r) => r.channels)).toEqual([['user:a']]);
    h.requests[0]!.answer([{ ok: true, position: 7 }]);
    expect(await Promise.all([first, second])).toEqual([7, 7]);
  });

  it('splits a turn with more channels than maxBatch into several requests', async () => {
    const h = harness(2);
    const all = ['a', 'b', 'c', 'd', 'e'].map((s) => h.batch.position(ch(`user:${s}`)));
    h.endTurn();
    expect(h.requests.map((r) => r.channels)).toEqual([['user:a', 'user:b'], ['user:c', 'user:d'], ['user:e']]);
    for (const r of h.requests) r.answer(r.channels.map((c) => ({ ok: true, position: c.charCodeAt(5) })));
    expect(await Promise.all(all)).toEqual([97, 98, 99, 100, 101]);
  });

  it('starts a new request for lookups made after the flush, while the first is still out', async () => {
    const h = harness();
    const a = h.batch.position(ch('user:a'));
    h.endTurn();
    const b = h.batch.position(ch('user:a'));
    expect(h.turns).toHaveLength(1);
    h.endTurn();
    expect(h.requests).toHaveLength(2);
    h.requests[1]!.answer([{ ok: true, position: 2 }]);
    h.requests[0]!.answer([{ ok: true, position: 1 }]);
    expect(await Promise.all([a, b])).toEqual([1, 2]);
  });

  it("fails one channel's lookups with its own error, and every lookup when the request fails", async () => {
    const h = harness();
    const a = h.batch.position(ch('user:a'));
    const b = h.batch.position(ch('user:b'));
    h.endTurn();
    h.requests[0]!.answer([
      { ok: false, error: new Error('store unavailable') },
      { ok: true, position: 5 },
    ]);
    expect(await settled(a)).toEqual({ e: 'store unavailable' });
    expect(await settled(b)).toEqual({ v: 5 });

    const c = h.batch.position(ch('user:c'));
    const d = h.batch.position(ch('user:d'));
    h.endTurn();
    h.requests[1]!.fail(new Error('timeout'));
    expect(await settled(c)).toEqual({ e: 'timeout' });
    expect(await settled(d)).toEqual({ e: 'timeout' });
  });

  it('fails every lookup of a reply with the wrong number of answers, and of a fetch that throws', async () => {
    const h = harness();
    const a = h.batch.position(ch('user:a'));
    const b = h.batch.position(ch('user:b'));
    h.endTurn();
    h.requests[0]!.answer([{ ok: true, position: 1 }]);
    expect(await settled(a)).toEqual({ e: 'the position reply has 1 answers for 2 channels' });
    expect(await settled(b)).toEqual({ e: 'the position reply has 1 answers for 2 channels' });

    const throwing = new PositionBatch<number>({
      maxBatch: 10,
      schedule: (f) => f(),
      fetch: () => {
        throw new Error('connection closed');
      },
    });
    expect(await settled(throwing.position(ch('user:x')))).toEqual({ e: 'connection closed' });
  });

  it('refuses a maxBatch that is not a positive integer', () => {
    for (const maxBatch of [0, -1, 1.5, Number.NaN]) {
      expect(() => new PositionBatch<number>({ maxBatch, schedule: () => undefined, fetch: async () => [] })).toThrow(RangeError);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { RequestTable, type Timers } from './requests.js';

/** Manual timers: tests fire them explicitly. */
function manualTimers() {
  const pending = new Map<number, () => void>();
  let n = 0;
  const timers: Timers = {
    set: (fn) => {
      pending.set(++n, fn);
      return n;
    },
    clear: (h) => void pending.delete(h as number),
  };
  return { timers, pending, fireAll: () => [...pending.entries()].forEach(([k, fn]) => (pending.delete(k), fn())) };
}

describe('RequestTable', () => {
  it('hands out increasing ids and settles each request by id, in any order', async () => {
    const { timers, pending } = manualTimers();
    const t = new RequestTable<string>(timers);
    const a = t.start(1000, () => new Error('timeout'));
    const b = t.start(1000, () => new Error('timeout'));
    expect([a.id, b.id]).toEqual([1, 2]);
    expect(t.resolve(b.id, 'B')).toBe(true);
    expect(t.reject(a.id, new Error('A failed'))).toBe(true);
    await expect(b.reply).resolves.toBe('B');
    await expect(a.reply).rejects.toThrow('A failed');
    expect(t.resolve(a.id, 'late')).toBe(false);
    expect(pending.size).toBe(0);
  });

  it('times a request out, tells the owner, and forgets it', async () => {
    const { timers, fireAll } = manualTimers();
    const timedOut: number[] = [];
    const t = new RequestTable<string>(timers, (id) => timedOut.push(id));
    const a = t.start(10, () => new Error('no reply'));
    fireAll();
    await expect(a.reply).rejects.toThrow('no reply');
    expect(timedOut).toEqual([a.id]);
    expect(t.size).toBe(0);
  });

  it('rejectAll fails everything and clears the timers', async () => {
    const { timers, pending } = manualTimers();
    const t = new RequestTable<string>(timers);
    const rs = [t.start(10, () => new Error('x')), t.start(10, () => new Error('x'))];
    t.rejectAll(() => new Error('closed'));
    for (const r of rs) await expect(r.reply).rejects.toThrow('closed');
    expect(pending.size).toBe(0);
  });

  it('wraps after 2^32-1 and skips ids still in use', () => {
    const { timers } = manualTimers();
    const t = new RequestTable<string>(timers);
    (t as unknown as { nextId: number }).nextId = 0xffff_ffff;
    const last = t.start(10, () => new Error('x'));
    const first = t.start(10, () => new Error('x'));
    expect([last.id, first.id]).toEqual([0xffff_ffff, 1]);
    (t as unknown as { nextId: number }).nextId = 1;
    expect(t.start(10, () => new Error('x')).id).toBe(2);
    last.reply.catch(() => 'ignored in this test');
  });
});

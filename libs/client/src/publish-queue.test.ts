import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@cascade/protocol';
import { CascadeError } from './errors.js';
import { isValidKey, newIdempotencyKey, PublishQueue } from './publish-queue.js';

const serverError = (code: number) => new CascadeError(code, 'x', 'server');

describe('idempotency keys', () => {
  it('are 22 base64url characters the server accepts, and differ', () => {
    const keys = new Set(Array.from({ length: 200 }, newIdempotencyKey));
    expect(keys.size).toBe(200);
    for (const k of keys) {
      expect(k).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(isValidKey(k)).toBe(true);
    }
    expect(isValidKey('has space')).toBe(false);
    expect(isValidKey('')).toBe(false);
  });
});

describe('PublishQueue', () => {
  function queue() {
    let now = 1000;
    const q = new PublishQueue({ now: () => now, random: () => 0.5, deadlineMs: 60_000 });
    return { q, advance: (ms: number) => (now += ms) };
  }

  it('keeps the same key across a lost connection and resolves on the ack', async () => {
    const { q } = queue();
    const { entry, result } = q.add('chat:1', { text: 'hi' });
    expect(q.due()).toEqual([entry]);
    q.requeueSent();
    const again = q.due();
    expect(again).toEqual([entry]);
    expect(again[0]!.key).toBe(entry.key);
    expect(entry.attempts).toBe(2);
    q.acked(entry, true);
    await expect(result).resolves.toEqual({ dup: true, key: entry.key });
    expect(q.size).toBe(0);
  });

  it('retries retryable errors later with the same key, and fails permanent ones at once', async () => {
    const { q, advance } = queue();
    const a = q.add('c', 1, { key: 'my-key-1' });
    const b = q.add('c', 2);
    q.due();
    q.failed(a.entry, serverError(ErrorCode.Timeout));
    q.failed(b.entry, serverError(ErrorCode.PermissionDenied));
    await expect(b.result).rejects.toMatchObject({ code: ErrorCode.PermissionDenied });
    expect(q.due()).toEqual([]);
    expect(q.nextWakeup(true)).toBe(1000 + 100);
    advance(100);
    expect(q.due().map((e) => e.key)).toEqual(['my-key-1']);
  });

  it('fails a publish past its deadline with Timeout, and refuses keys the server would refuse', async () => {
    const { q, advance } = queue();
    const a = q.add('c', 1);
    expect(q.nextWakeup(false)).toBe(61_000);
    advance(60_000);
    q.expire();
    await expect(a.result).rejects.toMatchObject({ code: ErrorCode.Timeout, source: 'client' });
    expect(() => q.add('c', 1, { key: 'no spaces allowed' })).toThrow(CascadeError);
  });

  it('rejectAll fails everything queued', async () => {
    const { q } = queue();
    const a = q.add('c', 1);
    q.rejectAll(() => new Error('closed'));
    await expect(a.result).rejects.toThrow('closed');
  });
});

import { describe, expect, it } from 'vitest';
import type { ChannelName } from '@cascade/protocol';
import { PresenceRegistry, type PresenceChange } from './registry.js';

const ch = (s: string) => s as ChannelName;
const GRACE = 30_000;

function setup(o: { lastSeenCapacity?: number } = {}) {
  const changes: PresenceChange[] = [];
  const reg = new PresenceRegistry(
    { graceMs: GRACE, tracks: (c) => !c.startsWith('user:'), lastSeenCapacity: o.lastSeenCapacity ?? 100 },
    (c) => changes.push(c),
  );
  const kinds = () => changes.map((c) => `${c.kind}:${c.user}${c.ch ? `@${c.ch}` : ''}`);
  return { reg, changes, kinds };
}

describe('online status with the grace period', () => {
  it('reports connect at once and disconnect only after the grace period', () => {
    const { reg, changes, kinds } = setup();
    reg.connectionOpened('u1', 'e1', 'c1', 1000);
    expect(changes).toEqual([{ kind: 'connect', user: 'u1', edge: 'e1', client: 'c1', ts: 1000 }]);
    reg.connectionClosed('u1', 'e1', 'c1', 2000);
    reg.expire(2000 + GRACE - 1);
    expect(kinds()).toEqual(['connect:u1']);
    expect(reg.status('u1', 5000)).toEqual({ online: true, lastSeen: 2000, connections: 0, edges: {} });
    reg.expire(2000 + GRACE);
    expect(changes[1]).toEqual({ kind: 'disconnect', user: 'u1', edge: 'e1', client: 'c1', ts: 2000 });
    expect(reg.status('u1', 99_000)).toEqual({ online: false, lastSeen: 2000, connections: 0, edges: {} });
  });

  it('says nothing when a user reconnects within the grace period, on any edge', () => {
    const { reg, kinds } = setup();
    reg.connectionOpened('phone', 'e1', 'c1', 0);
    reg.connectionClosed('phone', 'e1', 'c1', 1000);
    reg.expire(20_000);
    reg.connectionOpened('phone', 'e2', 'c2', 20_000);
    reg.expire(200_000);
    expect(kinds()).toEqual(['connect:phone']);
    expect(reg.status('phone', 200_000)).toEqual({ online: true, lastSeen: 200_000, connections: 1, edges: { e2: 1 } });
    // The grace period restarts from the last disconnect, not the first.
    reg.connectionClosed('phone', 'e2', 'c2', 300_000);
    reg.expire(300_000 + GRACE - 1);
    expect(kinds()).toEqual(['connect:phone']);
    reg.expire(300_000 + GRACE);
    expect(kinds()).toEqual(['connect:phone', 'disconnect:phone']);
  });

  it('keeps a user online while any of their connections lives (multi-device)', () => {
    const { reg, kinds } = setup();
    reg.connectionOpened('u', 'e1', 'laptop', 0);
    reg.connectionOpened('u', 'e2', 'phone', 10);
    reg.connectionClosed('u', 'e1', 'laptop', 20);
    reg.expire(10 * GRACE);
    expect(kinds()).toEqual(['connect:u']);
    expect(reg.status('u', 1)).toMatchObject({ connections: 1, edges: { e2: 1 } });
    reg.connectionClosed('u', 'e2', 'phone', 10 * GRACE);
    reg.expire(11 * GRACE);
    expect(kinds()).toEqual(['connect:u', 'disconnect:u']);
  });

  it('expires grace periods in deadline order and ignores closes of unknown users', () => {
    const { reg, kinds } = setup();
    for (const u of ['a', 'b', 'c']) reg.connectionOpened(u, 'e', u, 0);
    reg.connectionClosed('b', 'e', 'b', 100);
    reg.connectionClosed('a', 'e', 'a', 200);
    reg.connectionClosed('c', 'e', 'c', 300);
    reg.connectionClosed('nobody', 'e', 'x', 300);
    reg.connectionOpened('a', 'e', 'a2', 250); // a comes back
    reg.expire(200 + GRACE);
    expect(kinds().slice(3)).toEqual(['disconnect:b']);
    reg.expire(1e9);
    expect(kinds().slice(3)).toEqual(['disconnect:b', 'disconnect:c']);
    expect(reg.stats).toMatchObject({ users: 1, pendingOffline: 0 });
  });

  it('stays silent for users recovered from a snapshot', () => {
    const { reg, kinds } = setup();
    reg.connectionOpened('u', 'e', 'c', 0, true);
    reg.subscribed(ch('room:1'), 'u', 'e', 'c', 0, true);
    expect(kinds()).toEqual([]);
    expect(reg.status('u', 5).online).toBe(true);
    expect(reg.memberCount(ch('room:1'))).toBe(1);
  });

  it('remembers last seen for a bounded number of offline users, forgetting the oldest', () => {
    const { reg } = setup({ lastSeenCapacity: 2 });
    for (const [i, u] of ['a', 'b', 'c'].entries()) {
      reg.connectionOpened(u, 'e', u, i);
      reg.connectionClosed(u, 'e', u, i * 10);
    }
    reg.expire(1e9);
    expect(reg.status('a', 1e9).lastSeen).toBeNull();
    expect(reg.status('b', 1e9).lastSeen).toBe(10);
    expect(reg.status('c', 1e9).lastSeen).toBe(20);
    expect(reg.status('never', 1e9)).toEqual({ online: false, lastSeen: null, connections: 0, edges: {} });
  });
});

describe('channel membership', () => {
  it('counts users, not connections, and debounces leaves like disconnects', () => {
    const { reg, kinds, changes } = setup();
    const room = ch('room:1');
    reg.subscribed(room, 'u1', 'e1', 'c1', 0);
    reg.subscribed(room, 'u1', 'e2', 'c2', 1);
    reg.subscribed(room, 'u2', 'e1', 'c3', 2);
    expect(kinds()).toEqual(['join:u1@room:1', 'join:u2@room:1']);
    expect(reg.memberCount(room)).toBe(2);
    expect(reg.members(room)).toEqual([
      { user: 'u1', clients: ['c1', 'c2'] },
      { user: 'u2', clients: ['c3'] },
    ]);
    reg.unsubscribed(room, 'u1', 'e1', 'c1', 10);
    reg.unsubscribed(room, 'u2', 'e1', 'c3', 10);
    reg.expire(10 + GRACE - 1);
    // u2 is still listed during its grace period.
    expect(reg.memberCount(room)).toBe(2);
    reg.subscribed(room, 'u2', 'e2', 'c4', 20); // back in time: no leave, no join
    reg.expire(10 + GRACE);
    expect(kinds()).toEqual(['join:u1@room:1', 'join:u2@room:1']);
    reg.unsubscribed(room, 'u1', 'e2', 'c2', 100);
    reg.expire(100 + GRACE);
    expect(changes.at(-1)).toEqual({ kind: 'leave', user: 'u1', ch: room, edge: 'e2', client: 'c2', ts: 100 });
    expect(reg.members(room)).toEqual([{ user: 'u2', clients: ['c4'] }]);
  });

  it('does not track channels whose namespace is switched off', () => {
    const { reg, kinds } = setup();
    reg.subscribed(ch('user:42'), 'u', 'e', 'c', 0);
    reg.unsubscribed(ch('user:42'), 'u', 'e', 'c', 1);
    reg.expire(1e9);
    expect(kinds()).toEqual([]);
    expect(reg.memberCount(ch('user:42'))).toBe(0);
    expect(reg.stats.channels).toBe(0);
  });

  it('forgets a channel when its last member left', () => {
    const { reg } = setup();
    reg.subscribed(ch('room:x'), 'u', 'e', 'c', 0);
    reg.unsubscribed(ch('room:x'), 'u', 'e', 'c', 0);
    reg.unsubscribed(ch('room:x'), 'u', 'e', 'c', 0);
    reg.expire(GRACE);
    expect(reg.stats).toMatchObject({ channels: 0, pendingLeaves: 0 });
    expect(reg.members(ch('room:x'))).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { decodeServerFrame, type ChannelName } from '@cascade/protocol';
import { PresenceReporter } from '@cascade/nats';
import { PresenceEngine, type PresenceSettings } from './engine.js';

const ch = (s: string) => s as ChannelName;
const settings: PresenceSettings = {
  graceMs: 1000,
  edgeTimeoutMs: 3000,
  snapshotTimeoutMs: 500,
  maxMembers: 3,
  disabledNamespaces: new Set(['user']),
  frameRate: 100,
  lastSeenCapacity: 100,
};

function setup(s: Partial<PresenceSettings> = {}) {
  const requests: string[] = [];
  const engine = new PresenceEngine({ ...settings, ...s }, { requestSnapshot: (e) => requests.push(e), warn: () => undefined }, 0);
  const send = (edge: string, r: PresenceReporter, now: number) => {
    const { deltas, heartbeat } = r.heartbeat(now, 1000);
    for (const d of deltas) engine.delta(edge, d, now);
    engine.heartbeat(edge, heartbeat, now);
  };
  return { engine, requests, send };
}

describe('PresenceEngine', () => {
  it('answers status and members from memory, and batches events per kind', () => {
    const { engine, send } = setup();
    const edge = new PresenceReporter();
    edge.connect('c1', 'u1');
    edge.join('c1', ch('room:1'));
    edge.join('c1', ch('user:u1'));
    edge.connect('c2', 'u2');
    edge.join('c2', ch('room:1'));
    send('e1', edge, 10);
    const out = engine.tick(20);
    expect(out.events.map((b) => [b.kind, b.events.length])).toEqual([
      ['connect', 2],
      ['join', 2],
    ]);
    expect(out.events[1]!.events[0]).toEqual({ user: 'u1', ch: 'room:1', edge: 'e1', client: 'c1', ts: 10 });
    expect(out.frames.map((f) => decodeServerFrame(f.frame))).toMatchObject([{ ok: true, frame: { t: 105, ch: 'room:1', count: 2 } }]);
    expect(engine.status(['u1', 'nobody'], 5000)).toEqual({
      users: { u1: { online: true, lastSeen: 5000, connections: 1, edges: { e1: 1 } }, nobody: { online: false, lastSeen: null, connections: 0, edges: {} } },
      partial: false,
    });
    expect(engine.members('room:1', 5000)).toEqual({
      ch: 'room:1',
      count: 2,
      members: [
        { user: 'u1', clients: ['c1'] },
        { user: 'u2', clients: ['c2'] },
      ],
      partial: false,
    });
    expect(engine.members('user:u1', 5000)).toEqual({ error: 'channel presence is switched off for namespace "user"' });
    expect(engine.members('a.b', 5000)).toHaveProperty('error');
    expect(engine.tick(30)).toEqual({ frames: [], events: [] });
  });

  it('gives counts without members above the member limit', () => {
    const { engine, send } = setup();
    const edge = new PresenceReporter();
    for (let i = 0; i < 5; i++) {
      edge.connect(`c${i}`, `u${i}`);
      edge.join(`c${i}`, ch('big'));
    }
    send('e1', edge, 0);
    expect(engine.members('big', 1)).toEqual({ ch: 'big', count: 5, partial: true });
  });

  it('is partial while warming up or resyncing an edge', () => {
    const { engine, requests } = setup();
    expect(engine.partial(0)).toBe(true);
    expect(engine.partial(3000)).toBe(false);
    engine.heartbeat('e1', { seq: 4, ts: 0, every: 1000, conns: 1, subs: 0, digest: '0000000000000000' }, 3000);
    expect(requests).toEqual(['e1']);
    expect(engine.partial(3001)).toBe(true);
    engine.snapshot('e1', 4, [['c1', 'u1', []]], 3002);
    expect(engine.partial(3003)).toBe(false);
    // Learned after the warm-up: reported as a real connect.
    expect(engine.tick(3004).events.map((b) => b.kind)).toEqual(['connect']);
  });

  it('coalesces a login wave: frames stay within the budget and per-channel pending work stays bounded', () => {
    const { engine, send } = setup({ frameRate: 10, maxMembers: 100 });
    const edge = new PresenceReporter();
    let frames = 0;
    let eventMessages = 0;
    let now = 0;
    // 5,000 logins over 5 seconds into 50 rooms, reported every 250 ms.
    for (let i = 0; i < 5000; i++) {
      edge.connect(`c${i}`, `u${i}`);
      edge.join(`c${i}`, ch(`room:${i % 50}`));
      if (i % 250 === 249) {
        now += 250;
        send('e1', edge, now);
        const out = engine.tick(now);
        frames += out.frames.length;
        eventMessages += out.events.length;
      }
    }
    // Budget: 10 frames/s plus a burst of 10, over 5 s.
    expect(frames).toBeLessThanOrEqual(10 + 10 * 5);
    expect(eventMessages).toBeLessThanOrEqual(2 * 20 + 10);
    expect(engine.stats).toMatchObject({ connections: 5000, users: 5000, channels: 50 });
    // Every room keeps at most one pending entry, whatever the number of joins it missed.
    expect(engine.stats['framesWaiting']).toBeLessThanOrEqual(50);
    // Given time, every room gets its (count-only) frame with the final count.
    const rest = engine.tick(now + 10_000).frames.map((f) => decodeServerFrame(f.frame));
    expect(rest.length).toBeGreaterThan(0);
    for (const r of rest) expect(r).toMatchObject({ ok: true, frame: { t: 105, count: 100 } });
  });
});

describe('disabledNamespacesOf', () => {
  it('reads the comma list, with "none" and "-" (no namespace)', async () => {
    const { disabledNamespacesOf } = await import('./config.js');
    expect([...disabledNamespacesOf('user,chat')]).toEqual(['user', 'chat']);
    expect([...disabledNamespacesOf('none')]).toEqual([]);
    expect([...disabledNamespacesOf('-,user')]).toEqual(['', 'user']);
    const { engine } = setup({ disabledNamespaces: disabledNamespacesOf('-') });
    expect(engine.tracks(ch('lobby'))).toBe(false);
    expect(engine.tracks(ch('user:1'))).toBe(true);
  });
});

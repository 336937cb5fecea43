import { describe, expect, it } from 'vitest';
import type { ChannelName } from '@cascade/protocol';
import {
  PresenceDigest,
  PresenceLimits,
  PresenceSubjects,
  edgeIdOf,
  encodeJson,
  parseByeReport,
  parseDeltaReport,
  parseHeartbeatReport,
  parseMembersQuery,
  parseSnapshotPart,
  parseStatusQuery,
} from './presence-api.js';
import { PresenceReporter } from './presence-reporter.js';

const ch = (s: string) => s as ChannelName;
const json = (v: unknown) => encodeJson(v);
const text = (s: string) => new TextEncoder().encode(s);

describe('presence subjects', () => {
  const s = new PresenceSubjects({ prefix: 'rt' });

  it('builds and parses report subjects, and refuses edge ids that are not one token', () => {
    expect(s.report('edge-a_1', 'delta')).toBe('rt.presence.edge-a_1.delta');
    expect(s.parseReportSubject('rt.presence.edge-a_1.heartbeat')).toEqual({ edge: 'edge-a_1', kind: 'heartbeat' });
    expect(s.parseReportSubject('rt.presence.e.other')).toBeUndefined();
    expect(s.parseReportSubject('xx.presence.e.delta')).toBeUndefined();
    expect(s.parseReportSubject('rt.presence.e.f.delta')).toBeUndefined();
    expect(() => s.report('a.b', 'delta')).toThrow(RangeError);
    expect(() => s.snapshot('*')).toThrow(RangeError);
    expect(s.snapshot('e1')).toBe('rt.svc.edge.e1.presence-snapshot');
    expect([s.status, s.members, s.event('leave'), s.reports]).toEqual([
      'rt.svc.presence.status',
      'rt.svc.presence.members',
      'rt.events.leave',
      'rt.presence.*.*',
    ]);
  });

  it('turns any instance name into a valid edge id', () => {
    expect(edgeIdOf('edge-host.example.com-a1b2c3')).toBe('edge-host_example_com-a1b2c3');
    expect(edgeIdOf('')).toBe('edge');
    expect(edgeIdOf('x'.repeat(300))).toHaveLength(PresenceLimits.maxEdgeIdLength);
  });
});

describe('report validation', () => {
  it('accepts a well-formed delta and keeps op order', () => {
    const r = parseDeltaReport(json({ seq: 3, ts: 5, ops: [['c', 'c1', 'u1'], ['j', 'c1', 'room:1'], ['l', 'c1', 'room:1'], ['d', 'c1']] }));
    expect(r).toEqual({ ok: true, value: { seq: 3, ts: 5, ops: [['c', 'c1', 'u1'], ['j', 'c1', 'room:1'], ['l', 'c1', 'room:1'], ['d', 'c1']] } });
  });

  it.each([
    ['not JSON', text('{nope')],
    ['not an object', json([1])],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d])],
    ['seq 0', json({ seq: 0, ts: 1, ops: [] })],
    ['fractional seq', json({ seq: 1.5, ts: 1, ops: [] })],
    ['ops missing', json({ seq: 1, ts: 1 })],
    ['unknown op', json({ seq: 1, ts: 1, ops: [['x', 'c1']] })],
    ['wildcard channel', json({ seq: 1, ts: 1, ops: [['j', 'c1', 'a.>']] })],
    ['empty client', json({ seq: 1, ts: 1, ops: [['d', '']] })],
    ['control character in user', json({ seq: 1, ts: 1, ops: [['c', 'c1', 'u\n1']] })],
    ['connect without user', json({ seq: 1, ts: 1, ops: [['c', 'c1']] })],
    ['disconnect with extra field', json({ seq: 1, ts: 1, ops: [['d', 'c1', 'x']] })],
    ['too many ops', json({ seq: 1, ts: 1, ops: Array.from({ length: PresenceLimits.maxOpsPerDelta + 1 }, (_, i) => ['d', `c${i}`]) })],
  ])('drops a delta with %s', (_why, bytes) => {
    expect(parseDeltaReport(bytes).ok).toBe(false);
  });

  it('checks heartbeats, byes, snapshot parts and queries', () => {
    expect(parseHeartbeatReport(json({ seq: 0, ts: 1, every: 1000, conns: 0, subs: 0, digest: '0123456789abcdef' })).ok).toBe(true);
    expect(parseHeartbeatReport(json({ seq: 0, ts: 1, every: 1000, conns: -1, subs: 0, digest: '0123456789abcdef' })).ok).toBe(false);
    expect(parseHeartbeatReport(json({ seq: 0, ts: 1, every: 1000, conns: 0, subs: 0, digest: 'XYZ' })).ok).toBe(false);
    expect(parseByeReport(json({ seq: 2, ts: 1 })).ok).toBe(true);
    expect(parseByeReport(json({ seq: '2', ts: 1 })).ok).toBe(false);
    expect(parseSnapshotPart(json({ seq: 2, part: 0, parts: 1, conns: [['c1', 'u1', ['room:1']]] })).ok).toBe(true);
    expect(parseSnapshotPart(json({ seq: 2, part: 1, parts: 1, conns: [] })).ok).toBe(false);
    expect(parseSnapshotPart(json({ seq: 2, part: 0, parts: 1, conns: [['c1', 'u1', ['bad channel']]] })).ok).toBe(false);
    expect(parseSnapshotPart(json({ seq: 2, part: 0, parts: 1, conns: [['c1', 'u1']] })).ok).toBe(false);
    expect(parseStatusQuery(json({ users: ['a', 'b'] }))).toEqual({ ok: true, value: { users: ['a', 'b'] } });
    expect(parseStatusQuery(json({ users: [1] })).ok).toBe(false);
    expect(parseStatusQuery(json({ users: Array.from({ length: PresenceLimits.maxUsersPerStatusQuery + 1 }, (_, i) => `u${i}`) })).ok).toBe(false);
    expect(parseMembersQuery(json({ ch: 'room:1' }))).toEqual({ ok: true, value: { ch: 'room:1' } });
    expect(parseMembersQuery(json({ ch: 'rt.>' })).ok).toBe(false);
  });
});

describe('PresenceDigest', () => {
  it('depends on the state, not on the order of changes', () => {
    const a = new PresenceDigest();
    a.addConnection('c1', 'u1');
    a.addSubscription('c1', 'room:1');
    a.addConnection('c2', 'u2');
    const b = new PresenceDigest();
    b.addConnection('c2', 'u2');
    b.addConnection('c9', 'u9');
    b.addConnection('c1', 'u1');
    b.addSubscription('c1', 'room:1');
    b.addSubscription('c9', 'room:2');
    b.removeSubscription('c9', 'room:2');
    b.removeConnection('c9', 'u9');
    expect(b.value).toBe(a.value);
    expect([b.conns, b.subs]).toEqual([2, 1]);
    expect(a.value).toMatch(/^[0-9a-f]{16}$/);
  });

  it('tells apart states that differ in one subscription or one user', () => {
    const a = new PresenceDigest();
    a.addConnection('c1', 'u1');
    a.addSubscription('c1', 'room:1');
    const b = new PresenceDigest();
    b.addConnection('c1', 'u1');
    b.addSubscription('c1', 'room:2');
    const c = new PresenceDigest();
    c.addConnection('c1', 'u2');
    c.addSubscription('c1', 'room:1');
    expect(new Set([a.value, b.value, c.value]).size).toBe(3);
  });
});

describe('PresenceReporter (the edge side)', () => {
  it('numbers delta reports, splits large batches and sends nothing when idle', () => {
    const r = new PresenceReporter(2);
    expect(r.flush(1)).toEqual([]);
    r.connect('c1', 'u1');
    r.join('c1', ch('room:1'));
    r.connect('c2', 'u2');
    const reports = r.flush(10);
    expect(reports.map((d) => [d.seq, d.ops.length])).toEqual([
      [1, 2],
      [2, 1],
    ]);
    r.leave('c1', ch('room:1'));
    expect(r.flush(11)).toEqual([{ seq: 3, ts: 11, ops: [['l', 'c1', 'room:1']] }]);
  });

  it('sends nothing about a connection that came and went within one interval', () => {
    const r = new PresenceReporter();
    r.connect('c1', 'u1');
    r.flush(1);
    r.connect('short', 'u2');
    r.join('short', ch('room:1'));
    r.disconnect('short');
    r.disconnect('c1');
    expect(r.flush(2)).toEqual([{ seq: 2, ts: 2, ops: [['d', 'c1']] }]);
  });

  it('flushes before a heartbeat and a snapshot, whose seq and digest describe the state after those deltas', () => {
    const r = new PresenceReporter();
    r.connect('c1', 'u1');
    r.join('c1', ch('room:1'));
    const { deltas, heartbeat } = r.heartbeat(5, 1000);
    expect(deltas).toHaveLength(1);
    const mirror = new PresenceDigest();
    mirror.addConnection('c1', 'u1');
    mirror.addSubscription('c1', 'room:1');
    expect(heartbeat).toEqual({ seq: 1, ts: 5, every: 1000, conns: 1, subs: 1, digest: mirror.value });
    r.connect('c2', 'u2');
    r.connect('c3', 'u3');
    const snap = r.snapshot(6, 2);
    expect(snap.deltas.map((d) => d.seq)).toEqual([2]);
    expect(snap.parts.map((p) => [p.seq, p.part, p.parts, p.conns.length])).toEqual([
      [2, 0, 2, 2],
      [2, 1, 2, 1],
    ]);
    expect(snap.parts[0]!.conns[0]).toEqual(['c1', 'u1', ['room:1']]);
    expect(new PresenceReporter().snapshot(1).parts).toEqual([{ seq: 0, part: 0, parts: 1, conns: [] }]);
  });

  it('ignores changes that do not fit its table', () => {
    const r = new PresenceReporter();
    r.join('ghost', ch('room:1'));
    r.disconnect('ghost');
    r.connect('c1', 'u1');
    r.connect('c1', 'u1');
    r.join('c1', ch('room:1'));
    r.join('c1', ch('room:1'));
    r.leave('c1', ch('room:2'));
    r.connect('c2', 'bad\nuser');
    r.connect('x'.repeat(PresenceLimits.maxClientIdLength + 1), 'u3');
    expect(r.flush(1)[0]!.ops).toEqual([
      ['c', 'c1', 'u1'],
      ['j', 'c1', 'room:1'],
    ]);
    expect(r.connections).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import type { ChannelName } from '@cascade/protocol';
import { PresenceReporter, type DeltaReport } from '@cascade/nats';
import { EdgeTable } from './edges.js';
import { PresenceRegistry, type PresenceChange } from './registry.js';

const ch = (s: string) => s as ChannelName;
const GRACE = 1000;
const TIMEOUT = 3000;

function setup() {
  const changes: PresenceChange[] = [];
  const requests: string[] = [];
  const warnings: string[] = [];
  const registry = new PresenceRegistry({ graceMs: GRACE, tracks: () => true, lastSeenCapacity: 10 }, (c) => changes.push(c));
  const table = new EdgeTable(registry, { edgeTimeoutMs: TIMEOUT, snapshotTimeoutMs: 500, maxBufferedDeltas: 3 }, {
    requestSnapshot: (edge) => requests.push(edge),
    warn: (_d, m) => warnings.push(m),
  });
  const kinds = () => changes.map((c) => `${c.kind}:${c.user}${c.ch ? `@${c.ch}` : ''}`);
  /** Sends the edge's pending deltas and a heartbeat, as an edge does every interval. */
  const beat = (edge: string, r: PresenceReporter, now: number) => {
    const { deltas, heartbeat } = r.heartbeat(now, 1000);
    for (const d of deltas) table.delta(edge, d, now);
    table.heartbeat(edge, heartbeat, now);
  };
  const answer = (edge: string, r: PresenceReporter, now: number, silent = false) => {
    const { deltas, parts } = r.snapshot(now);
    for (const d of deltas) table.delta(edge, d, now);
    table.snapshot(edge, parts[0]!.seq, parts.flatMap((p) => p.conns), now, silent);
  };
  return { registry, table, changes, requests, warnings, kinds, beat, answer };
}

describe('EdgeTable', () => {
  it('follows an edge from its first delta without a snapshot, and agrees with its heartbeat', () => {
    const { table, registry, requests, kinds, beat } = setup();
    const edge = new PresenceReporter();
    edge.connect('c1', 'u1');
    edge.join('c1', ch('room:1'));
    edge.connect('c2', 'u2');
    beat('e1', edge, 0);
    edge.disconnect('c2');
    beat('e1', edge, 100);
    expect(requests).toEqual([]);
    expect(kinds()).toEqual(['connect:u1', 'join:u1@room:1', 'connect:u2']);
    expect(table.stats).toMatchObject({ edges: 1, connections: 1, syncing: 0 });
    expect(registry.status('u2', 200)).toMatchObject({ online: true, connections: 0 });
  });

  it('asks for a snapshot when it meets an edge mid-stream, and is silent about what it recovers while warming up', () => {
    const { table, registry, requests, kinds, beat, answer } = setup();
    const edge = new PresenceReporter();
    edge.connect('c1', 'u1');
    edge.join('c1', ch('room:1'));
    edge.flush(0); // delta 1 went to a previous presence process
    beat('e1', edge, 10);
    expect(requests).toEqual(['e1']);
    expect(table.syncing).toBe(true);
    answer('e1', edge, 20, true);
    expect(table.syncing).toBe(false);
    expect(kinds()).toEqual([]);
    expect(registry.status('u1', 30)).toMatchObject({ online: true, connections: 1 });
    expect(registry.memberCount(ch('room:1'))).toBe(1);
    edge.connect('c2', 'u2');
    beat('e1', edge, 40);
    expect(kinds()).toEqual(['connect:u2']);
    expect(requests).toEqual(['e1']);
  });

  it('buffers deltas that arrive while the snapshot is awaited and applies the newer ones after it', () => {
    const { table, registry, requests, answer } = setup();
    const edge = new PresenceReporter();
    edge.connect('c1', 'u1');
    edge.flush(0);
    edge.connect('c2', 'u2');
    for (const d of edge.flush(1)) table.delta('e1', d, 1); // seq 2: unknown edge mid-stream
    expect(requests).toEqual(['e1']);
    edge.connect('c3', 'u3');
    // The edge cut the snapshot at seq 3 ...
    const snap = edge.snapshot(2);
    edge.connect('c4', 'u4');
    const later = edge.flush(3);
    // ... but its deltas 3 and 4 overtook the reply.
    for (const d of [...snap.deltas, ...later]) table.delta('e1', d, 3);
    table.snapshot('e1', snap.parts[0]!.seq, snap.parts[0]!.conns, 4, false);
    expect(table.stats).toMatchObject({ connections: 4, syncing: 0 });
    expect(registry.status('u4', 5).online).toBe(true);
  });

  it('resyncs after a lost delta and reports the differences as real changes', () => {
    const { table, registry, requests, warnings, kinds, beat, answer } = setup();
    const edge = new PresenceReporter();
    edge.connect('c1', 'u1');
    beat('e1', edge, 0);
    edge.connect('c2', 'u2');
    edge.disconnect('c1');
    edge.flush(1); // lost on the way
    beat('e1', edge, 2);
    expect(requests).toEqual(['e1']);
    expect(warnings[0]).toMatch(/diverged/);
    answer('e1', edge, 3);
    table.expire(3); // still alive
    expect(kinds()).toEqual(['connect:u1', 'connect:u2']);
    expect(table.stats.connections).toBe(1);
    // u1 went offline through the grace period.
    registry.expire(3 + GRACE);
    expect(kinds()).toEqual(['connect:u1', 'connect:u2', 'disconnect:u1']);
  });

  it('detects a gap in delta numbers and a digest that disagrees', () => {
    const { table, requests, beat } = setup();
    const edge = new PresenceReporter();
    edge.connect('c1', 'u1');
    beat('e1', edge, 0);
    edge.connect('c2', 'u2');
    edge.flush(1);
    edge.connect('c3', 'u3');
    for (const d of edge.flush(2)) table.delta('e1', d, 2); // seq 3 after 1
    expect(requests).toEqual(['e1']);

    const other = setup();
    const e2 = new PresenceReporter();
    e2.connect('c1', 'u1');
    other.beat('e2', e2, 0);
    // A delta the service applied but the edge never had: same seq, different digest.
    other.table.delta('e2', { seq: 2, ts: 1, ops: [['c', 'ghost', 'g']] }, 1);
    const hb = e2.heartbeat(2, 1000).heartbeat;
    other.table.heartbeat('e2', { ...hb, seq: 2 }, 2);
    expect(other.requests).toEqual(['e2']);
  });

  it('ends an edge that stops reporting, and its users go offline after the grace period', () => {
    const { table, registry, kinds, beat } = setup();
    const a = new PresenceReporter();
    const b = new PresenceReporter();
    a.connect('a1', 'both');
    a.connect('a2', 'only-a');
    b.connect('b1', 'both');
    beat('ea', a, 0);
    beat('eb', b, 0);
    beat('eb', b, TIMEOUT);
    table.expire(TIMEOUT);
    expect(table.stats.edges).toBe(2);
    table.expire(TIMEOUT + 1);
    expect(table.stats).toMatchObject({ edges: 1, deadEdges: 1 });
    registry.expire(TIMEOUT + 1 + GRACE);
    expect(kinds()).toEqual(['connect:both', 'connect:only-a', 'disconnect:only-a']);
  });

  it('handles goodbye, an edge restart under the same id, repeats and ops that do not fit', () => {
    const { table, registry, kinds, beat } = setup();
    const edge = new PresenceReporter();
    edge.connect('c1', 'u1');
    beat('e1', edge, 0);
    const repeat: DeltaReport = { seq: 1, ts: 0, ops: [['c', 'c1', 'u1']] };
    table.delta('e1', repeat, 1);
    table.delta('e1', { seq: 2, ts: 1, ops: [['d', 'nope'], ['j', 'nope', ch('room:1')], ['l', 'c1', ch('room:1')], ['c', 'c1', 'u1']] }, 1);
    expect(table.stats.ignoredOps).toBe(4);
    // Restart: seq starts over; the old connections are gone.
    table.delta('e1', { seq: 1, ts: 2, ops: [['c', 'n1', 'u2']] }, 2);
    expect(table.stats.connections).toBe(1);
    table.bye('e1', 3);
    table.bye('unknown', 3);
    expect(table.stats.edges).toBe(0);
    registry.expire(3 + GRACE);
    expect(kinds()).toEqual(['connect:u1', 'connect:u2', 'disconnect:u1', 'disconnect:u2']);
  });

  it('asks again for a snapshot that failed or timed out, but not more often', () => {
    const { table, requests } = setup();
    const hb = { seq: 5, ts: 0, every: 1000, conns: 1, subs: 0, digest: '0000000000000000' };
    table.heartbeat('e1', hb, 0);
    table.heartbeat('e1', hb, 100);
    expect(requests).toEqual(['e1']);
    table.heartbeat('e1', hb, 600);
    expect(requests).toEqual(['e1', 'e1']);
    table.snapshotFailed('e1');
    table.heartbeat('e1', hb, 700);
    expect(requests).toEqual(['e1', 'e1', 'e1']);
    // An edge that never sent anything needs no snapshot.
    table.heartbeat('fresh', { ...hb, seq: 0, conns: 0 }, 0);
    expect(requests).toHaveLength(3);
  });

  it('bounds the deltas it buffers while syncing', () => {
    const { table, requests } = setup();
    for (let seq = 5; seq < 20; seq++) table.delta('e1', { seq, ts: 0, ops: [['c', `c${seq}`, 'u']] }, 0);
    // Snapshot at 4; only the last buffered deltas survived, so there is a gap: ask again.
    table.snapshot('e1', 4, [], 600, false);
    expect(requests).toEqual(['e1', 'e1']);
    expect(table.syncing).toBe(true);
  });
});

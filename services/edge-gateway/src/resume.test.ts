import { decode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { BEFORE_FIRST, ErrorCode, encodeFrameWithPayload, encodeValue, type ChannelName, type StreamPosition } from '@cascade/protocol';
import { HistoryRequestError, type HistoryPosition, type HistoryReadRequest, type HistoryReadResult } from '@cascade/nats';
import { RecentFrames } from './ring.js';
import { resumeSubscription, type ChannelPositions, type HistoryReader, type ResumeTarget } from './resume.js';

const ch = 'chat:resume' as ChannelName;
const frame = (seq: number, ep = 'e1') => encodeFrameWithPayload({ t: 103, ch, seq, ep, ts: 1, from: 'u' }, encodeValue(`m${seq}`));

/** A channel's history (epoch e1, oldest retained `first`) that the test appends to like the worker. */
class Channel implements HistoryReader {
  stored: Uint8Array[] = [];
  first = 1;
  reads: HistoryReadRequest[] = [];
  /** Runs before each read answers: lets a test publish while the catch-up is in flight. */
  duringRead: (n: number) => void = () => undefined;
  /** Runs after a read computed its answer, before the caller gets it. */
  afterRead: (n: number) => void = () => undefined;
  down = false;
  constructor(readonly recent: RecentFrames) {}

  /** Stores the next message and, unless lost, emits it live. */
  publish(o: { live?: boolean } = {}): number {
    const seq = this.stored.length + 1;
    this.stored.push(frame(seq));
    if (o.live ?? true) this.recent.record(ch, frame(seq));
    return seq;
  }

  async position(): Promise<HistoryPosition> {
    this.reads.push({ ch, dir: 'back', limit: 0 });
    await Promise.resolve();
    this.duringRead(this.reads.length);
    if (this.down) throw new Error('no responders');
    const head = this.stored.length;
    this.afterRead(this.reads.length);
    return head === 0 ? { ep: '', seq: 0, first: 0 } : { ep: 'e1', seq: head, first: this.first };
  }

  async read(r: HistoryReadRequest): Promise<HistoryReadResult> {
    this.reads.push(r);
    await Promise.resolve();
    this.duringRead(this.reads.length);
    if (this.down) throw new Error('no responders');
    const head = this.stored.length;
    const from = r.from ?? this.first;
    // The service's continuation rule: seq 0 ("nothing yet") continues in any epoch from seq 1.
    const fromStart = from === 1 && (head === 0 || this.first === 1);
    if (r.ep !== undefined && !fromStart && (r.ep !== 'e1' || from - 1 < this.first - 1 || from - 1 > head)) {
      throw new HistoryRequestError({ ok: false, code: ErrorCode.RecoveryImpossible, msg: 'no', ep: 'e1', seq: head, first: this.first });
    }
    const to = Math.min(head, from + (r.limit ?? 100) - 1);
    const msgs = this.stored.slice(from - 1, to);
    this.afterRead(this.reads.length);
    return { ep: 'e1', seq: head, first: this.first, msgs, ...(to < head ? { next: to + 1 } : {}) };
  }
}

class Target implements ResumeTarget {
  replies: unknown[] = [];
  sent: Array<{ seq?: number; t: number }> = [];
  joined = false;
  live = true;
  current(): boolean {
    return this.live;
  }
  reply(r: unknown): void {
    this.replies.push(r);
  }
  send(f: Uint8Array): void {
    this.sent.push(decode(f) as { seq?: number; t: number });
  }
  join(): void {
    this.joined = true;
  }
  async drained(): Promise<void> {
    await Promise.resolve();
  }
  seqs(): Array<number | undefined> {
    return this.sent.map((f) => f.seq);
  }
}

function setup(ringSize = 0) {
  const recent = new RecentFrames(ringSize);
  const history = new Channel(recent);
  const target = new Target();
  const learned: StreamPosition[] = [];
  let known: StreamPosition | undefined;
  const positions: ChannelPositions = { known: () => known, learned: (_c, p) => learned.push(p) };
  const run = (since: StreamPosition | undefined, pageSize?: number) =>
    resumeSubscription({ channel: ch, since, recent, history, target, positions, ...(pageSize ? { pageSize } : {}) });
  return {
    recent,
    history,
    target,
    run,
    learned,
    know: (p: StreamPosition | undefined) => {
      known = p;
    },
  };
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('resumeSubscription', () => {
  it('sends the missed messages from history, then those that arrived meanwhile, once each and in order', async () => {
    const { history, target, run } = setup();
    for (let i = 0; i < 10; i++) history.publish();
    // Messages keep arriving while the catch-up is read: 11 and 12 are both in history and live.
    history.duringRead = (n) => {
      if (n === 1) [11, 12].forEach(() => history.publish());
    };
    const outcome = run({ ep: 'e1', seq: 3 });
    history.publish(); // 13, live during the read
    expect(await outcome).toEqual({ kind: 'live' });
    expect(target.replies).toEqual([{ recovered: true }]);
    expect(target.seqs()).toEqual(range(4, 13));
    expect(target.joined).toBe(true);
  });

  it('pages through a long catch-up', async () => {
    const { history, target, run } = setup();
    for (let i = 0; i < 30; i++) history.publish({ live: false });
    expect(await run({ ep: 'e1', seq: 0 }, 7)).toEqual({ kind: 'live' });
    expect(target.seqs()).toEqual(range(1, 30));
    expect(history.reads.length).toBe(5);
  });

  it('serves a short gap from the ring without asking history', async () => {
    const { history, target, run } = setup(8);
    for (let i = 0; i < 20; i++) history.publish();
    expect(await run({ ep: 'e1', seq: 15 })).toEqual({ kind: 'live' });
    expect(target.replies).toEqual([{ recovered: true }]);
    expect(target.seqs()).toEqual(range(16, 20));
    expect(history.reads).toEqual([]);
  });

  it('goes to history when the gap is longer than the ring', async () => {
    const { history, target, run } = setup(8);
    for (let i = 0; i < 20; i++) history.publish();
    await run({ ep: 'e1', seq: 5 });
    expect(target.seqs()).toEqual(range(6, 20));
    expect(history.reads.length).toBe(1);
  });

  it('heals a live frame lost during the catch-up from history', async () => {
    const { history, target, run } = setup();
    for (let i = 0; i < 10; i++) history.publish();
    history.afterRead = (n) => {
      if (n !== 1) return;
      history.publish({ live: false }); // 11 lost on the live path
      history.publish(); // 12
    };
    await run({ ep: 'e1', seq: 8 });
    expect(target.seqs()).toEqual(range(9, 12));
    expect(history.reads.map((r) => [r.from, r.limit])).toEqual([[9, 500], [11, 1]]);
  });

  it('answers recovered:false with the position live continues after, when history cannot continue', async () => {
    const { history, target, run } = setup();
    for (let i = 0; i < 10; i++) history.publish();
    history.first = 6;
    history.duringRead = () => history.publish(); // 11 arrives live meanwhile
    expect(await run({ ep: 'e1', seq: 2 })).toEqual({ kind: 'live' });
    expect(target.replies).toEqual([{ recovered: false, position: { ep: 'e1', seq: 11 } }]);
    expect(target.seqs()).toEqual([]);
    history.duringRead = () => undefined;

    const other = setup();
    for (let i = 0; i < 3; i++) other.history.publish();
    await other.run({ ep: 'old-epoch', seq: 2 });
    expect(other.target.replies).toEqual([{ recovered: false, position: { ep: 'e1', seq: 3 } }]);
  });

  it('passes ephemeral frames through during the catch-up', async () => {
    const { recent, history, target, run } = setup();
    history.publish();
    history.duringRead = () => recent.record(ch, encodeFrameWithPayload({ t: 104, ch, ts: 1, from: 'u' }, encodeValue(1)));
    await run({ ep: 'e1', seq: 0 });
    expect(target.sent.map((f) => f.t)).toEqual([103, 104]);
  });

  it('fails before replying when history is unavailable, and stops when the subscription ends', async () => {
    const { history, target, run } = setup();
    history.publish();
    history.down = true;
    expect(await run({ ep: 'e1', seq: 0 })).toMatchObject({ kind: 'failed', replied: false });
    expect(target.replies).toEqual([]);
    expect(target.joined).toBe(false);

    const s = setup();
    for (let i = 0; i < 5; i++) s.history.publish();
    s.history.duringRead = () => {
      s.target.live = false;
    };
    expect(await s.run({ ep: 'e1', seq: 0 })).toEqual({ kind: 'aborted', replied: false });
    expect(s.target.joined).toBe(false);
  });
});

describe('resumeSubscription without since (a new subscription, told where it starts)', () => {
  it('starts at the position the node knows, in the same step as it joins: no history read', async () => {
    const { history, target, run, know, learned } = setup();
    for (let i = 0; i < 4; i++) history.publish();
    history.reads = [];
    know({ ep: 'e1', seq: 4 });
    expect(await run(undefined)).toEqual({ kind: 'live' });
    expect(target.replies).toEqual([{ position: { ep: 'e1', seq: 4 } }]);
    expect(target.joined).toBe(true);
    expect(history.reads).toEqual([]);
    expect(target.seqs()).toEqual([]);
    expect(learned).toEqual([{ ep: 'e1', seq: 4 }]);
  });

  it('asks history where an empty channel stands: BEFORE_FIRST, and a message published meanwhile arrives once', async () => {
    const { history, target, run, learned } = setup();
    history.afterRead = (n) => {
      if (n === 1) history.publish(); // 1: stored after the position was read, live during the read
    };
    expect(await run(undefined)).toEqual({ kind: 'live' });
    expect(target.replies).toEqual([{ position: { ...BEFORE_FIRST } }]);
    expect(target.seqs()).toEqual([1]);
    expect(target.joined).toBe(true);
    expect(learned).toEqual([{ ep: 'e1', seq: 1 }]);
  });

  it('asks history where a channel with messages stands; what it held before is not sent, what came after is, once', async () => {
    const { history, target, run } = setup();
    for (let i = 0; i < 10; i++) history.publish();
    history.duringRead = (n) => {
      if (n === 1) history.publish(); // 11: stored before the head is read, live while the tap is open
    };
    history.afterRead = (n) => {
      if (n !== 1) return;
      history.publish({ live: false }); // 12: lost on the live path
      history.publish(); // 13
    };
    expect(await run(undefined)).toEqual({ kind: 'live' });
    expect(target.replies).toEqual([{ position: { ep: 'e1', seq: 11 } }]);
    expect(target.seqs()).toEqual([12, 13]);
  });

  it('starts unplaced, live, when neither the node nor history knows the position', async () => {
    const { recent, history, target, run, learned } = setup();
    history.down = true;
    history.duringRead = () => recent.record(ch, frame(7));
    const outcome = await run(undefined);
    expect(outcome).toMatchObject({ kind: 'live', unplaced: expect.any(Error) });
    expect(target.replies).toEqual([{ position: undefined }]);
    expect(target.seqs()).toEqual([7]);
    expect(target.joined).toBe(true);
    expect(learned).toEqual([]);
  });

  it('holds the catch-up and live frames until the reply settles (an SSE stream waiting for its other channels)', async () => {
    const { history, target, run } = setup();
    for (let i = 0; i < 3; i++) history.publish();
    let go!: () => void;
    target.reply = (r) => {
      target.replies.push(r);
      return new Promise<void>((resolve) => (go = resolve));
    };
    const outcome = run({ ep: 'e1', seq: 1 });
    await new Promise((r) => setTimeout(r, 5));
    history.publish(); // 4, live while held
    expect(target.sent).toEqual([]);
    go();
    expect(await outcome).toEqual({ kind: 'live' });
    expect(target.seqs()).toEqual([2, 3, 4]);
  });
});

describe('resumeSubscription from BEFORE_FIRST', () => {
  it('replays from seq 1 of whatever epoch the channel has, from history or from a ring that starts at 1', async () => {
    const fromHistory = setup();
    for (let i = 0; i < 5; i++) fromHistory.history.publish();
    expect(await fromHistory.run({ ...BEFORE_FIRST })).toEqual({ kind: 'live' });
    expect(fromHistory.target.replies).toEqual([{ recovered: true }]);
    expect(fromHistory.target.seqs()).toEqual(range(1, 5));
    fromHistory.history.publish();
    expect(fromHistory.learned).toEqual([{ ep: 'e1', seq: 5 }]);

    const fromRing = setup(8);
    for (let i = 0; i < 5; i++) fromRing.history.publish();
    fromRing.history.reads = [];
    expect(await fromRing.run({ ...BEFORE_FIRST })).toEqual({ kind: 'live' });
    expect(fromRing.target.seqs()).toEqual(range(1, 5));
    expect(fromRing.history.reads).toEqual([]);
    // The ring's epoch is taken: the next live frame follows on, no duplicate.
    fromRing.recent.record(ch, frame(5));
    expect(fromRing.learned).toEqual([{ ep: 'e1', seq: 5 }]);
  });

  it('is recovered:false once seq 1 was trimmed, and continues live on a still-empty channel', async () => {
    const trimmed = setup();
    for (let i = 0; i < 5; i++) trimmed.history.publish();
    trimmed.history.first = 3;
    await trimmed.run({ ...BEFORE_FIRST });
    expect(trimmed.target.replies).toEqual([{ recovered: false, position: { ep: 'e1', seq: 5 } }]);

    const empty = setup();
    empty.history.afterRead = (n) => {
      if (n === 1) empty.history.publish();
    };
    await empty.run({ ...BEFORE_FIRST });
    expect(empty.target.replies).toEqual([{ recovered: true }]);
    expect(empty.target.seqs()).toEqual([1]);
  });
});

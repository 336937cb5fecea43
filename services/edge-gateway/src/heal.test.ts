import { describe, expect, it } from 'vitest';
import { BEFORE_FIRST, ErrorCode, encodeFrameWithPayload, encodeValue, type ChannelName } from '@cascade/protocol';
import { HistoryRequestError, type HistoryReadRequest, type HistoryReadResult } from '@cascade/nats';
import { ChannelHealer, type HealOptions, type HealReport } from './heal.js';
import { framePosition } from './frame-position.js';

const ch = 'chat:heal' as ChannelName;
const frame = (seq: number, ep = 'e1') => encodeFrameWithPayload({ t: 103, ch, seq, ep, ts: 1 }, encodeValue(`m${seq}`));
const ephemeral = () => encodeFrameWithPayload({ t: 104, ch, ts: 1, from: 'u' }, encodeValue({ typing: true }));

/** A channel's stored history (one epoch) and what the healer forwarded downstream. */
function setup(o: HealOptions = {}, abandonDrops = false) {
  const stored: Uint8Array[] = [];
  let ep = 'e1';
  let first = 1;
  const reads: HistoryReadRequest[] = [];
  const out: Array<{ seq?: number; ep?: string; t: number; exclude?: string }> = [];
  const abandoned: string[] = [];
  const reports: HealReport[] = [];
  let down = 0;
  let gate: Promise<void> | undefined;
  const history = {
    async read(r: HistoryReadRequest): Promise<HistoryReadResult> {
      reads.push(r);
      await Promise.resolve();
      if (gate) await gate;
      if (down > 0) {
        down--;
        throw new Error('no responders');
      }
      const head = stored.length;
      const from = r.from ?? first;
      // The service's continuation rule: seq 0 ("nothing yet") continues in any epoch from seq 1.
      const fromStart = from === 1 && (head === 0 || first === 1);
      if (!fromStart && (r.ep !== ep || from < first || from - 1 > head)) {
        throw new HistoryRequestError({ ok: false, code: ErrorCode.RecoveryImpossible, msg: 'cannot continue', ep, seq: head, first });
      }
      const msgs = stored.slice(from - 1, from - 1 + (r.limit ?? 100));
      const last = from - 1 + msgs.length;
      return { ep, seq: head, first, msgs, ...(last < head ? { next: last + 1 } : {}) };
    },
  };
  const healer = new ChannelHealer(
    {
      forward: (_c, f, p, exclude) => {
        expect(p).toEqual(framePosition(f));
        out.push({ t: p!.t, seq: p!.seq, ep: p!.ep, ...(exclude ? { exclude } : {}) });
      },
      read: (r) => history.read(r),
      abandon: (c, reason) => {
        abandoned.push(reason);
        // As on the edge: closing the channel's subscribers releases it, and it leaves the node.
        if (abandonDrops) healer.drop(c);
      },
      report: (r) => reports.push(r),
      sleep: () => Promise.resolve(),
    },
    o,
  );
  return {
    healer,
    reads,
    out,
    abandoned,
    reports,
    /** Stores the next message; `live` also delivers it to the healer. */
    publish(live = true): number {
      const seq = stored.length + 1;
      stored.push(frame(seq, ep));
      if (live) healer.live(ch, frame(seq, ep));
      return seq;
    },
    resetEpoch(next: string) {
      stored.length = 0;
      ep = next;
    },
    trim(to: number) {
      first = to;
    },
    failReads(n: number) {
      down = n;
    },
    hold(): () => void {
      let open!: () => void;
      gate = new Promise((r) => (open = r));
      return () => {
        gate = undefined;
        open();
      };
    },
    seqs: () => out.filter((f) => f.t === 103).map((f) => f.seq),
  };
}

const settle = () => new Promise((r) => setTimeout(r, 0));
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('ChannelHealer', () => {
  it('forwards in-order frames as they are, without reading history', () => {
    const s = setup();
    for (let i = 0; i < 5; i++) s.publish();
    expect(s.seqs()).toEqual(range(1, 5));
    expect(s.reads).toEqual([]);
  });

  it('takes the first frame as the baseline, whatever its seq', () => {
    const s = setup();
    for (let i = 0; i < 3; i++) s.publish(false);
    s.publish();
    s.publish();
    expect(s.seqs()).toEqual([4, 5]);
    expect(s.reads).toEqual([]);
  });

  it('passes ephemeral and presence frames straight through, even while healing', async () => {
    const s = setup();
    s.publish();
    s.publish(false);
    const release = s.hold();
    s.publish(); // seq 3: a gap, healing starts
    s.healer.live(ch, ephemeral());
    expect(s.out.map((f) => f.t)).toEqual([103, 104]);
    release();
    await settle();
    expect(s.seqs()).toEqual([1, 2, 3]);
  });

  it('fills a dropped frame from history before the frames after it', async () => {
    const s = setup();
    s.publish();
    s.publish(false);
    s.publish(false);
    s.publish();
    s.publish();
    await settle();
    expect(s.seqs()).toEqual(range(1, 5));
    expect(s.reads).toEqual([{ ch, ep: 'e1', from: 2, limit: 2 }]);
    expect(s.reports).toMatchObject([{ trigger: 'gap', result: 'healed', frames: 2 }]);
  });

  it('drops a seq already forwarded (a redelivery), live or held', async () => {
    const s = setup();
    s.publish();
    s.publish();
    s.healer.live(ch, frame(2));
    expect(s.seqs()).toEqual([1, 2]);
    s.publish(false);
    const release = s.hold();
    s.publish(); // 4: gap
    s.healer.live(ch, frame(4));
    s.healer.live(ch, frame(3));
    release();
    await settle();
    expect(s.seqs()).toEqual(range(1, 4));
    expect(s.healer.duplicates).toBe(3);
  });

  it('keeps the excluded publisher of held frames, and none for frames from history', async () => {
    const s = setup();
    s.publish();
    s.publish(false);
    s.publish(false);
    s.healer.live(ch, frame(3), 'client-7');
    await settle();
    expect(s.out).toEqual([
      { t: 103, seq: 1, ep: 'e1' },
      { t: 103, seq: 2, ep: 'e1' },
      { t: 103, seq: 3, ep: 'e1', exclude: 'client-7' },
    ]);
  });

  it('after a reconnect, fetches everything after the last forwarded seq, then the live frames held meanwhile', async () => {
    const s = setup({ pageSize: 3 });
    s.publish();
    s.publish();
    for (let i = 0; i < 7; i++) s.publish(false); // lost while disconnected: 3..9
    const release = s.hold();
    s.healer.reconnected();
    s.publish(); // 10, live while the first read is out
    s.publish(); // 11
    release();
    await settle();
    expect(s.seqs()).toEqual(range(1, 11));
    expect(s.reads.map((r) => [r.from, r.limit])).toEqual([[3, 3], [6, 3], [9, 1]]);
    expect(s.reports).toMatchObject([{ trigger: 'reconnect', result: 'healed', frames: 7 }]);
  });

  it('after a reconnect on a quiet channel, reads once and forwards nothing new', async () => {
    const s = setup();
    s.publish();
    s.healer.reconnected();
    await settle();
    expect(s.seqs()).toEqual([1]);
    expect(s.reads).toHaveLength(1);
    s.publish();
    expect(s.seqs()).toEqual([1, 2]);
  });

  it('does not heal channels that never carried a message, and forgets dropped channels', async () => {
    const s = setup();
    s.healer.reconnected();
    s.publish();
    s.healer.drop(ch);
    s.healer.reconnected();
    await settle();
    expect(s.reads).toEqual([]);
  });

  it('reads again when the connection drops and returns during a heal', async () => {
    const s = setup();
    s.publish();
    s.publish(false);
    const release = s.hold();
    s.healer.reconnected();
    await settle(); // the first read is out
    s.publish(false); // lost in a second outage
    s.healer.reconnected();
    release();
    await settle();
    expect(s.seqs()).toEqual([1, 2, 3]);
    expect(s.reads.map((r) => r.from)).toEqual([2, 4]);
  });

  it('retries an unreachable history service, then heals', async () => {
    const s = setup();
    s.publish();
    s.publish(false);
    s.failReads(3);
    s.publish();
    for (let i = 0; i < 10; i++) await settle();
    expect(s.seqs()).toEqual([1, 2, 3]);
    expect(s.abandoned).toEqual([]);
  });

  /** Frame 1 live, 2 lost, history down while 3 arrives: the heal of 2 is abandoned. */
  async function abandonedHeal(s: ReturnType<typeof setup>): Promise<void> {
    s.publish();
    s.publish(false);
    s.failReads(1);
    s.publish();
    await settle();
    await settle();
    expect(s.abandoned).toEqual(['history unreachable']);
  }

  it('gives up when history is unreachable for too long: subscribers are told, then held frames go on', async () => {
    const s = setup({ retryForMs: 0 });
    await abandonedHeal(s);
    expect(s.seqs()).toEqual([1, 3]);
    // The next frame continues from the held one.
    s.publish();
    expect(s.seqs()).toEqual([1, 3, 4]);
    expect(s.reports).toMatchObject([{ trigger: 'gap', result: 'abandoned' }]);
  });

  it('forwards nothing more of an abandoned heal once the channel has left the node', async () => {
    const s = setup({ retryForMs: 0 }, true);
    await abandonedHeal(s);
    // The held frame 3 had nobody left to go to (its ring would have outlived the channel).
    expect(s.seqs()).toEqual([1]);
    expect(s.healer.held).toBe(0);
    expect(s.healer.known(ch)).toBeUndefined();
  });

  it('gives up when history no longer reaches back (trimmed)', async () => {
    const s = setup();
    s.publish();
    for (let i = 0; i < 5; i++) s.publish(false);
    s.trim(4);
    s.publish();
    await settle();
    await settle();
    expect(s.abandoned).toEqual([expect.stringContaining('history refused')]);
    expect(s.seqs()).toEqual([1, 7]);
  });

  it('gives up at once when too many frames arrive while healing', async () => {
    const s = setup({ maxHeldFrames: 3 });
    s.publish();
    s.publish(false);
    const release = s.hold();
    for (let i = 0; i < 4; i++) s.publish();
    expect(s.abandoned).toHaveLength(1);
    expect(s.seqs()).toEqual([1, 3, 4, 5, 6]);
    release();
    await settle();
    // The late history answer is ignored.
    expect(s.seqs()).toEqual([1, 3, 4, 5, 6]);
    s.publish();
    expect(s.seqs()).toEqual([1, 3, 4, 5, 6, 7]);
  });

  it('bounds the bytes held over all channels, and releases them when a heal ends', async () => {
    const s = setup({ maxHeldBytesTotal: 3 * frame(1).length });
    s.publish();
    s.publish(false);
    const release = s.hold();
    s.publish();
    s.publish();
    expect(s.healer.held).toBe(2 * frame(1).length);
    release();
    await settle();
    expect(s.healer.held).toBe(0);
    s.publish(false);
    s.hold();
    for (let i = 0; i < 4; i++) s.publish();
    expect(s.abandoned).toEqual(['too many live frames arrived while healing']);
    expect(s.healer.held).toBe(0);
  });

  it('passes a new epoch on, and heals its beginning if its first frames were lost', async () => {
    const s = setup();
    s.publish();
    s.publish();
    s.resetEpoch('e2');
    s.publish(false);
    s.publish();
    await settle();
    expect(s.out.map((f) => `${f.ep}:${f.seq}`)).toEqual(['e1:1', 'e1:2', 'e2:1', 'e2:2']);
    s.publish();
    expect(s.out.map((f) => `${f.ep}:${f.seq}`)).toEqual(['e1:1', 'e1:2', 'e2:1', 'e2:2', 'e2:3']);
  });

  it('heals at most `concurrency` channels at once; the others hold their frames until their turn', async () => {
    const forwarded: string[] = [];
    const reads: string[] = [];
    const gates: Array<() => void> = [];
    const healer = new ChannelHealer(
      {
        forward: (c, _f, p) => forwarded.push(`${c}:${p!.seq}`),
        read: async (r) => {
          reads.push(r.ch);
          await new Promise<void>((res) => gates.push(res));
          return { ep: 'e1', seq: 2, first: 1, msgs: [encodeFrameWithPayload({ t: 103, ch: r.ch, seq: 2, ep: 'e1', ts: 1 }, encodeValue(2))] };
        },
        abandon: () => undefined,
      },
      { concurrency: 1 },
    );
    const a = 'a' as ChannelName;
    const b = 'b' as ChannelName;
    for (const c of [a, b]) healer.live(c, encodeFrameWithPayload({ t: 103, ch: c, seq: 1, ep: 'e1', ts: 1 }, encodeValue(1)));
    healer.reconnected();
    await settle();
    expect(reads).toEqual(['a']);
    expect(healer.healing).toBe(2);
    gates.shift()!();
    await settle();
    await settle();
    expect(reads).toEqual(['a', 'b']);
    gates.shift()!();
    await settle();
    await settle();
    expect(forwarded).toEqual(['a:1', 'b:1', 'a:2', 'b:2']);
    expect(healer.healing).toBe(0);
  });
});

describe('ChannelHealer positions (where new subscriptions start)', () => {
  it('knows the last message forwarded, and nothing before the first', () => {
    const s = setup();
    expect(s.healer.known(ch)).toBeUndefined();
    s.publish();
    s.publish();
    expect(s.healer.known(ch)).toEqual({ ep: 'e1', seq: 2 });
    // What it forwarded wins over a position learned from history.
    s.healer.learned(ch, { ep: 'e1', seq: 1 });
    expect(s.healer.known(ch)).toEqual({ ep: 'e1', seq: 2 });
    s.healer.drop(ch);
    expect(s.healer.known(ch)).toBeUndefined();
  });

  it('passes frames at or below a learned position (still owed to earlier subscribers) until a newer one comes', () => {
    const s = setup();
    for (let i = 0; i < 3; i++) s.publish(false);
    s.healer.learned(ch, { ep: 'e1', seq: 3 });
    expect(s.healer.known(ch)).toEqual({ ep: 'e1', seq: 3 });
    s.healer.live(ch, frame(2)); // on its way when the position was read
    s.healer.live(ch, frame(3));
    s.publish(); // 4
    s.healer.live(ch, frame(3)); // now a redelivery
    expect(s.seqs()).toEqual([2, 3, 4]);
    expect(s.healer.duplicates).toBe(1);
    expect(s.reads).toEqual([]);
  });

  it('heals from a learned position: a seq jump, and a reconnect on a channel that was learned empty', async () => {
    const s = setup();
    for (let i = 0; i < 3; i++) s.publish(false);
    s.healer.learned(ch, { ep: 'e1', seq: 3 });
    s.publish(false); // 4, lost
    s.publish(); // 5
    await settle();
    expect(s.seqs()).toEqual([4, 5]);

    const empty = setup();
    empty.healer.learned(ch, { ...BEFORE_FIRST });
    for (let i = 0; i < 3; i++) empty.publish(false); // lost while the node reconnected to NATS
    empty.healer.reconnected();
    await settle();
    expect(empty.seqs()).toEqual([1, 2, 3]);
    expect(empty.healer.known(ch)).toEqual({ ep: 'e1', seq: 3 });
    expect(empty.abandoned).toEqual([]);
    empty.publish();
    expect(empty.seqs()).toEqual([1, 2, 3, 4]);
  });
});

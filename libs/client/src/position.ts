// Per-channel position tracking: the (epoch, seq) of the last message handed to the
// application, duplicate drop, and gap detection. Messages past a gap are held back so the
// application still sees one channel in order once the gap is filled (or given up on). Pure:
// no I/O, no timers; the connection decides how to fill a gap.
import type { StreamPosition } from '@cascade/protocol';

export interface Positioned {
  ep: string;
  seq: number;
}

/** Seqs (inclusive) missing between the last delivered message and the first held one. */
export interface Gap {
  ep: string;
  /** The last delivered seq; the range to read starts after it. */
  after: number;
  /** The last missing seq. */
  upTo: number;
}

export interface Offered<T> {
  /** Messages to hand to the application now, in order. */
  deliver: T[];
  /** The offered message was already delivered (a redelivery) and was dropped. */
  duplicate: boolean;
  /** The message started a new epoch: the channel's history was reset; `previous` is where we were. */
  epochChanged?: { previous: StreamPosition; current: StreamPosition };
}

export class PositionTracker<T extends Positioned> {
  private last: StreamPosition | undefined;
  private readonly held = new Map<number, T>();

  /** @param maxHeld messages held back behind a gap before `overflowed` turns true. */
  constructor(
    start?: StreamPosition,
    private readonly maxHeld = 1000,
  ) {
    this.last = start ? { ep: start.ep, seq: start.seq } : undefined;
  }

  /**
   * What to resume from: the last delivered position, or where the subscription started
   * (seq 0 with epoch '' for a channel that had no message), or undefined when neither is known.
   */
  get position(): StreamPosition | undefined {
    return this.last ? { ...this.last } : undefined;
  }

  /** Messages held back behind a gap. */
  get heldCount(): number {
    return this.held.size;
  }

  /** More messages are held than allowed: give up on the gap (`skip`). */
  get overflowed(): boolean {
    return this.held.size > this.maxHeld;
  }

  /** The range to ask for, when messages are held behind a gap. */
  gap(): Gap | undefined {
    if (!this.last || this.held.size === 0) return undefined;
    return { ep: this.last.ep, after: this.last.seq, upTo: Math.min(...this.held.keys()) - 1 };
  }

  /** Takes one message (live, replayed or read from history) and says what to deliver. */
  offer(m: T): Offered<T> {
    let last = this.last;
    if (!last) {
      // The first message after a subscribe without a position is the baseline, whatever its seq.
      this.last = { ep: m.ep, seq: m.seq };
      return { deliver: [m], duplicate: false };
    }
    if (last.seq === 0 && m.ep !== last.ep && this.held.size === 0) {
      // seq 0 is "before the first message" (BEFORE_FIRST, a subscription that started on an
      // empty channel): it continues in whatever epoch comes, from its seq 1.
      last = this.last = { ep: m.ep, seq: 0 };
    }
    if (m.ep !== last.ep) {
      // The old epoch's held messages are real and newer than what the app has: deliver them first.
      const deliver = [...this.drainHeld(), m];
      const previous = { ...this.last! };
      this.last = { ep: m.ep, seq: m.seq };
      return { deliver, duplicate: false, epochChanged: { previous, current: { ep: m.ep, seq: m.seq } } };
    }
    if (m.seq <= last.seq || this.held.has(m.seq)) return { deliver: [], duplicate: true };
    if (m.seq === last.seq + 1) {
      this.last = { ep: m.ep, seq: m.seq };
      return { deliver: [m, ...this.takeContiguous()], duplicate: false };
    }
    this.held.set(m.seq, m);
    return { deliver: [], duplicate: false };
  }

  /** Gives up on the gap: delivers the held messages in order and moves past the hole. */
  skip(): T[] {
    const out = this.drainHeld();
    const tail = out.at(-1);
    if (tail) this.last = { ep: tail.ep, seq: tail.seq };
    return out;
  }

  /**
   * Moves to a position the server named (resume refused: live continues after it), or to
   * none (the next message is the baseline). Held messages after it are delivered.
   */
  reset(position: StreamPosition | undefined): T[] {
    const held = [...this.held.values()].sort((a, b) => a.seq - b.seq);
    this.held.clear();
    this.last = position ? { ep: position.ep, seq: position.seq } : undefined;
    return held.flatMap((m) => this.offer(m).deliver);
  }

  private takeContiguous(): T[] {
    const out: T[] = [];
    for (let next = this.held.get(this.last!.seq + 1); next; next = this.held.get(this.last!.seq + 1)) {
      this.held.delete(next.seq);
      this.last = { ep: next.ep, seq: next.seq };
      out.push(next);
    }
    return out;
  }

  private drainHeld(): T[] {
    const out = [...this.held.values()].sort((a, b) => a.seq - b.seq);
    this.held.clear();
    return out;
  }
}

// Recent live frames per channel on this node: a bounded ring of the newest message frames
// of each channel that has local subscribers, and taps that let a resuming connection see
// every live frame from an exact cut on. Pure state, no I/O.
import { FrameType, type ChannelName } from '@cascade/protocol';
import { framePosition, type FramePosition } from './frame-position.js';

export interface RingFrame {
  seq: number;
  ep: string;
  frame: Uint8Array;
}

/**
 * The newest message frames of one channel, contiguous in seq and of one epoch. A frame
 * that does not extend it (a gap after a lost live frame, a new epoch) restarts it, so
 * whatever it holds can be served as a gap-free range.
 */
export class FrameRing {
  // Grows up to `capacity` instead of being allocated whole: most channels (a user's personal
  // channel, a quiet room) never hold more than a few frames, and a node has very many.
  private readonly slots: (RingFrame | undefined)[] = [];
  private start = 0;
  private count = 0;
  private held = 0;

  constructor(
    readonly capacity: number,
    /** Bytes of frames held at most; the oldest go first (one frame is always kept). */
    readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('ring capacity must be a positive integer');
  }

  /** Bytes of the frames held. */
  get bytes(): number {
    return this.held;
  }

  get size(): number {
    return this.count;
  }

  get epoch(): string | undefined {
    return this.at(0)?.ep;
  }

  /** Seq of the oldest frame held (undefined when empty). */
  get first(): number | undefined {
    return this.at(0)?.seq;
  }

  /** Seq of the newest frame held (undefined when empty). */
  get last(): number | undefined {
    return this.at(this.count - 1)?.seq;
  }

  private at(i: number): RingFrame | undefined {
    return i < 0 || i >= this.count ? undefined : this.slots[(this.start + i) % this.capacity];
  }

  push(f: RingFrame): void {
    const last = this.at(this.count - 1);
    if (last && last.ep === f.ep && f.seq <= last.seq) return; // a redelivered frame: already held
    if (!last || last.ep !== f.ep || f.seq !== last.seq + 1) {
      this.slots.length = 0;
      this.start = 0;
      this.count = 0;
      this.held = 0;
    }
    if (this.count === this.capacity) this.evictOldest();
    // While growing, the next index is at most the current length, so this appends.
    this.slots[(this.start + this.count) % this.capacity] = f;
    this.count++;
    this.held += f.frame.length;
    while (this.held > this.maxBytes && this.count > 1) this.evictOldest();
  }

  private evictOldest(): void {
    const old = this.slots[this.start];
    this.held -= old?.frame.length ?? 0;
    this.slots[this.start] = undefined;
    this.start = (this.start + 1) % this.capacity;
    this.count--;
  }

  /**
   * The frames after `seq` of epoch `ep`, when the ring holds every one of them up to its
   * newest: `ep` is its epoch and `first - 1 <= seq <= last`, or `seq` is 0 ("nothing yet",
   * whatever the epoch) and the ring starts at seq 1. Otherwise undefined.
   */
  after(ep: string, seq: number): RingFrame[] | undefined {
    const first = this.first;
    const last = this.last;
    if (first === undefined || last === undefined || seq < first - 1 || seq > last) return undefined;
    if (ep !== this.epoch && seq !== 0) return undefined;
    const out: RingFrame[] = [];
    for (let i = seq - first + 1; i < this.count; i++) out.push(this.at(i)!);
    return out;
  }
}

/** A live frame as a tap sees it: the bytes and, for message frames, their position. */
export interface TappedFrame {
  frame: Uint8Array;
  position: FramePosition | undefined;
}

export interface Tap {
  /** With `since`: the ring's frames after it, if the ring covers the continuation. */
  readonly covered: RingFrame[] | undefined;
  /** Frames delivered since the tap was opened and not yet taken, oldest first. */
  take(): TappedFrame | undefined;
  /** Stops buffering; untaken frames are dropped. */
  close(): void;
}

/**
 * Every live channel's ring and open taps. `record` is called once per live frame per node
 * (LiveChannels' delivery); `tap` snapshots the ring and starts buffering in one synchronous
 * step, so each frame is either in the snapshot or in the tap, never both, never neither.
 */
export class RecentFrames {
  private readonly rings = new Map<string, FrameRing>();
  private readonly taps = new Map<string, Set<TappedFrame[]>>();

  /**
   * `capacity` frames per channel (0: no ring, every resume goes to the history service),
   * and at most `maxBytesPerChannel` of them, so memory is bounded by active channels times that.
   */
  constructor(
    private readonly capacity: number,
    private readonly maxBytesPerChannel = 1024 * 1024,
  ) {}

  /** `known`: the frame's head when the caller already read it (one head read per frame). */
  record(channel: ChannelName, frame: Uint8Array, known?: FramePosition): void {
    const taps = this.taps.get(channel);
    if (this.capacity === 0 && !taps) return;
    const position = known ?? framePosition(frame);
    if (this.capacity > 0 && position?.t === FrameType.Message && position.seq !== undefined && position.ep !== undefined) {
      let ring = this.rings.get(channel);
      if (!ring) this.rings.set(channel, (ring = new FrameRing(this.capacity, this.maxBytesPerChannel)));
      // A copy: the delivered bytes are a view into the NATS read buffer, which a held view
      // would keep alive whole.
      ring.push({ seq: position.seq, ep: position.ep, frame: frame.slice() });
    }
    if (taps) for (const queue of taps) queue.push({ frame, position });
  }

  /** The channel has no local subscriber left: its ring is no longer kept up to date. */
  drop(channel: ChannelName): void {
    this.rings.delete(channel);
  }

  tap(channel: ChannelName, since?: { ep: string; seq: number }): Tap {
    const queue: TappedFrame[] = [];
    let next = 0;
    let set = this.taps.get(channel);
    if (!set) this.taps.set(channel, (set = new Set()));
    set.add(queue);
    const covered = since ? this.rings.get(channel)?.after(since.ep, since.seq) : undefined;
    return {
      covered,
      take: () => {
        const f = queue[next];
        if (f === undefined) return undefined;
        // Release taken frames now and then, so a long catch-up does not hold them all.
        if (++next > 1024) {
          queue.splice(0, next);
          next = 0;
        }
        return f;
      },
      close: () => {
        set.delete(queue);
        if (set.size === 0 && this.taps.get(channel) === set) this.taps.delete(channel);
      },
    };
  }

  /** Frames held in rings, for health output. */
  get channels(): number {
    return this.rings.size;
  }
}

// Healing the node's own live losses. Core NATS is at most once: frames published while the
// edge reconnects to NATS, or a single dropped frame, never arrive. The healer sits between
// the node's NATS subscriptions and everything downstream (ring, resume taps, local fan-out),
// remembers per channel the last (ep, seq) it forwarded, and on a seq jump or a reconnect
// fetches the missing range from the history service and forwards it first, holding the
// channel's newer live frames meanwhile. Downstream thus sees every channel gapless, in
// order, each seq once. The same per-channel position tells a new subscriber where it starts
// (ChannelPositions). Transport-free: it talks to ports, so it is unit-tested.
import { FrameType, type ChannelName, type StreamPosition } from '@cascade/protocol';
import { HistoryRequestError, type HistoryReadRequest, type HistoryReadResult } from '@cascade/nats';
import { framePosition, type FramePosition } from './frame-position.js';
import type { ChannelPositions } from './resume.js';

export interface HealPorts {
  /** Downstream: called once per frame, per channel in seq order. `position` is the frame's head, already read. */
  forward(channel: ChannelName, frame: Uint8Array, position: FramePosition | undefined, excludeClient?: string): void;
  /** The history service (HistoryClient). Throws HistoryRequestError on refusal, another Error when unreachable. */
  read(request: HistoryReadRequest): Promise<HistoryReadResult>;
  /**
   * Healing the channel failed (history refused or unreachable for too long, or too much
   * arrived meanwhile): its live subscribers have a hole and must be told (closed with 4004,
   * so their clients resume with `since`). Called before the held frames are forwarded.
   */
  abandon(channel: ChannelName, reason: string): void;
  /** Outcome of each heal, for metrics and logs. */
  report?(r: HealReport): void;
  /** Waits before a failed read is retried (tests pass a fake). */
  sleep?(ms: number): Promise<void>;
}

export type HealTrigger = 'gap' | 'reconnect';

export interface HealReport {
  channel: ChannelName;
  trigger: HealTrigger;
  result: 'healed' | 'abandoned';
  /** Frames fetched from history and forwarded. */
  frames: number;
  reason?: string;
  error?: unknown;
}

export interface HealOptions {
  /** Bytes of live frames held per healing channel before the heal is abandoned. */
  maxHeldBytes?: number;
  /** Live frames held per healing channel before the heal is abandoned. */
  maxHeldFrames?: number;
  /** Bytes held over all healing channels (a reconnect heals them all); past it, the channel receiving a frame gives up. */
  maxHeldBytesTotal?: number;
  /** Messages per history read (the service's bound is 1000). */
  pageSize?: number;
  /** How long unreachable history is retried (e.g. while it reconnects to NATS too). */
  retryForMs?: number;
  /** Channels healed at once; the others hold their frames until their turn. */
  concurrency?: number;
}

export const HEAL_DEFAULTS = {
  maxHeldBytes: 4 * 1024 * 1024,
  maxHeldFrames: 10_000,
  maxHeldBytesTotal: 64 * 1024 * 1024,
  pageSize: 500,
  retryForMs: 15_000,
  concurrency: 16,
} as const;

interface Held {
  frame: Uint8Array;
  position: FramePosition & { seq: number; ep: string };
  excludeClient: string | undefined;
}

/** A heal in progress (opaque outside this module). */
export interface Healing {
  trigger: HealTrigger;
  held: Held[];
  bytes: number;
  /** Another reconnect happened during this heal: read history once more before flushing. */
  again: boolean;
  frames: number;
}

/** What the healer keeps per channel. */
export interface HealState {
  /** Position of the last message frame forwarded; ep undefined until the first one. */
  ep: string | undefined;
  seq: number;
  healing: Healing | undefined;
  /**
   * The position was learned (a subscription started there, read from history), not
   * forwarded: frames at or below it may still be on their way and owed to subscribers that
   * started earlier, so they pass instead of being dropped, until a newer one comes.
   */
  learned: boolean;
}

/**
 * Where the healer keeps each channel's HealState. The edge keeps it on the live channel's own
 * record (subscriptions.ts), so a channel costs the node one record and one map entry, not
 * two of each: a node holds a channel per user with a token. HealStateMap keeps them apart.
 */
export interface HealStates {
  /** The channel's state, if it has one. */
  get(channel: ChannelName): HealState | undefined;
  /** The channel's state, made (no position yet) when it has none; undefined when it cannot have one (not live here). */
  ensure(channel: ChannelName): HealState | undefined;
  /** The channel left the node: its state is forgotten. */
  forget(channel: ChannelName): void;
  entries(): Iterable<[ChannelName, HealState]>;
}

/** HealStates in a map of their own: for a healer used on its own (unit tests). */
export class HealStateMap implements HealStates {
  private readonly states = new Map<ChannelName, HealState>();

  get(channel: ChannelName): HealState | undefined {
    return this.states.get(channel);
  }

  ensure(channel: ChannelName): HealState {
    let st = this.states.get(channel);
    if (!st) this.states.set(channel, (st = { ep: undefined, seq: 0, healing: undefined, learned: false }));
    return st;
  }

  forget(channel: ChannelName): void {
    this.states.delete(channel);
  }

  entries(): Iterable<[ChannelName, HealState]> {
    return this.states.entries();
  }
}

function isMessage(p: FramePosition | undefined): p is FramePosition & { seq: number; ep: string } {
  return p !== undefined && p.t === FrameType.Message && p.seq !== undefined && p.ep !== undefined;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ChannelHealer implements ChannelPositions {
  private readonly o: Required<HealOptions>;
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private heldBytes = 0;
  /** Live message frames dropped because that seq was already forwarded (redeliveries, overlaps). */
  duplicates = 0;

  constructor(
    private readonly ports: HealPorts,
    options: HealOptions = {},
    /** Where each channel's state is kept (the node's live channels); a map of its own by default. */
    private readonly states: HealStates = new HealStateMap(),
  ) {
    this.o = { ...HEAL_DEFAULTS, ...options };
  }

  /**
   * One live frame from the channel's NATS subscription. The normal path is one head read
   * and a comparison; a frame that is not a numbered message (ephemeral, presence) passes
   * straight through, even while the channel heals.
   */
  live(channel: ChannelName, frame: Uint8Array, excludeClient?: string): void {
    const p = framePosition(frame);
    if (!isMessage(p)) {
      this.ports.forward(channel, frame, p, excludeClient);
      return;
    }
    const st = this.states.ensure(channel);
    if (!st) {
      // Not live here (any more): nobody downstream to heal for.
      this.ports.forward(channel, frame, p, excludeClient);
      return;
    }
    if (st.learned) {
      if (p.ep === st.ep && p.seq <= st.seq) {
        this.ports.forward(channel, frame, p, excludeClient);
        return;
      }
      st.learned = false;
    }
    if (st.healing) {
      this.hold(channel, st, st.healing, frame, p, excludeClient);
      return;
    }
    if (st.ep === undefined) {
      // The first message since the channel became live here: it is the baseline.
      st.ep = p.ep;
      st.seq = p.seq;
      this.ports.forward(channel, frame, p, excludeClient);
      return;
    }
    if (p.ep !== st.ep) {
      // A new epoch (the channel's history was reset): its seq 1 comes next. Subscribers
      // see the new `ep` on the frames and reload (protocol rule 3).
      st.ep = p.ep;
      st.seq = 0;
    }
    if (p.seq <= st.seq) {
      this.duplicates++;
      return;
    }
    if (p.seq === st.seq + 1) {
      st.seq = p.seq;
      this.ports.forward(channel, frame, p, excludeClient);
      return;
    }
    const h = this.startHealing(channel, st, 'gap');
    this.hold(channel, st, h, frame, p, excludeClient);
  }

  /**
   * The NATS connection came back (its subscriptions are resent by the client before this
   * is called): every channel with a known position is healed from history.
   */
  reconnected(): void {
    for (const [channel, st] of this.states.entries()) {
      if (st.healing) st.healing.again = true;
      else if (st.ep !== undefined) this.startHealing(channel, st, 'reconnect');
    }
  }

  /** The last message frame forwarded on `channel` (or learned), read when a subscriber joins. */
  known(channel: ChannelName): StreamPosition | undefined {
    const st = this.states.get(channel);
    return st?.ep === undefined ? undefined : { ep: st.ep, seq: st.seq };
  }

  /**
   * A subscription joined `channel` at `position` (read from history after the channel was
   * live here) while this node had forwarded none of its messages: later subscribers start
   * there without asking history, and a reconnect or a seq jump is healed from there.
   * Ignored when the node knows better (it forwarded a message since).
   */
  learned(channel: ChannelName, position: StreamPosition): void {
    const st = this.states.ensure(channel);
    if (!st || st.ep !== undefined) return;
    st.ep = position.ep;
    st.seq = position.seq;
    st.healing = undefined;
    st.learned = true;
  }

  /**
   * The channel lost its last local subscriber: forget it (a running heal stops). Called while
   * its state is still in the store (LiveChannels calls it before the record goes).
   */
  drop(channel: ChannelName): void {
    const st = this.states.get(channel);
    if (st?.healing) {
      this.heldBytes -= st.healing.bytes;
      // A heal still running sees it is no longer current and stops.
      st.healing = undefined;
    }
    this.states.forget(channel);
  }

  /** Bytes of live frames held by healing channels now. */
  get held(): number {
    return this.heldBytes;
  }

  /** Channels healing now. */
  get healing(): number {
    let n = 0;
    for (const [, st] of this.states.entries()) if (st.healing) n++;
    return n;
  }

  private startHealing(channel: ChannelName, st: HealState, trigger: HealTrigger): Healing {
    const h: Healing = { trigger, held: [], bytes: 0, again: false, frames: 0 };
    st.healing = h;
    st.learned = false;
    // A failure downstream must not leave the channel holding its frames forever.
    this.run(channel, st, h).catch((error: unknown) => {
      if (this.current(channel, st, h)) this.abandon(channel, st, h, 'heal failed', error);
    });
    return h;
  }

  private hold(channel: ChannelName, st: HealState, h: Healing, frame: Uint8Array, position: Held['position'], excludeClient: string | undefined): void {
    // A copy: the delivered bytes are a view into the NATS read buffer.
    h.held.push({ frame: frame.slice(), position, excludeClient });
    h.bytes += frame.length;
    this.heldBytes += frame.length;
    if (h.bytes > this.o.maxHeldBytes || h.held.length > this.o.maxHeldFrames || this.heldBytes > this.o.maxHeldBytesTotal) {
      this.abandon(channel, st, h, 'too many live frames arrived while healing');
    }
  }

  private current(channel: ChannelName, st: HealState, h: Healing): boolean {
    return this.states.get(channel) === st && st.healing === h;
  }

  private async run(channel: ChannelName, st: HealState, h: Healing): Promise<void> {
    await this.acquireSlot();
    try {
      for (;;) {
        if (!this.current(channel, st, h)) return;
        h.again = false;
        const fetched = await this.fetch(channel, st, h);
        if (fetched !== true) {
          if (this.current(channel, st, h)) this.abandon(channel, st, h, fetched.reason, fetched.error);
          return;
        }
        if (!this.current(channel, st, h)) return;
        if (h.again) continue;
        if (this.flush(channel, st, h)) {
          st.healing = undefined;
          this.ports.report?.({ channel, trigger: h.trigger, result: 'healed', frames: h.frames });
          return;
        }
        // A held frame jumps past what history had when read: read again.
      }
    } finally {
      this.releaseSlot();
    }
  }

  /**
   * Forwards stored frames after the channel's position, page by page, up to the first held
   * frame (or, with nothing held, the newest stored). True when done, else why it failed.
   */
  private async fetch(channel: ChannelName, st: HealState, h: Healing): Promise<true | { reason: string; error?: unknown }> {
    const deadline = Date.now() + this.o.retryForMs;
    let delay = 100;
    for (;;) {
      const ep = st.ep!;
      const next = h.held[0]?.position;
      const upTo = next !== undefined && next.ep === ep ? next.seq - 1 : undefined;
      if (upTo !== undefined && st.seq >= upTo) return true;
      const limit = upTo === undefined ? this.o.pageSize : Math.min(this.o.pageSize, upTo - st.seq);
      let r: HistoryReadResult;
      try {
        r = await this.ports.read({ ch: channel, ep, from: st.seq + 1, limit });
      } catch (error) {
        if (error instanceof HistoryRequestError) return { reason: `history refused: ${error.message}`, error };
        if (Date.now() + delay > deadline) return { reason: 'history unreachable', error };
        await (this.ports.sleep ?? defaultSleep)(delay);
        delay = Math.min(delay * 2, 1000);
        if (!this.current(channel, st, h)) return true;
        continue;
      }
      if (!this.current(channel, st, h)) return true;
      for (const frame of r.msgs) {
        const p = framePosition(frame);
        // seq 0 ("nothing yet", a channel learned empty) continues in whatever epoch history has.
        if (isMessage(p) && st.seq === 0 && p.seq === 1) st.ep = p.ep;
        if (!isMessage(p) || p.ep !== st.ep || p.seq !== st.seq + 1) {
          return { reason: `history answered seq ${p?.seq} of ${p?.ep} where ${st.seq + 1} of ${st.ep} was due` };
        }
        st.seq = p.seq;
        h.frames++;
        this.ports.forward(channel, frame, p);
      }
      if (r.next === undefined || r.msgs.length === 0) return true;
    }
  }

  /** Forwards held frames that follow on; false (keeping the rest) at a frame that jumps ahead. */
  private flush(channel: ChannelName, st: HealState, h: Healing): boolean {
    while (h.held.length > 0) {
      const f = h.held[0]!;
      const p = f.position;
      if (p.ep !== st.ep) {
        st.ep = p.ep;
        st.seq = 0;
      }
      if (p.seq > st.seq + 1) return false;
      h.held.shift();
      h.bytes -= f.frame.length;
      this.heldBytes -= f.frame.length;
      if (p.seq <= st.seq) {
        this.duplicates++;
        continue;
      }
      st.seq = p.seq;
      this.ports.forward(channel, f.frame, p, f.excludeClient);
    }
    return true;
  }

  /**
   * Gives up: the subscribers are told first, then the held frames go downstream as they
   * are (with their hole; the ring restarts and resuming taps fill it themselves), and the
   * newest becomes the channel's position.
   */
  private abandon(channel: ChannelName, st: HealState, h: Healing, reason: string, error?: unknown): void {
    st.healing = undefined;
    this.heldBytes -= h.bytes;
    this.ports.report?.({ channel, trigger: h.trigger, result: 'abandoned', frames: h.frames, reason, error });
    this.ports.abandon(channel, reason);
    // Closing every subscriber may have released the channel: its held frames then have
    // nobody to go to (and would start a ring for a channel no longer live here).
    if (this.states.get(channel) !== st) return;
    for (const f of h.held) {
      const p = f.position;
      if (p.ep === st.ep && p.seq <= st.seq) continue;
      st.ep = p.ep;
      st.seq = p.seq;
      this.ports.forward(channel, f.frame, p, f.excludeClient);
    }
  }

  private async acquireSlot(): Promise<void> {
    if (this.running < this.o.concurrency) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private releaseSlot(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}

// One socket write per event-loop turn for a NATS connection.
//
// nats.js writes its outbound buffer at the end of each microtask checkpoint. uWebSockets.js
// runs one checkpoint after every callback, so an edge that reads 200 client frames in one
// turn (a connection storm's connect frames, 200 small-channel publishes) made 200 writes to
// NATS, each a system call, a WriteWrap and a promise: 9–12 % of the edge's time in a storm.
// Here the write waits for the end of the turn (setImmediate, the check phase right after
// the poll phase that read those frames), so a turn's SUBs, PUBs and requests leave in one.
// Order is unchanged: everything still goes through the connection's one outbound buffer.
//
// This reaches into nats.js's protocol handler (`flushPending`, `close`, `outbound`,
// `pendingLimit`), which is not public API. `coalesceWritesPerTurn` checks that shape and
// leaves the connection as it is (returns false, the caller logs it) if a nats.js version
// differs; write-coalescing.int.test.ts fails on such a version so that it is noticed.
import type { NatsConnection } from '@nats-io/nats-core';

interface ProtocolInternals {
  flushPending(): void;
  close(err?: Error): Promise<void>;
  outbound: { size(): number };
  pendingLimit: number;
}

function protocolOf(nc: NatsConnection): ProtocolInternals | undefined {
  const p = (nc as unknown as { protocol?: Partial<ProtocolInternals> }).protocol;
  if (p === undefined || p === null) return undefined;
  if (typeof p.flushPending !== 'function' || typeof p.close !== 'function') return undefined;
  if (typeof p.outbound?.size !== 'function' || typeof p.pendingLimit !== 'number') return undefined;
  return p as ProtocolInternals;
}

/**
 * Makes `nc` write what one event-loop turn produced in one write (or more, one per
 * `pendingLimit` bytes, 32 KiB by default). Latency: a message waits at most for the rest of
 * the turn it was produced in. Returns false, changing nothing, if nats.js is not the shape
 * this was written for (3.x).
 */
export function coalesceWritesPerTurn(nc: NatsConnection): boolean {
  const p = protocolOf(nc);
  if (p === undefined) return false;
  const writeNow = p.flushPending.bind(p);
  const close = p.close.bind(p);
  let scheduled = false;
  const endOfTurn = () => {
    scheduled = false;
    writeNow();
  };
  p.flushPending = () => {
    // A full buffer leaves at once, as nats.js does, so one turn never holds more than this.
    if (p.outbound.size() >= p.pendingLimit) return writeNow();
    if (scheduled) return;
    scheduled = true;
    setImmediate(endOfTurn);
  };
  // close() hands the socket to the transport without writing the buffer itself (it relies
  // on the microtask having run): what this turn produced goes first.
  p.close = (err?: Error) => {
    writeNow();
    return close(err);
  };
  return true;
}

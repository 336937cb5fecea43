// Graceful drain of an edge node (SIGTERM in Kubernetes): stop accepting, advise every
// client to reconnect elsewhere after its own random delay spread over a window (so the
// herd does not land on the other nodes at once), wait, then close the rest with 1001.
import { CloseCode } from '@cascade/protocol';

/** One connection as the drain sees it. */
export interface DrainingConnection {
  /** Sends the reconnect advice: reconnect after `delayMs`. */
  advise(delayMs: number): void;
  close(code: number, reason: string): void;
}

/** The node being drained. */
export interface DrainTarget {
  stopAccepting(): void;
  connections(): Iterable<DrainingConnection>;
  readonly openConnections: number;
}

export interface DrainOptions {
  /** Reconnect delays are spread uniformly over [0, windowMs). */
  windowMs: number;
  /** Extra time after the window for clients to leave on their own. */
  graceMs: number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface DrainReport {
  advised: number;
  /** Connections still open at the end, closed with 1001. */
  forced: number;
}

const POLL_MS = 50;

export async function drain(target: DrainTarget, o: DrainOptions): Promise<DrainReport> {
  const random = o.random ?? Math.random;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  target.stopAccepting();
  let advised = 0;
  for (const c of [...target.connections()]) {
    c.advise(Math.floor(random() * o.windowMs));
    advised++;
  }
  const deadline = Date.now() + o.windowMs + o.graceMs;
  while (target.openConnections > 0 && Date.now() < deadline) await sleep(POLL_MS);
  const rest = [...target.connections()];
  for (const c of rest) c.close(CloseCode.GoingAway, 'server shutting down');
  return { advised, forced: rest.length };
}

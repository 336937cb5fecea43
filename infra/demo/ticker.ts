// The demo's ticker: a backend that publishes a numbered message with its send time on
// `demo:ticker` every ~100 ms, the way backend services publish: a JetStream publish on the
// channel's ingest subject (Contract.ingest), with Rt-From and a Nats-Msg-Id so a retried
// publish is stored once. It needs no edge: pages keep receiving when their edge restarts.
import { randomBytes } from 'node:crypto';
import { encode } from '@msgpack/msgpack';
import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { Header, type Contract } from '@cascade/nats';
import { parseChannel } from '@cascade/protocol';

export const TICKER_CHANNEL = 'demo:ticker';

export interface TickerOptions {
  nc: NatsConnection;
  contract: Contract;
  channel?: string;
  /** Time between publishes (default 100 ms). */
  intervalMs?: number;
  /** Sender shown as `from` (default `ticker`). */
  from?: string;
  /** A failed publish (it is retried with the same id at the next tick). */
  onError?: (err: unknown, n: number) => void;
}

/** What the ticker publishes as a message's `data`. */
export interface Tick {
  /** 1, 2, 3, ... per ticker run. */
  n: number;
  /** Send time, ms since the Unix epoch (the publisher's clock). */
  sent: number;
}

export interface Ticker {
  /** Messages stored so far (the last `n` acknowledged). */
  readonly published: number;
  /** Stops after the publish in flight; resolves when it is settled. */
  stop(): Promise<void>;
}

export function startTicker(o: TickerOptions): Ticker {
  const channel = o.channel ?? TICKER_CHANNEL;
  const parsed = parseChannel(channel);
  if (!parsed.ok) throw new Error(`ticker: invalid channel ${channel}: ${parsed.reason}`);
  const subject = o.contract.ingest(parsed.channel.name);
  const interval = o.intervalMs ?? 100;
  const js = jetstream(o.nc);
  // Ids unique to this run, so a restarted ticker is not taken for a duplicate of the last one.
  const run = randomBytes(4).toString('hex');
  let published = 0;
  let stopped = false;
  let wake: (() => void) | undefined;

  const loop = async () => {
    let next = Date.now();
    while (!stopped) {
      const n = published + 1;
      const tick: Tick = { n, sent: Date.now() };
      const h = natsHeaders();
      h.set(Header.From, o.from ?? 'ticker');
      try {
        await js.publish(subject, encode(tick), { headers: h, msgID: `ticker|${run}|${n}`, timeout: 5_000 });
        published = n;
      } catch (err) {
        // NATS away or JetStream slow: the same n goes again next tick (same msgID: stored once).
        o.onError?.(err, n);
      }
      // A fixed cadence, without catching up in a burst after a stall.
      next = Math.max(next + interval, Date.now());
      const wait = next - Date.now();
      if (wait > 0 && !stopped) {
        await new Promise<void>((r) => {
          const timer = setTimeout(r, wait);
          wake = () => {
            clearTimeout(timer);
            r();
          };
        });
        wake = undefined;
      }
    }
  };
  const done = loop();
  return {
    get published() {
      return published;
    },
    stop: async () => {
      stopped = true;
      wake?.();
      await done;
    },
  };
}

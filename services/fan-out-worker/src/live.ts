// The live output on core NATS: the finished frame on `<prefix>.live.<ch>`, as is; a
// message whose publisher asked not to get it back carries that connection's id in a header,
// so its edge can leave that one socket out (and send it a skip notice instead).
//
// Who emits a stored message depends on the history stream's actual config, which this
// module follows: with the declared RePublish (`republishesLive`), nats-server publishes each message on
// `<prefix>.live.<ch>` as it stores it, and the worker emits only re-deliveries of messages
// stored before; without it (a stream created by an older version, which nats-server
// 2.9.10 cannot update), the worker emits every message itself after its append is stored.
import { headers, type NatsConnection } from '@nats-io/nats-core';
import type { JetStreamManager, Republish } from '@nats-io/jetstream';
import type { Logger } from '@cascade/log';
import { Header, republishesLive, type Contract } from '@cascade/nats';
import type { ChannelName } from '@cascade/protocol';
import type { LiveOutput } from './sequencer.js';

/** Who puts a freshly stored message live: the history stream (RePublish) or this worker. */
export type LiveEmitter = 'stream' | 'worker';

/** How often the history stream's config is read again, to follow a stream that gained or lost RePublish. */
export const LIVE_MODE_REFRESH_MS = 10_000;

/**
 * Whether the history stream republishes what it stores, as its actual config says (read
 * with `STREAM.INFO`), not as declared. Read once before any partition is consumed, then
 * every `refreshMs`: a stream that gains RePublish (updated by a newer server, or
 * re-created) or loses it (re-created by an older version) is followed within that time.
 * The mode is logged at start and on every change.
 */
export class HistoryLiveMode {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  private constructor(
    private readonly jsm: JetStreamManager,
    private readonly contract: Contract,
    private readonly log: Logger,
    private current: LiveEmitter,
    private republish: Republish | undefined,
  ) {}

  static async open(jsm: JetStreamManager, contract: Contract, log: Logger, refreshMs = LIVE_MODE_REFRESH_MS): Promise<HistoryLiveMode> {
    const { config } = await jsm.streams.info(contract.historyStream);
    const mode = new HistoryLiveMode(jsm, contract, log, emitterOf(contract, config.republish), config.republish);
    mode.announce();
    mode.schedule(refreshMs);
    return mode;
  }

  /** 'stream': the history stream emits every stored append live; 'worker': the worker does. */
  get emitter(): LiveEmitter {
    return this.current;
  }

  /** Reads the stream's config again; on failure the mode stays as it was. */
  async refresh(): Promise<void> {
    let republish: Republish | undefined;
    try {
      republish = (await this.jsm.streams.info(this.contract.historyStream)).config.republish;
    } catch (err) {
      this.log.warn({ err, stream: this.contract.historyStream }, 'could not read the history stream config; live mode unchanged');
      return;
    }
    const next = emitterOf(this.contract, republish);
    if (next === this.current) return;
    this.current = next;
    this.republish = republish;
    this.announce();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(refreshMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.refresh().finally(() => this.schedule(refreshMs)), refreshMs);
    this.timer.unref();
  }

  private announce(): void {
    const fields = { stream: this.contract.historyStream, live: this.current };
    if (this.current === 'stream') {
      this.log.info(fields, 'live mode: the history stream republishes each stored message on the live subject; the worker emits only redeliveries');
    } else if (this.republish === undefined) {
      this.log.info(fields, 'live mode: the history stream has no RePublish; the worker emits each stored message live itself');
    } else {
      // Not the declared one (another destination, or headers only): not a live frame.
      this.log.warn({ ...fields, republish: this.republish }, 'live mode: the history stream has a RePublish other than the declared one; the worker emits each stored message live itself');
    }
  }
}

function emitterOf(contract: Contract, republish: Republish | undefined): LiveEmitter {
  return republishesLive(contract, republish) ? 'stream' : 'worker';
}

export class NatsLiveOutput implements LiveOutput {
  constructor(
    private readonly nc: NatsConnection,
    private readonly contract: Contract,
    private readonly mode: { readonly emitter: LiveEmitter },
  ) {}

  get streamRepublishes(): boolean {
    return this.mode.emitter === 'stream';
  }

  emit(channel: ChannelName, frame: Uint8Array, excludeClient?: string): void {
    if (excludeClient === undefined) {
      this.nc.publish(this.contract.live(channel), frame);
      return;
    }
    const h = headers();
    h.set(Header.ExcludeClient, excludeClient);
    this.nc.publish(this.contract.live(channel), frame, { headers: h });
  }
}

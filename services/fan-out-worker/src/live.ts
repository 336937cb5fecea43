// The live output on core NATS: the finished frame on `<prefix>.live.<ch>`, as is; a
// message whose publisher asked not to get it back carries that connection's id in a header,
// so its edge can leave that one socket out (and send it a skip notice instead).
import { headers, type NatsConnection } from '@nats-io/nats-core';
import { Header, type Contract } from '@cascade/nats';
import type { ChannelName } from '@cascade/protocol';
import type { LiveOutput } from './sequencer.js';

export class NatsLiveOutput implements LiveOutput {
  constructor(
    private readonly nc: NatsConnection,
    private readonly contract: Contract,
  ) {}

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

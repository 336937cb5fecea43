// Test doubles for the Session's ports (socket, channel hub, ingest), shared by the session
// unit tests; they record what the session did, decoded, for assertions.
import { decode } from '@msgpack/msgpack';
import type { ChannelName } from '@cascade/protocol';
import type { ClientSocket } from './session.js';
import type { ChannelHub } from './subscriptions.js';
import type { IngestPort, PublishMeta } from './ingest.js';

export class FakeSocket implements ClientSocket {
  sent: any[] = [];
  closedWith: { code: number; reason: string } | undefined;
  joined = new Set<string>();
  send(frame: Uint8Array): void {
    this.sent.push(decode(frame));
  }
  end(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }
  join(ch: ChannelName): void {
    this.joined.add(ch);
  }
  leave(ch: ChannelName): void {
    this.joined.delete(ch);
  }
  last(): any {
    return this.sent[this.sent.length - 1];
  }
}

/** Refcounts like LiveChannels; `gate` holds acquires pending, `fail` makes them reject. */
export class FakeHub implements ChannelHub {
  counts = new Map<string, number>();
  /** Every acquire, in order. */
  acquired: string[] = [];
  gate: Promise<void> = Promise.resolve();
  fail = false;
  acquire(ch: ChannelName): Promise<void> {
    this.acquired.push(ch);
    this.counts.set(ch, (this.counts.get(ch) ?? 0) + 1);
    return this.fail ? Promise.reject(new Error('nats down')) : this.gate;
  }
  release(ch: ChannelName): void {
    const n = this.counts.get(ch) ?? 0;
    if (n <= 0) throw new Error(`over-release of ${ch}`);
    if (n === 1) this.counts.delete(ch);
    else this.counts.set(ch, n - 1);
  }
}

export class FakeIngest implements IngestPort {
  published: Array<{ ch: string; data: unknown; meta: PublishMeta }> = [];
  ephemerals: Array<{ ch: string; frame: any }> = [];
  result: () => Promise<{ duplicate: boolean }> = async () => ({ duplicate: false });
  publish(ch: ChannelName, payload: Uint8Array, meta: PublishMeta) {
    this.published.push({ ch, data: decode(payload), meta });
    return this.result();
  }
  ephemeral(ch: ChannelName, frame: Uint8Array): void {
    this.ephemerals.push({ ch, frame: decode(frame) });
  }
}

/** Lets pending promise callbacks (acquire, authenticate, publish) run. */
export const flush = () => new Promise((r) => setTimeout(r, 0));

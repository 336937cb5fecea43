// Test support for the fan-out integration tests (not used by the service): publishing
// load, watching live frames, reading back a channel's history, and checking the
// delivery rules (per-channel gapless order, each message once, per-publisher order).
import { decode, encode } from '@msgpack/msgpack';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { Contract, Header, type LeaseBucket } from '@cascade/nats';
import { parseChannel, type ChannelName } from '@cascade/protocol';
import type { IngestMessage } from './ingest.js';

/** The data every test message carries: who published it, and its number for that publisher. */
export interface Mark {
  p: string;
  i: number;
}

export interface Frame {
  seq: number;
  ep: string;
  data: Mark;
  bytes: Uint8Array;
}

export function channel(name: string): ChannelName {
  const r = parseChannel(name);
  if (!r.ok) throw new Error(r.reason);
  return r.channel.name;
}

let ingestSeq = 0;
/** An ingest message as the partition consumer hands it to the sequencer (each with the next ingest seq). */
export function ingestMessage(ch: ChannelName, data: unknown, o: { from?: string; excludeClient?: string } = {}): IngestMessage {
  return { channel: ch, payload: encode(data), from: o.from, key: undefined, excludeClient: o.excludeClient, ts: Date.now(), ingestSeq: ++ingestSeq };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Every live frame on `<prefix>.live.>`, per channel, in arrival order. */
export class LiveWatch {
  readonly byChannel = new Map<string, Frame[]>();
  total = 0;
  private readonly sub: Subscription;

  constructor(nc: NatsConnection, private readonly contract: Contract) {
    this.sub = nc.subscribe(`${contract.prefix}.live.>`, {
      callback: (err, m) => {
        if (err) throw err;
        const f = decode(m.data) as Omit<Frame, 'bytes'>;
        const ch = contract.channelOf(m.subject);
        const list = this.byChannel.get(ch) ?? [];
        list.push({ seq: f.seq, ep: f.ep, data: f.data, bytes: m.data });
        this.byChannel.set(ch, list);
        this.total++;
      },
    });
  }

  /** Distinct sequences seen on a channel. */
  distinct(ch: string): number {
    return new Set((this.byChannel.get(ch) ?? []).map((f) => f.seq)).size;
  }

  stop(): void {
    this.sub.unsubscribe();
  }
}

/**
 * Checks one channel's frames as a subscriber receives them. The subscriber's rule: a frame
 * whose seq it already has is dropped (a message stored before a crash is emitted again by
 * the next owner, byte for byte the same); every other frame must be exactly the next seq.
 * Returns the messages in sequence order and how many repeats were dropped.
 */
export function checkChannel(ch: string, frames: Frame[]): { marks: Mark[]; repeats: number } {
  const bySeq = new Map<number, Frame>();
  const marks: Mark[] = [];
  let last = 0;
  let repeats = 0;
  for (const f of frames) {
    if (f.seq <= last) {
      const first = bySeq.get(f.seq);
      if (!first || Buffer.compare(Buffer.from(first.bytes), Buffer.from(f.bytes)) !== 0) {
        throw new Error(`${ch}: seq ${f.seq} arrived again with different content`);
      }
      repeats++;
      continue;
    }
    if (f.seq !== last + 1) throw new Error(`${ch}: seq ${f.seq} after ${last} (gap or reorder)`);
    if (frames[0] && f.ep !== frames[0].ep) throw new Error(`${ch}: epoch changed at seq ${f.seq}`);
    bySeq.set(f.seq, f);
    marks.push(f.data);
    last = f.seq;
  }
  return { marks, repeats };
}

/** Each publisher's numbers must appear in increasing order within a channel. */
export function checkPublisherOrder(ch: string, marks: Mark[]): void {
  const last = new Map<string, number>();
  for (const m of marks) {
    if ((last.get(m.p) ?? -1) >= m.i) throw new Error(`${ch}: ${m.p}#${m.i} came after ${m.p}#${last.get(m.p)}`);
    last.set(m.p, m.i);
  }
}

/** Every published mark exactly once across all channels. */
export function checkExactlyOnce(published: Map<string, Mark[]>, received: Map<string, Mark[]>): void {
  for (const [ch, sent] of published) {
    const got = received.get(ch) ?? [];
    const key = (m: Mark) => `${m.p}#${m.i}`;
    const want = sent.map(key).sort();
    const have = got.map(key).sort();
    if (JSON.stringify(want) !== JSON.stringify(have)) {
      throw new Error(`${ch}: published ${want.length} messages, delivered ${have.length} (${new Set(have).size} distinct)`);
    }
  }
}

/**
 * A publisher writing straight to the ingest subjects with JetStream, as a backend would:
 * `count` messages spread over `channels`, pipelined `window` at a time. Publishes on one
 * connection reach the stream in call order, so each channel gets this publisher's
 * messages in increasing `i`.
 */
export async function publishLoad(o: {
  nc: NatsConnection;
  contract: Contract;
  name: string;
  channels: ChannelName[];
  count: number;
  window?: number;
  pauseMs?: number;
  published: Map<string, Mark[]>;
}): Promise<void> {
  const js = jetstream(o.nc);
  const window = o.window ?? 200;
  for (let start = 0; start < o.count; start += window) {
    const acks: Array<Promise<unknown>> = [];
    for (let i = start; i < Math.min(o.count, start + window); i++) {
      const ch = o.channels[(i * 7 + o.name.length) % o.channels.length]!;
      const mark = { p: o.name, i };
      const list = o.published.get(ch) ?? [];
      list.push(mark);
      o.published.set(ch, list);
      acks.push(js.publish(o.contract.ingest(ch), encode(mark)));
    }
    await Promise.all(acks);
    if (o.pauseMs) await sleep(o.pauseMs);
  }
}

/** The whole history stream, per channel, in stream order (an ordered consumer). */
export async function readHistory(nc: NatsConnection, contract: Contract): Promise<Map<string, Frame[]>> {
  const js = jetstream(nc);
  const out = new Map<string, Frame[]>();
  const consumer = await js.consumers.get(contract.historyStream);
  const messages = await consumer.consume();
  for await (const m of messages) {
    const ch = contract.channelOf(m.subject);
    const f = decode(m.data) as Omit<Frame, 'bytes'>;
    if (Number(m.headers?.get(Header.Seq)) !== f.seq) throw new Error(`${ch}: ${Header.Seq} header differs from the frame's seq`);
    const list = out.get(ch) ?? [];
    list.push({ seq: f.seq, ep: f.ep, data: f.data, bytes: m.data });
    out.set(ch, list);
    if (m.info.pending === 0) break;
  }
  return out;
}

/** Who holds each partition's lease right now (instance id). */
export async function leaseHolders(bucket: LeaseBucket, partitions: number): Promise<Array<string | undefined>> {
  return Promise.all(Array.from({ length: partitions }, async (_, p) => (await bucket.holder(p))?.owner));
}

/** The instance id a service logged when it became ready. */
export function instanceOf(output: string): string {
  const m = /"instance":"([^"]+)"/.exec(output);
  if (!m) throw new Error('no instance id in the service output');
  return m[1]!;
}

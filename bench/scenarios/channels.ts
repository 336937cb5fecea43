// Many small channels (direct messages): C channels of exactly two subscribers each. One
// server process may hold fewer than 20,000 connections, so each connection subscribes to
// several channels (the ChannelSpread layout: connections · perConnection = 2 · channels),
// like a user in several conversations. The publisher sends 100-byte messages round-robin
// over all channels; the rate doubles each step as in the fan-out scenario until the system
// falls behind. Every publish is 2 deliveries: this measures per-channel cost (routing,
// numbering and storing per message, a NATS subscription per channel), not fan-out.
import { LoadGenerator } from '../load/generator.js';
import { rssBytes } from '../system/proc.js';
import { LABELS, startProfiles, startTarget, type TargetName } from '../targets/targets.js';
import { pause, sleep } from './common.js';
import { searchRate, type FanoutStep } from './fanout.js';

export interface ChannelsOptions {
  channels: number;
  /** Channels per connection: connections = 2 · channels / perConnection. */
  perConnection: number;
  stepMs: number;
  maxDrainMs: number;
  maxSteps: number;
  maxRetries: number;
  startDeliveries: number;
  p99LimitMs: number;
}

export interface ChannelsResult {
  target: TargetName;
  label: string;
  channels: number;
  connections: number;
  perConnection: number;
  connectMs: number;
  /** Warm-up publishes (one per channel) and how long they took to be delivered. */
  warmupMs: number;
  steps: FanoutStep[];
  best?: FanoutStep;
  efficiency?: number;
  systemEfficiency?: number;
  serverRssBytes: number;
  notes: string[];
}

const PREFIX = 'bench:dm';

export async function runChannels(gen: LoadGenerator, name: TargetName, o: ChannelsOptions): Promise<ChannelsResult> {
  const connections = (2 * o.channels) / o.perConnection;
  if (!Number.isInteger(connections) || o.channels < o.perConnection) throw new Error('channels · 2 must be a multiple of perConnection, and channels ≥ perConnection');
  const t = await startTarget(name);
  try {
    const opened = await gen.open(t.target, { role: 'sub', ch: PREFIX, count: connections, label: `${LABELS[name]} ${o.channels} channels`, spread: { count: o.channels, perConnection: o.perConnection } });
    if (opened.failed > 0) throw new Error(`${opened.failed} of ${connections} connections failed: ${opened.errors.join('; ')}`);
    await gen.openPublisher(t.target, PREFIX);
    // One message per channel first: Cascade reads each channel's history head once when it
    // first numbers it, and every system sets up its per-channel state on first use. The
    // steps then measure the steady state.
    startProfiles(t);
    const warm0 = performance.now();
    const warmRate = 5000;
    await gen.publish(warmRate, Math.ceil((o.channels / warmRate) * 1000), o.channels);
    for (let i = 0; i < 100; i++) {
      const d = await gen.deliveries();
      if (d.delivered + d.stale >= 2 * o.channels * 0.99) break;
      await sleep(200);
    }
    const warmupMs = performance.now() - warm0;
    await pause(300);
    const search = await searchRate(gen, t, { ...o, connections, deliveriesPerPublish: 2, spread: o.channels });
    return {
      target: name,
      label: LABELS[name],
      channels: o.channels,
      connections: opened.opened,
      perConnection: o.perConnection,
      connectMs: opened.ms,
      warmupMs,
      ...search,
      serverRssBytes: rssBytes(t.serverPid),
      notes: t.notes,
    };
  } finally {
    await gen.closeAll();
    await t.stop();
  }
}

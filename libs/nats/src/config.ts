// Environment variables every service shares: where NATS is, the contract's prefix and
// partition count, and the stream limits. Every service must see the same values (one
// ConfigMap in Kubernetes), or their start-up "ensure" would fight over stream config.
import { bytes, duration, int, str, urlList, type ConfigOf } from '@cascade/config';
import { Contract } from './subjects.js';
import type { StreamSettings } from './streams.js';

export const natsConfig = {
  natsUrl: urlList({
    env: 'NATS_URL',
    describe: 'NATS server URLs, comma-separated',
    default: 'nats://127.0.0.1:4222',
    protocols: ['nats:', 'tls:', 'ws:', 'wss:'],
  }),
  prefix: str({
    env: 'RT_PREFIX',
    describe: 'First token of every subject; stream and bucket names derive from it',
    default: 'rt',
    pattern: /^[A-Za-z][A-Za-z0-9_-]{0,31}$/,
    patternText: 'a letter, then up to 31 letters, digits, _ or -',
  }),
  partitions: int({
    env: 'RT_PARTITIONS',
    describe: 'Ingest partitions (channels hash onto them); must match the nats-server mapping',
    default: 16,
    min: 1,
    max: 1024,
  }),
  replicas: int({ env: 'RT_STREAM_REPLICAS', describe: 'Replicas of streams and KV buckets', default: 1, min: 1, max: 5 }),
  historyMaxMsgsPerChannel: int({
    env: 'RT_HISTORY_MAX_MESSAGES',
    describe: 'Messages of history kept per channel',
    default: 1000,
    min: 1,
    max: 10_000_000,
  }),
  historyMaxAge: duration({ env: 'RT_HISTORY_MAX_AGE', describe: 'How long history is kept', default: '24h', min: '1s' }),
  ingestMaxAge: duration({
    env: 'RT_INGEST_MAX_AGE',
    describe: 'How long a published message may wait for a fan-out worker',
    default: '7d',
    min: '1m',
  }),
  duplicateWindow: duration({
    env: 'RT_DUPLICATE_WINDOW',
    describe: 'Window in which a repeated idempotency key is recognised',
    default: '2m',
    min: '1s',
    max: '1d',
  }),
  leaseTtl: duration({
    env: 'RT_LEASE_TTL',
    describe: 'Lifetime of a fan-out partition lease (KV bucket TTL); owners renew every third of it',
    default: '15s',
    min: '1s',
    max: '5m',
  }),
  maxMessageBytes: bytes({
    env: 'RT_MAX_MESSAGE_BYTES',
    describe: 'Largest message payload stored',
    default: '1MiB',
    min: '1KiB',
    max: '8MiB',
  }),
};
export type NatsConfig = ConfigOf<typeof natsConfig>;

export function contractFrom(c: NatsConfig): Contract {
  return new Contract({ prefix: c.prefix, partitions: c.partitions });
}

export function streamSettingsFrom(c: NatsConfig): StreamSettings {
  return {
    replicas: c.replicas,
    historyMaxMsgsPerChannel: c.historyMaxMsgsPerChannel,
    historyMaxAgeMs: c.historyMaxAge,
    ingestMaxAgeMs: c.ingestMaxAge,
    duplicateWindowMs: c.duplicateWindow,
    maxMessageBytes: c.maxMessageBytes,
    leaseTtlMs: c.leaseTtl,
  };
}

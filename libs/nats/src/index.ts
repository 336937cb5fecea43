// Public entry of @cascade/nats: the NATS contract (subjects, streams, buckets, headers)
// and the thin adapters every service uses to reach NATS.
export { Contract, type ServiceName } from './subjects.js';
export { fnv1a32, partitionOf } from './partition.js';
export { Header } from './headers.js';
export {
  bucketDeclarations,
  configDrift,
  defaultStreamSettings,
  ensureBucket,
  ensureContract,
  ensureStream,
  historyStreamConfig,
  ingestStreamConfig,
  type BucketDeclaration,
  type StreamSettings,
} from './streams.js';
export { connectNats, type ConnectOptions, type ConnectionLog } from './connection.js';
export { serveHealth, type HealthReport } from './health.js';
export { contractFrom, natsConfig, streamSettingsFrom, type NatsConfig } from './config.js';

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
  historyRepublish,
  historyStreamConfig,
  ingestStreamConfig,
  republishesLive,
  type BucketDeclaration,
  type StreamSettings,
} from './streams.js';
export { NoRespondersError, RequestTimeoutError, Requester } from './requests.js';
export { CoreSubscription, CoreSubscriptions, type SubscriptionTable } from './core-subscriptions.js';
export { JetStreamPublishError, JetStreamPublisher, type PubAck } from './js-publish.js';
export { connectNats, type ConnectOptions, type ConnectionLog } from './connection.js';
export { serveHealth, type HealthReport } from './health.js';
export { LeaseBucket, leaseKey, workerKey, type LeaseSnapshot } from './leases.js';
export {
  DEFAULT_GROUP_FANOUT_THRESHOLD,
  GROUP_NAMESPACE,
  GroupMembership,
  GroupRequestError,
  GroupVerb,
  GroupsClient,
  MAX_USERS_PER_REQUEST,
  MembershipIndex,
  fanoutGroupOf,
  groupChannel,
  groupOf,
  groupsSubject,
  isGroupName,
  isMemberId,
  memberKey,
  parseGroupRequest,
  parseMemberKey,
  type GroupLookup,
  type GroupMembershipOptions,
  type GroupReply,
  type GroupRequest,
} from './groups.js';
export { contractFrom, natsConfig, streamSettingsFrom, type NatsConfig } from './config.js';
export {
  DEFAULT_HISTORY_LIMIT,
  HistoryClient,
  HistoryRequestError,
  HistoryVerb,
  MAX_HISTORY_LIMIT,
  MAX_POSITIONS,
  encodeHistoryMessage,
  parsePositionRequest,
  parsePositionsRequest,
  parseReadRequest,
  type HistoryError,
  type HistoryPosition,
  type HistoryPositionRequest,
  type HistoryPositionsRequest,
  type HistoryPositionsResult,
  type HistoryReadRequest,
  type HistoryReadResult,
  type HistoryReply,
} from './history-api.js';
export { PositionBatch, type BatchAnswer, type PositionBatchOptions } from './position-batch.js';
export {
  PRESENCE_EVENT_KINDS,
  PresenceDigest,
  PresenceLimits,
  PresenceSubjects,
  edgeIdOf,
  encodeJson,
  isEdgeId,
  isPresenceClientId,
  isPresenceUserId,
  parseByeReport,
  parseDeltaReport,
  parseHeartbeatReport,
  parseMembersQuery,
  parseSnapshotPart,
  parseStatusQuery,
  type ByeReport,
  type ChannelMember,
  type DeltaReport,
  type HeartbeatReport,
  type MembersAnswer,
  type MembersQuery,
  type Parsed,
  type PresenceEvent,
  type PresenceEventBatch,
  type PresenceEventKind,
  type PresenceOp,
  type PresenceReportKind,
  type QueryError,
  type SnapshotConnection,
  type SnapshotPart,
  type StatusAnswer,
  type StatusQuery,
  type UserStatus,
} from './presence-api.js';
export { PresenceReporter } from './presence-reporter.js';
export { EdgePresenceLink, type EdgePresenceOptions } from './presence-edge.js';

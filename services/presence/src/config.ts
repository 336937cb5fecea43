// The presence service's own environment variables (the shared ones come from @cascade/service).
import { duration, int, str, type ConfigOf } from '@cascade/config';

export const presenceConfig = {
  gracePeriod: duration({
    env: 'PRESENCE_GRACE_PERIOD',
    describe: 'How long a user (or a channel member) must stay disconnected before it is reported offline (or as left)',
    default: '30s',
    min: '0ms',
    max: '1h',
  }),
  edgeTimeout: duration({
    env: 'PRESENCE_EDGE_TIMEOUT',
    describe: 'An edge silent this long is dead: its connections are gone (set it to at least 3 edge heartbeat intervals)',
    default: '10s',
    min: '500ms',
    max: '10m',
  }),
  batchInterval: duration({
    env: 'PRESENCE_BATCH_INTERVAL',
    describe: 'Presence frames per channel and backend events are sent at most once per interval',
    default: '1s',
    min: '50ms',
    max: '1m',
  }),
  maxMembers: int({
    env: 'PRESENCE_MAX_MEMBERS',
    describe: 'Channels with more members get counts instead of member lists (frames and members query)',
    default: 100,
    min: 0,
    max: 100_000,
  }),
  disabledNamespaces: str({
    env: 'PRESENCE_DISABLED_NAMESPACES',
    describe: 'Comma-separated channel namespaces without channel presence ("none" = presence everywhere; "-" = channels without a namespace)',
    default: 'user',
    pattern: /^[A-Za-z0-9_\-@=/~]+(,[A-Za-z0-9_\-@=/~]+)*$/,
    patternText: 'namespaces separated by commas',
  }),
  frameRate: int({
    env: 'PRESENCE_FRAME_RATE',
    describe: 'Budget of presence frames published per second across all channels; above it changes are coalesced',
    default: 1000,
    min: 1,
    max: 1_000_000,
  }),
  snapshotTimeout: duration({
    env: 'PRESENCE_SNAPSHOT_TIMEOUT',
    describe: 'How long to wait for an edge to answer a snapshot request before asking again',
    default: '5s',
    min: '100ms',
    max: '1m',
  }),
  lastSeenCapacity: int({
    env: 'PRESENCE_LAST_SEEN_USERS',
    describe: 'Offline users whose last-seen time is remembered (oldest forgotten first)',
    default: 1_000_000,
    min: 0,
    max: 100_000_000,
  }),
};
export type PresenceConfig = ConfigOf<typeof presenceConfig>;

/** The namespaces listed in PRESENCE_DISABLED_NAMESPACES ('' stands for "no namespace"). */
export function disabledNamespacesOf(text: string): Set<string> {
  if (text === 'none') return new Set();
  return new Set(text.split(',').map((n) => (n === '-' ? '' : n)));
}

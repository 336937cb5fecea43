// Publishing over HTTP with a user's token, for clients that receive over SSE and so have no
// WebSocket to publish on: `POST /v1/channels/<ch>/messages` and `.../ephemeral` with
// `Authorization: Bearer <user JWT>`. The same admission as a WebSocket publish
// (publish-admission.ts), with the sender's bucket kept per user on this edge in a bounded map
// that forgets idle users, and `from` always the token's user. Pure: ports are injected.
import { ErrorCode, FrameType, encodeFrameWithPayload, type ChannelName } from '@cascade/protocol';
import { parsePublishBody, storePublish, type HttpPublishReply } from './http-publish.js';
import type { IngestPort } from './ingest.js';
import { admitPublish } from './publish-admission.js';
import type { KeyedBuckets } from './rate-limit.js';
import { authFailureStatus, type Authenticate } from './session.js';

export interface UserPublishDeps {
  authenticate: Authenticate;
  ingest: IngestPort;
  maxPublishBytes: number;
  /** Per-user buckets (EDGE_PUBLISH_RATE/BURST), bounded, idle users dropped first. */
  userRates: KeyedBuckets;
  /** The node's per-channel buckets, shared with WebSocket publishes. */
  channelRates?: KeyedBuckets | undefined;
  now?: () => number;
}

export type UserPublishKind = 'messages' | 'ephemeral';

const STATUS: Partial<Record<number, number>> = {
  [ErrorCode.PermissionDenied]: 403,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.RateLimited]: 429,
};

function fail(status: number, code: number, error: string): HttpPublishReply {
  return { status, body: { code, error } };
}

/** A bearer credential shaped like a JWT (three base64url parts): a user's token, not an API key. */
export function looksLikeJwt(credential: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(credential);
}

export class UserPublisher {
  private requests = 0;

  constructor(private readonly deps: UserPublishDeps) {}

  async handle(kind: UserPublishKind, ch: ChannelName, token: string, body: Uint8Array): Promise<HttpPublishReply> {
    const auth = await this.deps.authenticate(token, `http-${(this.requests++).toString(36)}`);
    if (!auth.ok) return fail(authFailureStatus(auth.code), auth.code, auth.reason);
    const identity = auth.identity;
    const parsed = parsePublishBody(body, { from: false, key: kind === 'messages' });
    if (!parsed.ok) return parsed.reply;
    const { payload, key } = parsed.body;
    const user = identity.user;
    const rates = this.deps.userRates;
    const refused = admitPublish(identity, ch, payload.length, { maxPublishBytes: this.deps.maxPublishBytes, channelRates: this.deps.channelRates }, {
      take: () => rates.take(user),
      refusal: () => `publishing too fast as ${user}; retry later`,
    });
    if (refused !== undefined) return fail(STATUS[refused.code] ?? 400, refused.code, refused.message);
    if (kind === 'messages') return storePublish(ch, payload, { from: user, key }, this.deps.ingest);
    const frame = encodeFrameWithPayload({ t: FrameType.EphemeralMessage, ch, ts: (this.deps.now ?? Date.now)(), from: user }, payload);
    this.deps.ingest.ephemeral(ch, frame);
    return { status: 202, body: { ok: true } };
  }
}

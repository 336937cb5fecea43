// The checks every client publish (durable or ephemeral) passes before it costs the bus
// anything, in this order: publish permission, payload size, the sender's own rate (per
// WebSocket connection, or per user for HTTP), the channel's rate on this edge. Shared by
// the WebSocket session and the HTTP publish of SSE clients. Pure.
import { ErrorCode, ProtocolError, type ChannelName } from '@cascade/protocol';
import { TokenBucket, type KeyedBuckets } from './rate-limit.js';
import type { Identity } from './session.js';

export interface PublishLimits {
  /** Largest encoded `data`, bytes; unset = no bound here. */
  maxPublishBytes?: number | undefined;
  /** The node's per-channel buckets; unset = unlimited. */
  channelRates?: KeyedBuckets | undefined;
}

/** The sender's own bucket: a connection's TokenBucket, or a user's entry of a KeyedBuckets. */
export interface SenderRate {
  take(): boolean;
  /** The refusal text, e.g. "publishing too fast on this connection; retry in 20 ms". */
  refusal(): string;
}

/** A WebSocket connection's own bucket (one object: the bucket is the sender rate). */
export class SenderBucket extends TokenBucket implements SenderRate {
  refusal(): string {
    return `publishing too fast on this connection; retry in ${this.waitMs} ms`;
  }
}

/** Undefined when the publish may go ahead, else the error to answer with (`id`: the request's). */
export function admitPublish(identity: Identity, ch: ChannelName, size: number, limits: PublishLimits, sender?: SenderRate, id?: number): ProtocolError | undefined {
  if (!identity.may('publish', ch)) return new ProtocolError(ErrorCode.PermissionDenied, `not allowed to publish on ${ch}`, id);
  const max = limits.maxPublishBytes;
  if (max !== undefined && size > max) return new ProtocolError(ErrorCode.PayloadTooLarge, `data is ${size} bytes encoded; at most ${max} are accepted`, id);
  if (sender !== undefined && !sender.take()) return new ProtocolError(ErrorCode.RateLimited, sender.refusal(), id);
  if (limits.channelRates !== undefined && !limits.channelRates.take(ch)) return new ProtocolError(ErrorCode.RateLimited, `channel ${ch} receives too many publishes; retry later`, id);
  return undefined;
}

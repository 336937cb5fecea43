// Public entry of @cascade/client, the Cascade client SDK for browsers and Node 20+. It
// depends on @cascade/protocol only; docs/client.md is the guide.
export { CascadeClient, SDK_VERSION } from './client.js';
export { Subscription, type SubscriptionState } from './subscription.js';
export { CascadeError, type CascadeErrorSource } from './errors.js';
export { Backoff, type BackoffOptions } from './backoff.js';
export { newIdempotencyKey, type PublishResult } from './publish-queue.js';
export { jwtExpiry, type TokenSource } from './token.js';
export type {
  PresenceList,
  CascadeClientOptions,
  ClientEvents,
  ClientState,
  ConnectionInfo,
  DisconnectInfo,
  EphemeralMessage,
  EventSourceConstructor,
  EventSourceLike,
  FetchLike,
  FetchResponseLike,
  Message,
  PresenceEvent,
  PublishOptions,
  RecoveryImpossible,
  SubscribeInfo,
  SubscribeOptions,
  SubscriptionHandlers,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';
export { CloseCode, ErrorCode, shouldReconnect, type StreamPosition, type PresenceMember } from '@cascade/protocol';

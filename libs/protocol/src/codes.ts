// The one registry of error codes (in error frames) and close codes (on the WebSocket),
// shared by every server and the client SDK. Ranges tell a client what to do without
// knowing each code: see docs/protocol.md.

/** Codes carried by `error` frames. The connection stays open after an error frame. */
export const ErrorCode = {
  /** Something failed inside the server; retrying later may work. */
  Internal: 100,
  /** The frame is not valid msgpack, not a map, or a field has the wrong type or range. */
  BadRequest: 101,
  /** The frame type `t` is not one this server knows. */
  UnknownFrameType: 102,
  /** The channel name breaks the channel rules (charset, length, namespace). */
  InvalidChannel: 103,
  /** The connection's identity may not do this on this channel. */
  PermissionDenied: 104,
  /** A subscribe for a channel this connection is already subscribed to. */
  AlreadySubscribed: 105,
  /** An unsubscribe (or a publish that needs a subscription) for a channel not subscribed. */
  NotSubscribed: 106,
  /** The connection holds the maximum number of subscriptions. */
  SubscriptionLimit: 107,
  /** A rate limit was hit; retry after a pause. */
  RateLimited: 108,
  /** The publish payload is larger than the server accepts. */
  PayloadTooLarge: 109,
  /** The message store or bus is unreachable right now; retry with backoff. */
  Unavailable: 110,
  /** A frame other than `connect` arrived before the connection was established. */
  NotConnected: 111,
  /** A resume position can no longer be served (epoch changed or history aged out). */
  RecoveryImpossible: 112,
  /** The server did not complete the request in time; its outcome is unknown. */
  Timeout: 113,
  /** `connect` was sent twice on one connection. */
  AlreadyConnected: 114,
  /** A `refresh` token did not verify, expired, or names another user; the current token stays in force. */
  InvalidToken: 115,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * WebSocket close codes. 4000-4499: the client should reconnect (with backoff, resuming
 * its channels). 4500-4999: the client must not reconnect before fixing the cause.
 * 1000 (normal), 1001 (server going away: reconnect elsewhere) and 1009 (frame too big,
 * sent by the transport itself) are standard codes the server also uses.
 */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  MessageTooBig: 1009,
  /** No `connect` frame arrived within the allowed time after the upgrade. */
  ConnectTimeout: 4001,
  /** The client could not keep up; its send buffer overflowed. Reconnect and resume. */
  SlowConsumer: 4002,
  /** No traffic (not even pong) within the idle timeout. */
  IdleTimeout: 4003,
  /** The server lost its backend and cannot serve this connection now. */
  ServerError: 4004,
  /** The node holds its maximum number of connections; try again (another node). */
  ConnectionLimit: 4005,
  /** The token expired; get a fresh token, then reconnect. */
  TokenExpired: 4006,
  /** The client broke the protocol (e.g. kept sending malformed frames). */
  ProtocolViolation: 4500,
  /** The token is missing, malformed, or its signature does not verify. */
  Unauthorized: 4501,
  /** The identity is valid but not allowed to connect. */
  Forbidden: 4503,
  /** The client asked for a protocol version this server does not speak. */
  UnsupportedVersion: 4505,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Whether a client that was closed with `code` should reconnect on its own. */
export function shouldReconnect(code: number): boolean {
  if (code === CloseCode.Normal) return false;
  if (code >= 4500 && code <= 4999) return false;
  return true;
}

const errorNames = new Map<number, string>(Object.entries(ErrorCode).map(([k, v]) => [v, k]));
const closeNames = new Map<number, string>(Object.entries(CloseCode).map(([k, v]) => [v, k]));

/** The registry name of an error code, e.g. 103 -> "InvalidChannel" (for logs and SDK errors). */
export function errorCodeName(code: number): string {
  return errorNames.get(code) ?? `Unknown(${code})`;
}

/** The registry name of a close code, e.g. 4002 -> "SlowConsumer". */
export function closeCodeName(code: number): string {
  return closeNames.get(code) ?? `Unknown(${code})`;
}

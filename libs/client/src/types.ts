// The SDK's public contracts: options, what handlers receive, and the minimal WebSocket
// shape the client needs (browsers' WebSocket and the `ws` package both fit it).
import type { PresenceMember, StreamPosition } from '@cascade/protocol';
import type { BackoffOptions } from './backoff.js';
import type { CascadeError } from './errors.js';
import type { TokenSource } from './token.js';

/**
 * What the client uses of a WebSocket. Event parameters are typed loosely on purpose: the
 * browser's and the `ws` package's event classes differ, and only `data`, `code` and
 * `reason` are read.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: any) => void) | null;
  onclose: ((ev: any) => void) | null;
  onerror: ((ev: any) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * What the SSE transport uses of an EventSource (the browser's, or the `eventsource` package's
 * on Node). Named server events (`connected`, `error`, ...) arrive through `addEventListener`.
 */
export interface EventSourceLike {
  /** 0 connecting (also while it reconnects by itself), 1 open, 2 closed for good. */
  readonly readyState: number;
  close(): void;
  addEventListener(type: string, listener: (ev: any) => void): void;
}

export type EventSourceConstructor = new (url: string) => EventSourceLike;

/** The part of a fetch Response the SSE transport reads. */
export interface FetchResponseLike {
  readonly status: number;
  text(): Promise<string>;
}

/** The part of `fetch` the SSE transport uses (HTTP publish and ephemeral, and finding out why a stream was refused). */
export type FetchLike = (
  url: string,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; signal?: AbortSignal; cache?: 'no-store' },
) => Promise<FetchResponseLike>;

export interface CascadeClientOptions {
  /**
   * `ws(s)://host:port/` of an edge (normally a load balancer in front of all of them), or
   * several edges: each connection attempt takes the next one, so a reconnect after an edge
   * died goes elsewhere.
   */
  url: string | string[];
  /**
   * `websocket` (default): one WebSocket carries everything. `sse`: subscriptions are carried
   * by one EventSource (`GET /v1/sse`), publishes and ephemeral messages by HTTP POSTs; for
   * networks that let no WebSocket through. `url` may then be `http(s)://` too (a `ws(s)://`
   * URL is mapped to `http(s)://`). See docs/client.md, "SSE mode", for what differs.
   */
  transport?: 'websocket' | 'sse';
  /** SSE mode: the EventSource class; default: the global one (browsers). Node: the `eventsource` package's. */
  EventSource?: EventSourceConstructor;
  /** SSE mode: the fetch function for HTTP publish; default: the global `fetch`. */
  fetch?: FetchLike;
  /**
   * A JWT, or a function returning one (called for every connection and refresh, so it can
   * fetch a fresh token). Absent: connect anonymously, if the server allows it.
   */
  token?: TokenSource;
  /** A WebSocket class; default: the global `WebSocket` (browsers, Node 22+). Node 20: `ws`. Unused in SSE mode. */
  WebSocket?: WebSocketConstructor;
  /** Reconnect delays (exponential, full jitter). Default 500 ms doubling up to 30 s. */
  backoff?: BackoffOptions;
  /** Reconnect automatically after a connection is lost (default true). */
  reconnect?: boolean;
  /** How long opening a connection may take, up to `connected` (default 10 s). WebSocket mode only. */
  connectTimeoutMs?: number;
  /**
   * How long a request (subscribe, publish attempt, ...) waits for its reply before the
   * connection is deemed broken (default 15 s). SSE mode: how long one HTTP publish attempt
   * may take before it is retried.
   */
  requestTimeoutMs?: number;
  /**
   * How long a publish keeps retrying, across reconnects, before it fails (default 60 s).
   * Keep it below the server's duplicate window (`RT_DUPLICATE_WINDOW`, 2 min by default):
   * a retry after the window could store the message twice.
   */
  publishTimeoutMs?: number;
  /** Sent as `connect.client` (default `cascade-js/<version>`). */
  clientName?: string;
}

export type ClientState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed' | 'failed';

/** What the server said in `connected`. */
export interface ConnectionInfo {
  client: string;
  user: string;
  /** WebSocket mode only (the SSE stream's `connected` carries no limits). */
  limits?: { frame: number; subs: number; pub?: number };
  /** The personal channel (`user:<id>`) the server subscribed this connection to, if any. */
  personal?: string;
  /** When the server closes the connection unless the token is refreshed (ms since the epoch). */
  exp?: number;
}

export interface DisconnectInfo {
  /**
   * The close code (1006 when the socket dropped without one; 4000 when the client gave up on
   * it). SSE mode: 1006 for a dropped stream, or the code of the edge's `event: error` before it.
   */
  code: number;
  reason: string;
  /** Whether the client will reconnect, and after how long. */
  reconnect: boolean;
  delayMs?: number;
}

export interface ClientEvents extends Record<string, unknown[]> {
  state: [state: ClientState, previous: ClientState];
  connected: [info: ConnectionInfo];
  disconnected: [info: DisconnectInfo];
  /** Errors not tied to a request or a subscription (and terminal close codes). */
  error: [error: CascadeError];
}

/** A stored, numbered message. */
export interface Message {
  channel: string;
  seq: number;
  ep: string;
  /** Publish time, ms since the Unix epoch (server clock). */
  ts: number;
  from?: string;
  /** The publisher's idempotency key. */
  key?: string;
  data: unknown;
}

/** An ephemeral message (typing, cursors): not stored, not numbered, at most once. */
export interface EphemeralMessage {
  channel: string;
  ts: number;
  from?: string;
  data: unknown;
}

export interface PresenceEvent {
  channel: string;
  join: PresenceMember[];
  leave: PresenceMember[];
  count?: number;
}

/**
 * Messages were missed and cannot be delivered: the application must reload the channel's
 * state from its own source of truth, then carry on with the messages that follow.
 * - `resume-refused`: after a reconnect, the server could not replay from our position
 *   (history trimmed, epoch changed, or resume not served).
 * - `gap`: live messages were lost and the missing range could not be read.
 * - `epoch-changed`: the channel's history was reset; numbering restarted.
 */
/** `Subscription.presence()`: the users present now, plus how many there are. */
export interface PresenceList extends Array<PresenceMember> {
  /** Users present (also when the list is left empty because the channel is too large). */
  count: number;
  /** The server's presence state is still being rebuilt (after a restart): someone may be missing. */
  partial: boolean;
}

export interface RecoveryImpossible {
  channel: string;
  reason: 'resume-refused' | 'gap' | 'epoch-changed';
  /** The last position the application had. */
  from?: StreamPosition;
  /** Where delivery continues after, when known. */
  to?: StreamPosition;
  /** For `gap`: the seqs that are missing (inclusive). */
  missing?: { ep: string; from: number; to: number };
}

export interface SubscribeInfo {
  /** True when the subscribe resumed from a position with nothing missed. */
  resumed: boolean;
  /** True for the first subscribe of this Subscription, false after reconnects. */
  first: boolean;
}

export interface SubscriptionHandlers {
  onMessage?(m: Message): void;
  onEphemeral?(m: EphemeralMessage): void;
  /** Every presence frame; `onJoin`/`onLeave` are shortcuts for its parts. */
  onPresence?(p: PresenceEvent): void;
  onJoin?(members: PresenceMember[], channel: string): void;
  onLeave?(members: PresenceMember[], channel: string): void;
  /** The subscription is in place (again, after a reconnect). */
  onSubscribed?(info: SubscribeInfo): void;
  /** Errors about this channel. A permanent one (e.g. PermissionDenied) ends the subscription. */
  onError?(e: CascadeError): void;
  /** Reload the channel's state: see RecoveryImpossible. */
  onRecoveryImpossible?(info: RecoveryImpossible): void;
}

export interface SubscribeOptions {
  /** Resume from this position (e.g. persisted by the application) instead of from now. */
  since?: StreamPosition;
}

export interface PublishOptions {
  /** Idempotency key; default: 16 random bytes, base64url. Reused on every retry. */
  key?: string;
  /** false: do not deliver the message back to this connection. */
  echo?: boolean;
}

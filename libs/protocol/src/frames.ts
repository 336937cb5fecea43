// Frame types of the client protocol: the shapes on the wire (msgpack maps) and the
// checked shapes the server works with after decoding. docs/protocol.md is the prose twin.
import type { ChannelName } from './channels.js';

/** Version of this protocol; a client may name it in `connect.v`. */
export const PROTOCOL_VERSION = 1;

/** The `t` field of every frame. Client frames are below 100, server frames from 101. */
export const FrameType = {
  Connect: 1,
  Subscribe: 2,
  Unsubscribe: 3,
  Publish: 4,
  Ephemeral: 5,
  Refresh: 6,
  History: 7,
  Members: 8,
  Connected: 101,
  Reply: 102,
  Message: 103,
  EphemeralMessage: 104,
  Presence: 105,
  Error: 106,
  Reconnect: 107,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** A position in a channel's history: the epoch names the history's lifetime, seq counts from 1. */
export interface StreamPosition {
  ep: string;
  seq: number;
}

/**
 * The position of a channel that has no message yet: before the first message of whatever
 * epoch comes. A subscribe reply carries it for an empty channel; `since` accepts it and
 * replays from seq 1 of the channel's current epoch (`recovered: false` if seq 1 was trimmed).
 * Any position with `seq` 0 means the same (its `ep` is not compared).
 */
export const BEFORE_FIRST: Readonly<StreamPosition> = Object.freeze({ ep: '', seq: 0 });

// ---- client -> server, as a client writes them ----

/**
 * `psince`: where the personal channel (`user:<id>`, subscribed by the server at connect)
 * resumes from, as `subscribe.since` does for other channels; the answer is `connected.psub`.
 */
export interface ConnectFrame { t: 1; v?: number; token?: string; client?: string; psince?: StreamPosition }
export interface SubscribeFrame { t: 2; id: number; ch: string; since?: StreamPosition }
export interface UnsubscribeFrame { t: 3; id: number; ch: string }
export interface PublishFrame { t: 4; id: number; ch: string; data: unknown; key?: string; echo?: boolean }
export interface EphemeralFrame { t: 5; ch: string; data: unknown }
/** Replaces the connection's token before it expires: same user, new expiry and rights. */
export interface RefreshFrame { t: 6; id: number; token: string }
/**
 * Reads stored messages of a subscribed channel: after `since` (a gap the client saw), or
 * without it the newest ones. At most `limit` (1-1000, default 100) per request.
 */
export interface HistoryFrame { t: 7; id: number; ch: string; since?: StreamPosition; limit?: number }
/** Who is present in a channel now (the presence service's members), for a channel the connection may subscribe to. */
export interface MembersFrame { t: 8; id: number; ch: string }
export type ClientFrame = ConnectFrame | SubscribeFrame | UnsubscribeFrame | PublishFrame | EphemeralFrame | RefreshFrame | HistoryFrame | MembersFrame;

// ---- client -> server, as the server holds them after strict decoding ----

export interface InboundConnect { t: 1; v: number; token: string | undefined; client: string | undefined; psince: StreamPosition | undefined }
export interface InboundSubscribe { t: 2; id: number; ch: ChannelName; since: StreamPosition | undefined }
export interface InboundUnsubscribe { t: 3; id: number; ch: ChannelName }
export interface InboundPublish {
  t: 4;
  id: number;
  ch: ChannelName;
  /** The `data` value, re-encoded as exactly one msgpack value: stored and forwarded as is. */
  payload: Uint8Array;
  key: string | undefined;
  /** false: do not deliver this message back to the publishing connection. */
  echo: boolean;
}
export interface InboundEphemeral { t: 5; ch: ChannelName; payload: Uint8Array }
export interface InboundRefresh { t: 6; id: number; token: string }
export interface InboundHistory { t: 7; id: number; ch: ChannelName; since: StreamPosition | undefined; limit: number }
export interface InboundMembers { t: 8; id: number; ch: ChannelName }
export type InboundFrame = InboundConnect | InboundSubscribe | InboundUnsubscribe | InboundPublish | InboundEphemeral | InboundRefresh | InboundHistory | InboundMembers;

// ---- server -> client ----

export interface ConnectedFrame {
  t: 101;
  v: number;
  /** This connection's id, unique across the cluster. */
  client: string;
  user: string;
  /** Server limits the client should respect. `pub`: largest publish/ephemeral payload in bytes. */
  limits: { frame: number; subs: number; pub?: number };
  /** The personal channel (`user:<id>`) the server subscribed this connection to, for token users. */
  personal?: string;
  /**
   * The personal channel's subscribe answer, exactly as a subscribe reply for it would be
   * (`recovered` when the connect carried `psince`; `ep`/`seq`: its start, or where live
   * delivery continues after `recovered: false`). Absent from servers that predate it.
   */
  psub?: PersonalSubscription;
  /** When the connection closes with 4006 unless a `refresh` arrives first, ms since the Unix epoch. */
  exp?: number;
}
/** Success answer to a request frame (subscribe, unsubscribe, publish), matched by `id`. */
export interface ReplyFrame {
  t: 102;
  id: number;
  /** subscribe with `since`: false means the missed messages could not be delivered; reload state. */
  recovered?: boolean;
  /** publish: the message was a duplicate of one already accepted with the same key. */
  dup?: boolean;
  /**
   * subscribe without `since`: the subscription's start, the channel's newest message when
   * it was made (`BEFORE_FIRST` for an empty channel); store it as the position to resume
   * from. subscribe with `since` and `recovered: false`: the position live delivery
   * continues after (reload state as of it). history: the channel's newest position.
   */
  ep?: string;
  seq?: number;
  /** history: the stored `message` frames read, ascending by seq. */
  msgs?: MessageFrame[];
  /** history: more messages follow the last one returned (ask again after it). */
  more?: boolean;
  /** refresh: the connection's new expiry, ms since the Unix epoch (absent: the token has no exp). */
  exp?: number;
  /**
   * members: who is present now, one entry per user (`client`: one of its connections);
   * absent when the channel has more members than the presence service lists (`count` only).
   */
  members?: PresenceMember[];
  /** members: how many users are present. */
  count?: number;
  /** members: the presence service is still rebuilding its state (after a start): the list may be short. */
  partial?: boolean;
}
export interface MessageFrame {
  t: 103;
  ch: string;
  seq: number;
  ep: string;
  /** Publish time, milliseconds since the Unix epoch, set by the server. */
  ts: number;
  /** Publishing user id, set by the server from the connection's identity; absent for backend publishes without one. */
  from?: string;
  /** The publisher's idempotency key, when it gave one. */
  key?: string;
  /** In a member's `user:` inbox: the group (`group:<g>`) the message was published to. */
  grp?: string;
  /**
   * Sent only to a publisher that asked `echo: false`, in place of its own message: the seq is
   * taken (advance the tracked position), there is no `data` to apply.
   */
  skip?: boolean;
  data: unknown;
}
export interface EphemeralMessageFrame { t: 104; ch: string; ts: number; from?: string; data: unknown }
export interface PresenceMember { user: string; client: string }
export interface PresenceFrame { t: 105; ch: string; join?: PresenceMember[]; leave?: PresenceMember[]; count?: number }
/** `ep`/`seq`: with RecoveryImpossible, the channel's current position. */
export interface ErrorFrame { t: 106; id?: number; ch?: string; code: number; msg: string; ep?: string; seq?: number }
/** The personal channel's part of `connected`: the fields of a subscribe reply. */
export interface PersonalSubscription { recovered?: boolean; ep?: string; seq?: number }
export interface ReconnectFrame { t: 107; delay: number; reason: string }
export type ServerFrame =
  | ConnectedFrame
  | ReplyFrame
  | MessageFrame
  | EphemeralMessageFrame
  | PresenceFrame
  | ErrorFrame
  | ReconnectFrame;

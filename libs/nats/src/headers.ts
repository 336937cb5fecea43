// Every NATS header name the services exchange, in one place. Values are ASCII text.

export const Header = {
  /** JetStream de-duplication id (standard NATS header). */
  MsgId: 'Nats-Msg-Id',
  /** Ingest: the publishing user, set by the edge from the connection's identity. */
  From: 'Rt-From',
  /** Ingest: the publisher's idempotency key, echoed in the message frame. */
  Key: 'Rt-Key',
  /**
   * Ingest, history and live: the publishing connection id, when it asked not to receive its
   * own message. Stored with the history message, so the copy the history stream republishes
   * live carries it too.
   */
  ExcludeClient: 'Rt-Exclude-Client',
  /** History: the message's per-channel sequence (decimal). */
  Seq: 'Rt-Seq',
  /** History: the channel's epoch when the message was stored. */
  Epoch: 'Rt-Epoch',
  /** History: publish time, milliseconds since the Unix epoch (decimal). */
  Time: 'Rt-Ts',
  /** Ingest: the group a member's copy of a group message came from (becomes `grp` in the frame). */
  Group: 'Rt-Group',
  /** Live: the frame carries no sequence (ephemeral or presence). */
  Ephemeral: 'Rt-Ephemeral',
} as const;
export type Header = (typeof Header)[keyof typeof Header];

// The messages between the bench orchestrator and its generator worker processes.
import type { DialectName, Role } from './dialects.js';

/**
 * Many small channels: connection number i (counted from the layout's first connection)
 * subscribes to channels `<ch><(i·perConnection + j) mod count>` for j < perConnection, so
 * each of the `count` channels gets exactly two subscribers (count = connections ·
 * perConnection / 2), like direct messages between pairs of users.
 */
export interface ChannelSpread {
  count: number;
  perConnection: number;
  /** Global index of the layout's first connection. */
  base: number;
}

export interface OpenRequest {
  op: 'open';
  host: string;
  port: number;
  dialect: DialectName;
  role: Role;
  ch: string;
  spread?: ChannelSpread;
  count: number;
  /** Global index of the first connection: spreads source addresses and names users. */
  first: number;
  /** Connections being set up at once. */
  concurrency: number;
  hs256Secret?: string;
  /**
   * Each subscriber also holds its user's own channel `user:u<index>`: Cascade and the token
   * peers do so by themselves from the token; NATS (no token) subscribes it explicitly.
   */
  personal?: boolean;
}

export type Request =
  | OpenRequest
  /** `spread`: publish round-robin over channels `<ch>0` … `<ch><spread-1>` instead of `ch`. */
  | { op: 'publish'; rate: number; durationMs: number; spread?: number }
  | { op: 'reset'; sinceUs: number }
  | { op: 'stats' }
  | { op: 'close' };

export interface OpenResult {
  opened: number;
  failed: number;
  errors: string[];
  ms: number;
  /** Handshake time of each opened connection (TCP connect → ready), histogram counts in µs. */
  hist: number[];
  maxUs: number;
}

export interface PublishResult {
  sent: number;
  acks: number;
  errors: number;
  /** Bytes the publisher could not hand to the kernel by the end (the server stopped reading). */
  backlogBytes: number;
}

export interface Stats {
  delivered: number;
  /** Deliveries of payloads sent before the last reset. */
  stale: number;
  hist: number[];
  maxUs: number;
  open: number;
  lost: number;
  lostReasons: string[];
}

export type Reply =
  | { op: 'reply'; seq: number; ok: true; result: unknown }
  | { op: 'reply'; seq: number; ok: false; error: string }
  | { op: 'progress'; opened: number; failed: number };

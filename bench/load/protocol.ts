// The messages between the bench orchestrator and its generator worker processes.
import type { DialectName, Role } from './dialects.js';

export interface OpenRequest {
  op: 'open';
  host: string;
  port: number;
  dialect: DialectName;
  role: Role;
  ch: string;
  count: number;
  /** Global index of the first connection: spreads source addresses and names users. */
  first: number;
  /** Connections being set up at once. */
  concurrency: number;
  hs256Secret?: string;
}

export type Request =
  | OpenRequest
  | { op: 'publish'; rate: number; durationMs: number }
  | { op: 'reset'; sinceUs: number }
  | { op: 'stats' }
  | { op: 'close' };

export interface OpenResult {
  opened: number;
  failed: number;
  errors: string[];
  ms: number;
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

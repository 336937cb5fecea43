// The shape of `window.cascadeDemo`: a read-only snapshot of what the page received, for
// browser tests and for curious people with a console. Plain data only: no client object, no
// token. Free of DOM types, so Node-side tests import it too.
import type { StatusView, Transport } from './status.js';

export interface ChatLine {
  seq: number;
  from: string | undefined;
  text: string;
}

export interface DemoHook {
  user: string;
  room: string;
  transport: Transport;
  url: string;
  /** The SDK's connection state. */
  state: string;
  status: StatusView;
  /** Seqs delivered per channel, in delivery order (exactly once each, if all is well). */
  received: Record<string, number[]>;
  epochs: Record<string, string>;
  chat: ChatLine[];
  members: string[];
  typing: string[];
  /** Missed messages recovered after reconnects since the page loaded. */
  recovered: number;
  recoveryImpossible: { channel: string; reason: string }[];
  connects: number;
  disconnects: number;
  /** EventSource objects created (SSE mode); the browser's own reconnect keeps it at 1. */
  eventSources: number;
  eventSourceUrls: readonly string[];
  errors: string[];
}

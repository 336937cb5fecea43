// What the connection banner says, free of the DOM: the page feeds it the SDK's events (and
// the channels' recovery news) and renders `view(now)`. Kept pure so it is unit-tested.

export type Transport = 'websocket' | 'sse';

export type StatusKind = 'connecting' | 'connected' | 'reconnecting' | 'caught-up' | 'history-lost' | 'failed' | 'closed';

export interface StatusView {
  kind: StatusKind;
  text: string;
}

/** A channel whose missed messages could not be delivered (the SDK's onRecoveryImpossible). */
export interface LostHistory {
  channel: string;
  reason: string;
  /** Missing seqs, when known. */
  missing?: { from: number; to: number };
}

const TRANSPORT_NAME: Record<Transport, string> = { websocket: 'WebSocket', sse: 'SSE' };

export class ConnectionStatus {
  private kind: 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed' = 'idle';
  private everConnected = false;
  /** When the current connection came back after a loss (client clock); undefined on the first one. */
  private resumedAt: number | undefined;
  private retryAt: number | undefined;
  private reason = '';
  private failure = '';
  private readonly recoveredBy = new Map<string, number>();
  private lost: LostHistory[] = [];
  /** Missed messages recovered since the page loaded, over every reconnect. */
  recoveredTotal = 0;

  constructor(
    readonly transport: Transport,
    readonly url: string,
  ) {}

  connecting(): void {
    if (this.kind === 'idle') this.kind = 'connecting';
  }

  connected(now: number): void {
    this.resumedAt = this.everConnected ? now : undefined;
    this.everConnected = true;
    this.kind = 'connected';
    this.retryAt = undefined;
    this.recoveredBy.clear();
    this.lost = [];
  }

  /** The connection is gone; `delayMs` until the next attempt when the SDK said. */
  disconnected(now: number, reason: string, delayMs?: number): void {
    if (this.kind === 'failed' || this.kind === 'closed') return;
    this.kind = 'reconnecting';
    this.reason = reason;
    this.retryAt = delayMs === undefined ? undefined : now + delayMs;
  }

  failed(text: string): void {
    this.kind = 'failed';
    this.failure = text;
  }

  closed(): void {
    this.kind = 'closed';
  }

  /**
   * A stored message was delivered; true when it was published before this connection came
   * back, i.e. it was missed while disconnected and recovered by the resume.
   */
  delivered(channel: string, ts: number): boolean {
    if (this.resumedAt === undefined || ts >= this.resumedAt) return false;
    this.recoveredBy.set(channel, (this.recoveredBy.get(channel) ?? 0) + 1);
    this.recoveredTotal++;
    return true;
  }

  historyLost(l: LostHistory): void {
    this.lost.push(l);
  }

  /** Recovered messages per channel on the current connection. */
  recovered(): Record<string, number> {
    return Object.fromEntries(this.recoveredBy);
  }

  view(now: number): StatusView {
    const via = `via ${TRANSPORT_NAME[this.transport]} to ${this.url}`;
    switch (this.kind) {
      case 'idle':
      case 'connecting':
        return { kind: 'connecting', text: `Connecting ${via} …` };
      case 'failed':
        return { kind: 'failed', text: `Connection failed for good: ${this.failure || 'unknown error'}. Reload the page to try again.` };
      case 'closed':
        return { kind: 'closed', text: 'Connection closed.' };
      case 'reconnecting': {
        const why = this.reason ? ` (${this.reason})` : '';
        const wait = this.retryAt === undefined ? 'reconnecting …' : reconnectIn(this.retryAt - now);
        return { kind: 'reconnecting', text: `Disconnected${why}, ${wait}` };
      }
      case 'connected':
        break;
    }
    if (this.lost.length > 0) {
      const parts = this.lost.map((l) => `${l.channel}${l.missing ? ` (seq ${l.missing.from}–${l.missing.to})` : ''}: ${l.reason}`);
      return { kind: 'history-lost', text: `Connected ${via}, but history was lost: ${parts.join('; ')}. Older messages cannot be recovered.` };
    }
    if (this.resumedAt !== undefined) {
      const total = [...this.recoveredBy.values()].reduce((a, b) => a + b, 0);
      const per = [...this.recoveredBy].map(([ch, n]) => `${ch}: ${n}`).join(', ');
      const noun = total === 1 ? 'missed message' : 'missed messages';
      return { kind: 'caught-up', text: `Connected ${via}, caught up (${total} ${noun} recovered${per ? `: ${per}` : ''})` };
    }
    return { kind: 'connected', text: `Connected ${via}` };
  }
}

function reconnectIn(ms: number): string {
  if (ms <= 0) return 'reconnecting now …';
  return `reconnecting in ${Math.ceil(ms / 1000)} s`;
}

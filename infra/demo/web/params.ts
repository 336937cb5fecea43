// The page's options from its URL, free of the DOM: `?user=<name>`, `?transport=sse`,
// `?view=ticker`, and the chat room from the hash (`#room=<name>` or `#<name>`).
import type { Transport } from './status.js';

export const DEFAULT_ROOM = 'lobby';
export const TICKER_CHANNEL = 'demo:ticker';

export interface DemoParams {
  /** The user name asked for, when valid; undefined = ask for one. */
  user: string | undefined;
  room: string;
  /** `chat:<room>` */
  roomChannel: string;
  transport: Transport;
  view: 'chat' | 'ticker';
}

// Dev-token user ids and room names: short, printable, safe in a channel name and a URL.
const NAME = /^[A-Za-z0-9_-]{1,32}$/;

export function validName(name: string): boolean {
  return NAME.test(name);
}

export function parseParams(search: string, hash: string): DemoParams {
  const q = new URLSearchParams(search);
  const user = q.get('user') ?? undefined;
  const h = hash.replace(/^#/, '');
  const fromHash = new URLSearchParams(h).get('room') ?? (h.includes('=') ? null : h);
  const room = fromHash !== null && validName(fromHash) ? fromHash : DEFAULT_ROOM;
  return {
    user: user !== undefined && validName(user) ? user : undefined,
    room,
    roomChannel: `chat:${room}`,
    transport: q.get('transport') === 'sse' ? 'sse' : 'websocket',
    view: q.get('view') === 'ticker' ? 'ticker' : 'chat',
  };
}

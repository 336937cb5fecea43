// Opening an SDK connection for publish and tail: which edge, which identity (a given
// token, a development token minted for --user, or anonymous), and a deadline, because the
// SDK retries an unreachable edge forever and a command must fail instead.
import WebSocket from 'ws';
import { CascadeClient, type CascadeError, type WebSocketConstructor } from '@cascade/client';
import { durationOption, Failure, str, urlOption, UsageError, type Options, type Values } from './args.js';
import { checkSecret, checkUser, DEV_SECRET, mintToken } from './token.js';

export const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  user: { type: 'string' },
  secret: { type: 'string' },
  'connect-timeout': { type: 'string' },
} as const satisfies Options;

export const CONNECTION_HELP = `Connection:
  --url <ws-url>           edge WebSocket URL (env CASCADE_URL, default ws://127.0.0.1:8080/)
  --token <jwt>            sign in with this token (env CASCADE_TOKEN)
  --user <id>              sign in as <id> with a development token minted here for the
                           channels of this command (--secret or env CASCADE_JWT_SECRET,
                           default: the edge's development secret)
  --connect-timeout <d>    give up when not connected within <d> (default 5s)
  Neither --token nor --user: connect anonymously, if the edge allows it.`;

export interface ConnectionSettings {
  url: string;
  token?: string | undefined;
  /** Minting rights for --user: the channels the command uses. */
  user?: { id: string; secret: string } | undefined;
  connectTimeoutMs: number;
}

export function connectionSettings(values: Values, env: Record<string, string | undefined>): ConnectionSettings {
  const url = urlOption(values, 'url', env['CASCADE_URL'] ?? 'ws://127.0.0.1:8080/', ['ws:', 'wss:']);
  const token = str(values, 'token') ?? env['CASCADE_TOKEN'];
  const userId = str(values, 'user');
  if (userId !== undefined && str(values, 'token') !== undefined) throw new UsageError('give either --token or --user, not both');
  const user = userId === undefined ? undefined : { id: checkUser(userId), secret: checkSecret(str(values, 'secret') ?? env['CASCADE_JWT_SECRET'] ?? DEV_SECRET) };
  return {
    url: url.href,
    token: user === undefined ? token : undefined,
    user,
    connectTimeoutMs: durationOption(values, 'connect-timeout', 100, 600_000) ?? 5000,
  };
}

/**
 * A connected client. The token minted for --user may subscribe to `subs` and publish to
 * `pubs` (exactly the command's channels), valid for an hour; the client refreshes it.
 */
export async function openClient(s: ConnectionSettings, rights: { subs?: string[]; pubs?: string[] }, signal?: AbortSignal): Promise<CascadeClient> {
  const user = s.user;
  const token = user === undefined ? s.token : () => mintToken({ user: user.id, subs: rights.subs, pubs: rights.pubs, ttlMs: 3_600_000, secret: user.secret });
  const client = new CascadeClient({
    url: s.url,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    clientName: 'cascade-cli/0.1.0',
    connectTimeoutMs: Math.min(s.connectTimeoutMs, 10_000),
    // Quick first retries: a command waits at most --connect-timeout anyway.
    backoff: { initialMs: 200, maxMs: 2000, factor: 2 },
    ...(token === undefined ? {} : { token }),
  });
  let lastProblem = '';
  client.on('disconnected', (d) => {
    lastProblem = d.reason || `closed with code ${d.code}`;
  });
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Failure(`cannot connect to ${s.url} within ${s.connectTimeoutMs / 1000} s${lastProblem ? `: ${lastProblem}` : ''}. Is the edge running there? (npm start)`)), s.connectTimeoutMs);
    // Ctrl-C while still connecting ends the command at once.
    onAbort = () => reject(new Failure('interrupted while connecting'));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([client.connect(), deadline]);
    return client;
  } catch (err) {
    await client.close();
    if (err instanceof Failure) throw err;
    const e = err as CascadeError;
    throw new Failure(`the edge at ${s.url} refused the connection: ${e.codeName ?? ''} ${e.message}`.replace(/ {2,}/g, ' '), { cause: err });
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

/** "PermissionDenied: ..." for SDK errors, the message for anything else. */
export function describeError(err: unknown): string {
  const e = err as Partial<CascadeError> & { message?: string };
  if (typeof e?.codeName === 'string') return `${e.codeName}: ${e.message}`;
  return err instanceof Error ? err.message : String(err);
}

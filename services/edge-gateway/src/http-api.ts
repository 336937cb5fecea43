// The edge's HTTP server API for reading history: `GET /v1/channels/<ch>/history` and
// `/v1/channels/<ch>/position`, JSON out, answered through the history service. Free of
// uWS (transport.ts routes requests here), so it is tested without a server.
import { timingSafeEqual } from 'node:crypto';
import { ErrorCode, decodeServerFrame, parseChannel } from '@cascade/protocol';
import { HistoryRequestError, MAX_HISTORY_LIMIT, type HistoryPosition, type HistoryReadRequest, type HistoryReadResult } from '@cascade/nats';
import type { ChannelName } from '@cascade/protocol';

/** What the API needs from the history service (HistoryClient in production). */
export interface HistoryApiPort {
  read(request: HistoryReadRequest): Promise<HistoryReadResult>;
  position(ch: ChannelName): Promise<HistoryPosition>;
}

export interface HttpRequest {
  method: string;
  /** The raw path, percent-encoded as sent (a `/` inside a channel name is `%2F`). */
  path: string;
  /** The raw query string, without `?`. */
  query: string;
  authorization: string;
}

export interface HttpReply {
  status: number;
  /** Serialised as JSON; binary values inside messages become base64 strings. */
  body: unknown;
}

const ROUTE = /^\/v1\/channels\/([^/]+)\/(history|position)$/;

function fail(status: number, code: number, error: string, extra: object = {}): HttpReply {
  return { status, body: { code, error, ...extra } };
}

function keyMatches(expected: string, authorization: string): boolean {
  const given = Buffer.from(authorization.startsWith('Bearer ') ? authorization.slice(7) : '');
  const want = Buffer.from(expected);
  return given.length === want.length && timingSafeEqual(given, want);
}

function intParam(v: string | null, name: string, min: number, max: number): number | undefined | HttpReply {
  if (v === null) return undefined;
  const n = /^\d{1,16}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) return fail(400, ErrorCode.BadRequest, `${name} must be an integer from ${min} to ${max}`);
  return n;
}

function isReply(v: unknown): v is HttpReply {
  return typeof v === 'object' && v !== null && 'status' in v;
}

export class ServerApi {
  constructor(
    private readonly history: HistoryApiPort,
    /** When set, requests must carry `authorization: Bearer <key>`. */
    private readonly apiKey?: string,
  ) {}

  /** Whether this API serves `path` (other paths stay with the transport's own routes). */
  static handles(path: string): boolean {
    return path.startsWith('/v1/');
  }

  async handle(r: HttpRequest): Promise<HttpReply> {
    if (this.apiKey !== undefined && !keyMatches(this.apiKey, r.authorization)) return fail(401, ErrorCode.PermissionDenied, 'missing or wrong API key');
    const m = ROUTE.exec(r.path);
    if (!m) return fail(404, ErrorCode.BadRequest, 'no such endpoint; see /v1/channels/<channel>/history and /position');
    if (r.method !== 'get') return fail(405, ErrorCode.BadRequest, 'only GET is served');
    let raw: string;
    try {
      raw = decodeURIComponent(m[1]!);
    } catch {
      // A malformed escape is the client's mistake like any other bad name.
      return fail(400, ErrorCode.InvalidChannel, 'channel is not valid percent-encoding');
    }
    const ch = parseChannel(raw);
    if (!ch.ok) return fail(400, ErrorCode.InvalidChannel, ch.reason);
    try {
      if (m[2] === 'position') return { status: 200, body: await this.history.position(ch.channel.name) };
      const request = this.readRequest(ch.channel.name, new URLSearchParams(r.query));
      if (isReply(request)) return request;
      const result = await this.history.read(request);
      const messages = result.msgs.map((bytes) => {
        const d = decodeServerFrame(bytes);
        return d.ok ? d.frame : { undecodable: true };
      });
      const { msgs: _msgs, ...position } = result;
      return { status: 200, body: { ...position, messages } };
    } catch (err) {
      if (err instanceof HistoryRequestError) {
        const { code, msg, ep, seq, first } = err.reply;
        const status = code === ErrorCode.RecoveryImpossible ? 409 : code === ErrorCode.Unavailable ? 503 : 400;
        return fail(status, code, msg, ep === undefined ? {} : { ep, seq, first });
      }
      return fail(503, ErrorCode.Unavailable, 'the history service is unavailable; retry');
    }
  }

  private readRequest(ch: ChannelName, q: URLSearchParams): HistoryReadRequest | HttpReply {
    const from = intParam(q.get('from'), 'from', 0, Number.MAX_SAFE_INTEGER);
    if (isReply(from)) return from;
    const limit = intParam(q.get('limit'), 'limit', 1, MAX_HISTORY_LIMIT);
    if (isReply(limit)) return limit;
    const dir = q.get('dir') ?? 'fwd';
    if (dir !== 'fwd' && dir !== 'back') return fail(400, ErrorCode.BadRequest, "dir must be 'fwd' or 'back'");
    const ep = q.get('ep');
    if (ep !== null && ep.length > 64) return fail(400, ErrorCode.BadRequest, 'ep is longer than 64 characters');
    return { ch, dir, ...(from === undefined ? {} : { from }), ...(limit === undefined ? {} : { limit }), ...(ep === null ? {} : { ep }) };
  }
}

/** JSON for API bodies: binary payload values (msgpack bin) as base64 strings. */
export function toJson(body: unknown): string {
  return JSON.stringify(body, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v));
}

// The edge's HTTP server API: reading history (`GET /v1/channels/<ch>/history` and
// `/position`, through the history service), who is present (`/presence`, with the API key or
// a user token that may subscribe to the channel) and group membership (`GET/POST/DELETE
// /v1/groups/<g>/members`, through the group API), JSON in and out. Free of uWS
// (transport.ts routes requests here), so it is tested without a server.
import { publishFromHttp } from './http-publish.js';
import { bearerCredential } from './bearer.js';
import { looksLikeJwt, type UserPublisher } from './http-user.js';
import type { IngestPort } from './ingest.js';
import { presenceFailure, type PresenceMembersPort } from './presence-members.js';
import { authFailureStatus, type Authenticate } from './session.js';
import { timingSafeEqual } from 'node:crypto';
import { CloseCode, ErrorCode, decodeServerFrame, parseChannel } from '@cascade/protocol';
import {
  GroupRequestError,
  GroupVerb,
  HistoryRequestError,
  MAX_HISTORY_LIMIT,
  parseGroupRequest,
  type GroupReply,
  type HistoryPosition,
  type HistoryReadRequest,
  type HistoryReadResult,
} from '@cascade/nats';
import type { ChannelName } from '@cascade/protocol';

/** What the API needs from the history service (HistoryClient in production). */
export interface HistoryApiPort {
  read(request: HistoryReadRequest): Promise<HistoryReadResult>;
  position(ch: ChannelName): Promise<HistoryPosition>;
}

/** What the API needs for groups: the group API (GroupsClient) and this edge's membership cache. */
export interface GroupsApiPort {
  /** Throws GroupRequestError when the group API refuses the request. */
  call(verb: GroupVerb, request: { group: string; users?: string[] }): Promise<Extract<GroupReply, { ok: true }>>;
  /** Resolves once this edge's membership cache reflects bucket revision `rev`, so a subscribe here right after the reply is judged on it. */
  caughtUp(rev: number): Promise<void>;
}

export interface HttpRequest {
  method: string;
  /** The raw path, percent-encoded as sent (a `/` inside a channel name is `%2F`). */
  path: string;
  /** The raw query string, without `?`. */
  query: string;
  authorization: string;
  /** The request body (POST/DELETE), already bounded by the transport. */
  body?: Uint8Array;
}

export interface HttpReply {
  status: number;
  /** Serialised as JSON; binary values inside messages become base64 strings. */
  body: unknown;
}

const ROUTE = /^\/v1\/channels\/([^/]+)\/(history|position|messages|ephemeral|presence)$/;
const GROUP_ROUTE = /^\/v1\/groups\/([^/]+)\/members$/;
const GROUP_VERBS: Record<string, GroupVerb> = { get: GroupVerb.Members, post: GroupVerb.Add, delete: GroupVerb.Remove };

function fail(status: number, code: number, error: string, extra: object = {}): HttpReply {
  return { status, body: { code, error, ...extra } };
}

function keyMatches(expected: string, authorization: string): boolean {
  const given = Buffer.from(bearerCredential(authorization) ?? '');
  const want = Buffer.from(expected);
  return given.length === want.length && timingSafeEqual(given, want);
}

function intParam(v: string | null, name: string, min: number, max: number): number | undefined | HttpReply {
  if (v === null) return undefined;
  const n = /^\d{1,16}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) return fail(400, ErrorCode.BadRequest, `${name} must be an integer from ${min} to ${max}`);
  return n;
}

/** The channel of a path segment (percent-encoded as sent), or the 400 answer. */
function channelOf(segment: string): ChannelName | HttpReply {
  let raw: string;
  try {
    raw = decodeURIComponent(segment);
  } catch {
    // A malformed escape is the client's mistake like any other bad name.
    return fail(400, ErrorCode.InvalidChannel, 'channel is not valid percent-encoding');
  }
  const ch = parseChannel(raw);
  return ch.ok ? ch.channel.name : fail(400, ErrorCode.InvalidChannel, ch.reason);
}

function isReply(v: unknown): v is HttpReply {
  return typeof v === 'object' && v !== null && 'status' in v;
}

export class ServerApi {
  constructor(
    private readonly history: HistoryApiPort,
    /** When set, requests must carry `authorization: Bearer <key>`. */
    private readonly apiKey?: string,
    /** Group membership endpoints; unset = not served (404). */
    private readonly groups?: GroupsApiPort,
    /** Publishing (`POST .../messages`); served only when an API key is set. */
    private readonly publisher?: { ingest: IngestPort; maxPublishBytes: number },
    /** Publishing with a user's token (`POST .../messages` and `.../ephemeral`, Bearer <JWT>); unset = not served. */
    private readonly users?: UserPublisher,
    /** `GET .../presence`: the presence service, and how user tokens are checked; unset = 503. */
    private readonly presence?: { port: PresenceMembersPort; authenticate: Authenticate },
  ) {}

  /** Whether this API serves `path` (other paths stay with the transport's own routes). */
  static handles(path: string): boolean {
    return path.startsWith('/v1/');
  }

  async handle(r: HttpRequest): Promise<HttpReply> {
    const m = ROUTE.exec(r.path);
    const route = m?.[2];
    // A user's token (not the API key) publishes as that user, like a WebSocket publish.
    const userToken = this.userTokenOf(r);
    if (m && userToken !== undefined && this.users && r.method === 'post' && (route === 'messages' || route === 'ephemeral')) {
      const ch = channelOf(m[1]!);
      if (isReply(ch)) return ch;
      return this.users.handle(route, ch, userToken, r.body ?? new Uint8Array());
    }
    if (m && route === 'presence' && userToken !== undefined) {
      if (r.method !== 'get') return fail(405, ErrorCode.BadRequest, 'only GET is served');
      const ch = channelOf(m[1]!);
      if (isReply(ch)) return ch;
      return this.presenceOf(ch, userToken);
    }
    if (this.apiKey !== undefined && !keyMatches(this.apiKey, r.authorization)) return fail(401, ErrorCode.PermissionDenied, 'missing or wrong API key');
    const g = GROUP_ROUTE.exec(r.path);
    if (g && this.groups) return this.groupMembers(g[1]!, r, this.groups);
    if (!m) return fail(404, ErrorCode.BadRequest, 'no such endpoint; see /v1/channels/<channel>/history, /position, /messages and /ephemeral, /v1/groups/<group>/members');
    const publishing = route === 'messages' || route === 'ephemeral';
    if (r.method !== (publishing ? 'post' : 'get')) return fail(405, ErrorCode.BadRequest, publishing ? 'only POST is served' : 'only GET is served');
    if (route === 'ephemeral') return fail(401, CloseCode.Unauthorized, 'ephemeral messages need a user token: authorization: Bearer <JWT>');
    // Anyone who reaches the port could publish as anyone: never without a key.
    if (publishing && (this.apiKey === undefined || !this.publisher)) return fail(403, ErrorCode.PermissionDenied, 'HTTP publishing is off: set EDGE_API_KEY, or publish with a user token');
    const ch = channelOf(m[1]!);
    if (isReply(ch)) return ch;
    if (publishing) return publishFromHttp(ch, r.body ?? new Uint8Array(), this.publisher!);
    if (route === 'presence') return this.presenceOf(ch);
    try {
      if (route === 'position') return { status: 200, body: await this.history.position(ch) };
      const request = this.readRequest(ch, new URLSearchParams(r.query));
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

  /**
   * Who is present in `ch`: with a user token only when it may subscribe to the channel (as a
   * WebSocket `members` request); without one the caller passed the API key check.
   */
  private async presenceOf(ch: ChannelName, userToken?: string): Promise<HttpReply> {
    const p = this.presence;
    if (!p) return fail(503, ErrorCode.Unavailable, 'presence is not available on this server');
    if (userToken !== undefined) {
      const auth = await p.authenticate(userToken, `http-presence`);
      if (!auth.ok) return fail(authFailureStatus(auth.code), auth.code, auth.reason);
      if (!auth.identity.may('subscribe', ch)) return fail(403, ErrorCode.PermissionDenied, `not allowed to subscribe to ${ch}`, { ch });
    }
    try {
      return { status: 200, body: { ch, ...(await p.port.members(ch)) } };
    } catch (err) {
      const e = presenceFailure(err);
      return fail(e.code === ErrorCode.Unavailable ? 503 : 400, e.code, e.message);
    }
  }

  /** The bearer credential of a request when it is a user's token: JWT-shaped and not the API key. */
  private userTokenOf(r: HttpRequest): string | undefined {
    const bearer = bearerCredential(r.authorization);
    if (bearer === undefined || !looksLikeJwt(bearer)) return undefined;
    if (this.apiKey !== undefined && keyMatches(this.apiKey, r.authorization)) return undefined;
    return bearer;
  }

  /** GET lists the members; POST adds and DELETE removes the users of a body `{"users": [...]}`. */
  private async groupMembers(rawGroup: string, r: HttpRequest, groups: GroupsApiPort): Promise<HttpReply> {
    const verb = GROUP_VERBS[r.method];
    if (verb === undefined) return fail(405, ErrorCode.BadRequest, 'GET, POST and DELETE are served');
    let group: string;
    try {
      group = decodeURIComponent(rawGroup);
    } catch {
      // A malformed escape is the client's mistake like any other bad name.
      return fail(400, ErrorCode.BadRequest, 'group is not valid percent-encoding');
    }
    let body: Record<string, unknown> = {};
    if (verb !== GroupVerb.Members) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(r.body ?? new Uint8Array()).toString('utf8'));
      } catch {
        // Anything that is not JSON is a bad request, said so rather than guessed at.
        return fail(400, ErrorCode.BadRequest, 'the body must be JSON: {"users": ["<user id>", ...]}');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail(400, ErrorCode.BadRequest, 'the body must be a JSON object: {"users": [...]}');
      body = parsed as Record<string, unknown>;
    }
    const request = parseGroupRequest(verb, { users: body['users'], group });
    if (!request.ok) return fail(400, ErrorCode.BadRequest, request.reason);
    try {
      const reply = await groups.call(verb, verb === GroupVerb.Members ? { group } : { group, users: request.request.users });
      // Admit subscribes on this edge by the new membership before saying it is done.
      await groups.caughtUp(reply.rev);
      const { ok: _ok, ...answer } = reply;
      return { status: 200, body: answer };
    } catch (err) {
      if (err instanceof GroupRequestError) return fail(err.reply.code === ErrorCode.BadRequest ? 400 : 503, err.reply.code, err.reply.msg);
      return fail(503, ErrorCode.Unavailable, 'the group service is unavailable; retry');
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

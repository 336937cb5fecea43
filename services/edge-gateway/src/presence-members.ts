// "Who is here now" for clients: the edge asks the presence service for a channel's members
// (request-reply `rt.svc.presence.members`, docs/presence.md) on behalf of a WebSocket `members`
// frame (t:8) or `GET /v1/channels/<ch>/presence`, after checking the asker may subscribe to
// the channel. The answer is turned into the client shape here (pure, unit-tested); the NATS
// request is a thin adapter.
import type { NatsConnection } from '@nats-io/nats-core';
import { ErrorCode, type ChannelName, type PresenceMember } from '@cascade/protocol';
import { PresenceSubjects, type Contract } from '@cascade/nats';

/** What a client gets: one entry per present user (`client`: one of its connections). */
export interface ChannelPresence {
  /** Absent when the channel has more members than the presence service lists. */
  members?: PresenceMember[];
  count: number;
  /** The presence service is still rebuilding its state: the list may miss someone. */
  partial?: boolean;
}

/** Why a members request could not be answered, with the registry code to send. */
export class PresenceQueryError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PresenceQueryError';
  }
}

/** The presence service as the edge needs it; throws PresenceQueryError. */
export interface PresenceMembersPort {
  members(ch: ChannelName): Promise<ChannelPresence>;
}

const UNAVAILABLE = 'the presence service is unavailable; retry';

/** The error to answer a failed members request with: its own, or Unavailable for anything unexpected. */
export function presenceFailure(err: unknown): PresenceQueryError {
  return err instanceof PresenceQueryError ? err : new PresenceQueryError(ErrorCode.Unavailable, UNAVAILABLE);
}

/**
 * Checks and converts the service's answer (JSON `MembersAnswer` or `{error}`); anything
 * malformed is the service's fault, reported as Unavailable rather than passed on.
 */
export function toChannelPresence(answer: unknown): ChannelPresence {
  if (typeof answer !== 'object' || answer === null) throw new PresenceQueryError(ErrorCode.Unavailable, UNAVAILABLE);
  const a = answer as Record<string, unknown>;
  // The service refuses channels whose namespace has presence switched off (`user` by default).
  if (typeof a['error'] === 'string') throw new PresenceQueryError(ErrorCode.BadRequest, `no presence for this channel: ${a['error']}`);
  const count = a['count'];
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) throw new PresenceQueryError(ErrorCode.Unavailable, UNAVAILABLE);
  const out: ChannelPresence = { count };
  if (Array.isArray(a['members'])) {
    out.members = [];
    for (const m of a['members'] as unknown[]) {
      const { user, clients } = (m ?? {}) as { user?: unknown; clients?: unknown };
      const client = Array.isArray(clients) ? clients.find((c): c is string => typeof c === 'string') : undefined;
      if (typeof user === 'string' && client !== undefined) out.members.push({ user, client });
    }
  }
  if (a['partial'] === true) out.partial = true;
  return out;
}

/** Asks the presence service over NATS, with a deadline; no responder or no answer = Unavailable. */
export class NatsPresenceMembers implements PresenceMembersPort {
  private readonly subject: string;

  constructor(
    private readonly nc: NatsConnection,
    contract: Contract,
    private readonly timeoutMs: number,
  ) {
    this.subject = new PresenceSubjects(contract).members;
  }

  async members(ch: ChannelName): Promise<ChannelPresence> {
    let answer: unknown;
    try {
      const m = await this.nc.request(this.subject, JSON.stringify({ ch }), { timeout: this.timeoutMs });
      answer = m.json();
    } catch (cause) {
      throw new PresenceQueryError(ErrorCode.Unavailable, UNAVAILABLE + (cause instanceof Error ? ` (${cause.message})` : ''));
    }
    return toChannelPresence(answer);
  }
}

// "Who is here now": the members answer of the edge (a WebSocket reply to a `members`
// request, or the JSON of GET /v1/channels/<ch>/presence) as the list Subscription.presence()
// resolves with. Pure, shared by both transports.
import type { PresenceMember } from '@cascade/protocol';
import type { PresenceList } from './types.js';

/** A members answer (WebSocket reply or HTTP body) as the list the application gets; checked field by field. */
export function presenceList(a: { members?: unknown; count?: unknown; partial?: unknown }): PresenceList {
  const members = (Array.isArray(a.members) ? a.members : []).filter(
    (m): m is PresenceMember => typeof m === 'object' && m !== null && typeof (m as PresenceMember).user === 'string' && typeof (m as PresenceMember).client === 'string',
  );
  const count = typeof a.count === 'number' && Number.isSafeInteger(a.count) && a.count >= 0 ? a.count : members.length;
  return Object.assign(members.map((m) => ({ user: m.user, client: m.client })), { count, partial: a.partial === true });
}


// Hybrid group fan-out (docs/architecture.md, "Groups"). A publish on `group:<g>` with at
// most GROUP_FANOUT_THRESHOLD members is re-published as one ingest message per member into
// that member's `user:<id>` channel, whose partition owner sequences it like any message; a
// larger group is sequenced once in `group:<g>` itself. Also serves the group API
// (`<prefix>.svc.groups.*`) from the same membership cache.
import type { JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import type { Logger } from '@cascade/log';
import {
  GroupVerb,
  Header,
  fanoutGroupOf,
  groupsSubject,
  parseGroupRequest,
  type Contract,
  type GroupMembership,
  type GroupReply,
} from '@cascade/nats';
import { ErrorCode, parseChannel, type ChannelName } from '@cascade/protocol';
import type { IngestMessage } from './ingest.js';

export type GroupMode = 'inbox' | 'channel';

/** Small groups fan out on write into members' inboxes; larger ones are stored once (fan-out on read). */
export function fanoutMode(members: number, threshold: number): GroupMode {
  return members <= threshold ? 'inbox' : 'channel';
}

/**
 * `Nats-Msg-Id` of a member's copy: the group message's ingest sequence (unique in the ingest
 * stream) and the member. A redelivered group message re-publishes the same ids, so within
 * the duplicate window no member ever gets a copy twice.
 */
export function memberCopyId(ingestSeq: number, user: string): string {
  return `grp|${ingestSeq}|${user}`;
}

/** `user:<id>` of a member (ids are validated to be channel-safe when they are written). */
export function inboxOf(user: string): ChannelName {
  const parsed = parseChannel(`user:${user}`);
  if (!parsed.ok) throw new RangeError(`member id ${JSON.stringify(user)} cannot name a personal channel`);
  return parsed.channel.name;
}

/** Copies one group message is published in flight at once (bounds memory and pending acks). */
const COPY_BATCH = 128;

export type GroupOutcome = 'sequence' | 'fanned-out' | 'not-owner';

export class GroupFanout {
  constructor(
    private readonly js: JetStreamClient,
    private readonly contract: Contract,
    private readonly membership: GroupMembership,
    private readonly threshold: number,
    private readonly log: Logger,
  ) {}

  /**
   * 'sequence': not a small-group message, store it in its own channel as usual.
   * 'fanned-out': every member's copy is stored in the ingest stream (ack the group message).
   * 'not-owner': ownership ended on the way; nothing more may be done with it.
   * Throws when a copy could not be stored: the caller retries the whole message, and the
   * copies already stored are recognised by their ids.
   */
  async deliver(m: IngestMessage, owns: () => boolean): Promise<GroupOutcome> {
    const group = fanoutGroupOf(m.channel);
    if (group === undefined) return 'sequence';
    // Read-your-writes: a member added before this message was published is in the cache.
    await this.membership.sync();
    const members = this.membership.members(group);
    if (fanoutMode(members.length, this.threshold) === 'channel') return 'sequence';
    if (members.length === 0) {
      this.log.info({ group, seq: m.ingestSeq }, 'group message with no members dropped');
      return 'fanned-out';
    }
    for (let i = 0; i < members.length; i += COPY_BATCH) {
      if (!owns()) return 'not-owner';
      await Promise.all(members.slice(i, i + COPY_BATCH).map((user) => this.copy(m, group, user)));
    }
    return 'fanned-out';
  }

  private async copy(m: IngestMessage, group: string, user: string): Promise<void> {
    const h = natsHeaders();
    if (m.from !== undefined) h.set(Header.From, m.from);
    if (m.key !== undefined) h.set(Header.Key, m.key);
    h.set(Header.Group, group);
    await this.js.publish(this.contract.ingest(inboxOf(user)), m.payload, { msgID: memberCopyId(m.ingestSeq, user), headers: h });
  }
}

/** Answers `<prefix>.svc.groups.{add,remove,members}` (queue group `groups`: any worker may answer). */
export function serveGroupApi(nc: NatsConnection, contract: Contract, membership: GroupMembership, threshold: number, log: Logger): Subscription {
  const prefix = groupsSubject(contract, '*').slice(0, -1);
  return nc.subscribe(groupsSubject(contract, '*'), {
    queue: 'groups',
    callback: (err, msg) => {
      if (err) {
        log.warn({ err }, 'group API subscription failed');
        return;
      }
      const respond = (reply: GroupReply) => msg.respond(JSON.stringify(reply));
      const verb = msg.subject.slice(prefix.length);
      if (verb !== GroupVerb.Add && verb !== GroupVerb.Remove && verb !== GroupVerb.Members) {
        respond({ ok: false, code: ErrorCode.BadRequest, msg: `unknown verb ${verb}; use add, remove or members` });
        return;
      }
      let body: unknown;
      try {
        body = msg.json();
      } catch {
        // Not JSON: the caller's mistake, answered like any other bad request.
        respond({ ok: false, code: ErrorCode.BadRequest, msg: 'the request body must be JSON' });
        return;
      }
      const parsed = parseGroupRequest(verb, body);
      if (!parsed.ok) {
        respond({ ok: false, code: ErrorCode.BadRequest, msg: parsed.reason });
        return;
      }
      const { group, users } = parsed.request;
      void (async () => {
        if (verb === GroupVerb.Add) await membership.add(group, users);
        else if (verb === GroupVerb.Remove) await membership.remove(group, users);
        // Answer from a cache that includes this change, so the caller reads its own write.
        const rev = await membership.sync();
        const count = membership.size(group);
        if (verb === GroupVerb.Members) {
          respond({ ok: true, group, count, rev, members: membership.members(group), mode: fanoutMode(count, threshold) });
        } else {
          log.info({ group, verb, users: users.length, count }, 'group membership changed');
          respond({ ok: true, group, count, rev });
        }
      })().catch((e: unknown) => {
        log.warn({ err: e, group, verb }, 'group API request failed');
        respond({ ok: false, code: ErrorCode.Unavailable, msg: 'group membership store unavailable; retry' });
      });
    },
  });
}

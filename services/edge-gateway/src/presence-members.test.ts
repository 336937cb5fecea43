import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@cascade/protocol';
import { PresenceQueryError, toChannelPresence } from './presence-members.js';

describe('toChannelPresence', () => {
  it('lists one entry per user with one of its connections, and keeps count and partial', () => {
    expect(toChannelPresence({ ch: 'chat:a', count: 2, members: [{ user: 'alice', clients: ['c1', 'c2'] }, { user: 'bob', clients: ['c3'] }], partial: false })).toEqual({
      count: 2,
      members: [{ user: 'alice', client: 'c1' }, { user: 'bob', client: 'c3' }],
    });
    expect(toChannelPresence({ ch: 'chat:a', count: 500, partial: true })).toEqual({ count: 500, partial: true });
  });

  it('turns a refusal into BadRequest and a malformed answer into Unavailable', () => {
    const err = (a: unknown) => {
      try {
        toChannelPresence(a);
      } catch (e) {
        return e instanceof PresenceQueryError ? e.code : e;
      }
      return undefined;
    };
    expect(err({ error: 'channel presence is switched off for namespace "user"' })).toBe(ErrorCode.BadRequest);
    for (const bad of [null, 'x', { count: -1 }, { members: [] }]) expect(err(bad)).toBe(ErrorCode.Unavailable);
  });
});

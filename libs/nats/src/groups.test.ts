// Group names, member ids, the bucket's key layout, the membership index and request
// validation: the pure parts of group membership.
import { describe, expect, it } from 'vitest';
import {
  GroupVerb,
  MAX_USERS_PER_REQUEST,
  MembershipIndex,
  fanoutGroupOf,
  groupChannel,
  groupOf,
  isGroupName,
  isMemberId,
  memberKey,
  parseGroupRequest,
  parseMemberKey,
} from './groups.js';

describe('group names and member ids', () => {
  it('accepts the channel alphabet without ":" and refuses NATS syntax, anonymous ids and overlong names', () => {
    expect(isGroupName('team-1')).toBe(true);
    expect(isGroupName('a@b,c~d=e/f_g')).toBe(true);
    expect(isGroupName('x'.repeat(122))).toBe(true);
    for (const bad of ['', 'x'.repeat(123), 'a.b', 'a*', 'a>', 'a b', 'a:b', 'é', 42, null]) expect(isGroupName(bad)).toBe(false);
    expect(isMemberId('alice')).toBe(true);
    expect(isMemberId('anon-1')).toBe(false);
    expect(isMemberId('a.b')).toBe(false);
    expect(isMemberId('x'.repeat(124))).toBe(false);
  });

  it('names group channels and finds the group of a channel', () => {
    expect(groupChannel('team')).toBe('group:team');
    expect(() => groupChannel('a.b')).toThrow(RangeError);
    expect(groupOf('group:team')).toBe('team');
    expect(groupOf('group:team:files')).toBe('team');
    expect(groupOf('chat:team')).toBeUndefined();
    expect(fanoutGroupOf('group:team')).toBe('team');
    expect(fanoutGroupOf('group:team:files')).toBeUndefined();
    expect(fanoutGroupOf('user:team')).toBeUndefined();
  });
});

describe('member keys', () => {
  it('are valid KV keys, readable, and decode back exactly', () => {
    expect(memberKey('team', 'alice')).toBe('team.alice');
    const odd = { group: 'a=b@c', user: 'u,1~x' };
    const key = memberKey(odd.group, odd.user);
    expect(key).toMatch(/^[-/=.\w]+$/);
    expect(key).toBe('a=3Db=40c.u=2C1=7Ex');
    expect(parseMemberKey(key)).toEqual(odd);
  });

  it('ignores keys this layout never writes', () => {
    for (const bad of ['team', 'a.b.c', 'team.anon-1', 'a=3d.b', '.x', 'x.']) expect(parseMemberKey(bad)).toBeUndefined();
  });
});

describe('MembershipIndex', () => {
  it('applies adds and removes, reporting only real changes', () => {
    const ix = new MembershipIndex();
    expect(ix.apply('g', 'bob', true)).toBe(true);
    expect(ix.apply('g', 'alice', true)).toBe(true);
    expect(ix.apply('g', 'alice', true)).toBe(false);
    expect(ix.members('g')).toEqual(['alice', 'bob']);
    expect(ix.size('g')).toBe(2);
    expect(ix.has('g', 'bob')).toBe(true);
    expect(ix.apply('g', 'carol', false)).toBe(false);
    expect(ix.apply('g', 'bob', false)).toBe(true);
    expect(ix.has('g', 'bob')).toBe(false);
    expect(ix.apply('g', 'alice', false)).toBe(true);
    expect(ix.size('g')).toBe(0);
    expect(ix.members('other')).toEqual([]);
  });
});

describe('parseGroupRequest', () => {
  it('validates the group and the user list, and drops repeated users', () => {
    expect(parseGroupRequest(GroupVerb.Add, { group: 'g', users: ['a', 'b', 'a'] })).toEqual({ ok: true, request: { group: 'g', users: ['a', 'b'] } });
    expect(parseGroupRequest(GroupVerb.Members, { group: 'g' })).toEqual({ ok: true, request: { group: 'g', users: [] } });
    const refused = [
      [GroupVerb.Add, null],
      [GroupVerb.Add, []],
      [GroupVerb.Add, { group: 'a.b', users: ['x'] }],
      [GroupVerb.Add, { group: 'g' }],
      [GroupVerb.Add, { group: 'g', users: [] }],
      [GroupVerb.Remove, { group: 'g', users: ['ok', 'not ok'] }],
      [GroupVerb.Remove, { group: 'g', users: ['anon-3'] }],
      [GroupVerb.Add, { group: 'g', users: Array.from({ length: MAX_USERS_PER_REQUEST + 1 }, (_, i) => `u${i}`) }],
    ] as const;
    for (const [verb, body] of refused) expect(parseGroupRequest(verb, body).ok, JSON.stringify(body)?.slice(0, 60)).toBe(false);
  });
});

// Groups at the edge, as pure functions: who may subscribe and publish on `group:` channels,
// and the HTTP membership endpoints (`/v1/groups/<g>/members`) against a fake group API.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@cascade/protocol';
import { GroupRequestError, MembershipIndex, type GroupVerb } from '@cascade/nats';
import { allowed, parseNamespaceDefaults, parsePatterns, type Subject } from './permissions.js';
import { ServerApi, type GroupsApiPort, type HistoryApiPort } from './http-api.js';

const everything = parseNamespaceDefaults('{"*":["subscribe","publish"]}');
const members = new MembershipIndex();
members.apply('team', 'alice', true);
members.apply('team', 'bob', true);

function user(name: string, pubs: string[] = [], subs: string[] = []): Subject {
  const p = parsePatterns(pubs, 'pubs');
  const s = parsePatterns(subs, 'subs');
  if (!p.ok || !s.ok) throw new Error('bad test patterns');
  return { user: name, grants: { publish: p.patterns, subscribe: s.patterns } };
}

describe('group channel permissions', () => {
  it('lets members subscribe and publish, whatever the namespace defaults say', () => {
    for (const action of ['subscribe', 'publish'] as const) {
      expect(allowed(user('alice'), action, 'group:team', everything, members)).toBe(true);
      expect(allowed(user('alice'), action, 'group:team:files', everything, members)).toBe(true);
      expect(allowed(user('mallory'), action, 'group:team', everything, members)).toBe(false);
    }
    // Without a membership source nobody is a member.
    expect(allowed(user('alice'), 'subscribe', 'group:team', everything)).toBe(false);
  });

  it('refuses anonymous connections and broad patterns; a publish pattern naming group: lets a backend publish', () => {
    const anon: Subject = { user: 'anon-x', grants: { publish: [], subscribe: [] }, anonymous: { actions: new Set(['subscribe', 'publish']) } };
    expect(allowed(anon, 'subscribe', 'group:team', everything, members)).toBe(false);
    expect(allowed(user('svc', ['*'], ['*']), 'publish', 'group:team', everything, members)).toBe(false);
    expect(allowed(user('svc', ['*'], ['*']), 'subscribe', 'group:team', everything, members)).toBe(false);
    expect(allowed(user('svc', ['group:*']), 'publish', 'group:team', everything, members)).toBe(true);
    // Subscribing stays membership only, even with a pattern naming group:.
    expect(allowed(user('svc', [], ['group:*']), 'subscribe', 'group:team', everything, members)).toBe(false);
  });

  it('refuses to configure defaults for the group namespace', () => {
    expect(() => parseNamespaceDefaults('{"group":["subscribe"]}')).toThrow(/fixed rules/);
  });
});

class FakeGroups implements GroupsApiPort {
  calls: Array<{ verb: GroupVerb; request: unknown }> = [];
  synced: number[] = [];
  async call(verb: GroupVerb, request: { group: string; users?: string[] }) {
    this.calls.push({ verb, request });
    if (request.group === 'down') throw new Error('no responders');
    if (request.group === 'refused') throw new GroupRequestError({ code: ErrorCode.BadRequest, msg: 'no' });
    return { ok: true as const, group: request.group, count: 2, rev: 7, ...(verb === 'members' ? { members: ['a', 'b'], mode: 'inbox' as const } : {}) };
  }
  async caughtUp(rev: number) {
    this.synced.push(rev);
  }
}

const noHistory = {} as HistoryApiPort;
const req = (method: string, path: string, body?: unknown) => ({
  method,
  path,
  query: '',
  authorization: 'Bearer k',
  ...(body === undefined ? {} : { body: new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body)) }),
});

describe('HTTP group membership API', () => {
  it('adds, removes and lists members, and answers only once this edge has seen the change', async () => {
    const g = new FakeGroups();
    const api = new ServerApi(noHistory, 'k', g);
    expect(await api.handle(req('post', '/v1/groups/team/members', { users: ['a', 'b'] }))).toEqual({ status: 200, body: { group: 'team', count: 2, rev: 7 } });
    expect(await api.handle(req('delete', '/v1/groups/te%40m/members', { users: ['a'] }))).toMatchObject({ status: 200 });
    expect(await api.handle(req('get', '/v1/groups/team/members'))).toEqual({ status: 200, body: { group: 'team', count: 2, rev: 7, members: ['a', 'b'], mode: 'inbox' } });
    expect(g.calls).toEqual([
      { verb: 'add', request: { group: 'team', users: ['a', 'b'] } },
      { verb: 'remove', request: { group: 'te@m', users: ['a'] } },
      { verb: 'members', request: { group: 'team' } },
    ]);
    expect(g.synced).toEqual([7, 7, 7]);
  });

  it('refuses bad names, bodies, methods and keys before calling the group API', async () => {
    const g = new FakeGroups();
    const api = new ServerApi(noHistory, 'k', g);
    expect((await api.handle(req('post', '/v1/groups/a.b/members', { users: ['x'] }))).status).toBe(400);
    expect((await api.handle(req('post', '/v1/groups/%E0%A4%A/members', { users: ['x'] }))).status).toBe(400);
    expect((await api.handle(req('post', '/v1/groups/team/members', 'not json'))).status).toBe(400);
    expect((await api.handle(req('post', '/v1/groups/team/members', ['x']))).status).toBe(400);
    expect((await api.handle(req('post', '/v1/groups/team/members'))).status).toBe(400);
    expect((await api.handle(req('post', '/v1/groups/team/members', { users: ['ok', 'bad user'] }))).status).toBe(400);
    expect((await api.handle(req('put', '/v1/groups/team/members', { users: ['x'] }))).status).toBe(405);
    expect((await api.handle({ ...req('get', '/v1/groups/team/members'), authorization: 'Bearer nope' })).status).toBe(401);
    expect(g.calls).toEqual([]);
  });

  it('maps a refusal to 400 and an unreachable group API to 503', async () => {
    const api = new ServerApi(noHistory, undefined, new FakeGroups());
    expect((await api.handle(req('get', '/v1/groups/refused/members'))).status).toBe(400);
    expect(await api.handle(req('get', '/v1/groups/down/members'))).toMatchObject({ status: 503, body: { code: ErrorCode.Unavailable } });
  });

  it('is not served without a group API', async () => {
    expect((await new ServerApi(noHistory).handle(req('get', '/v1/groups/team/members'))).status).toBe(404);
  });
});

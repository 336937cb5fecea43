// Channel patterns, namespace defaults and the personal-channel rule, as pure functions.
import { describe, expect, it } from 'vitest';
import { allowed, matches, NO_GRANTS, parseNamespaceDefaults, parsePattern, parsePatterns, personalOwner, type Grants, type Pattern, type Subject } from './permissions.js';

function p(text: string): Pattern {
  const r = parsePattern(text);
  if (!r.ok) throw new Error(r.reason);
  return r.pattern;
}

describe('parsePattern', () => {
  it('accepts exact names, prefixes ending in one * and * alone', () => {
    expect(p('chat:lobby')).toEqual({ text: 'chat:lobby', prefix: 'chat:lobby', wildcard: false });
    expect(p('chat:*')).toEqual({ text: 'chat:*', prefix: 'chat:', wildcard: true });
    expect(p('chat:team-*')).toMatchObject({ prefix: 'chat:team-', wildcard: true });
    expect(p('*')).toMatchObject({ prefix: '', wildcard: true });
  });

  it('refuses NATS wildcards, inner stars, bad characters and empty namespaces', () => {
    for (const bad of ['', 'chat.*', 'chat:>', '>', 'a*b', '**', 'chat:*:x', 'ch at*', ':x*', ':x', 'x:', 'café*', 42, null]) {
      expect(parsePattern(bad).ok, String(bad)).toBe(false);
    }
  });

  it('parses lists and names the first bad entry', () => {
    expect(parsePatterns(['a', 'b:*'], 'subs')).toMatchObject({ ok: true });
    expect(parsePatterns('a', 'subs')).toMatchObject({ ok: false, reason: 'subs must be an array of channel patterns' });
    const bad = parsePatterns(['a', 'b.c'], 'subs');
    expect(!bad.ok && bad.reason).toContain('"b.c"');
    expect(parsePatterns(Array.from({ length: 3 }, () => 'a'), 'subs', 2).ok).toBe(false);
  });
});

describe('matches', () => {
  it('matches exact names exactly and prefixes on the channel string', () => {
    expect(matches(p('chat:lobby'), 'chat:lobby')).toBe(true);
    expect(matches(p('chat:lobby'), 'chat:lobby2')).toBe(false);
    expect(matches(p('chat:*'), 'chat:lobby')).toBe(true);
    expect(matches(p('chat:*'), 'chat:a:b')).toBe(true);
    expect(matches(p('chat:*'), 'chatter')).toBe(false);
    expect(matches(p('*'), 'anything')).toBe(true);
  });

  it('reaches personal channels only through patterns that name user: explicitly', () => {
    expect(matches(p('*'), 'user:42')).toBe(false);
    expect(matches(p('u*'), 'user:42')).toBe(false);
    expect(matches(p('user:*'), 'user:42')).toBe(true);
    expect(matches(p('user:42'), 'user:42')).toBe(true);
  });
});

describe('personalOwner', () => {
  it('is the id after user: up to the next colon', () => {
    expect(personalOwner('user:42')).toBe('42');
    expect(personalOwner('user:42:inbox')).toBe('42');
    expect(personalOwner('users:42')).toBeUndefined();
    expect(personalOwner('chat:user:42')).toBeUndefined();
  });
});

describe('parseNamespaceDefaults', () => {
  it('reads a JSON map of namespaces to actions', () => {
    const d = parseNamespaceDefaults('{"public":["subscribe"],"chat":["subscribe","publish"],"":[],"*":["subscribe"]}');
    expect([...d.get('chat')!]).toEqual(['subscribe', 'publish']);
    expect(d.get('')!.size).toBe(0);
  });

  it('refuses bad JSON, unknown actions, bad namespaces and the fixed user namespace', () => {
    expect(() => parseNamespaceDefaults('public=subscribe')).toThrow(/JSON object/);
    expect(() => parseNamespaceDefaults('[]')).toThrow(/JSON object/);
    expect(() => parseNamespaceDefaults('{"chat":["read"]}')).toThrow(/"subscribe" and "publish"/);
    expect(() => parseNamespaceDefaults('{"a.b":["subscribe"]}')).toThrow(/not a namespace/);
    expect(() => parseNamespaceDefaults('{"user":["subscribe"]}')).toThrow(/fixed rules/);
  });
});

describe('allowed', () => {
  const defaults = parseNamespaceDefaults('{"public":["subscribe"],"lobby":["subscribe","publish"]}');
  const grants = (subscribe: string[], publish: string[]): Grants => ({ subscribe: subscribe.map(p), publish: publish.map(p) });
  const alice: Subject = { user: 'alice', grants: grants(['chat:*'], ['chat:general']) };

  it('lets only the owner subscribe to a personal channel, whatever the patterns say', () => {
    expect(allowed(alice, 'subscribe', 'user:alice', defaults)).toBe(true);
    expect(allowed(alice, 'subscribe', 'user:alice:inbox', defaults)).toBe(true);
    expect(allowed(alice, 'subscribe', 'user:bob', defaults)).toBe(false);
    const admin: Subject = { user: 'admin', grants: grants(['*', 'user:*'], []) };
    expect(allowed(admin, 'subscribe', 'user:bob', defaults)).toBe(false);
  });

  it('lets others publish to a personal channel only with an explicit user: pattern', () => {
    expect(allowed(alice, 'publish', 'user:alice', defaults)).toBe(true);
    expect(allowed(alice, 'publish', 'user:bob', defaults)).toBe(false);
    expect(allowed({ user: 'bot', grants: grants([], ['*']) }, 'publish', 'user:bob', defaults)).toBe(false);
    expect(allowed({ user: 'bot', grants: grants([], ['user:*']) }, 'publish', 'user:bob', defaults)).toBe(true);
  });

  it('combines token patterns with namespace defaults', () => {
    expect(allowed(alice, 'subscribe', 'chat:random', defaults)).toBe(true);
    expect(allowed(alice, 'publish', 'chat:random', defaults)).toBe(false);
    expect(allowed(alice, 'publish', 'chat:general', defaults)).toBe(true);
    expect(allowed(alice, 'subscribe', 'public:news', defaults)).toBe(true);
    expect(allowed(alice, 'publish', 'public:news', defaults)).toBe(false);
    expect(allowed(alice, 'publish', 'lobby:1', defaults)).toBe(true);
    expect(allowed(alice, 'subscribe', 'secret:x', defaults)).toBe(false);
    expect(allowed(alice, 'subscribe', 'plain', defaults)).toBe(false);
  });

  it('uses "" for channels without a namespace and "*" for every namespace not listed', () => {
    const d = parseNamespaceDefaults('{"":["subscribe"],"*":["publish"]}');
    const bob: Subject = { user: 'bob', grants: NO_GRANTS };
    expect(allowed(bob, 'subscribe', 'plain', d)).toBe(true);
    expect(allowed(bob, 'publish', 'plain', d)).toBe(false);
    expect(allowed(bob, 'publish', 'other:x', d)).toBe(true);
    expect(allowed(bob, 'publish', 'user:carol', d)).toBe(false);
  });

  it('gives anonymous connections the defaults for their allowed actions only, and no personal channels', () => {
    const anonRead: Subject = { user: 'anon-1', grants: NO_GRANTS, anonymous: { actions: new Set(['subscribe']) } };
    expect(allowed(anonRead, 'subscribe', 'public:news', defaults)).toBe(true);
    expect(allowed(anonRead, 'publish', 'lobby:1', defaults)).toBe(false);
    expect(allowed(anonRead, 'subscribe', 'user:anon-1', defaults)).toBe(false);
    const anonWrite: Subject = { ...anonRead, anonymous: { actions: new Set(['subscribe', 'publish']) } };
    expect(allowed(anonWrite, 'publish', 'lobby:1', defaults)).toBe(true);
    expect(allowed(anonWrite, 'publish', 'public:news', defaults)).toBe(false);
  });
});

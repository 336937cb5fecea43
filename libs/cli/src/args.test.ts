import { describe, expect, it } from 'vitest';
import { channelArg, durationOption, intOption, jsonArg, listOption, parse, parseDuration, parseSince, urlOption, UsageError } from './args.js';

describe('argument parsing', () => {
  it('parses options and positionals, and refuses unknown options, missing and extra arguments', () => {
    const opts = { limit: { type: 'string' } } as const;
    expect(parse('tail', ['a', '--limit', '3', '--json'], opts, { min: 1, max: 2 })).toMatchObject({ values: { limit: '3', json: true }, positionals: ['a'] });
    expect(() => parse('tail', ['--nope'], opts, { min: 0, max: 1 })).toThrow(/^Unknown option '--nope'$/);
    expect(() => parse('tail', ['--limit'], opts, { min: 0, max: 1 })).toThrow(UsageError);
    expect(() => parse('tail', [], opts, { min: 1, max: 1 })).toThrow('missing argument');
    expect(() => parse('tail', ['a', 'b'], opts, { min: 1, max: 1 })).toThrow('unexpected argument "b"');
    // --help wins over missing arguments, so `cascade publish --help` always works.
    expect(parse('tail', ['--help'], opts, { min: 1, max: 1 }).values.help).toBe(true);
  });

  it('checks integers, durations, lists and URLs, naming the option', () => {
    expect(intOption({ n: '42' }, 'n', 1, 100)).toBe(42);
    expect(intOption({}, 'n', 1, 100)).toBeUndefined();
    for (const bad of ['0', '101', '-1', '1.5', 'x', '']) expect(() => intOption({ n: bad }, 'n', 1, 100)).toThrow(/^--n must be an integer from 1 to 100/);
    expect([parseDuration('500ms'), parseDuration('30s'), parseDuration('5m'), parseDuration('1h'), parseDuration('2d'), parseDuration('7'), parseDuration('1.5s')]).toEqual([500, 30_000, 300_000, 3_600_000, 172_800_000, 7000, 1500]);
    expect(parseDuration('soon')).toBeUndefined();
    expect(() => durationOption({ ttl: '1s' }, 'ttl', 60_000, 3_600_000)).toThrow('--ttl must be a duration like 30s, 5m or 1h (from 1m to 1h), got "1s"');
    expect(listOption({ subs: ' chat:*, news ,' }, 'subs')).toEqual(['chat:*', 'news']);
    expect(() => listOption({ subs: ' , ' }, 'subs')).toThrow('--subs must list at least one item');
    expect(urlOption({}, 'url', 'ws://127.0.0.1:8080/', ['ws:', 'wss:']).href).toBe('ws://127.0.0.1:8080/');
    expect(() => urlOption({ url: 'http://x' }, 'url', '', ['ws:', 'wss:'])).toThrow('--url must start with ws:// or wss://');
    expect(() => urlOption({ url: 'nope' }, 'url', '', ['ws:'])).toThrow('--url must be a URL');
  });

  it('reads channels, JSON data and resume positions', () => {
    expect(channelArg('chat:room1')).toBe('chat:room1');
    expect(() => channelArg('a b')).toThrow('channel "a b" is not valid: channel may contain only');
    expect(jsonArg('{"a":[1,2]}')).toEqual({ a: [1, 2] });
    expect(jsonArg('"hi"')).toBe('hi');
    expect(() => jsonArg('hello')).toThrow(`data must be JSON, got hello (a string needs JSON quotes: '"hello"')`);
    expect(parseSince('0')).toEqual({ ep: '', seq: 0 });
    expect(parseSince('2b0a5e7955a2:41')).toEqual({ ep: '2b0a5e7955a2', seq: 41 });
    for (const bad of ['41', ':41', 'ep:', 'ep:x', 'ep:-1']) expect(() => parseSince(bad)).toThrow(/--since must be <epoch>:<seq>/);
  });
});

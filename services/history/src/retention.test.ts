import { describe, expect, it } from 'vitest';
import { ConfigProblem } from '@cascade/config';
import { namespaceOf, parseRetention, planPurge, retentionSpec } from './retention.js';

describe('per-namespace retention rules', () => {
  it('parses messages and age per namespace, "" for channels without one', () => {
    const rules = parseRetention('{"chat":{"messages":100,"age":"1h"},"":{"age":"10m"},"feed":{"messages":5}}');
    expect(rules.get('chat')).toEqual({ maxMessages: 100, maxAgeMs: 3_600_000 });
    expect(rules.get('')).toEqual({ maxAgeMs: 600_000 });
    expect(rules.get('feed')).toEqual({ maxMessages: 5 });
    expect(retentionSpec().parse(undefined).size).toBe(0);
  });

  it('refuses malformed rules with a message naming the problem', () => {
    for (const [raw, why] of [
      ['nope', /JSON/],
      ['[]', /object/],
      ['{"chat":{}}', /neither/],
      ['{"chat":{"messages":0}}', /positive integer/],
      ['{"chat":{"age":"soon"}}', /duration/],
      ['{"chat":{"age":"10ms"}}', /duration/],
      ['{"a.b":{"messages":1}}', /channel rules/],
      ['{"chat":{"messages":1,"ttl":"1h"}}', /unknown fields: ttl/],
    ] as const) {
      expect(() => parseRetention(raw), raw).toThrow(ConfigProblem);
      expect(() => parseRetention(raw), raw).toThrow(why);
    }
  });

  it('plans a purge only when a rule asks for one', () => {
    expect(namespaceOf('chat:room:1')).toBe('chat');
    expect(namespaceOf('news')).toBe('');
    expect(planPurge(undefined, 10, 0)).toBeUndefined();
    expect(planPurge({ maxMessages: 10 }, 10, 0)).toBeUndefined();
    expect(planPurge({ maxMessages: 10 }, 11, 0)).toEqual({ keep: 10 });
    expect(planPurge({ maxAgeMs: 1000 }, 3, 5000)).toEqual({ olderThan: 4000 });
    expect(planPurge({ maxMessages: 1, maxAgeMs: 1000 }, 0, 5000)).toBeUndefined();
  });
});

// Tests for str, optionalStr, int, port, bool and oneOf.
import { describe, expect, it } from 'vitest';
import { ConfigProblem } from './errors.js';
import { bool, int, oneOf, optionalStr, port, str } from './scalars.js';

const common = { env: 'X', describe: 'test value' };

describe('str', () => {
  it('returns the value untouched, or the default when unset', () => {
    const spec = str({ ...common, default: 'fallback' });
    expect(spec.parse(' hi ')).toBe(' hi ');
    expect(spec.parse(undefined)).toBe('fallback');
    expect(spec.parse('')).toBe('fallback');
    expect(spec.defaultText).toBe('fallback');
  });

  it('is required without a default', () => {
    expect(() => str(common).parse(undefined)).toThrow(/is required \(test value\)/);
  });

  it('checks pattern, describing it with patternText when given', () => {
    const plain = str({ ...common, pattern: /^[a-z]+$/ });
    expect(plain.parse('abc')).toBe('abc');
    expect(() => plain.parse('ABC')).toThrow('expected a value matching /^[a-z]+$/, got "ABC"');
    const worded = str({ ...common, pattern: /^[a-z]+$/, patternText: 'lowercase letters' });
    expect(() => worded.parse('a1')).toThrow('expected lowercase letters, got "a1"');
  });

  it('gives the same answer every time even for a global regex', () => {
    const spec = str({ ...common, pattern: /a/g });
    expect(spec.parse('a')).toBe('a');
    expect(spec.parse('a')).toBe('a');
  });

  it('checks lengths', () => {
    const spec = str({ ...common, minLength: 2, maxLength: 3 });
    expect(spec.parse('ab')).toBe('ab');
    expect(() => spec.parse('a')).toThrow('expected at least 2 characters, got 1');
    expect(() => spec.parse('abcd')).toThrow('expected at most 3 characters, got 4');
  });

  it('rejects an invalid default when the spec is built', () => {
    expect(() => str({ ...common, default: 'A', pattern: /^[a-z]$/ })).toThrow(TypeError);
  });

  it('truncates long values in messages', () => {
    const spec = str({ ...common, pattern: /^$/ });
    const error = (() => {
      try {
        spec.parse('x'.repeat(500));
      } catch (err) {
        return err as Error;
      }
      throw new Error('expected a throw');
    })();
    expect(error).toBeInstanceOf(ConfigProblem);
    expect(error.message.length).toBeLessThan(120);
    expect(error.message).toContain('…');
  });
});

describe('optionalStr', () => {
  it('is undefined when unset or empty, validated when set', () => {
    const spec = optionalStr({ ...common, pattern: /^\d+$/, patternText: 'digits' });
    expect(spec.parse(undefined)).toBeUndefined();
    expect(spec.parse('')).toBeUndefined();
    expect(spec.parse('42')).toBe('42');
    expect(() => spec.parse('x')).toThrow('expected digits, got "x"');
    expect(spec.optional).toBe(true);
  });
});

describe('int', () => {
  it('parses integers, trimming whitespace', () => {
    const spec = int(common);
    expect(spec.parse('42')).toBe(42);
    expect(spec.parse(' -7 ')).toBe(-7);
    expect(spec.parse('+3')).toBe(3);
  });

  it.each(['abc', '1.5', '1e3', '0x10', '12abc', '99999999999999999999'])('rejects %j', (raw) => {
    expect(() => int(common).parse(raw)).toThrow(`expected an integer, got ${JSON.stringify(raw)}`);
  });

  it('enforces bounds inclusively', () => {
    const spec = int({ ...common, min: 1, max: 10 });
    expect(spec.parse('1')).toBe(1);
    expect(spec.parse('10')).toBe(10);
    expect(() => spec.parse('0')).toThrow('expected an integer between 1 and 10, got "0"');
    expect(() => int({ ...common, min: 1 }).parse('0')).toThrow('expected an integer >= 1');
    expect(() => int({ ...common, max: 1 }).parse('2')).toThrow('expected an integer <= 1');
  });

  it('uses and validates the default', () => {
    expect(int({ ...common, default: 5 }).parse(undefined)).toBe(5);
    expect(int({ ...common, default: 5 }).defaultText).toBe('5');
    expect(() => int({ ...common, default: 50, max: 10 })).toThrow(TypeError);
  });
});

describe('port', () => {
  it('accepts 0..65535', () => {
    const spec = port(common);
    expect(spec.parse('0')).toBe(0);
    expect(spec.parse('8080')).toBe(8080);
    expect(spec.parse('65535')).toBe(65535);
  });

  it.each(['abc', '-1', '65536', '80.5'])('rejects %j', (raw) => {
    expect(() => port(common).parse(raw)).toThrow(
      `expected an integer between 0 and 65535, got ${JSON.stringify(raw)}`,
    );
  });

  it('uses the default', () => {
    expect(port({ ...common, default: 4222 }).parse(undefined)).toBe(4222);
  });
});

describe('bool', () => {
  it.each(['true', 'TRUE', '1', 'yes', 'On'])('reads %j as true', (raw) => {
    expect(bool(common).parse(raw)).toBe(true);
  });

  it.each(['false', 'False', '0', 'no', 'OFF'])('reads %j as false', (raw) => {
    expect(bool(common).parse(raw)).toBe(false);
  });

  it.each(['maybe', '2', 'y'])('rejects %j', (raw) => {
    expect(() => bool(common).parse(raw)).toThrow(/expected one of true\/false\/1\/0\/yes\/no\/on\/off/);
  });

  it('uses the default, including false', () => {
    expect(bool({ ...common, default: false }).parse(undefined)).toBe(false);
    expect(bool({ ...common, default: true }).parse('')).toBe(true);
  });
});

describe('oneOf', () => {
  const levels = oneOf({ ...common, values: ['debug', 'info'], default: 'info' });

  it('accepts listed values and returns the canonical spelling', () => {
    expect(levels.parse('debug')).toBe('debug');
    expect(levels.parse('INFO')).toBe('info');
    expect(levels.parse(undefined)).toBe('info');
  });

  it('rejects anything else, listing the choices', () => {
    expect(() => levels.parse('verbose')).toThrow('expected one of "debug", "info", got "verbose"');
  });

  it('prefers an exact match when values differ only by case', () => {
    const spec = oneOf({ ...common, values: ['a', 'A'] });
    expect(spec.parse('A')).toBe('A');
    expect(spec.parse('a')).toBe('a');
  });

  it('is required without a default', () => {
    expect(() => oneOf({ ...common, values: ['a'] }).parse(undefined)).toThrow('is required');
  });
});

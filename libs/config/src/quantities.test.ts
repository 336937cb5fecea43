// Tests for duration and bytes parsing, bounds and defaults.
import { describe, expect, it } from 'vitest';
import { bytes, duration } from './quantities.js';

const common = { env: 'X', describe: 'test value' };

describe('duration', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1500', 1500],
    ['0', 0],
    ['1.5s', 1500],
    ['1.1s', 1100],
    [' 10 s ', 10_000],
  ])('reads %j as %d ms', (raw, ms) => {
    expect(duration(common).parse(raw)).toBe(ms);
  });

  it.each(['-5s', 'abc', '5 minutes', '5M', '1w', 's', '1.5.2s'])('rejects %j', (raw) => {
    expect(() => duration(common).parse(raw)).toThrow(/expected a duration such as "250ms"/);
  });

  it.each(['1.5', '0.5ms', '1.0005s'])('rejects the fraction of a millisecond in %j', (raw) => {
    expect(() => duration(common).parse(raw)).toThrow(/expected a whole number of milliseconds/);
  });

  it('enforces min and max written as durations', () => {
    const spec = duration({ ...common, min: '1s', max: '5m' });
    expect(spec.parse('1s')).toBe(1000);
    expect(spec.parse('5m')).toBe(300_000);
    expect(() => spec.parse('999ms')).toThrow('expected a duration between 1s and 5m, got "999ms"');
    expect(() => spec.parse('6m')).toThrow('between 1s and 5m');
    expect(() => duration({ ...common, min: '1s' }).parse('1')).toThrow('of at least 1s');
    expect(() => duration({ ...common, max: '1s' }).parse('2s')).toThrow('of at most 1s');
  });

  it('uses the default and keeps its text for docs', () => {
    const spec = duration({ ...common, default: '30s' });
    expect(spec.parse(undefined)).toBe(30_000);
    expect(spec.defaultText).toBe('30s');
  });

  it('rejects a bad default, min or max when the spec is built', () => {
    expect(() => duration({ ...common, default: 'soon' })).toThrow(TypeError);
    expect(() => duration({ ...common, min: 'x' })).toThrow(TypeError);
    expect(() => duration({ ...common, default: '1h', max: '1m' })).toThrow(TypeError);
  });
});

describe('bytes', () => {
  it.each([
    ['512', 512],
    ['512B', 512],
    ['64KiB', 65_536],
    ['1MiB', 1_048_576],
    ['2GiB', 2_147_483_648],
    ['10KB', 10_000],
    ['1MB', 1_000_000],
    ['1mib', 1_048_576],
    ['1.5KiB', 1536],
  ])('reads %j as %d bytes', (raw, n) => {
    expect(bytes(common).parse(raw)).toBe(n);
  });

  it.each(['-1', 'lots', '1XB', '1 KiBs'])('rejects %j', (raw) => {
    expect(() => bytes(common).parse(raw)).toThrow(/expected a size such as/);
  });

  it('rejects fractions of a byte and unsafe sizes', () => {
    expect(() => bytes(common).parse('1.5')).toThrow(/whole number of bytes/);
    expect(() => bytes(common).parse('0.0001KB')).toThrow(/whole number of bytes/);
    expect(() => bytes(common).parse('99999TiB')).toThrow(/too large/);
  });

  it('enforces min and max', () => {
    const spec = bytes({ ...common, min: '1KiB', max: '1MiB', default: '64KiB' });
    expect(spec.parse(undefined)).toBe(65_536);
    expect(() => spec.parse('100')).toThrow('expected a size between 1KiB and 1MiB, got "100"');
    expect(() => spec.parse('2MiB')).toThrow('between 1KiB and 1MiB');
  });
});

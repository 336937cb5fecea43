// Tests for loadConfig: defaults, the empty-is-unset rule and problem collection.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { ConfigError } from './errors.js';
import { loadConfig } from './load.js';
import { duration } from './quantities.js';
import { bool, oneOf, optionalStr, port, str } from './scalars.js';
import { optional, type Spec } from './spec.js';

const schema = {
  edgePort: port({ env: 'EDGE_PORT', describe: 'WebSocket listen port', default: 8080 }),
  natsUrl: str({ env: 'NATS_URL', describe: 'NATS server URL' }),
  debug: bool({ env: 'DEBUG', describe: 'extra checks', default: false }),
  region: optionalStr({ env: 'REGION', describe: 'deployment region' }),
  mode: optional(oneOf({ env: 'MODE', describe: 'mode', values: ['a', 'b'] })),
  timeout: duration({ env: 'TIMEOUT', describe: 'request timeout', default: '5s' }),
};

describe('loadConfig', () => {
  it('reads values and applies defaults, with precise types', () => {
    const cfg = loadConfig(schema, { EDGE_PORT: '9000', NATS_URL: 'nats://x', MODE: 'b' });
    expect(cfg).toEqual({
      edgePort: 9000,
      natsUrl: 'nats://x',
      debug: false,
      region: undefined,
      mode: 'b',
      timeout: 5000,
    });
    expectTypeOf(cfg.edgePort).toEqualTypeOf<number>();
    expectTypeOf(cfg.region).toEqualTypeOf<string | undefined>();
    expectTypeOf(cfg.mode).toEqualTypeOf<'a' | 'b' | undefined>();
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('treats an empty string as unset', () => {
    const cfg = loadConfig(schema, { EDGE_PORT: '', NATS_URL: 'nats://x', REGION: '', MODE: '' });
    expect(cfg.edgePort).toBe(8080);
    expect(cfg.region).toBeUndefined();
    expect(cfg.mode).toBeUndefined();
    expect(() => loadConfig(schema, { NATS_URL: '' })).toThrow('NATS_URL: is required (NATS server URL)');
  });

  it('names every bad variable in one ConfigError', () => {
    let error: unknown;
    try {
      loadConfig(schema, { EDGE_PORT: 'abc', DEBUG: 'maybe' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message } = error as ConfigError;
    expect(problems.map((p) => p.variable)).toEqual(['EDGE_PORT', 'NATS_URL', 'DEBUG']);
    expect(message.split('\n')).toEqual([
      'EDGE_PORT: expected an integer between 0 and 65535, got "abc"',
      'NATS_URL: is required (NATS server URL)',
      'DEBUG: expected one of true/false/1/0/yes/no/on/off, got "maybe"',
    ]);
  });

  it('reports a plain Error from a custom spec under its variable', () => {
    const custom: Spec<number> = {
      env: 'CUSTOM',
      describe: 'custom',
      parse() {
        throw new Error('nope');
      },
    };
    expect(() => loadConfig({ custom }, {})).toThrow('CUSTOM: nope');
  });

  it('reads process.env by default', () => {
    process.env['CASCADE_CONFIG_TEST_VALUE'] = 'from-process';
    try {
      const cfg = loadConfig({ v: str({ env: 'CASCADE_CONFIG_TEST_VALUE', describe: 'test' }) });
      expect(cfg.v).toBe('from-process');
    } finally {
      delete process.env['CASCADE_CONFIG_TEST_VALUE'];
    }
  });
});

// Tests for createLogger output in both formats and level filtering via LOG_LEVEL.
import { Writable } from 'node:stream';
import { loadConfig } from '@cascade/config';
import { describe, expect, it } from 'vitest';
import { createLogger } from './create.js';
import { defaultLogFormat, logConfig } from './settings.js';

function capture(isTTY = false): { stream: Writable; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  if (isTTY) Object.assign(stream, { isTTY: true });
  return { stream, text: () => chunks.join('') };
}

describe('createLogger json', () => {
  it('writes one JSON object per entry with level, msg, service and ISO time', () => {
    const out = capture();
    const log = createLogger({ service: 'edge-gateway', format: 'json', destination: out.stream });
    log.info({ channel: 'c1' }, 'hello');
    const lines = out.text().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 30, msg: 'hello', service: 'edge-gateway', channel: 'c1' });
    expect(entry['time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(entry['pid']).toBe(process.pid);
  });
});

describe('createLogger pretty', () => {
  it('writes a readable single line without colors when not a TTY', () => {
    const out = capture();
    const log = createLogger({ service: 'history', format: 'pretty', destination: out.stream });
    log.info({ channel: 'c1', nested: { a: 1 } }, 'replay started');
    const text = out.text();
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trimEnd().split('\n')).toHaveLength(1);
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: replay started /);
    expect(text).toContain('"service":"history"');
    expect(text).not.toContain('"pid"');
    expect(text).not.toContain('\x1b[');
  });

  it('colors output for a TTY', () => {
    const out = capture(true);
    createLogger({ service: 'history', format: 'pretty', destination: out.stream }).warn('careful');
    expect(out.text()).toContain('\x1b[');
    expect(out.text()).toContain('careful');
  });
});

describe('levels', () => {
  it.each(['json', 'pretty'] as const)('LOG_LEVEL=warn suppresses info (%s)', (format) => {
    const cfg = loadConfig(logConfig, { LOG_LEVEL: 'warn' });
    const out = capture();
    const log = createLogger({ service: 's', level: cfg.logLevel, format, destination: out.stream });
    log.info('quiet');
    log.warn('loud');
    expect(out.text()).not.toContain('quiet');
    expect(out.text()).toContain('loud');
  });

  it('defaults to info', () => {
    const out = capture();
    const log = createLogger({ service: 's', format: 'json', destination: out.stream });
    log.debug('hidden');
    log.info('shown');
    expect(out.text()).not.toContain('hidden');
    expect(out.text()).toContain('shown');
  });
});

describe('logConfig', () => {
  it('leaves LOG_FORMAT undefined when unset so the environment default applies', () => {
    const cfg = loadConfig(logConfig, {});
    expect(cfg).toEqual({ logLevel: 'info', logFormat: undefined });
    expect(cfg.logFormat ?? defaultLogFormat({ NODE_ENV: 'production' })).toBe('json');
  });

  it('rejects unknown values', () => {
    expect(() => loadConfig(logConfig, { LOG_LEVEL: 'loud', LOG_FORMAT: 'xml' })).toThrow(
      'LOG_LEVEL: expected one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "loud"\n' +
        'LOG_FORMAT: expected one of "json", "pretty", got "xml"',
    );
  });
});

describe('defaultLogFormat', () => {
  it('is json in production and pretty otherwise', () => {
    expect(defaultLogFormat({ NODE_ENV: 'production' })).toBe('json');
    expect(defaultLogFormat({ NODE_ENV: 'development' })).toBe('pretty');
    expect(defaultLogFormat({})).toBe('pretty');
  });
});

// Tests for urlList splitting, validation and password redaction.
import { describe, expect, it } from 'vitest';
import { urlList } from './urls.js';

const nats = { env: 'NATS_URL', describe: 'NATS servers', protocols: ['nats:', 'tls:', 'ws:', 'wss:'] };

describe('urlList', () => {
  it('splits on commas and trims each entry', () => {
    expect(urlList(nats).parse(' nats://a:4222 , tls://b:4222,wss://c/ws ')).toEqual([
      'nats://a:4222',
      'tls://b:4222',
      'wss://c/ws',
    ]);
  });

  it('skips empty entries from a stray comma but needs at least one URL', () => {
    expect(urlList(nats).parse('nats://a:4222,')).toEqual(['nats://a:4222']);
    expect(() => urlList(nats).parse(' , ')).toThrow('expected at least one URL');
  });

  it('rejects unparseable entries and wrong protocols, naming each', () => {
    expect(() => urlList(nats).parse('nats://ok:4222,not a url,http://x')).toThrow(
      '"not a url" is not a valid URL; "http://x" uses http: but expected one of nats:, tls:, ws:, wss:',
    );
  });

  it('hides passwords in messages', () => {
    let message = '';
    try {
      urlList(nats).parse('http://user:hunter2@x');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('user:***@x');
    expect(message).not.toContain('hunter2');
  });

  it('accepts protocols written without a colon', () => {
    expect(urlList({ ...nats, protocols: ['nats'] }).parse('nats://a')).toEqual(['nats://a']);
  });

  it('returns a fresh default array each time', () => {
    const spec = urlList({ ...nats, default: 'nats://127.0.0.1:4222' });
    const first = spec.parse(undefined);
    first.push('mutated');
    expect(spec.parse(undefined)).toEqual(['nats://127.0.0.1:4222']);
  });
});

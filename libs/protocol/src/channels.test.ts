import { describe, expect, it } from 'vitest';
import { MAX_CHANNEL_LENGTH, isValidChannel, parseChannel } from './channels.js';

describe('parseChannel', () => {
  it.each(['news', 'user:42', 'chat:room-1', 'a_b-c:d@e=f,g/h~i', 'x'.repeat(MAX_CHANNEL_LENGTH), 'ns:sub:part'])(
    'accepts %s',
    (name) => {
      expect(parseChannel(name).ok).toBe(true);
    },
  );

  it('splits off the namespace', () => {
    const r = parseChannel('user:42');
    expect(r.ok && r.channel.namespace).toBe('user');
    const plain = parseChannel('news');
    expect(plain.ok && plain.channel.namespace).toBe('');
  });

  it.each([
    ['a dot', 'chat.room'],
    ['a star', 'chat*'],
    ['a full wildcard', 'chat>'],
    ['only a wildcard', '>'],
    ['a space', 'chat room'],
    ['a tab', 'chat\troom'],
    ['a newline', 'chat\nroom'],
    ['a NUL', 'chat\u0000'],
    ['a DEL', 'chat\u007f'],
    ['a dollar', '$JS'],
    ['a plus', 'a+b'],
    ['a hash', 'a#b'],
    ['non-ASCII', 'caf\u00e9'],
    ['empty', ''],
    ['over-long', 'x'.repeat(MAX_CHANNEL_LENGTH + 1)],
    ['an empty namespace', ':x'],
    ['an empty name after the namespace', 'user:'],
  ])('refuses %s', (_what, name) => {
    const r = parseChannel(name);
    expect(r.ok).toBe(false);
    expect(isValidChannel(name)).toBe(false);
  });

  it.each([42, null, undefined, {}, ['a'], new Uint8Array([0x61])])('refuses non-string %s', (v) => {
    const r = parseChannel(v);
    expect(r).toEqual({ ok: false, reason: 'channel must be a string' });
  });
});

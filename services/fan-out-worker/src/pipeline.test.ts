import { describe, expect, it } from 'vitest';
import { ChannelPipeline } from './pipeline.js';

describe('ChannelPipeline', () => {
  it('starts the first message of each channel at once and queues later ones behind it', () => {
    const p = new ChannelPipeline<string>();
    expect(p.offer('a', 1, 'a1')).toBe('start');
    expect(p.offer('b', 2, 'b1')).toBe('start');
    expect(p.offer('a', 3, 'a2')).toBe('queued');
    expect(p.offer('a', 4, 'a3')).toBe('queued');
    expect(p.size).toBe(4);
    expect(p.channels).toBe(2);
  });

  it('hands out a channel\'s next message only when the previous one is done, in order', () => {
    const p = new ChannelPipeline<string>();
    p.offer('a', 1, 'a1');
    p.offer('a', 2, 'a2');
    p.offer('b', 3, 'b1');
    p.offer('a', 4, 'a3');
    expect(p.done('b')).toBeUndefined();
    expect(p.done('a')).toBe('a2');
    expect(p.done('a')).toBe('a3');
    expect(p.done('a')).toBeUndefined();
    expect(p.size).toBe(0);
    // The channel is idle again: its next message starts at once.
    expect(p.offer('a', 5, 'a4')).toBe('start');
  });

  it('ignores a redelivery of a message it still holds, but not one it finished', () => {
    const p = new ChannelPipeline<string>();
    p.offer('a', 1, 'a1');
    p.offer('a', 2, 'a2');
    expect(p.offer('a', 2, 'a2 again')).toBe('duplicate');
    expect(p.offer('a', 1, 'a1 again')).toBe('duplicate');
    expect(p.done('a')).toBe('a2');
    expect(p.offer('a', 1, 'a1 again')).toBe('queued');
  });

  it('clear drops everything, so a finishing write starts nothing more', () => {
    const p = new ChannelPipeline<string>();
    p.offer('a', 1, 'a1');
    p.offer('a', 2, 'a2');
    p.clear();
    expect(p.done('a')).toBeUndefined();
    expect(p.size).toBe(0);
  });
});

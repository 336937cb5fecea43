import { describe, expect, it } from 'vitest';
import { parseChannel, type ChannelName } from '@cascade/protocol';
import { Contract } from './subjects.js';
import { fnv1a32, partitionOf } from './partition.js';

const ch = (name: string): ChannelName => {
  const r = parseChannel(name);
  if (!r.ok) throw new Error(r.reason);
  return r.channel.name;
};

describe('Contract', () => {
  const c = new Contract({ prefix: 'rt', partitions: 16 });

  it('builds the subjects of the contract', () => {
    const news = ch('news');
    const p = partitionOf('news', 16);
    expect(c.ingest(news)).toBe(`rt.in.${p}.news`);
    expect(c.history(news)).toBe('rt.hist.news');
    expect(c.live(ch('user:42'))).toBe('rt.live.user:42');
    expect(c.publishAlias(news)).toBe('rt.pub.news');
    expect(c.service('history', 'health')).toBe('rt.svc.history.health');
    expect(c.ingestAll).toBe('rt.in.>');
    expect(c.historyAll).toBe('rt.hist.>');
    expect(c.liveAll).toBe('rt.live.>');
    expect(c.ingestPartition(3)).toBe('rt.in.3.>');
    expect(c.channelOf(c.ingest(news))).toBe('news');
    expect(c.channelOf(c.live(ch('user:42')))).toBe('user:42');
  });

  it('derives stream and bucket names from the prefix', () => {
    const other = new Contract({ prefix: 'my-app', partitions: 4 });
    expect(other.ingestStream).toBe('MY_APP_IN');
    expect(other.historyStream).toBe('MY_APP_HIST');
    expect(other.buckets.leases).toBe('my-app_leases');
    expect(other.serverMapping()).toEqual({ from: 'my-app.pub.*', to: 'my-app.in.{{partition(4,1)}}.{{wildcard(1)}}' });
  });

  it('refuses prefixes and partition counts that would break subjects', () => {
    for (const prefix of ['', 'a.b', 'rt*', '>', '1rt', 'x'.repeat(33), 'a b']) {
      expect(() => new Contract({ prefix, partitions: 1 })).toThrow(RangeError);
    }
    for (const partitions of [0, -1, 1.5, 1025]) {
      expect(() => new Contract({ prefix: 'rt', partitions })).toThrow(RangeError);
    }
  });
});

describe('partitionOf', () => {
  it('is FNV-1a 32-bit modulo the partition count', () => {
    // Reference values of FNV-1a 32: "" -> 0x811c9dc5, "a" -> 0xe40c292c, "foobar" -> 0xbf9cf968.
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    expect(partitionOf('foobar', 16)).toBe(0xbf9cf968 % 16);
  });

  it('spreads channels over all partitions', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(partitionOf(`room-${i}`, 16));
    expect(seen.size).toBe(16);
  });
});

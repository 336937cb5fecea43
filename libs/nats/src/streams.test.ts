import { describe, expect, it } from 'vitest';
import { Contract } from './subjects.js';
import { defaultStreamSettings, historyRepublish, historyStreamConfig, republishesLive } from './streams.js';

describe('history stream RePublish', () => {
  const c = new Contract({ prefix: 'my-app', partitions: 4 });

  it('republishes <prefix>.hist.> on <prefix>.live.>, with bodies', () => {
    expect(historyRepublish(c)).toEqual({ src: 'my-app.hist.>', dest: 'my-app.live.>' });
    expect(historyStreamConfig(c, defaultStreamSettings).republish).toEqual(historyRepublish(c));
  });

  it('counts only the declared RePublish as putting stored messages live', () => {
    expect(republishesLive(c, historyRepublish(c))).toBe(true);
    expect(republishesLive(c, undefined)).toBe(false);
    expect(republishesLive(c, { ...historyRepublish(c), headers_only: true })).toBe(false);
    expect(republishesLive(c, { src: 'my-app.hist.>', dest: 'elsewhere.>' })).toBe(false);
    expect(republishesLive(c, historyRepublish(new Contract({ prefix: 'rt', partitions: 4 })))).toBe(false);
  });
});

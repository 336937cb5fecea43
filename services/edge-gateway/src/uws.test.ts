import { describe, expect, it } from 'vitest';
import { uws, uwsRuntime } from './uws.js';

describe('uWebSockets.js runtime', () => {
  it('loads the native binary, not the JavaScript fallback', () => {
    expect(uwsRuntime()).toBe('native');
    expect(typeof uws.App).toBe('function');
  });
});

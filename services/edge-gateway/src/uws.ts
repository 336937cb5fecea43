// Loads uWebSockets.js and tells whether its native binary runs. The npm build we map the
// name to silently falls back to a slow pure-JS server when the binary cannot load, which
// would turn a high-density node into a slow one without a word: we detect and report it.
import { createRequire } from 'node:module';
import type * as UWS from 'uWebSockets.js';

const require = createRequire(import.meta.url);

export const uws = require('uWebSockets.js') as typeof UWS;

export type UwsRuntime = 'native' | 'fallback';

/** 'native' when the loaded module is a compiled addon (.node), 'fallback' otherwise. */
export function uwsRuntime(): UwsRuntime {
  for (const mod of Object.values(require.cache)) {
    if (mod?.filename.endsWith('.node') && mod.exports === uws) return 'native';
  }
  return 'fallback';
}

// @cascade/ts-loader: what `node --import @cascade/ts-loader <main.ts>` runs first. It makes
// Node load the services' TypeScript through the hooks in hooks.mjs, with source maps on so
// stack traces name .ts lines. Plain JavaScript: it is what loads TypeScript.
import { register } from 'node:module';

process.setSourceMapsEnabled(true);
register('./hooks.mjs', import.meta.url);

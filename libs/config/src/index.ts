// Public API of @cascade/config: typed, validated configuration from environment variables.
export type { Spec } from './spec.js';
export { optional } from './spec.js';
export { str, optionalStr, int, port, bool, oneOf } from './scalars.js';
export { duration, bytes } from './quantities.js';
export { urlList } from './urls.js';
export { ConfigError, ConfigProblem } from './errors.js';
export type { Problem } from './errors.js';
export { loadConfig } from './load.js';
export type { ConfigOf } from './load.js';
export { describeConfig } from './describe.js';

// Public API of @cascade/log: one structured-logging setup shared by every service.
import type { Logger } from 'pino';
export type { Logger };
export { createLogger } from './create.js';
export type { CreateLoggerOptions } from './create.js';
export { logConfig, defaultLogFormat, LOG_LEVELS, LOG_FORMATS } from './settings.js';
export type { LogLevel, LogFormat } from './settings.js';

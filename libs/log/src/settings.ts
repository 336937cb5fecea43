// LOG_LEVEL / LOG_FORMAT specs for service config schemas, and the environment-based format default.
//
// LOG_FORMAT is an optional spec (value `'json' | 'pretty' | undefined`) rather than one with a
// default, because its default depends on NODE_ENV, which a static spec default cannot express.
// Callers resolve it with `cfg.logFormat ?? defaultLogFormat()`.
import { oneOf, optional } from '@cascade/config';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Spread into a service schema: `loadConfig({ ...logConfig, port: port(...) })`. */
export const logConfig = {
  logLevel: oneOf({
    env: 'LOG_LEVEL',
    values: LOG_LEVELS,
    default: 'info',
    describe: 'minimum level written: fatal, error, warn, info, debug, trace or silent',
  }),
  logFormat: optional(
    oneOf({
      env: 'LOG_FORMAT',
      values: LOG_FORMATS,
      describe: 'json (one object per line) or pretty (for humans); unset means json when NODE_ENV=production, else pretty',
    }),
  ),
};

/** Machines read production logs, people read everything else. */
export function defaultLogFormat(env: Record<string, string | undefined> = process.env): LogFormat {
  return env['NODE_ENV'] === 'production' ? 'json' : 'pretty';
}

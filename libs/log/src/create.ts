// Builds the pino logger every service uses, in JSON or pretty format.
import { hostname } from 'node:os';
import { pino, stdTimeFunctions, type Logger, type LoggerOptions } from 'pino';
import { prettyStream } from './pretty.js';
import { defaultLogFormat, type LogFormat } from './settings.js';

export interface CreateLoggerOptions {
  /** Added to every entry as `service`, so mixed logs can be split by service. */
  service: string;
  /** A pino level name; defaults to 'info'. pino throws on an unknown name. */
  level?: string;
  /** Defaults to defaultLogFormat() (json when NODE_ENV=production, else pretty). */
  format?: LogFormat;
  /** Defaults to process.stdout. Pretty output is colored only when this is a TTY. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(o: CreateLoggerOptions): Logger {
  const options: LoggerOptions = {
    level: o.level ?? 'info',
    // Setting base replaces pino's default bindings, so pid and hostname are restated.
    base: { pid: process.pid, hostname: hostname(), service: o.service },
    timestamp: stdTimeFunctions.isoTime,
  };
  // pino's own default (an async sonic-boom on fd 1) can reorder entries against other stdout
  // writes and drop the last ones on a crash; process.stdout writes synchronously on Linux for
  // files, TTYs and pipes, which is what containers and local runs give us.
  const destination = o.destination ?? process.stdout;
  const format = o.format ?? defaultLogFormat();
  return pino(options, format === 'pretty' ? prettyStream(destination) : destination);
}

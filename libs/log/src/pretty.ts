// Turns pino's JSON lines into human-readable single lines on the caller's thread.
//
// pino-pretty's own stream and pino transports hand lines to another stream stage or a worker
// thread, so the last lines before a crash can be lost and test output interleaves late.
// Formatting each line inside write() keeps pretty output exactly as synchronous as JSON output.
import type { DestinationStream } from 'pino';
import { prettyFactory } from 'pino-pretty';

export function prettyStream(out: NodeJS.WritableStream): DestinationStream {
  const format = prettyFactory({
    translateTime: 'HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
    // Escape codes are noise in files, pipes and log collectors; only a terminal renders them.
    colorize: (out as { isTTY?: boolean }).isTTY === true,
  });
  return {
    write(line: string) {
      out.write(format(line));
    },
  };
}

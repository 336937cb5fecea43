// What every command is: a name, its help, and a run function that gets the process's
// environment and writes through Output. cli.ts dispatches; commands/*.ts implement.
import type { Output, Stream } from './output.js';

export interface Context {
  env: Record<string, string | undefined>;
  stdout: Stream;
  stderr: Stream;
  /** Aborted on Ctrl-C (SIGINT) or SIGTERM: long-running commands stop cleanly. */
  signal: AbortSignal;
  /** Built by the command once it knows whether --json was given. */
  output(json: boolean): Output;
}

export interface Command {
  name: string;
  /** The full `cascade <cmd> --help` text. */
  help: string;
  /** Resolves with the exit code. Throws UsageError (2) or Failure (1). */
  run(argv: string[], ctx: Context): Promise<number>;
}

// The process entry of the `cascade` command (bin/cascade.mjs runs it through tsx): wires
// process streams, signals and the exit code to cli.ts.
import { run } from './cli.js';
import { Output } from './output.js';

const controller = new AbortController();
let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // The first Ctrl-C stops cleanly (the command closes its connection and summarises);
    // a second one means "now".
    if (++signals > 1) process.exit(130);
    controller.abort();
  });
}
// A reader that went away (`cascade tail ... | head -3`) is a normal end, not a crash.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const code = await run(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
  output: (json) => new Output(process.stdout, process.stderr, json, process.env),
});
process.exitCode = code;
// Open handles (a NATS socket closing, a timer in a library) must not keep the command alive.
setTimeout(() => process.exit(code), 2000).unref();

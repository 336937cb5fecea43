// `npm start`: installs what is missing (node_modules, nats-server), then hands over to run.ts.
// Plain JS with Node built-ins only, because it runs before node_modules exists.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { checkNode, ensureNatsServer, fail, installDependencies, root } from './bootstrap.mjs';

checkNode();
installDependencies();
const env = { ...process.env };
if (!env.NATS_URL) env.NATS_SERVER_BIN = ensureNatsServer();

const child = spawn(process.execPath, ['--import', 'tsx', join('infra', 'local', 'run.ts')], { cwd: root, stdio: 'inherit', env });
child.on('error', (err) => fail(`could not start infra/local/run.ts: ${err.message}`));
// run.ts does the orderly shutdown; this process only passes the signal on and waits.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

// What `npm start` and `npm test` need before anything else can run: a recent Node, the
// node modules, and (unless NATS_URL names a server) a nats-server binary. Plain JS with
// Node built-ins only, because it runs before node_modules exists.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function fail(message) {
  process.stderr.write(`\ncascade: ${message}\n`);
  process.exit(1);
}

export function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    fail(`Node.js >= 20.19 is required (this is ${process.versions.node}). Install a current LTS from https://nodejs.org/ or with your version manager (nvm install 22).`);
  }
}

export function installDependencies() {
  // tsx is what run.ts needs; its absence also catches an interrupted earlier install.
  if (existsSync(join(root, 'node_modules', 'tsx'))) return;
  process.stdout.write('cascade: node_modules is missing, running npm ci ...\n');
  const result = spawnSync('npm', ['ci'], { cwd: root, stdio: 'inherit' });
  if (result.error) fail(`could not run npm ci: ${result.error.message}`);
  if (result.status !== 0) fail(`npm ci failed (exit code ${result.status ?? result.signal}); fix the error above and run npm start again.`);
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    // Missing or not executable: the caller tries the next place.
    return false;
  }
}

function findNatsServer() {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) fail(`NATS_SERVER_BIN=${fromEnv} is not an executable file.`);
    return fromEnv;
  }
  const candidates = (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'nats-server'));
  return [...candidates, '/usr/sbin/nats-server'].find(isExecutable);
}

export function ensureNatsServer() {
  const found = findNatsServer();
  if (found) return found;
  if (process.getuid?.() !== 0) {
    fail(
      [
        'nats-server is not installed, and a local NATS server is needed unless NATS_URL is set. Either:',
        '  - install it:             sudo apt-get install nats-server',
        '  - or download a release:  https://github.com/nats-io/nats-server/releases (put nats-server on PATH, or set NATS_SERVER_BIN)',
        '  - or use a running server with JetStream:  NATS_URL=nats://host:4222 npm start',
      ].join('\n'),
    );
  }
  process.stdout.write('cascade: nats-server is missing, installing it with apt-get ...\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', 'nats-server']]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (result.error || result.status !== 0) {
      fail(`apt-get ${args.join(' ')} failed (${result.error?.message ?? `exit code ${result.status}`}); install nats-server yourself or set NATS_URL.`);
    }
  }
  return findNatsServer() ?? fail('apt-get installed nats-server but it is not on PATH or in /usr/sbin; set NATS_SERVER_BIN.');
}


/** Where the browser tests find Debian's Chromium; CHROMIUM_BIN overrides it. */
export const chromiumPath = () => process.env.CHROMIUM_BIN || '/usr/bin/chromium';

// The browser tests drive Debian's Chromium through playwright-core; no tool may download a
// browser of its own, so the project installs the distribution's package.
export function ensureChromium() {
  if (isExecutable(chromiumPath())) return chromiumPath();
  if (process.env.CHROMIUM_BIN) fail(`CHROMIUM_BIN=${process.env.CHROMIUM_BIN} is not an executable file.`);
  if (process.getuid?.() !== 0) {
    fail(
      [
        'Chromium is not installed; the browser tests need it. Either:',
        '  - install it:   sudo apt-get install chromium',
        '  - or point at one:  CHROMIUM_BIN=/path/to/chromium npm test',
      ].join('\n'),
    );
  }
  process.stdout.write('cascade: chromium is missing, installing it with apt-get ...\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'chromium']]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (result.error || result.status !== 0) {
      fail(`apt-get ${args.join(' ')} failed (${result.error?.message ?? `exit code ${result.status}`}); install chromium yourself or set CHROMIUM_BIN.`);
    }
  }
  return isExecutable(chromiumPath()) ? chromiumPath() : fail('apt-get installed chromium but /usr/bin/chromium is missing; set CHROMIUM_BIN.');
}

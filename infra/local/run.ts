// Runs the local stack for `npm start`: a nats-server with JetStream (unless NATS_URL is set)
// and the four services, with prefixed logs, a banner, and an orderly stop on Ctrl-C. Also
// the demo web app (infra/demo): built here, served by the edge under /demo/, fed by a ticker.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ConfigError, loadConfig, optional, port, str } from '@cascade/config';
import { Contract, natsConfig } from '@cascade/nats';

const ROOT = resolve(import.meta.dirname, '../..');
const READY_TIMEOUT_MS = 30_000;
const NATS_READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 10_000;
// One Ctrl-C reaches us several times: from the terminal (same process group), from npm and
// from start.mjs, which both forward it. Repeats this close together are the same press.
const SAME_PRESS_MS = 1_000;

const config = (() => {
  try {
    return loadConfig({
      natsUrl: optional(natsConfig.natsUrl),
      prefix: natsConfig.prefix,
      partitions: natsConfig.partitions,
      dataDir: str({ env: 'CASCADE_DATA_DIR', describe: 'Folder for the local nats-server config and JetStream data', default: join(ROOT, '.data') }),
      natsPort: port({ env: 'CASCADE_NATS_PORT', describe: 'Client port of the local nats-server (busy: a free one is used)', default: 4222 }),
      edgePort: port({ env: 'EDGE_PORT', describe: 'WebSocket port of the edge-gateway (busy: a free one is used)', default: 8080 }),
      edgeHost: str({ env: 'EDGE_HOST', describe: 'Address the edge-gateway binds', default: '127.0.0.1' }),
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`cascade: invalid configuration:\n${err.message}\n`);
    process.exit(78);
  }
})();

// ---- output ----

const useColor = process.stdout.isTTY === true && !process.env.NO_COLOR;
const COLORS = { gray: 90, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, bold: 1 } as const;
type Color = keyof typeof COLORS;
const paint = (color: Color, text: string): string => (useColor ? `\x1b[${COLORS[color]}m${text}\x1b[0m` : text);
const TAG_WIDTH = '[presence]'.length;
const tag = (name: string, color: Color): string => paint(color, `[${name}]`.padEnd(TAG_WIDTH));
const ME = tag('cascade', 'bold');
const say = (line: string): void => {
  process.stdout.write(`${ME} ${line}\n`);
};
const stripAnsi = (text: string): string => text.replace(/\x1b\[[0-9;]*m/g, '');

// ---- child processes ----

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const describeExit = (e: ExitInfo): string => (e.signal !== null ? `signal ${e.signal}` : `exit code ${String(e.code)}`);

class Proc {
  readonly exited: Promise<ExitInfo>;
  private readonly tail: string[] = [];
  private readonly watchers: Array<{ text: string; resolve: () => void }> = [];
  private done = false;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    prefix: string,
  ) {
    this.exited = new Promise((resolveExit) => {
      // 'close' waits for the pipes to drain, so every line is printed before we report the exit.
      child.once('close', (code, signal) => {
        this.done = true;
        resolveExit({ code, signal });
      });
      // A spawn failure (ENOENT) emits 'error' and no 'close'.
      child.once('error', (err) => {
        this.record(`cannot run: ${err.message}`);
        this.done = true;
        resolveExit({ code: 127, signal: null });
      });
    });
    for (const [stream, out] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ] as const) {
      if (stream === null) continue;
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        out.write(`${prefix} ${line}\n`);
        this.record(line);
      });
    }
  }

  get running(): boolean {
    return !this.done;
  }

  /** Resolves once a line containing `text` was printed (ANSI colors ignored). */
  waitForLine(text: string): Promise<void> {
    return new Promise((resolveLine) => this.watchers.push({ text, resolve: resolveLine }));
  }

  outputTail(): string {
    return this.tail.join('\n');
  }

  /** SIGTERM, SIGKILL after the grace period; resolves when the process is gone. */
  async stop(graceMs = STOP_GRACE_MS): Promise<ExitInfo> {
    if (this.running) this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), graceMs);
    });
    const first = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (first === 'timeout') {
      say(paint('yellow', `${this.name} did not stop within ${graceMs / 1000} s, killing it`));
      this.kill();
    }
    return this.exited;
  }

  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  private record(line: string): void {
    const plain = stripAnsi(line);
    this.tail.push(plain);
    if (this.tail.length > 40) this.tail.shift();
    for (const w of [...this.watchers]) {
      if (!plain.includes(w.text)) continue;
      this.watchers.splice(this.watchers.indexOf(w), 1);
      w.resolve();
    }
  }
}

function start(name: string, prefix: string, command: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  // Own process group: a Ctrl-C in the terminal must not reach the services and nats-server
  // directly, or nats-server would exit before the services have drained their connections.
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const proc = new Proc(name, child, prefix);
  procs.push(proc);
  return proc;
}

const procs: Proc[] = [];
let nats: Proc | undefined;
const services: Proc[] = [];
/** The demo ticker: stopped with the services, but its death does not stop the stack. */
const extras: Proc[] = [];

// ---- ports ----

function tryListen(host: string, portNumber: number): Promise<number | undefined> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(undefined));
    server.listen({ host, port: portNumber, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => resolvePort(bound));
    });
  });
}

const handedOut = new Set<number>();
async function anyFreePort(host: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const found = await tryListen(host, 0);
    // The OS may return a port it just gave us for another purpose.
    if (found !== undefined && !handedOut.has(found)) {
      handedOut.add(found);
      return found;
    }
  }
  throw new Error(`no free TCP port on ${host}`);
}

/** The wanted port if it is free, else (or for 0) a free one, saying why. */
async function portFor(what: string, variable: string, host: string, wanted: number): Promise<number> {
  if (wanted !== 0 && (await tryListen(host, wanted)) !== undefined) {
    handedOut.add(wanted);
    return wanted;
  }
  const chosen = await anyFreePort(host);
  if (wanted !== 0) say(paint('yellow', `port ${wanted} for ${what} is busy (${variable}); using ${chosen} instead`));
  return chosen;
}

// ---- nats-server ----

const q = (text: string): string => JSON.stringify(text);

async function startNats(contract: Contract): Promise<{ url: string; monitorUrl: string }> {
  const natsDir = join(config.dataDir, 'nats');
  mkdirSync(natsDir, { recursive: true });
  const clientPort = await portFor('NATS', 'CASCADE_NATS_PORT', '127.0.0.1', config.natsPort);
  const monitorPort = await anyFreePort('127.0.0.1');
  const mapping = contract.serverMapping();
  const confFile = join(natsDir, 'nats.conf');
  writeFileSync(
    confFile,
    [
      '# Written by infra/local/run.ts on every start; edits are overwritten.',
      'server_name: cascade-local',
      `listen: ${q(`127.0.0.1:${clientPort}`)}`,
      `http: ${q(`127.0.0.1:${monitorPort}`)}`,
      // nats-server appends "jetstream" itself, so the data lands in <data>/nats/jetstream.
      'jetstream {',
      `  store_dir: ${q(natsDir)}`,
      '}',
      '# Lets backends publish on <prefix>.pub.<channel> with a plain NATS client.',
      'mappings {',
      `  ${q(mapping.from)}: ${q(mapping.to)}`,
      '}',
      '',
    ].join('\n'),
  );
  const bin = process.env.NATS_SERVER_BIN || 'nats-server';
  say(`starting nats-server (${bin} -c ${confFile})`);
  const proc = start('nats-server', tag('nats', 'magenta'), bin, ['-c', confFile], process.env);
  nats = proc;
  const monitorUrl = `http://127.0.0.1:${monitorPort}`;
  const deadline = Date.now() + NATS_READY_TIMEOUT_MS;
  for (;;) {
    if (!proc.running) {
      const exit = await proc.exited;
      throw new Error(`nats-server exited during startup (${describeExit(exit)})\n--- nats-server output tail ---\n${proc.outputTail() || '(no output)'}`);
    }
    try {
      const res = await fetch(`${monitorUrl}/healthz`, { signal: AbortSignal.timeout(1_000) });
      if (res.status === 200) break;
    } catch {
      // Connection refused while the server is still binding: not ready yet.
    }
    if (Date.now() > deadline) {
      throw new Error(`nats-server not healthy after ${NATS_READY_TIMEOUT_MS / 1000} s\n--- nats-server output tail ---\n${proc.outputTail()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `nats://127.0.0.1:${clientPort}`, monitorUrl };
}

// ---- services ----

// The edge runs with a 4 MiB young generation (docs/operations.md, "Edge memory"), as in
// k8s/edge-gateway.yaml and the compose file.
const SERVICES: ReadonlyArray<{ dir: string; short: string; color: Parameters<typeof tag>[1]; nodeArgs?: readonly string[] }> = [
  { dir: 'edge-gateway', short: 'edge', color: 'cyan', nodeArgs: ['--max-semi-space-size=4'] },
  { dir: 'fan-out-worker', short: 'fanout', color: 'yellow' },
  { dir: 'history', short: 'history', color: 'green' },
  { dir: 'presence', short: 'presence', color: 'blue' },
];

/**
 * The edge refuses development tokens in production and without an HS256 secret to sign them
 * (tokens verified by public keys only): then the demo page connects anonymously instead.
 */
function devTokensAllowed(): boolean {
  const e = process.env;
  return e.NODE_ENV !== 'production' && ((!e.EDGE_JWT_PUBLIC_KEYS && !e.EDGE_JWT_JWKS_URL) || !!e.EDGE_JWT_HS256_SECRET);
}

function serviceEnv(natsUrl: string, edgePort: number, demoDir: string | undefined): NodeJS.ProcessEnv {
  return {
    // A local playground: clients without a token may subscribe and publish on any channel but
    // others' user:<id> (set EDGE_ANONYMOUS=off to require tokens); tokens are checked with the
    // edge's built-in development secret unless EDGE_JWT_* say otherwise (try.ts mints one).
    EDGE_ANONYMOUS: 'publish',
    EDGE_NAMESPACES: '{"*":["subscribe","publish"]}',
    // Ctrl-C should not wait the production drain window; the stop timeout below is 10 s.
    EDGE_DRAIN_WINDOW: '1s',
    EDGE_DRAIN_GRACE: '1s',
    // The demo page, served by the edge itself (same origin for WebSocket, SSE and HTTP
    // publish), signs in with development tokens from GET /v1/dev/token (local only).
    ...(demoDir === undefined ? {} : { EDGE_STATIC_DIR: demoDir }),
    ...(demoDir === undefined || !devTokensAllowed() ? {} : { EDGE_DEV_TOKENS: 'on' }),
    ...process.env,
    NATS_URL: natsUrl,
    EDGE_PORT: String(edgePort),
    LOG_FORMAT: process.env.LOG_FORMAT || 'pretty',
  };
}

async function startServices(env: NodeJS.ProcessEnv): Promise<void> {
  const waits = SERVICES.map(async (s) => {
    const proc = start(s.dir, tag(s.short, s.color), process.execPath, [...(s.nodeArgs ?? []), '--import', '@cascade/ts-loader', join('services', s.dir, 'src', 'main.ts')], env);
    services.push(proc);
    // runService logs "<displayName> ready"; the directory names equal the display names.
    const outcome = await Promise.race([
      proc.waitForLine(`${s.dir} ready`).then(() => 'ready' as const),
      proc.exited,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), READY_TIMEOUT_MS).unref()),
    ]);
    if (outcome === 'ready') return;
    if (outcome === 'timeout') throw new Error(`${s.dir} did not log "${s.dir} ready" within ${READY_TIMEOUT_MS / 1000} s; see its [${s.short}] lines above`);
    const why = outcome.code === 78 ? 'invalid configuration' : describeExit(outcome);
    throw new Error(`${s.dir} exited during startup (${why}); see its [${s.short}] lines above`);
  });
  await Promise.all(waits);
}

// ---- the demo ----

/** Builds the demo page into infra/demo/dist; undefined (with a warning) when that fails. */
async function buildDemoPage(): Promise<string | undefined> {
  try {
    // Imported here: esbuild is a development dependency, and the stack runs without the demo.
    const { buildDemo } = await import('../demo/build.js');
    const started = Date.now();
    const built = await buildDemo();
    say(`demo page built into ${built.outDir} (${Date.now() - started} ms)`);
    return built.outDir;
  } catch (err) {
    say(paint('yellow', `the demo page could not be built, starting without it: ${err instanceof Error ? err.message : String(err)}`));
    return undefined;
  }
}

async function startTicker(env: NodeJS.ProcessEnv): Promise<void> {
  const proc = start('demo-ticker', tag('ticker', 'gray'), process.execPath, ['--import', 'tsx', join('infra', 'demo', 'ticker-main.ts')], env);
  extras.push(proc);
  const outcome = await Promise.race([
    proc.waitForLine('demo-ticker ready').then(() => 'ready' as const),
    proc.exited,
    new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), READY_TIMEOUT_MS).unref()),
  ]);
  if (outcome === 'ready') return;
  say(paint('yellow', `the demo ticker did not start (${outcome === 'timeout' ? 'no "demo-ticker ready" in time' : describeExit(outcome)}); the demo's ticker view stays empty`));
}

// ---- stopping ----

let phase: 'starting' | 'running' | 'stopping' = 'starting';
let stopping: Promise<never> | undefined;
let firstSignalAt: number | undefined;

function shutdown(exitCode: number): Promise<never> {
  stopping ??= (async () => {
    phase = 'stopping';
    await Promise.all([...services, ...extras].map((s) => s.stop()));
    // Only after the services drained, so they do not lose NATS mid-drain.
    if (nats !== undefined) await nats.stop();
    say(exitCode === 0 ? 'stopped' : paint('red', 'stopped'));
    process.exit(exitCode);
  })();
  return stopping;
}

function onSignal(signal: NodeJS.Signals): void {
  const now = Date.now();
  if (firstSignalAt === undefined) {
    firstSignalAt = now;
    say(`${signal}: stopping (press Ctrl-C again to kill everything now)`);
    void shutdown(phase === 'stopping' ? 1 : 0);
    return;
  }
  if (now - firstSignalAt < SAME_PRESS_MS) return;
  say(paint('red', `${signal} again: killing everything`));
  for (const p of procs) p.kill();
  process.exit(130);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
// Last resort on any exit path (a crash included): the children run in their own process
// groups, so nothing else would stop them.
process.on('exit', () => {
  for (const p of procs) p.kill();
});
// If start.mjs is killed outright (SIGKILL), we are re-parented: treat that as a stop request.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid && phase !== 'stopping') {
    say('parent process is gone: stopping');
    void shutdown(1);
  }
}, 1_000).unref();

function fatal(message: string): Promise<never> {
  process.stderr.write(`${ME} ${paint('red', message)}\n`);
  return shutdown(1);
}

// ---- main ----

function banner(o: { wsUrl: string; healthUrl: string; demoUrl: string | undefined; natsUrl: string; natsNote: string }): string {
  const line = '─'.repeat(72);
  // try.ts defaults to ws://127.0.0.1:8080/.
  const tryCmd = o.wsUrl === 'ws://127.0.0.1:8080/' ? 'npm run try' : `npm run try -- ${o.wsUrl}`;
  const pubCmd = `printf '\\245hello' | nats -s ${o.natsUrl} pub ${config.prefix}.pub.demo --force-stdin`;
  return [
    line,
    `  ${paint('bold', 'Cascade is running')}`,
    `  WebSocket   ${paint('cyan', o.wsUrl)}`,
    `  Demo        ${o.demoUrl === undefined ? 'not built (see the warning above)' : paint('cyan', o.demoUrl)}`,
    `  Health      ${o.healthUrl}`,
    `  NATS        ${o.natsUrl}  ${o.natsNote}`,
    `  Data        ${config.dataDir}`,
    `  Auth        ${process.env.EDGE_ANONYMOUS === 'off' ? 'a token is required' : 'clients without a token may use any channel (local only)'}; HS256 tokens: development secret`,
    '',
    '  Try next:',
    ...(o.demoUrl === undefined
      ? []
      : [
          `    ${o.demoUrl}?user=alice   and   ${o.demoUrl}?user=bob`,
          '        the demo in two browser windows: chat, presence, typing, a live ticker;',
          '        add &transport=sse for Server-Sent Events (docs/demo.md)',
        ]),
    `    ${tryCmd}`,
    '        two clients (alice, bob) subscribe to channel "demo"; alice publishes',
    '    docs/protocol.md',
    '        the wire protocol (msgpack frames) to write your own client',
    `    ${pubCmd}`,
    `        publish from a backend on ${config.prefix}.pub.<channel>; the payload must be`,
    `        exactly one msgpack value (\\245hello is the string "hello")`,
    '',
    '  Ctrl-C stops everything.',
    line,
  ].join('\n');
}

async function main(): Promise<void> {
  const contract = new Contract({ prefix: config.prefix, partitions: config.partitions });
  mkdirSync(config.dataDir, { recursive: true });
  let natsUrl: string;
  let natsNote: string;
  if (config.natsUrl !== undefined) {
    natsUrl = config.natsUrl.join(',');
    natsNote = '(from NATS_URL)';
    const m = contract.serverMapping();
    say(`using the NATS server at ${natsUrl} (NATS_URL); not starting a local nats-server`);
    say(`it needs JetStream, and for ${config.prefix}.pub.<channel> publishes the mapping  mappings { ${q(m.from)}: ${q(m.to)} }`);
  } else {
    const local = await startNats(contract);
    natsUrl = local.url;
    natsNote = `(local nats-server, monitoring ${local.monitorUrl})`;
    say(`nats-server is ready at ${natsUrl}`);
  }
  const edgePort = await portFor('the edge-gateway', 'EDGE_PORT', config.edgeHost, config.edgePort);
  // Before the edge starts: it reads EDGE_STATIC_DIR once, at start.
  const demoDir = await buildDemoPage();
  const env = serviceEnv(natsUrl, edgePort, demoDir);
  say('starting edge-gateway, fan-out-worker, history and presence ...');
  await startServices(env);
  if (demoDir !== undefined && phase !== 'stopping') await startTicker(env);
  if (phase === 'stopping') return;
  phase = 'running';
  for (const s of services) {
    void s.exited.then((exit) => {
      if (phase !== 'running') return;
      void fatal(`${s.name} exited unexpectedly (${describeExit(exit)}); stopping the rest`);
    });
  }
  for (const x of extras) {
    void x.exited.then((exit) => {
      if (phase === 'running') say(paint('yellow', `${x.name} exited (${describeExit(exit)}); the rest keeps running`));
    });
  }
  if (nats !== undefined) {
    void nats.exited.then((exit) => {
      if (phase === 'running') void fatal(`nats-server exited unexpectedly (${describeExit(exit)}); stopping the services`);
    });
  }
  // A wildcard bind is reachable on loopback; an IPv6 literal needs brackets in a URL.
  const host = config.edgeHost === '0.0.0.0' || config.edgeHost === '::' ? '127.0.0.1' : config.edgeHost;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const wsUrl = `ws://${shownHost}:${edgePort}/`;
  // EDGE_STATIC_DIR from the environment wins over ours; the page is at /demo/ either way.
  const demoUrl = demoDir === undefined && !process.env.EDGE_STATIC_DIR ? undefined : `http://${shownHost}:${edgePort}/demo/`;
  process.stdout.write(`\n${banner({ wsUrl, healthUrl: `http://${shownHost}:${edgePort}/healthz`, demoUrl, natsUrl, natsNote })}\n\n`);
}

main().catch((err: unknown) => {
  if (phase === 'stopping') return;
  void fatal(err instanceof Error ? err.message : String(err));
});

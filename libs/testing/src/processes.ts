// Runs a service entry file (.ts via @cascade/ts-loader, or .mjs) as a child process and watches its output.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { exitOf, terminate, describeExit, type ExitInfo } from './child.js';
import { trackChild } from './cleanup.js';
import { OutputLog } from './output.js';
import { repoRoot } from './repo.js';

export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  /** Combined stdout+stderr so far. */
  output(): string;
  /** Resolves with the matched text once the output contains `match` (text seen before the call counts). */
  waitForOutput(match: RegExp | string, timeoutMs?: number): Promise<string>;
  /** Sends `signal` (default SIGTERM), SIGKILL after `timeoutMs` (default 5000); resolves with how it exited. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitInfo>;
  kill(): Promise<void>;
  readonly exited: Promise<ExitInfo>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface SpawnServiceOptions {
  name: string;
  entry: string;
  env?: Record<string, string>;
  args?: string[];
  cwd?: string;
  ready?: RegExp | string;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 20_000;
const DEFAULT_STOP_MS = 5_000;
const WAIT_OUTPUT_MS = 10_000;

// An absolute URL lets the child load the loader whatever its cwd is. Services run through
// @cascade/ts-loader, as in production (the Dockerfile), not tsx (libs/ts-loader/hooks.mjs says why).
let tsLoader: string | undefined;
function tsLoaderUrl(): string {
  tsLoader ??= pathToFileURL(createRequire(`${repoRoot()}/package.json`).resolve('@cascade/ts-loader')).href;
  return tsLoader;
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines - 1).join('\n').trimEnd();
}

export async function spawnService(o: SpawnServiceOptions): Promise<ServiceProcess> {
  if (!isAbsolute(o.entry)) throw new Error(`spawnService(${o.name}): entry must be an absolute path, got ${o.entry}`);
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const child = spawn(process.execPath, ['--import', tsLoaderUrl(), o.entry, ...(o.args ?? [])], {
    cwd: o.cwd ?? repoRoot(),
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = exitOf(child);
  trackChild(child);
  const log = new OutputLog();
  log.attach(child);
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const waitForOutput = async (match: RegExp | string, waitMs = WAIT_OUTPUT_MS): Promise<string> => {
    const waiter = log.waitFor(match);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<{ kind: 'timeout' }>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'timeout' }), waitMs);
    });
    try {
      const first = await Promise.race([
        waiter.promise.then((text) => ({ kind: 'match' as const, text })),
        exited.then((exit) => ({ kind: 'exit' as const, exit })),
        timeout,
      ]);
      if (first.kind === 'match') return first.text;
      // The process may have printed the match just before exiting: the log is complete by now.
      const late = log.find(match);
      if (late !== undefined) return late;
      const why = first.kind === 'timeout' ? `not seen within ${waitMs} ms` : `process exited first (${describeExit(first.exit)})`;
      throw new Error(`service ${o.name}: waiting for ${String(match)}: ${why}\n--- output tail ---\n${tail(log.all())}`);
    } finally {
      clearTimeout(timer);
      waiter.cancel();
    }
  };

  const service: ServiceProcess = {
    name: o.name,
    pid: child.pid ?? -1,
    output: () => log.all(),
    waitForOutput,
    stop: (signal = 'SIGTERM', stopMs = DEFAULT_STOP_MS) => terminate(child, signal, stopMs),
    kill: async () => {
      await terminate(child, 'SIGKILL', 0);
    },
    exited,
    [Symbol.asyncDispose]: async () => {
      await terminate(child, 'SIGTERM', DEFAULT_STOP_MS);
    },
  };

  if (child.pid === undefined) {
    const err = await spawnError;
    throw new Error(`service ${o.name}: could not spawn ${process.execPath}: ${err.message}`);
  }
  if (o.ready !== undefined) {
    try {
      await waitForOutput(o.ready, timeoutMs);
    } catch (err) {
      await terminate(child, 'SIGKILL', 0);
      throw err;
    }
  }
  return service;
}

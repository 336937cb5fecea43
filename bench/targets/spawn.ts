// Starts a server under test as its own process (optionally pinned to a core from its first
// instruction, via `taskset -c`), waits for its ready line, and stops it for sure.
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { track, stopChild } from '../system/children.js';

let hasTaskset: boolean | undefined;
function tasksetAvailable(): boolean {
  if (hasTaskset === undefined) {
    try {
      execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
      hasTaskset = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      hasTaskset = false;
    }
  }
  return hasTaskset;
}

export interface Spawned {
  readonly child: ChildProcess;
  readonly pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** Runs `cmd args` on `core` (when taskset exists) and resolves once `ready` shows in its output. */
export async function spawnServer(o: { name: string; cmd: string; args: string[]; env?: Record<string, string>; core?: number; ready: RegExp; timeoutMs?: number }): Promise<Spawned> {
  const [file, args] = o.core !== undefined && tasksetAvailable() ? ['taskset', ['-c', String(o.core), o.cmd, ...o.args]] : [o.cmd, o.args];
  const child = track(spawn(file, args, { env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  const spawned: Spawned = {
    child,
    pid: child.pid ?? -1,
    output: () => out,
    stop: () => stopChild(child),
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${o.name}: not ready after ${o.timeoutMs ?? 20_000} ms\n${out.slice(-2000)}`)), o.timeoutMs ?? 20_000);
      const onData = (d: Buffer) => {
        // Keep a bounded tail: a chatty server must not grow the orchestrator's memory.
        out = (out + d.toString()).slice(-20_000);
        if (o.ready.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`${o.name}: cannot start: ${e.message}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${o.name}: exited during start-up (${signal ?? code})\n${out.slice(-2000)}`));
      });
    });
  } catch (e) {
    await spawned.stop();
    throw e;
  }
  return spawned;
}

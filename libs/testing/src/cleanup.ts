// Kills tracked child processes and removes temp dirs if the test process ends without stopping them.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let installed = false;

function cleanupNow(): void {
  for (const child of children) {
    // A child that already exited has a null exitCode only if it died by signal; both are done.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  cleanupNow();
  process.removeListener(signal, onSignal);
  // Listening for a signal suppresses Node's default exit; re-raise it so the process still dies
  // unless someone else (e.g. the test runner) handles it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
}

export function trackChild(child: ChildProcess): void {
  install();
  children.add(child);
  child.once('exit', () => children.delete(child));
}

export function makeTempDir(label: string): string {
  install();
  const dir = mkdtempSync(join(tmpdir(), `cascade-test-${label.replace(/[^A-Za-z0-9_-]/g, '_')}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

// Reads what the kernel knows about a process (resident memory, CPU time) and pins processes
// to a core with taskset, which is optional: without it the run goes on unpinned.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Resident set size in bytes (VmRSS), or NaN when the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? Number.NaN : Number(m[1]) * 1024;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return Number.NaN;
    throw e;
  }
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** User + system CPU seconds used so far by the process (all its threads). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may contain spaces, start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return Number.NaN;
    throw e;
  }
}

let tasksetMissing: boolean | undefined;

/** Pins every thread of `pid` to `core`; returns false (once warned) when taskset is unavailable. */
export function pin(pid: number, core: number): boolean {
  if (tasksetMissing) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    tasksetMissing = true;
    process.stderr.write('bench: taskset not found (util-linux); processes run unpinned\n');
    return false;
  }
}

export function coreCount(): number {
  return Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
}

// What the results were measured on: printed with every run, because numbers from a shared
// two-core machine mean little without the load average next to them.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { natsServerBinary } from '@cascade/testing';

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  natsServer: string;
  uws: string;
  openFilesLimit: string;
  loadAverageAtStart: number[];
  taskset: boolean;
}

function tryRun(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export function describeMachine(): Machine {
  const model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const uwsPkg = JSON.parse(readFileSync(new URL('../../node_modules/uWebSockets.js/package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  return {
    nproc: Number(tryRun('nproc', []) ?? cpus().length),
    cpuModel: model.trim(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    natsServer: tryRun(natsServerBinary(), ['--version']) ?? 'unknown',
    uws: `${uwsPkg.name}@${uwsPkg.version}`,
    openFilesLimit: tryRun('sh', ['-c', 'ulimit -Hn']) ?? 'unknown',
    loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    taskset: tryRun('taskset', ['-p', String(process.pid)]) !== undefined,
  };
}

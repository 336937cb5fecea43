// Waits for and terminates child processes with an escalation to SIGKILL.
import type { ChildProcess } from 'node:child_process';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const exits = new WeakMap<ChildProcess, Promise<ExitInfo>>();

// Must be called right after spawn: 'exit' fired before a listener is attached would be lost.
export function exitOf(child: ChildProcess): Promise<ExitInfo> {
  let exit = exits.get(child);
  if (exit === undefined) {
    exit = new Promise<ExitInfo>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve({ code: child.exitCode, signal: child.signalCode });
        return;
      }
      // 'close' comes after the stdio pipes drain, so output captured by then is complete; the
      // fallback covers a grandchild that inherited the pipes and keeps them open.
      child.once('close', (code, signal) => resolve({ code, signal }));
      child.once('exit', (code, signal) => {
        setTimeout(() => resolve({ code, signal }), 1_000);
      });
      // A spawn failure (e.g. ENOENT) emits 'error' and may never emit 'exit'.
      child.once('error', () => {
        if (child.pid === undefined) resolve({ code: null, signal: null });
      });
    });
    exits.set(child, exit);
  }
  return exit;
}

export function isRunning(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

// Sends `signal`, and SIGKILL if the child is still alive after `graceMs`.
export async function terminate(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<ExitInfo> {
  const exit = exitOf(child);
  if (!isRunning(child)) return exit;
  child.kill(signal);
  if (signal === 'SIGKILL') return exit;
  let timer: NodeJS.Timeout | undefined;
  const escalate = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, graceMs);
  });
  const first = await Promise.race([exit.then(() => 'exited' as const), escalate.then(() => 'timeout' as const)]);
  clearTimeout(timer);
  if (first === 'timeout' && isRunning(child)) child.kill('SIGKILL');
  return exit;
}

export function describeExit(exit: ExitInfo): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `exit code ${String(exit.code)}`;
}

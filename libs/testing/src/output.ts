// Captures a child's combined stdout+stderr and lets callers wait for text to appear in it.
import type { ChildProcess } from 'node:child_process';

// Enough for any test's assertions while bounding memory for chatty long-running services.
const MAX_CHARS = 4_000_000;

type Waiter = { test: (text: string) => string | undefined; resolve: (match: string) => void };

export class OutputLog {
  private text = '';
  private dropped = 0;
  private waiters = new Set<Waiter>();

  attach(child: ChildProcess): void {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.append(chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.append(chunk));
  }

  all(): string {
    return this.dropped > 0 ? `[... ${this.dropped} earlier chars dropped]\n${this.text}` : this.text;
  }

  tail(lines = 30): string {
    return this.text.split('\n').slice(-lines - 1).join('\n').trimEnd();
  }

  find(match: RegExp | string): string | undefined {
    return matcher(match)(this.text);
  }

  // Resolves with the matched text as soon as the output contains `match` (already or later).
  waitFor(match: RegExp | string): { promise: Promise<string>; cancel: () => void } {
    const test = matcher(match);
    let waiter: Waiter | undefined;
    const promise = new Promise<string>((resolve) => {
      const found = test(this.text);
      if (found !== undefined) {
        resolve(found);
        return;
      }
      waiter = { test, resolve };
      this.waiters.add(waiter);
    });
    return { promise, cancel: () => waiter && this.waiters.delete(waiter) };
  }

  append(chunk: string): void {
    this.text += chunk;
    if (this.text.length > MAX_CHARS) {
      const cut = this.text.length - MAX_CHARS;
      this.text = this.text.slice(cut);
      this.dropped += cut;
    }
    for (const waiter of this.waiters) {
      const found = waiter.test(this.text);
      if (found !== undefined) {
        this.waiters.delete(waiter);
        waiter.resolve(found);
      }
    }
  }
}

function matcher(match: RegExp | string): (text: string) => string | undefined {
  if (typeof match === 'string') return (text) => (text.includes(match) ? match : undefined);
  // A global/sticky regex carries lastIndex between calls, which would make repeated scans skip text.
  const re = new RegExp(match.source, match.flags.replace(/[gy]/g, ''));
  return (text) => re.exec(text)?.[0];
}

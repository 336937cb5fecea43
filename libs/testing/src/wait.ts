// Small timing helpers shared by the fixtures: sleeping and bounding waits.

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Resolves with the promise's value, or rejects with the message from `onTimeout` once
// `ms` has passed; the timer never keeps the process alive.
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(onTimeout())), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * Polls `read` until `ok` holds and returns that value; rejects after `timeoutMs` naming
 * `what` and the last value seen. For state that converges (presence, retention sweeps).
 */
export async function eventually<T>(what: string, read: () => Promise<T> | T, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < until) {
    last = await read();
    if (ok(last)) return last;
    await sleep(50);
  }
  throw new Error(`${what}: not reached within ${timeoutMs} ms; last value ${JSON.stringify(last)?.slice(0, 500)}`);
}

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

// Finds the nats-server executable the local fixtures run.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const FALLBACK = '/usr/sbin/nats-server';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    // Not there or not executable: the caller tries the next candidate.
    return false;
  }
}

export function natsServerBinary(): string {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!isExecutable(fromEnv)) throw new Error(`NATS_SERVER_BIN=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'nats-server');
    if (isExecutable(candidate)) return candidate;
  }
  if (isExecutable(FALLBACK)) return FALLBACK;
  throw new Error(
    'nats-server not found: set NATS_SERVER_BIN, put nats-server on PATH, or install it (apt-get install nats-server)',
  );
}

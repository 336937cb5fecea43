// Picks the NATS a test gets: a container when asked for and possible, else a local nats-server.
import { containerRuntimeAvailable, startNatsContainer } from './nats-container.js';
import { startNatsServer } from './nats-server.js';

export interface NatsFixture {
  readonly url: string;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

let skipLogged = false;

/** The one entry point tests use; CASCADE_TEST_NATS=container opts into testcontainers. */
export async function natsFixture(): Promise<NatsFixture> {
  if (process.env.CASCADE_TEST_NATS === 'container') {
    if (await containerRuntimeAvailable()) return startNatsContainer();
    if (!skipLogged) {
      skipLogged = true;
      console.warn('[cascade/testing] CASCADE_TEST_NATS=container: container path skipped (no Docker engine); using local nats-server');
    }
  }
  return startNatsServer();
}

// Runs NATS in a container through testcontainers, for tests that opt into a real image.
import type { StartedTestContainer } from 'testcontainers';
import { uniqueName } from './names.js';
import { withTimeout } from './wait.js';

export interface NatsContainerFixture {
  readonly url: string;
  readonly port: number;
  readonly monitorPort: number;
  readonly name: string;
  readonly image: string;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const PROBE_TIMEOUT_MS = 4_000;
let probe: Promise<boolean> | undefined;
let probeFailure = '';

// testcontainers is imported lazily: it is heavy and only the container path needs it.
async function probeRuntime(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await withTimeout(getContainerRuntimeClient(), PROBE_TIMEOUT_MS, () => 'container runtime probe timed out');
    return true;
  } catch (err) {
    // "No engine" is an answer, not a failure: callers fall back to the local binary.
    probeFailure = err instanceof Error ? err.message : String(err);
    return false;
  }
}

/** True only if a Docker-compatible engine answers; never throws; the answer is cached per process. */
export function containerRuntimeAvailable(): Promise<boolean> {
  probe ??= probeRuntime();
  return probe;
}

export async function startNatsContainer(o: { image?: string } = {}): Promise<NatsContainerFixture> {
  const image = o.image ?? 'nats:2.10-alpine';
  if (!(await containerRuntimeAvailable())) {
    throw new Error(`startNatsContainer(${image}): no container runtime answers (${probeFailure}); use startNatsServer() or natsFixture()`);
  }
  const { GenericContainer, Wait } = await import('testcontainers');
  const name = uniqueName('nats_container');
  let container: StartedTestContainer;
  try {
    container = await new GenericContainer(image)
      .withCommand(['-js', '-m', '8222', '--server_name', name])
      .withExposedPorts(4222, 8222)
      .withWaitStrategy(Wait.forHttp('/healthz', 8222).forStatusCode(200))
      .withStartupTimeout(60_000)
      .start();
  } catch (err) {
    throw new Error(`startNatsContainer(${image}) failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const host = container.getHost();
  const port = container.getMappedPort(4222);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= container.stop().then(() => undefined);
    return stopped;
  };
  return {
    url: `nats://${host}:${port}`,
    port,
    monitorPort: container.getMappedPort(8222),
    name,
    image,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

// Proves the container path degrades cleanly: the probe never throws and natsFixture falls back.
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { containerRuntimeAvailable, natsFixture, startNatsContainer } from './index.js';

const available = await containerRuntimeAvailable();
const savedMode = process.env.CASCADE_TEST_NATS;

afterEach(() => {
  vi.restoreAllMocks();
  if (savedMode === undefined) delete process.env.CASCADE_TEST_NATS;
  else process.env.CASCADE_TEST_NATS = savedMode;
});

async function assertServes(url: string): Promise<void> {
  const nc = await connect({ servers: url });
  await nc.flush();
  await nc.close();
}

it('answers the runtime probe quickly without throwing', async () => {
  const started = Date.now();
  expect(typeof (await containerRuntimeAvailable())).toBe('boolean');
  expect(Date.now() - started).toBeLessThan(5_000);
});

it('natsFixture uses the local binary by default', async () => {
  delete process.env.CASCADE_TEST_NATS;
  await using nats = await natsFixture();
  expect(nats.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
  await assertServes(nats.url);
});

describe.runIf(!available)('without a container runtime', () => {
  it('startNatsContainer rejects with a clear message', async () => {
    await expect(startNatsContainer()).rejects.toThrow(/no container runtime answers/);
  });

  it('natsFixture with CASCADE_TEST_NATS=container logs the skip once and falls back to the local binary', async () => {
    process.env.CASCADE_TEST_NATS = 'container';
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    await using first = await natsFixture();
    await using second = await natsFixture();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/container path skipped \(no Docker engine\)/);
    await assertServes(first.url);
    await assertServes(second.url);
  });
});

describe.runIf(available)('with a container runtime', () => {
  it('startNatsContainer runs NATS with JetStream', { timeout: 120_000 }, async () => {
    await using nats = await startNatsContainer();
    await assertServes(nats.url);
  });
});

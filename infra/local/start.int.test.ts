// Integration test of `npm start` (infra/local/start.mjs): the whole local stack comes up,
// carries messages (try.ts, a raw client, a plain-NATS backend) and stops cleanly on SIGINT.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from '@msgpack/msgpack';
import { connect as connectNats } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, repoRoot, spawnService, startNatsServer, TestWsClient, type ServiceProcess } from '@cascade/testing';

const START = join(repoRoot(), 'infra', 'local', 'start.mjs');
const TRY = join(repoRoot(), 'infra', 'local', 'try.ts');
const BANNER = 'Cascade is running';

// The stack must start its own nats-server unless a test asks otherwise.
delete process.env.NATS_URL;

let stack: ServiceProcess | undefined;
const dirs: string[] = [];

afterEach(async () => {
  // SIGINT gives start.mjs its orderly stop, so no nats-server or service outlives a failed test.
  await stack?.stop('SIGINT', 20_000);
  stack = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function startStack(env: Record<string, string>): Promise<ServiceProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cascade-start-'));
  dirs.push(dataDir);
  stack = await spawnService({
    name: 'npm-start',
    entry: START,
    env: { CASCADE_DATA_DIR: dataDir, ...env },
    ready: BANNER,
    timeoutMs: 45_000,
  });
  return stack;
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** connect + subscribe, as every client does first. */
async function subscribed(url: string, channel: string): Promise<TestWsClient> {
  const client = await TestWsClient.connect(url);
  client.send({ t: 1 });
  await client.next((f) => f.t === 101);
  client.send({ t: 2, id: 1, ch: channel });
  await client.next((f) => f.t === 102 && f.id === 1);
  return client;
}

async function publishAndReceive(url: string, channel: string): Promise<void> {
  const client = await subscribed(url, channel);
  try {
    client.send({ t: 4, id: 2, ch: channel, data: { n: 42, text: 'from the test' }, key: 'k-1' });
    await client.next((f) => f.t === 102 && f.id === 2);
    const message = await client.next((f) => f.t === 103 && f.ch === channel);
    expect(message).toMatchObject({ seq: 1, key: 'k-1', data: { n: 42, text: 'from the test' } });
    expect(typeof message.ep).toBe('string');
  } finally {
    await client.close();
  }
}

describe('npm start (infra/local/start.mjs)', () => {
  it('starts nats-server and the services, carries messages, and stops cleanly on SIGINT', { timeout: 60_000 }, async () => {
    const natsPort = await freePort();
    const edgePort = await freePort();
    const started = await startStack({ CASCADE_NATS_PORT: String(natsPort), EDGE_PORT: String(edgePort) });
    const url = `ws://127.0.0.1:${edgePort}/`;
    const out = started.output();
    expect(out).toContain(`WebSocket   ${url}`);
    expect(out).toContain(`nats://127.0.0.1:${natsPort}`);
    expect(out).toContain(`npm run try -- ${url}`);
    for (const tag of ['[nats]', '[edge]', '[fanout]', '[history]', '[presence]', '[ticker]']) expect(out).toContain(tag);

    // The demo: built, served by the edge with development tokens, and fed by the ticker.
    const demoUrl = `http://127.0.0.1:${edgePort}/demo/`;
    expect(out).toContain(`Demo        ${demoUrl}`);
    const page = await fetch(demoUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Cascade demo</title>');
    expect((await fetch(`${demoUrl}demo.js`)).status).toBe(200);
    const dev = await fetch(`http://127.0.0.1:${edgePort}/v1/dev/token?user=alice`);
    expect(dev.status).toBe(200);
    expect(await dev.json()).toMatchObject({ user: 'alice', token: expect.any(String) });
    const tickerClient = await subscribed(url, 'demo:ticker');
    try {
      const tick = await tickerClient.next((f) => f.t === 103 && f.ch === 'demo:ticker', 10_000);
      expect(tick).toMatchObject({ from: 'ticker', data: { n: expect.any(Number), sent: expect.any(Number) } });
    } finally {
      await tickerClient.close();
    }

    // (a) the demo script: both clients receive alice's message as the channel's first.
    const demo = await spawnService({ name: 'try', entry: TRY, args: [url] });
    const demoExit = await demo.exited;
    const demoOut = demo.output();
    expect(demoExit, demoOut).toEqual({ code: 0, signal: null });
    expect(demoOut).toMatch(/alice: received message seq=1 .*"text":"hello from alice"/);
    expect(demoOut).toMatch(/bob: received message seq=1 .*"text":"hello from alice"/);

    // (b) a raw client of our own.
    await publishAndReceive(url, 'itest');

    // (c) a backend publishing with a plain NATS client on rt.pub.<channel>: the mapping works.
    const client = await subscribed(url, 'backend');
    const nc = await connectNats({ servers: `nats://127.0.0.1:${natsPort}` });
    try {
      nc.publish('rt.pub.backend', encode('from a backend'));
      await nc.flush();
      const message = await client.next((f) => f.t === 103 && f.ch === 'backend', 10_000);
      expect(message).toMatchObject({ seq: 1, data: 'from a backend' });
    } finally {
      await nc.close();
      await client.close();
    }

    const exit = await started.stop('SIGINT', 20_000);
    stack = undefined;
    expect(exit, started.output()).toEqual({ code: 0, signal: null });
    expect(started.output()).toContain('[cascade]  stopped');
    expect(await portAccepts(natsPort)).toBe(false);
    expect(await portAccepts(edgePort)).toBe(false);
  });

  it('uses the server in NATS_URL instead of starting its own', { timeout: 60_000 }, async () => {
    const nats = await startNatsServer();
    try {
      const edgePort = await freePort();
      const started = await startStack({ NATS_URL: nats.url, EDGE_PORT: String(edgePort) });
      const out = started.output();
      expect(out).toContain(`using the NATS server at ${nats.url} (NATS_URL); not starting a local nats-server`);
      expect(out).not.toContain('[nats]');
      expect(out).not.toContain('starting nats-server');

      await publishAndReceive(`ws://127.0.0.1:${edgePort}/`, 'external');

      const exit = await started.stop('SIGINT', 20_000);
      stack = undefined;
      expect(exit, started.output()).toEqual({ code: 0, signal: null });
      // Someone else's server is left running.
      expect(await portAccepts(nats.port)).toBe(true);
    } finally {
      await nats.stop();
    }
  });
});

// Proves startNatsServer: JetStream works, restart keeps file storage, extra config applies, failures explain themselves.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { startNatsServer, uniqueName } from './index.js';

describe('startNatsServer', () => {
  it('starts a JetStream server on free loopback ports and cleans up on stop', async () => {
    const server = await startNatsServer();
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    expect(server.port).not.toBe(4222);
    expect(server.storeDir.startsWith(`${tmpdir()}/cascade-test-`)).toBe(true);

    const varz = (await (await fetch(`http://127.0.0.1:${server.monitorPort}/varz`)).json()) as { server_name: string };
    expect(varz.server_name).toBe(server.name);

    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      const stream = uniqueName('basic');
      await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
      const js = jetstream(nc);
      for (let i = 0; i < 3; i++) await js.publish(`${stream}.msg`, `m${i}`);
      const info = await jsm.streams.info(stream);
      expect(info.state.messages).toBe(3);
    } finally {
      await nc.close();
    }

    await server.stop();
    expect(existsSync(server.storeDir)).toBe(false);
    await server.stop();
    await expect(server.restart()).rejects.toThrow(/stop\(\) removed/);
  });

  it('keeps a file-stored stream across kill() and restart() on the same port', async () => {
    await using server = await startNatsServer();
    const stream = uniqueName('durable');
    let nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    const js = jetstream(nc);
    for (let i = 0; i < 5; i++) await js.publish(`${stream}.msg`, `m${i}`);
    await nc.close();

    await server.kill();
    expect(existsSync(server.storeDir)).toBe(true);
    await server.restart();

    nc = await connect({ servers: server.url });
    try {
      const jsm2 = await jetstreamManager(nc);
      const info = await jsm2.streams.info(stream);
      expect(info.state.messages).toBe(5);
      const last = await jsm2.streams.getMessage(stream, { seq: 5 });
      expect(last?.string()).toBe('m4');
    } finally {
      await nc.close();
    }

    // A graceful stop that keeps the store, and a restart of a running server, keep data too.
    await server.stop({ keepStoreDir: true });
    await server.restart();
    await server.restart();
    nc = await connect({ servers: server.url });
    try {
      expect((await (await jetstreamManager(nc)).streams.info(stream)).state.messages).toBe(5);
    } finally {
      await nc.close();
    }
  });

  it('appends extra config text such as subject mappings', async () => {
    await using server = await startNatsServer({ jetstream: false, config: 'mappings {\n  "alias.hello": "real.hello"\n}' });
    const nc = await connect({ servers: server.url });
    try {
      const sub = nc.subscribe('real.hello', { max: 1 });
      await nc.flush();
      nc.publish('alias.hello', 'hi');
      for await (const msg of sub) expect(msg.string()).toBe('hi');
    } finally {
      await nc.close();
    }
  });

  it('rejects with the server output tail when the server cannot start', async () => {
    await expect(startNatsServer({ config: 'this is { not valid nats config' })).rejects.toThrow(
      /exited during startup[\s\S]*server output tail[\s\S]*nats-server:/,
    );
  });
});

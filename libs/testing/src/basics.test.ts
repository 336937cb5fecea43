// Unit tests for the harness helpers that need no server.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, natsServerBinary, repoRoot, uniqueName } from './index.js';

describe('uniqueName', () => {
  it('is unique and uses only characters NATS accepts in stream/consumer/KV names', () => {
    const names = Array.from({ length: 200 }, () => uniqueName('orders.v1 *>'));
    expect(new Set(names).size).toBe(200);
    for (const name of names) expect(name).toMatch(/^orders_v1___[A-Za-z0-9_-]+$/);
    expect(uniqueName('s')).toContain(`_${process.pid}_`);
  });
});

describe('freePort', () => {
  it('returns distinct bindable ports', async () => {
    const ports = await Promise.all(Array.from({ length: 10 }, () => freePort()));
    expect(new Set(ports).size).toBe(10);
    for (const port of ports) expect(port).toBeGreaterThan(0);
  });
});

describe('repoRoot', () => {
  it('is the folder whose package.json declares workspaces', () => {
    const manifest = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { workspaces?: unknown };
    expect(manifest.workspaces).toBeDefined();
  });
});

describe('natsServerBinary', () => {
  const saved = process.env.NATS_SERVER_BIN;
  afterEach(() => {
    if (saved === undefined) delete process.env.NATS_SERVER_BIN;
    else process.env.NATS_SERVER_BIN = saved;
  });

  it('finds an executable nats-server', () => {
    delete process.env.NATS_SERVER_BIN;
    expect(existsSync(natsServerBinary())).toBe(true);
  });

  it('rejects a NATS_SERVER_BIN that is not executable', () => {
    process.env.NATS_SERVER_BIN = '/nonexistent/nats-server';
    expect(() => natsServerBinary()).toThrow(/NATS_SERVER_BIN=\/nonexistent\/nats-server is not an executable/);
  });
});

// A wrong configuration value stops a service at start with a message naming the variable.
import { describe, expect, it } from 'vitest';
import { serviceEntry, spawnService } from '@cascade/testing';

async function startWith(service: Parameters<typeof serviceEntry>[0], env: Record<string, string>) {
  const p = await spawnService({ name: service, entry: serviceEntry(service), env: { NATS_URL: 'nats://127.0.0.1:1', ...env } });
  const exit = await p.exited;
  return { code: exit.code, output: p.output() };
}

describe('configuration errors', () => {
  it('the edge names every bad variable and exits with EX_CONFIG', async () => {
    const r = await startWith('edge-gateway', { EDGE_PORT: 'eighty', EDGE_MAX_FRAME_BYTES: '-5', NATS_URL: 'http://example' });
    expect(r.code).toBe(78);
    expect(r.output).toContain('edge-gateway: cannot start, invalid configuration');
    expect(r.output).toMatch(/EDGE_PORT: .*"eighty"/);
    expect(r.output).toMatch(/EDGE_MAX_FRAME_BYTES: /);
    expect(r.output).toMatch(/NATS_URL: /);
  });

  it('the shared variables are checked by every service', async () => {
    for (const service of ['fan-out-worker', 'history', 'presence'] as const) {
      const r = await startWith(service, { RT_PARTITIONS: '0', RT_PREFIX: 'bad.prefix', LOG_LEVEL: 'loud' });
      expect(r.code).toBe(78);
      expect(r.output).toMatch(/RT_PARTITIONS: /);
      expect(r.output).toMatch(/RT_PREFIX: /);
      expect(r.output).toMatch(/LOG_LEVEL: /);
    }
  });
});

// Proves spawnService: readiness, output capture, env/args, graceful stop and early-exit detection.
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { spawnService } from './index.js';

const echoEntry = fileURLToPath(new URL('./test-fixtures/echo-service.ts', import.meta.url));
const crashEntry = fileURLToPath(new URL('./test-fixtures/crash-service.mjs', import.meta.url));

it('runs a .ts entry through the TypeScript loader, waits for ready and captures stdout and stderr', async () => {
  await using svc = await spawnService({
    name: 'echo',
    entry: echoEntry,
    env: { GREETING: 'hello from the test' },
    args: ['--flag', 'value'],
    ready: /echo-service ready/,
  });
  expect(svc.pid).toBeGreaterThan(0);
  expect(svc.output()).toContain('echo-service starting with args ["--flag","value"]');
  expect(svc.output()).toContain('greeting=hello from the test');
  expect(await svc.waitForOutput(/tick/, 5_000)).toBe('tick');

  const exit = await svc.stop();
  expect(exit).toEqual({ code: 0, signal: null });
  expect(svc.output()).toContain('echo-service shutting down');
  expect(await svc.exited).toEqual(exit);
});

it('rejects with the output tail when the process exits before ready', async () => {
  const started = Date.now();
  await expect(spawnService({ name: 'crash', entry: crashEntry, ready: 'never printed' })).rejects.toThrow(
    /service crash: waiting for never printed: process exited first \(exit code 3\)[\s\S]*boom, cannot bind/,
  );
  expect(Date.now() - started).toBeLessThan(10_000);
});

it('reports a waitForOutput timeout with the output so far, and kill() ends the process', async () => {
  const svc = await spawnService({ name: 'echo-timeout', entry: echoEntry, ready: 'ready' });
  await expect(svc.waitForOutput('will not appear', 300)).rejects.toThrow(/not seen within 300 ms[\s\S]*echo-service ready/);
  await svc.kill();
  expect(await svc.exited).toEqual({ code: null, signal: 'SIGKILL' });
});

// Runs TypeScript through the loader in a child Node process, as the services run: module
// resolution by .js names, workspace packages, no esbuild naming helper, class fields as
// TypeScript defines them, stack traces that name .ts lines, and a clear failure for a
// module that does not exist.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REGISTER = new URL('./register.mjs', import.meta.url).href;
const MAIN = fileURLToPath(new URL('./test-fixtures/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

function run(entry: string, ...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', REGISTER, entry, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('@cascade/ts-loader', () => {
  it('runs a .ts entry that imports .ts modules by their .js names and workspace packages', () => {
    const r = run(MAIN);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ area: 9, channel: true, fields: ['count', 'declared'] });
  });

  it('emits no __name helper: function names are the ones the engine infers', () => {
    const out = JSON.parse(run(MAIN).out);
    expect(out.nameHelper).toBe(false);
    expect(out.innerName).toBe('inner');
  });

  it('maps stack traces to the .ts source lines', () => {
    const r = run(MAIN, 'throw');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('thrown on purpose 1');
    expect(r.err).toMatch(/test-fixtures\/main\.ts:29:\d+/);
  });

  it('fails clearly on a module that does not exist', () => {
    const r = run(fileURLToPath(new URL('./test-fixtures/missing.ts', import.meta.url)));
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('ERR_MODULE_NOT_FOUND');
  });
});

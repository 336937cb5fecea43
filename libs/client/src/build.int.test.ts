// The publish build (libs/client/build.mjs) produces a package that works as published: it
// is built into a temporary folder, "installed" there next to its one dependency (symlinks
// in a node_modules folder, as npm would lay them out), imported from Node and connected to
// a real system; its declarations type-check a consumer on their own; `npm pack` ships
// exactly the intended files; and the browser bundle stays within its size budget.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { repoRoot, startCascade, startNatsServer, uniqueName, type CascadeSystem, type NatsServerFixture } from '@cascade/testing';

const run = promisify(execFile);

/**
 * Minified+gzipped bytes the browser bundle may reach: about 1.5x its size when this test
 * was written (18,143 bytes with the SSE transport). Raise it deliberately, never by accident.
 */
const GZIP_BUDGET = 27_000;

let dir: string;
let dist: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cascade-client-build-'));
  dist = join(dir, 'dist');
  await run(process.execPath, [join(repoRoot(), 'libs/client/build.mjs'), '--out', dist], { timeout: 120_000 });
  // What `npm install @cascade/client` lays out in an ESM project: the package and its
  // dependency side by side.
  writeFileSync(join(dir, 'package.json'), '{"type":"module","private":true}\n');
  mkdirSync(join(dir, 'node_modules', '@cascade'), { recursive: true });
  symlinkSync(dist, join(dir, 'node_modules', '@cascade', 'client'), 'dir');
  symlinkSync(join(repoRoot(), 'node_modules', '@msgpack'), join(dir, 'node_modules', '@msgpack'), 'dir');
  symlinkSync(join(repoRoot(), 'node_modules', 'eventsource'), join(dir, 'node_modules', 'eventsource'), 'dir');
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the built package', () => {
  it('has a publishable manifest: version from the workspace, real msgpack range, no @cascade dependency', () => {
    const pkg = JSON.parse(readFileSync(join(dist, 'package.json'), 'utf8'));
    const workspace = JSON.parse(readFileSync(join(repoRoot(), 'libs/client/package.json'), 'utf8'));
    const protocol = JSON.parse(readFileSync(join(repoRoot(), 'libs/protocol/package.json'), 'utf8'));
    expect(pkg).toMatchObject({
      name: '@cascade/client',
      version: workspace.version,
      type: 'module',
      types: './index.d.ts',
      exports: { '.': { types: './index.d.ts', import: './index.js' } },
      sideEffects: false,
      dependencies: { '@msgpack/msgpack': protocol.dependencies['@msgpack/msgpack'] },
      engines: { node: '>=20' },
    });
    expect(pkg.private).toBeUndefined();
    const js = readFileSync(join(dist, 'index.js'), 'utf8');
    expect([...js.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1])).toEqual(['@msgpack/msgpack']);
    expect(js).not.toContain('@cascade/');
    expect(readFileSync(join(dist, 'cascade.browser.min.js'), 'utf8')).not.toMatch(/\bimport\s*[{*"]/);
  });

  it('npm pack ships exactly the code, the declarations, the browser bundle, the manifest and the README', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json'], { cwd: dist, timeout: 60_000 });
    const [packed] = JSON.parse(stdout) as { name: string; files: { path: string }[] }[];
    const files = packed!.files.map((f) => f.path).sort();
    expect(packed!.name).toBe('@cascade/client');
    expect(files.filter((f) => !f.startsWith('types/'))).toEqual(['README.md', 'cascade.browser.min.js', 'index.d.ts', 'index.js', 'index.js.map', 'package.json']);
    const types = files.filter((f) => f.startsWith('types/'));
    expect(types.every((f) => f.endsWith('.d.ts'))).toBe(true);
    expect(types).toEqual(expect.arrayContaining(['types/index.d.ts', 'types/client.d.ts', 'types/types.d.ts', 'types/protocol/index.d.ts']));
  });

  it('its declarations stand alone: a consumer type-checks against them (browser globals and the eventsource package)', () => {
    const consumer = join(dir, 'consumer.ts');
    writeFileSync(
      consumer,
      [
        "import { CascadeClient, CascadeError, ErrorCode, type Message, type RecoveryImpossible } from '@cascade/client';",
        "import { EventSource } from 'eventsource';",
        "const ws = new CascadeClient({ url: 'wss://rt.example.com/', WebSocket: globalThis.WebSocket, token: async () => 'jwt' });",
        "const sse = new CascadeClient({ url: 'https://rt.example.com/', transport: 'sse', EventSource, fetch: globalThis.fetch });",
        'const onMessage = (m: Message): number => m.seq;',
        "const sub = ws.subscribe('chat:1', { onMessage, onRecoveryImpossible: (i: RecoveryImpossible) => i.reason });",
        'const pos: { ep: string; seq: number } | undefined = sub.position;',
        "const p: Promise<{ dup: boolean; key: string }> = sse.publish('chat:1', { text: 'hi' });",
        "const e = new CascadeError(ErrorCode.Timeout, 'x', 'http');",
        "const t: 'websocket' | 'sse' = sse.transport;",
        'export { pos, p, e, t };',
        '',
      ].join('\n'),
    );
    const program = ts.createProgram([consumer], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
      strict: true,
      noEmit: true,
      types: [],
    });
    const errors = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(errors).toEqual([]);
    // Resolved from the package, not from the workspace sources.
    expect(program.getSourceFiles().map((f) => f.fileName).filter((f) => f.includes('/libs/'))).toEqual([]);
  });

  it(`the browser bundle is under ${GZIP_BUDGET} bytes minified and gzipped`, () => {
    const size = JSON.parse(readFileSync(join(dist, 'size.json'), 'utf8')) as { raw: number; minified: number; gzip: number };
    expect(size.minified).toBe(readFileSync(join(dist, 'cascade.browser.min.js')).length);
    expect(size.raw).toBeGreaterThan(size.minified);
    expect(size.gzip).toBeLessThan(size.minified);
    expect(size.gzip).toBeLessThanOrEqual(GZIP_BUDGET);
  });

  describe('imported from Node, against a running system', () => {
    let nats: NatsServerFixture;
    let system: CascadeSystem;
    beforeAll(async () => {
      nats = await startNatsServer();
      system = await startCascade({ natsUrl: nats.url, services: ['fan-out-worker', 'history'] });
    });
    afterAll(async () => {
      await system?.stop();
      await nats?.stop();
    });

    it('connects, subscribes, publishes and receives one message', async () => {
      // A module inside the install folder, so `@cascade/client` resolves to the built package.
      const entry = join(dir, 'use.mjs');
      writeFileSync(entry, "export * from '@cascade/client';\n");
      const built = (await import(pathToFileURL(entry).href)) as typeof import('./index.js');
      expect(built.SDK_VERSION).toBe('0.1.0');
      const c = new built.CascadeClient({ url: system.edges[0]!.url, WebSocket });
      try {
        await c.connect();
        const ch = `chat:${uniqueName('built')}`;
        const got: unknown[] = [];
        const sub = c.subscribe(ch, { onMessage: (m) => got.push(m.data) });
        await sub.ready;
        const r = await c.publish(ch, { hello: 'from dist' });
        expect(r.dup).toBe(false);
        await vi.waitFor(() => expect(got).toEqual([{ hello: 'from dist' }]));
      } finally {
        await c.close();
      }
    });
  });
});

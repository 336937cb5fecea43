// Builds the demo page: bundles web/main.ts with the SDK (@cascade/client from the workspace)
// into one ES module with esbuild, and copies the static files next to it. Fast enough
// (well under a second) to run at every `npm start` and in the browser tests.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

export const DEMO_DIR = import.meta.dirname;
export const WEB_DIR = join(DEMO_DIR, 'web');
/** Where `npm start` serves the page from (gitignored). */
export const DEFAULT_OUT_DIR = join(DEMO_DIR, 'dist');

const STATIC_FILES = ['index.html', 'style.css'];

export interface BuiltDemo {
  outDir: string;
  files: string[];
}

/** Builds the page into `outDir` (created if missing); rejects with esbuild's errors. */
export async function buildDemo(outDir: string = DEFAULT_OUT_DIR): Promise<BuiltDemo> {
  const out = resolve(outDir);
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [join(WEB_DIR, 'main.ts')],
    outfile: join(out, 'demo.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    sourcemap: 'linked',
    minify: false,
    legalComments: 'none',
    tsconfig: join(WEB_DIR, 'tsconfig.json'),
    logLevel: 'silent',
  });
  for (const f of STATIC_FILES) copyFileSync(join(WEB_DIR, f), join(out, f));
  return { outDir: out, files: ['demo.js', 'demo.js.map', ...STATIC_FILES] };
}

// `node --import tsx infra/demo/build.ts [outDir]`
if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const started = Date.now();
  buildDemo(process.argv[2]).then(
    (b) => console.log(`demo built into ${b.outDir} in ${Date.now() - started} ms`),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}

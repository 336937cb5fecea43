// Module hooks that turn TypeScript into JavaScript as Node loads it, the job tsx did for the
// services. Why not tsx: it transforms with esbuild's `keepNames`, which wraps every function
// expression in a `__name(fn, "…")` call that redefines the function's `name` each time the
// expression runs. On the edge that was 3 KiB of garbage per connection (15 % of what a
// connect allocates; `__name` itself about 3 % of a storm's CPU profile), for names the
// engine infers anyway when code is not minified. Here: esbuild's plain transform (same target and tsconfig options as
// tsx), inline source maps, whitespace kept so profiles show real lines.
// - resolve: a relative `./x.js` written in a .ts file means `./x.ts` (TypeScript's NodeNext
//   convention), tried only when the .js file does not exist;
// - load: every `.ts` module is an ES module (all Cascade packages are "type": "module").
import { readFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

/** The compiler options that change emitted code, from the nearest tsconfig.json above the working directory (as tsx reads it). */
function tsconfigRaw() {
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    const file = join(dir, 'tsconfig.json');
    if (existsSync(file)) {
      let o;
      try {
        o = JSON.parse(readFileSync(file, 'utf8')).compilerOptions ?? {};
      } catch (err) {
        throw new Error(`@cascade/ts-loader: ${file} is not plain JSON (${err.message})`);
      }
      const pick = ['target', 'useDefineForClassFields', 'verbatimModuleSyntax', 'preserveValueImports', 'importsNotUsedAsValues', 'experimentalDecorators', 'emitDecoratorMetadata', 'jsx'];
      return { compilerOptions: Object.fromEntries(pick.filter((k) => k in o).map((k) => [k, o[k]])) };
    }
    if (dirname(dir) === dir) return { compilerOptions: {} };
  }
}

const options = { loader: 'ts', format: 'esm', target: `node${process.versions.node}`, sourcemap: 'inline', tsconfigRaw: tsconfigRaw() };

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    const fromTs = context.parentURL?.endsWith('.ts');
    if (fromTs && err?.code === 'ERR_MODULE_NOT_FOUND' && (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:')) && specifier.endsWith('.js')) {
      return next(`${specifier.slice(0, -3)}.ts`, context);
    }
    throw err;
  }
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const file = fileURLToPath(url);
  const { code } = await transform(await readFile(file, 'utf8'), { ...options, sourcefile: file });
  return { format: 'module', source: code, shortCircuit: true };
}

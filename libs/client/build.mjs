#!/usr/bin/env node
// Builds @cascade/client into a complete, publishable package folder (default libs/client/dist):
//   index.js               ESM for bundlers and Node 20+; @cascade/protocol (unpublished) is
//                          bundled in, @msgpack/msgpack stays an external dependency
//   index.d.ts, types/     declarations from the TypeScript compiler; the protocol's are
//                          shipped under types/protocol/ so nothing points at @cascade/protocol
//   cascade.browser.min.js everything bundled and minified, ESM, for a <script type="module">
//   package.json, README.md
//   size.json              raw / minified / minified+gzip (level 9) bytes of the browser bundle
//
// Usage: node build.mjs [--out <dir>]   build and print the sizes
//        node build.mjs --size          build into a temporary folder, print the sizes only
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import ts from 'typescript';

const HERE = import.meta.dirname;
const LIBS = resolve(HERE, '..');
const ENTRY = join(HERE, 'src', 'index.ts');

function parseArgs(argv) {
  const args = { out: join(HERE, 'dist'), sizeOnly: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && argv[i + 1]) args.out = resolve(argv[++i]);
    else if (argv[i] === '--size') args.sizeOnly = true;
    else throw new Error(`unknown argument ${argv[i]}; usage: node build.mjs [--out <dir>] [--size]`);
  }
  return args;
}

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

/** ESM for bundlers and Node: the protocol inlined, msgpack left to the package manager. */
async function buildModule(out) {
  await build({
    entryPoints: [ENTRY],
    outfile: join(out, 'index.js'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: ['es2022'],
    external: ['@msgpack/msgpack'],
    sourcemap: true,
    sourcesContent: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
}

/** One file for browsers: everything bundled (msgpack too) and minified; also unminified, to report the raw size. */
async function buildBrowser(out) {
  const common = { entryPoints: [ENTRY], bundle: true, format: 'esm', platform: 'browser', target: ['es2022'], legalComments: 'none', logLevel: 'warning', write: false };
  const [raw, min] = await Promise.all([build({ ...common, outfile: 'raw.js' }), build({ ...common, outfile: 'min.js', minify: true })]);
  const minified = min.outputFiles[0].contents;
  writeFileSync(join(out, 'cascade.browser.min.js'), minified);
  return { raw: raw.outputFiles[0].contents.length, minified: minified.length, gzip: gzipSync(minified, { level: 9 }).length };
}

function walk(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/**
 * Declarations: the compiler emits them for the client and, since the client imports it, for
 * the protocol's sources. The client's `@cascade/protocol` imports are then pointed at the
 * copy under types/protocol/, so the package's types stand alone.
 */
function buildDeclarations(out) {
  const tmp = mkdtempSync(join(tmpdir(), 'cascade-client-dts-'));
  try {
    const program = ts.createProgram([ENTRY], {
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      declaration: true,
      emitDeclarationOnly: true,
      skipLibCheck: true,
      verbatimModuleSyntax: true,
      isolatedModules: true,
      stripInternal: true,
      types: [],
      // Through `paths` the protocol's sources are part of the program (not an external
      // library), so their declarations are emitted too.
      paths: { '@cascade/protocol': [join(LIBS, 'protocol', 'src', 'index.ts')] },
      rootDir: LIBS,
      outDir: tmp,
    });
    const result = program.emit();
    const diagnostics = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
    if (diagnostics.length > 0) {
      const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\n' };
      throw new Error(`declaration build failed:\n${ts.formatDiagnostics(diagnostics, host)}`);
    }
    const types = join(out, 'types');
    const copy = (from, to) => {
      for (const file of walk(from).filter((f) => f.endsWith('.d.ts'))) {
        const target = join(to, relative(from, file));
        mkdirSync(dirname(target), { recursive: true });
        let text = readFileSync(file, 'utf8');
        const protocol = relative(dirname(target), join(types, 'protocol', 'index.js')).split(sep).join('/');
        text = text.replace(/(['"])@cascade\/protocol\1/g, `'${protocol.startsWith('.') ? protocol : `./${protocol}`}'`);
        writeFileSync(target, text);
      }
    };
    copy(join(tmp, 'client', 'src'), types);
    copy(join(tmp, 'protocol', 'src'), join(types, 'protocol'));
    writeFileSync(join(out, 'index.d.ts'), "export * from './types/index.js';\n");
    const leftovers = walk(out).filter((f) => f.endsWith('.d.ts') && readFileSync(f, 'utf8').includes('@cascade/'));
    if (leftovers.length > 0) throw new Error(`declarations still name @cascade/*: ${leftovers.join(', ')}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function writeManifest(out) {
  const pkg = readJson(join(HERE, 'package.json'));
  const protocol = readJson(join(LIBS, 'protocol', 'package.json'));
  const msgpack = protocol.dependencies?.['@msgpack/msgpack'];
  if (!msgpack) throw new Error('libs/protocol/package.json does not name its @msgpack/msgpack range');
  const manifest = {
    name: pkg.name,
    version: pkg.version,
    description: pkg.description,
    license: pkg.license,
    keywords: pkg.keywords,
    type: 'module',
    main: './index.js',
    module: './index.js',
    types: './index.d.ts',
    exports: {
      '.': { types: './index.d.ts', import: './index.js', default: './index.js' },
      './browser': './cascade.browser.min.js',
      './package.json': './package.json',
    },
    files: ['index.js', 'index.js.map', 'index.d.ts', 'types/', 'cascade.browser.min.js', 'README.md'],
    sideEffects: false,
    dependencies: { '@msgpack/msgpack': msgpack },
    engines: { node: '>=20' },
  };
  writeFileSync(join(out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  copyFileSync(join(HERE, 'README.md'), join(out, 'README.md'));
}

export async function buildPackage(out) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const [, size] = await Promise.all([buildModule(out), buildBrowser(out)]);
  buildDeclarations(out);
  writeManifest(out);
  const report = { file: 'cascade.browser.min.js', ...size };
  writeFileSync(join(out, 'size.json'), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

function printSize(s) {
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`${s.file}: raw ${s.raw} B (${kb(s.raw)}), minified ${s.minified} B (${kb(s.minified)}), minified+gzip ${s.gzip} B (${kb(s.gzip)})`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const args = parseArgs(process.argv.slice(2));
  const out = args.sizeOnly ? mkdtempSync(join(tmpdir(), 'cascade-client-size-')) : args.out;
  try {
    const size = await buildPackage(out);
    if (!args.sizeOnly) console.log(`built @cascade/client into ${out}`);
    printSize(size);
  } finally {
    if (args.sizeOnly) rmSync(out, { recursive: true, force: true });
  }
}

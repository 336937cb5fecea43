// The SDK must run in browsers: its code (and the protocol library it pulls in) may import
// only each other and msgpack, never a Node built-in or anything server-side.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '@cascade/testing';

const ALLOWED = /^(\.\/|@cascade\/protocol$|@msgpack\/msgpack$)/;

function importsOf(dir: string): { file: string; spec: string }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .flatMap((f) => {
      const text = readFileSync(join(dir, f), 'utf8');
      return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)/g)].map((m) => ({
        file: f,
        spec: (m[1] ?? m[2])!,
      }));
    });
}

describe('package boundaries', () => {
  it.each(['libs/client/src', 'libs/protocol/src'])('%s imports only the SDK, the protocol and msgpack', (dir) => {
    const found = importsOf(join(repoRoot(), dir));
    expect(found.length).toBeGreaterThan(3);
    expect(found.filter((i) => !ALLOWED.test(i.spec))).toEqual([]);
  });

  it('the published package depends on @cascade/protocol only', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot(), 'libs/client/package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies)).toEqual(['@cascade/protocol']);
    expect(pkg.private).toBeUndefined();
  });
});

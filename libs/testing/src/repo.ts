// Locates the monorepo root so fixtures can resolve files independent of the test's cwd.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

function findWorkspaceRoot(start: string): string | undefined {
  let dir = start;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { workspaces?: unknown };
      if (parsed.workspaces !== undefined) return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function repoRoot(): string {
  if (cached !== undefined) return cached;
  const here = dirname(fileURLToPath(import.meta.url));
  const root = findWorkspaceRoot(here) ?? findWorkspaceRoot(process.cwd());
  if (root === undefined) {
    throw new Error(`repoRoot: no package.json with "workspaces" above ${here} or ${process.cwd()}`);
  }
  cached = root;
  return root;
}

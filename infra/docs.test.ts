// docs/ is part of the product: every configuration variable a service reads is documented
// in docs/operations.md, and the docs the README links to exist.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commonConfig } from '@cascade/service';
import { repoRoot } from '@cascade/testing';
import { edgeConfig } from '../services/edge-gateway/src/config.ts';

const root = repoRoot();

describe('documentation', () => {
  it('documents every environment variable in docs/operations.md', () => {
    const ops = readFileSync(join(root, 'docs/operations.md'), 'utf8');
    const missing = Object.values({ ...commonConfig, ...edgeConfig })
      .map((s) => s.env)
      .filter((env) => !ops.includes(`\`${env}\``));
    expect(missing).toEqual([]);
  });

  it('has the documents the README links to', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const [, target] of readme.matchAll(/\]\(((?:docs|k8s|infra)\/[^)#]+)\)/g)) {
      expect(existsSync(join(root, target!)), target).toBe(true);
    }
    expect(readme).toContain('npm start');
    expect(readme).toContain('npm test');
  });
});

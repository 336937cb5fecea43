// The demo build: one browser bundle with the SDK inside, and the static files beside it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDemo } from './build.js';

const out = mkdtempSync(join(tmpdir(), 'cascade-demo-build-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('buildDemo', () => {
  it('bundles the page and the SDK into demo.js next to index.html and style.css', async () => {
    const built = await buildDemo(out);
    expect(built.files).toEqual(expect.arrayContaining(['demo.js', 'index.html', 'style.css']));
    const js = readFileSync(join(out, 'demo.js'), 'utf8');
    // The SDK and the protocol are inside; nothing is left for the browser to resolve.
    expect(js).toMatch(/CascadeClient = class/);
    expect(js).not.toMatch(/^import .* from ["'](?!\.)/m);
    expect(js).not.toContain('node:');
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('src="demo.js"');
  });
});

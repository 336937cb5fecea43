// Static files: loaded from a directory into memory, looked up by URL path, with every
// traversal attempt refused and content types by extension.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StaticFiles, contentTypeOf } from './static-files.js';

function fixture(): string {
  const root = mkdtempSync(join(tmpdir(), 'edge-static-'));
  const dir = join(root, 'site');
  mkdirSync(join(dir, 'js'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<h1>demo</h1>');
  writeFileSync(join(dir, 'js', 'app.js'), 'console.log(1)');
  writeFileSync(join(dir, 'a b.css'), 'body{}');
  writeFileSync(join(dir, '.env'), 'SECRET=1');
  writeFileSync(join(root, 'secret.txt'), 'outside');
  symlinkSync(join(root, 'secret.txt'), join(dir, 'link.txt'));
  return dir;
}

describe('static files', () => {
  it('serves the files of the directory under /demo/, index.html for a directory path', () => {
    const files = StaticFiles.load(fixture());
    expect(files.lookup('/demo/')?.body.toString()).toBe('<h1>demo</h1>');
    expect(files.lookup('/demo/')?.contentType).toBe('text/html; charset=utf-8');
    expect(files.lookup('/demo/index.html')?.body.toString()).toBe('<h1>demo</h1>');
    expect(files.lookup('/demo/js/app.js')?.contentType).toBe('text/javascript; charset=utf-8');
    expect(files.lookup('/demo/a%20b.css')?.contentType).toBe('text/css; charset=utf-8');
    expect(files.lookup('/demo/js/')).toBeUndefined();
    expect(files.size).toBe(3);
  });

  it('refuses traversal, hidden files, links and malformed paths', () => {
    const files = StaticFiles.load(fixture());
    for (const p of [
      '/demo/../secret.txt',
      '/demo/%2e%2e/secret.txt',
      '/demo/js/../index.html',
      '/demo/js/%2E%2E/%2E%2E/secret.txt',
      '/demo/..%2fsecret.txt',
      '/demo/.%2findex.html',
      '/demo//index.html',
      '/demo/js%5c..%5cindex.html',
      '/demo/index.html%00',
      '/demo/%E0%A4%A',
      '/demo/.env',
      '/demo/link.txt',
      '/index.html',
      '/demo',
    ]) {
      expect(files.lookup(p), p).toBeUndefined();
    }
  });

  it('refuses a directory that does not exist', () => {
    expect(() => StaticFiles.load('/no/such/dir')).toThrow(/is not a readable directory/);
  });

  it('names content types by extension', () => {
    expect(contentTypeOf('x.SVG')).toBe('image/svg+xml');
    expect(contentTypeOf('x.woff2')).toBe('font/woff2');
    expect(contentTypeOf('x')).toBe('application/octet-stream');
  });
});

// Static files served read-only under /demo/ (EDGE_STATIC_DIR): the directory is read into
// memory once at start (a demo app is a handful of small files), so a request is one map
// lookup and no request path ever reaches the file system: `..` cannot escape the directory.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';

export interface StaticFile {
  body: Buffer;
  contentType: string;
}

/** The URL prefix the files are served under. */
export const STATIC_PREFIX = '/demo/';

/** Bounds on what is loaded: more is a start-up error, not a slow start. */
const MAX_FILES = 2000;
const MAX_TOTAL_BYTES = 64 * 1024 * 1024;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
};

export function contentTypeOf(name: string): string {
  return TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

export class StaticFiles {
  private constructor(private readonly files: ReadonlyMap<string, StaticFile>) {}

  /**
   * Reads every regular file under `dir` (recursively; hidden names and symbolic links are
   * skipped). Throws with a readable message when the directory is unusable or too large.
   */
  static load(dir: string): StaticFiles {
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      // Reported below, as for a path that is not a directory.
    }
    if (!isDir) throw new Error(`${JSON.stringify(dir)} is not a readable directory`);
    const files = new Map<string, StaticFile>();
    let total = 0;
    const walk = (abs: string, rel: string) => {
      for (const entry of readdirSync(abs, { withFileTypes: true })) {
        if (entry.name.startsWith('.')) continue;
        const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
        if (entry.isDirectory()) walk(join(abs, entry.name), path);
        else if (entry.isFile()) {
          const body = readFileSync(join(abs, entry.name));
          total += body.length;
          if (files.size >= MAX_FILES || total > MAX_TOTAL_BYTES) throw new Error(`${JSON.stringify(dir)} holds more than ${MAX_FILES} files or ${MAX_TOTAL_BYTES} bytes; static files are kept in memory`);
          files.set(path, { body, contentType: contentTypeOf(entry.name) });
        }
      }
    };
    walk(dir, '');
    return new StaticFiles(files);
  }

  /** For tests: files from memory, keyed by their path relative to the root (`a/b.js`). */
  static of(entries: Record<string, string | Buffer>): StaticFiles {
    return new StaticFiles(new Map(Object.entries(entries).map(([k, v]) => [k, { body: Buffer.from(v), contentType: contentTypeOf(k) }])));
  }

  get size(): number {
    return this.files.size;
  }

  /**
   * The file for a raw URL path under STATIC_PREFIX (percent-encoded, as sent), or undefined.
   * A path ending in `/` means its `index.html`. Segments that are empty, `.` or `..` (also
   * percent-encoded), or that hold `\` or NUL, are refused outright rather than normalised.
   */
  lookup(urlPath: string): StaticFile | undefined {
    if (!urlPath.startsWith(STATIC_PREFIX)) return undefined;
    let rest = urlPath.slice(STATIC_PREFIX.length);
    if (rest === '' || rest.endsWith('/')) rest += 'index.html';
    const segments: string[] = [];
    for (const raw of rest.split('/')) {
      let s: string;
      try {
        s = decodeURIComponent(raw);
      } catch {
        return undefined;
      }
      if (s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\\') || s.includes('\0')) return undefined;
      segments.push(s);
    }
    return this.files.get(segments.join('/'));
  }
}

// CORS for the edge's HTTP endpoints (EDGE_CORS_ORIGINS): which page origins may call
// /v1/... from a browser, and the preflight answer for POSTs with Authorization or a JSON
// body and for EventSource reconnects with Last-Event-ID. Pure: headers in, headers out.
import { ConfigProblem, type Spec } from '@cascade/config';

/** `*` (any origin) or a list of exact origins (`https://app.example.com`). */
export type CorsPolicy = { any: true } | { any: false; origins: ReadonlySet<string> };

const ORIGIN_RE = /^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?$/;

export function parseCorsOrigins(raw: string): CorsPolicy {
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new ConfigProblem('expected "*" or a comma-separated list of origins');
  if (items.includes('*')) {
    if (items.length > 1) throw new ConfigProblem('"*" allows every origin; list no others with it');
    return { any: true };
  }
  for (const o of items) {
    if (!ORIGIN_RE.test(o)) throw new ConfigProblem(`${JSON.stringify(o)} is not an origin like https://app.example.com or http://localhost:3000 (scheme, host, optional port; no path)`);
  }
  return { any: false, origins: new Set(items.map((o) => o.toLowerCase())) };
}

export const corsOriginsSpec: Spec<CorsPolicy | undefined> = {
  env: 'EDGE_CORS_ORIGINS',
  describe: 'Page origins allowed to call the HTTP endpoints from a browser (SSE, publish, dev tokens): "*" or a comma list like https://app.example.com; unset = no CORS headers (same-origin pages only)',
  optional: true,
  parse: (raw) => (raw === undefined || raw.trim() === '' ? undefined : parseCorsOrigins(raw)),
};

const ALLOW_METHODS = 'GET, POST, OPTIONS';
const ALLOW_HEADERS = 'Authorization, Content-Type, Last-Event-ID';
const MAX_AGE_S = '600';

/** The CORS headers of a response to a request from `origin` (the Origin header, '' when absent). */
export function corsHeaders(policy: CorsPolicy | undefined, origin: string): Array<[string, string]> {
  if (policy === undefined || origin === '') return [];
  if (policy.any) return [['Access-Control-Allow-Origin', '*']];
  // The answer differs per origin: caches must key on it.
  if (!policy.origins.has(origin.toLowerCase())) return [['Vary', 'Origin']];
  return [
    ['Access-Control-Allow-Origin', origin],
    ['Vary', 'Origin'],
  ];
}

/**
 * The answer to a preflight (`OPTIONS` with Access-Control-Request-Method): 204 with the
 * allowed methods and headers for an allowed origin; without CORS headers otherwise (the
 * browser then refuses the real request).
 */
export function preflight(policy: CorsPolicy | undefined, origin: string): { status: number; headers: Array<[string, string]> } {
  const headers = corsHeaders(policy, origin);
  if (!headers.some(([k]) => k === 'Access-Control-Allow-Origin')) return { status: 204, headers };
  return {
    status: 204,
    headers: [...headers, ['Access-Control-Allow-Methods', ALLOW_METHODS], ['Access-Control-Allow-Headers', ALLOW_HEADERS], ['Access-Control-Max-Age', MAX_AGE_S]],
  };
}

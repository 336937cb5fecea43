import { describe, expect, it } from 'vitest';
import { corsHeaders, corsOriginsSpec, parseCorsOrigins, preflight } from './cors.js';

describe('CORS', () => {
  it('parses "*", origin lists and refuses anything else', () => {
    expect(parseCorsOrigins('*')).toEqual({ any: true });
    expect(parseCorsOrigins('https://a.example.com, http://localhost:3000')).toEqual({ any: false, origins: new Set(['https://a.example.com', 'http://localhost:3000']) });
    expect(() => parseCorsOrigins('https://a.example.com/path')).toThrow(/not an origin/);
    expect(() => parseCorsOrigins('*, https://a.example.com')).toThrow(/list no others/);
    expect(() => parseCorsOrigins(' , ')).toThrow();
    expect(corsOriginsSpec.parse(undefined)).toBeUndefined();
    expect(corsOriginsSpec.parse('')).toBeUndefined();
  });

  it('allows listed origins only, and any with "*"', () => {
    const list = parseCorsOrigins('https://a.example.com');
    expect(corsHeaders(list, 'https://a.example.com')).toEqual([
      ['Access-Control-Allow-Origin', 'https://a.example.com'],
      ['Vary', 'Origin'],
    ]);
    expect(corsHeaders(list, 'https://evil.example.com')).toEqual([['Vary', 'Origin']]);
    expect(corsHeaders(list, '')).toEqual([]);
    expect(corsHeaders(undefined, 'https://a.example.com')).toEqual([]);
    expect(corsHeaders({ any: true }, 'https://x.example')).toEqual([['Access-Control-Allow-Origin', '*']]);
  });

  it('answers preflights with the methods and headers the SSE and publish requests use', () => {
    const p = preflight({ any: true }, 'https://x.example');
    expect(p.status).toBe(204);
    const h = new Map(p.headers);
    expect(h.get('Access-Control-Allow-Headers')).toBe('Authorization, Content-Type, Last-Event-ID');
    expect(h.get('Access-Control-Allow-Methods')).toContain('POST');
    expect(preflight(parseCorsOrigins('https://a.example.com'), 'https://b.example.com').headers).toEqual([['Vary', 'Origin']]);
  });
});

// GET requests to the edge's HTTP endpoints with a deadline and failures people can act on
// ("cannot reach ...", "401: set --api-key"), instead of fetch's bare "fetch failed".
import { Failure } from './args.js';

export interface HttpAnswer {
  status: number;
  text: string;
}

export async function httpGet(url: URL, o: { apiKey?: string | undefined; timeoutMs: number }): Promise<HttpAnswer> {
  let res: Response;
  try {
    res = await fetch(url, {
      headers: o.apiKey === undefined ? {} : { authorization: `Bearer ${o.apiKey}` },
      signal: AbortSignal.timeout(o.timeoutMs),
    });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    throw new Failure(`cannot reach ${url.origin}: ${reason(err, o.timeoutMs)}. Is the edge running there? (npm start)`, { cause: err });
  }
}

/** fetch hides the socket error in `cause`; that is the part worth showing. */
function reason(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs / 1000} s`;
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** Parses a JSON body, or fails naming what came back instead. */
export function jsonBody(url: URL, a: HttpAnswer): unknown {
  try {
    return JSON.parse(a.text);
  } catch {
    // Not JSON: whatever answered is not the edge's API (a proxy page, another server).
    throw new Failure(`${url.href} answered ${a.status} with something that is not JSON: ${a.text.slice(0, 80).trim()}`);
  }
}

/** The `error` of the edge API's `{code, error}` bodies, with advice for the usual statuses. */
export function apiError(url: URL, a: HttpAnswer): Failure {
  let detail = a.text.slice(0, 200).trim();
  try {
    const body = JSON.parse(a.text) as { error?: unknown; code?: unknown };
    if (typeof body.error === 'string') detail = body.code === undefined ? body.error : `${body.error} (code ${String(body.code)})`;
  } catch {
    // Not JSON: the raw text (shortened) explains it as well as anything.
  }
  const hint = a.status === 401 ? '; pass --api-key or set CASCADE_API_KEY' : a.status === 503 ? '; is the history service running?' : '';
  return new Failure(`${url.pathname} answered ${a.status}: ${detail}${hint}`);
}

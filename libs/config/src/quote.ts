// Renders a raw environment value for an error message: quoted, escaped and truncated.

const MAX_CHARS = 60;

/**
 * JSON quoting makes stray whitespace and control characters visible, which is usually the
 * actual mistake; truncation keeps a pasted certificate or token from flooding the log.
 */
export function quote(raw: string): string {
  const shown = raw.length > MAX_CHARS ? `${raw.slice(0, MAX_CHARS - 1)}…` : raw;
  return JSON.stringify(shown);
}

// Spec for a comma-separated list of URLs restricted to given protocols (e.g. NATS servers).
import { ConfigProblem } from './errors.js';
import { quote } from './quote.js';
import { defineSpec, type Common, type Spec } from './spec.js';

/** Server URLs often carry credentials; they must not end up in an error log. */
function redacted(entry: string): string {
  try {
    const url = new URL(entry);
    if (!url.password) return quote(entry);
    url.password = '***';
    return quote(url.href);
  } catch {
    // Unparseable, so there is no reliable password part to hide: show it as written.
    return quote(entry);
  }
}

/**
 * Entries are trimmed and returned as written (not normalised by URL, which would add a
 * trailing "/" to ws: URLs). Empty entries from a stray comma are skipped; at least one URL
 * must remain. Protocols may be given with or without the trailing colon.
 */
export function urlList(
  o: Common & { default?: string; protocols: readonly string[] },
): Spec<string[]> {
  const protocols = o.protocols.map((p) => (p.endsWith(':') ? p : `${p}:`).toLowerCase());
  return defineSpec({
    env: o.env,
    describe: o.describe,
    default: o.default,
    convert(raw) {
      const entries = raw.split(',').map((e) => e.trim()).filter((e) => e !== '');
      if (entries.length === 0) throw new ConfigProblem(`expected at least one URL, got ${quote(raw)}`);
      const faults: string[] = [];
      for (const entry of entries) {
        let protocol: string;
        try {
          protocol = new URL(entry).protocol;
        } catch {
          // new URL's own message ("Invalid URL") adds nothing to ours.
          faults.push(`${redacted(entry)} is not a valid URL`);
          continue;
        }
        if (!protocols.includes(protocol)) {
          faults.push(`${redacted(entry)} uses ${protocol} but expected one of ${protocols.join(', ')}`);
        }
      }
      if (faults.length > 0) throw new ConfigProblem(faults.join('; '));
      return entries;
    },
  });
}

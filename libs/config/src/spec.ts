// The Spec contract and the shared unset/default/required logic every built-in spec uses.
import { ConfigProblem } from './errors.js';
import { quote } from './quote.js';

export interface Spec<T> {
  /** Environment variable name, e.g. `EDGE_PORT`. */
  readonly env: string;
  /** One-line meaning, shown in describeConfig and in "is required" messages. */
  readonly describe: string;
  /** The default as an operator would write it, e.g. `30s`; absent when there is none. */
  readonly defaultText?: string;
  /** True when an unset variable is fine and yields `undefined`. */
  readonly optional?: boolean;
  /** `undefined` (or '') means unset. Throws ConfigProblem with a human message. */
  parse(raw: string | undefined): T;
}

export interface Common {
  env: string;
  describe: string;
}

/**
 * Builds a spec from a converter of non-empty raw text. Defaults are given as raw text and
 * run through the same converter, so a default is validated exactly like an operator's value,
 * and a bad default fails when the module loads instead of on the first deploy that omits it.
 * The default is converted on every parse so callers never share a mutable default (arrays).
 */
export function defineSpec<T>(o: Common & { default?: string; convert(raw: string): T }): Spec<T> {
  const { env, describe, convert } = o;
  const fallback = o.default;
  if (fallback !== undefined) {
    try {
      convert(fallback);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new TypeError(`${env}: invalid default ${quote(fallback)}: ${why}`, { cause: err });
    }
  }
  return {
    env,
    describe,
    ...(fallback === undefined ? {} : { defaultText: fallback }),
    parse(raw) {
      if (raw === undefined || raw === '') {
        if (fallback === undefined) throw new ConfigProblem(`is required (${describe})`);
        return convert(fallback);
      }
      return convert(raw);
    },
  };
}

/** Makes any spec optional: unset (or '') yields `undefined`; a set value must still be valid. */
export function optional<T>(spec: Spec<T>): Spec<T | undefined> {
  return {
    env: spec.env,
    describe: spec.describe,
    optional: true,
    parse: (raw) => (raw === undefined || raw === '' ? undefined : spec.parse(raw)),
  };
}

// Reads a whole schema from the environment and reports every bad variable at once.
import { ConfigError, type Problem } from './errors.js';
import type { Spec } from './spec.js';

export type ConfigOf<S extends Record<string, Spec<unknown>>> = {
  readonly [K in keyof S]: S[K] extends Spec<infer T> ? T : never;
};

/**
 * Empty strings count as unset because compose files and k8s manifests commonly write
 * `FOO=` to mean "not configured". Any error a spec throws becomes a problem, so a custom
 * spec throwing a plain Error is still reported with its variable name.
 */
export function loadConfig<S extends Record<string, Spec<unknown>>>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): ConfigOf<S> {
  const values: Record<string, unknown> = {};
  const problems: Problem[] = [];
  for (const [key, spec] of Object.entries(schema)) {
    const raw = env[spec.env];
    try {
      values[key] = spec.parse(raw === '' ? undefined : raw);
    } catch (err) {
      problems.push({ variable: spec.env, message: err instanceof Error ? err.message : String(err) });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(values) as ConfigOf<S>;
}

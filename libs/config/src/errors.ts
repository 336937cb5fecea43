// The two errors of this package: one bad variable (thrown by a spec) and all of them (thrown by loadConfig).

/**
 * Thrown by `Spec.parse` when a value is unusable. The message is written for an operator
 * and does not repeat the variable name: loadConfig prefixes it.
 */
export class ConfigProblem extends Error {
  override readonly name = 'ConfigProblem';
}

export interface Problem {
  readonly variable: string;
  readonly message: string;
}

/**
 * Every problem found in one load, so an operator fixes the whole environment in one pass
 * instead of one variable per restart. The message is exactly one line per problem,
 * `VARIABLE: what is wrong`, so it reads well both in a log line and on a terminal.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: ReadonlyArray<Problem>;

  constructor(problems: ReadonlyArray<Problem>) {
    super(problems.map((p) => `${p.variable}: ${p.message}`).join('\n'));
    this.problems = Object.freeze([...problems]);
  }
}

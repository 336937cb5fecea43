// Specs for single plain values: strings, integers, ports, booleans and enumerations.
import { ConfigProblem } from './errors.js';
import { quote } from './quote.js';
import { defineSpec, optional, type Common, type Spec } from './spec.js';

interface StrRules {
  pattern?: RegExp;
  /** How to say what the pattern wants, e.g. "a lowercase identifier"; defaults to the regex. */
  patternText?: string;
  minLength?: number;
  maxLength?: number;
}

function checkString(rules: StrRules): (raw: string) => string {
  // A caller's /g or /y regex keeps lastIndex between test() calls and would alternate results.
  const pattern = rules.pattern && new RegExp(rules.pattern.source, rules.pattern.flags.replace(/[gy]/g, ''));
  return (raw) => {
    if (rules.minLength !== undefined && raw.length < rules.minLength) {
      throw new ConfigProblem(`expected at least ${rules.minLength} characters, got ${raw.length}`);
    }
    if (rules.maxLength !== undefined && raw.length > rules.maxLength) {
      throw new ConfigProblem(`expected at most ${rules.maxLength} characters, got ${raw.length}`);
    }
    if (pattern && !pattern.test(raw)) {
      const wanted = rules.patternText ?? `a value matching ${String(rules.pattern)}`;
      throw new ConfigProblem(`expected ${wanted}, got ${quote(raw)}`);
    }
    return raw;
  };
}

/** A string, used as-is (not trimmed). `pattern` is not anchored for you. */
export function str(o: Common & StrRules & { default?: string }): Spec<string> {
  return defineSpec({ env: o.env, describe: o.describe, default: o.default, convert: checkString(o) });
}

export function optionalStr(o: Common & { pattern?: RegExp; patternText?: string }): Spec<string | undefined> {
  return optional(str(o));
}

function rangeText(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `an integer between ${min} and ${max}`;
  if (min !== undefined) return `an integer >= ${min}`;
  if (max !== undefined) return `an integer <= ${max}`;
  return 'an integer';
}

/** A decimal integer (surrounding whitespace ignored), optionally bounded, inclusive. */
export function int(o: Common & { default?: number; min?: number; max?: number }): Spec<number> {
  const wanted = rangeText(o.min, o.max);
  return defineSpec({
    env: o.env,
    describe: o.describe,
    default: o.default === undefined ? undefined : String(o.default),
    convert(raw) {
      const text = raw.trim();
      const value = /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
      const ok =
        Number.isSafeInteger(value) &&
        (o.min === undefined || value >= o.min) &&
        (o.max === undefined || value <= o.max);
      if (!ok) throw new ConfigProblem(`expected ${wanted}, got ${quote(raw)}`);
      return value;
    },
  });
}

/** A TCP/UDP port; 0 is allowed and means "let the OS pick a free port". */
export function port(o: Common & { default?: number }): Spec<number> {
  return int({ ...o, min: 0, max: 65535 });
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

/** true/false/1/0/yes/no/on/off, case-insensitive. */
export function bool(o: Common & { default?: boolean }): Spec<boolean> {
  return defineSpec({
    env: o.env,
    describe: o.describe,
    default: o.default === undefined ? undefined : String(o.default),
    convert(raw) {
      const word = raw.trim().toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      throw new ConfigProblem(`expected one of true/false/1/0/yes/no/on/off, got ${quote(raw)}`);
    },
  });
}

/**
 * One of a fixed list of strings. An exact match wins; otherwise a unique case-insensitive
 * match is accepted and returned in its canonical spelling, so `LOG_LEVEL=INFO` works.
 */
export function oneOf<const V extends readonly string[]>(
  o: Common & { values: V; default?: V[number] },
): Spec<V[number]> {
  const listed = o.values.map((v) => JSON.stringify(v)).join(', ');
  return defineSpec({
    env: o.env,
    describe: o.describe,
    default: o.default,
    convert(raw): V[number] {
      const text = raw.trim();
      if (o.values.includes(text)) return text;
      const folded = o.values.filter((v) => v.toLowerCase() === text.toLowerCase());
      if (folded.length === 1 && folded[0] !== undefined) return folded[0];
      throw new ConfigProblem(`expected one of ${listed}, got ${quote(raw)}`);
    },
  });
}

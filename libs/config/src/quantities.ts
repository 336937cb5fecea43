// Specs for amounts with units: durations (to milliseconds) and sizes (to bytes).
import { ConfigProblem } from './errors.js';
import { quote } from './quote.js';
import { defineSpec, type Common, type Spec } from './spec.js';

interface Quantity {
  /** Units by suffix; '' is the bare-number unit. */
  units: ReadonlyMap<string, bigint>;
  foldCase: boolean;
  /** e.g. 'a duration such as "30s"', used when the text is not a quantity at all. */
  shape: string;
  /** e.g. 'milliseconds', used when the text would need a fraction of the base unit. */
  base: string;
  /** e.g. 'a duration', used in range messages. */
  noun: string;
}

/**
 * Decimals like "1.5h" are allowed but computed in BigInt, because float arithmetic would turn
 * "1.1s" into 1100.0000000000002 and make the "no fractions of the base unit" rule unreliable.
 */
function toBaseUnits(q: Quantity, raw: string): number {
  const match = /^(\d+)(?:\.(\d+))?\s*([A-Za-z]*)$/.exec(raw.trim());
  const multiplier = match && q.units.get(q.foldCase ? (match[3] ?? '').toLowerCase() : (match[3] ?? ''));
  if (!match || multiplier === undefined || multiplier === null) {
    throw new ConfigProblem(`expected ${q.shape}, got ${quote(raw)}`);
  }
  const fraction = match[2] ?? '';
  const scaledFraction = BigInt(fraction || '0') * multiplier;
  const divisor = 10n ** BigInt(fraction.length);
  if (scaledFraction % divisor !== 0n) {
    throw new ConfigProblem(`expected a whole number of ${q.base}, got ${quote(raw)}`);
  }
  const total = BigInt(match[1] ?? '0') * multiplier + scaledFraction / divisor;
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) throw new ConfigProblem(`value too large, got ${quote(raw)}`);
  return Number(total);
}

function quantitySpec(
  q: Quantity,
  o: Common & { default?: string; min?: string; max?: string },
): Spec<number> {
  // Bounds use the same syntax as values, so a bad bound is a programming error caught at load.
  const bound = (text: string | undefined, which: string): number | undefined => {
    if (text === undefined) return undefined;
    try {
      return toBaseUnits(q, text);
    } catch (err) {
      throw new TypeError(`${o.env}: invalid ${which} ${quote(text)}`, { cause: err });
    }
  };
  const min = bound(o.min, 'min');
  const max = bound(o.max, 'max');
  const range =
    o.min !== undefined && o.max !== undefined
      ? `between ${o.min} and ${o.max}`
      : o.min !== undefined
        ? `of at least ${o.min}`
        : `of at most ${o.max}`;
  return defineSpec({
    env: o.env,
    describe: o.describe,
    default: o.default,
    convert(raw) {
      const value = toBaseUnits(q, raw);
      if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
        throw new ConfigProblem(`expected ${q.noun} ${range}, got ${quote(raw)}`);
      }
      return value;
    },
  });
}

// Case-sensitive because "M" (month? mebi?) vs "m" (minute) would otherwise be guesswork.
const DURATION: Quantity = {
  units: new Map([
    ['', 1n],
    ['ms', 1n],
    ['s', 1_000n],
    ['m', 60_000n],
    ['h', 3_600_000n],
    ['d', 86_400_000n],
  ]),
  foldCase: false,
  shape: 'a duration such as "250ms", "30s", "5m", "2h", "1d" or whole milliseconds',
  base: 'milliseconds',
  noun: 'a duration',
};

/** Milliseconds. Accepts "250ms", "30s", "1.5m", "2h", "1d" or a bare integer (ms). */
export function duration(o: Common & { default?: string; min?: string; max?: string }): Spec<number> {
  return quantitySpec(DURATION, o);
}

// Case-insensitive: nobody means kilobits in a buffer-size variable, and "kb" vs "KB" typos are common.
const SIZE: Quantity = {
  units: new Map([
    ['', 1n],
    ['b', 1n],
    ['kb', 1000n],
    ['mb', 1000n ** 2n],
    ['gb', 1000n ** 3n],
    ['tb', 1000n ** 4n],
    ['kib', 1024n],
    ['mib', 1024n ** 2n],
    ['gib', 1024n ** 3n],
    ['tib', 1024n ** 4n],
  ]),
  foldCase: true,
  shape: 'a size such as "512", "64KiB", "1MiB", "2GiB" or "10KB"',
  base: 'bytes',
  noun: 'a size',
};

/** Bytes. KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB powers of 1024; bare number = bytes. */
export function bytes(o: Common & { default?: string; min?: string; max?: string }): Spec<number> {
  return quantitySpec(SIZE, o);
}

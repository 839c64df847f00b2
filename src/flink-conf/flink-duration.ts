/**
 * Flink's duration format, as org.apache.flink.util.TimeUtils#parseDuration reads it (Flink 1.10
 * and later): digits, optional blanks, an optional unit label in any case; no label means
 * milliseconds. '60000', '60 s', '60s', '1 min', '1m', '2 minutes'. No sign, no fraction, no
 * ISO-8601 ('PT60S').
 */
import { javaTrim } from './java-text.js';

const NANOS_PER_MS = 1_000_000n;

/** Labels per unit, from TimeUtils.TimeUnit: singular labels, and plural ones that also take an 's'. */
const UNITS: readonly { nanos: bigint; singular: readonly string[]; plural: readonly string[] }[] = [
  { nanos: 86_400_000_000_000n, singular: ['d'], plural: ['day'] },
  { nanos: 3_600_000_000_000n, singular: ['h'], plural: ['hour'] },
  { nanos: 60_000_000_000n, singular: ['min', 'm'], plural: ['minute'] },
  { nanos: 1_000_000_000n, singular: ['s'], plural: ['sec', 'second'] },
  { nanos: 1_000_000n, singular: ['ms'], plural: ['milli', 'millisecond'] },
  { nanos: 1_000n, singular: ['µs'], plural: ['micro', 'microsecond'] },
  { nanos: 1n, singular: ['ns'], plural: ['nano', 'nanosecond'] },
];

const NANOS_BY_LABEL: ReadonlyMap<string, bigint> = new Map(
  UNITS.flatMap(({ nanos, singular, plural }) => [
    ...singular.map((label) => [label, nanos] as const),
    ...plural.flatMap((label) => [[label, nanos] as const, [`${label}s`, nanos] as const]),
  ]),
);

const LONG_MAX = 2n ** 63n - 1n;

export type FlinkDurationResult = { ok: true; ms: number } | { ok: false; problem: string };

/**
 * Parses a Flink duration into whole milliseconds, rounded down as java.time.Duration#toMillis
 * does ('1500 µs' is 1 ms). The problem, on failure, quotes the text and says what Flink accepts;
 * it is worded to follow the name of the setting. Durations Flink itself could not hold (beyond a
 * Java long of seconds) and ones beyond Number.MAX_SAFE_INTEGER ms are refused.
 */
export function parseFlinkDuration(text: string): FlinkDurationResult {
  const shown = JSON.stringify(text);
  const trimmed = javaTrim(text);
  if (trimmed === '') return { ok: false, problem: `${shown} is empty, not a duration` };
  const digits = /^[0-9]*/.exec(trimmed)?.[0] ?? '';
  if (digits === '') {
    return { ok: false, problem: `${shown} does not start with a number (Flink durations look like 60000, 60 s or 1 min)` };
  }
  const value = BigInt(digits);
  if (value > LONG_MAX) return { ok: false, problem: `${shown} is too large a number for Flink` };
  const label = javaTrim(trimmed.slice(digits.length)).toLowerCase();
  const unitNanos = label === '' ? NANOS_PER_MS : NANOS_BY_LABEL.get(label);
  if (unitNanos === undefined) {
    return {
      ok: false,
      problem: `${shown}: unit ${JSON.stringify(label)} is not one of d, h, min, m, s, ms, µs, ns (or day, hour, minute, sec, second, milli, micro, nano and their plurals)`,
    };
  }
  const nanos = value * unitNanos;
  // java.time.Duration keeps a long of seconds: beyond that Flink throws ArithmeticException.
  if (nanos / 1_000_000_000n > LONG_MAX) return { ok: false, problem: `${shown} is too long a duration for Flink` };
  const ms = nanos / NANOS_PER_MS;
  if (ms > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, problem: `${shown} is too long a duration` };
  return { ok: true, ms: Number(ms) };
}

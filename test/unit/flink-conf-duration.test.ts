/**
 * Covers src/flink-conf/flink-duration.ts (Flink's TimeUtils#parseDuration) and the Java text
 * helpers beside it (String#trim, Double#toString).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFlinkDuration } from '../../src/flink-conf/flink-duration.js';
import { javaDoubleToString, javaTrim } from '../../src/flink-conf/java-text.js';

const VALID: [text: string, ms: number][] = [
  ['60000', 60_000],
  ['0', 0],
  ['60 s', 60_000],
  ['60s', 60_000],
  ['  60   s  ', 60_000],
  ['1 min', 60_000],
  ['1m', 60_000],
  ['2 minutes', 120_000],
  ['1 minute', 60_000],
  ['1 MIN', 60_000],
  ['1h', 3_600_000],
  ['2 hours', 7_200_000],
  ['1 d', 86_400_000],
  ['3 days', 259_200_000],
  ['30 sec', 30_000],
  ['30 secs', 30_000],
  ['30 second', 30_000],
  ['30 seconds', 30_000],
  ['1500 ms', 1500],
  ['1500 millis', 1500],
  ['1500 milliseconds', 1500],
  ['1 milli', 1],
  ['1500 µs', 1],
  ['1999 micros', 1],
  ['5000000 ns', 5],
  ['999999 nanoseconds', 0],
  ['007', 7],
];

const INVALID: [text: string, problem: string][] = [
  ['', '"" is empty, not a duration'],
  ['   ', '"   " is empty, not a duration'],
  ['s', '"s" does not start with a number (Flink durations look like 60000, 60 s or 1 min)'],
  ['-5 s', '"-5 s" does not start with a number (Flink durations look like 60000, 60 s or 1 min)'],
  ['+5', '"+5" does not start with a number (Flink durations look like 60000, 60 s or 1 min)'],
  ['PT60S', '"PT60S" does not start with a number (Flink durations look like 60000, 60 s or 1 min)'],
  [
    '1.5 s',
    '"1.5 s": unit ".5 s" is not one of d, h, min, m, s, ms, µs, ns (or day, hour, minute, sec, second, milli, micro, nano and their plurals)',
  ],
  [
    '60 sec0',
    '"60 sec0": unit "sec0" is not one of d, h, min, m, s, ms, µs, ns (or day, hour, minute, sec, second, milli, micro, nano and their plurals)',
  ],
  [
    '10 ds',
    '"10 ds": unit "ds" is not one of d, h, min, m, s, ms, µs, ns (or day, hour, minute, sec, second, milli, micro, nano and their plurals)',
  ],
  ['9223372036854775808', '"9223372036854775808" is too large a number for Flink'],
  ['9223372036854775807 d', '"9223372036854775807 d" is too long a duration for Flink'],
  ['9223372036854775807', '"9223372036854775807" is too long a duration'],
];

describe('Flink durations (TimeUtils#parseDuration)', () => {
  for (const [text, ms] of VALID) {
    it(`reads ${JSON.stringify(text)} as ${ms} ms`, () => {
      assert.deepEqual(parseFlinkDuration(text), { ok: true, ms });
    });
  }
  for (const [text, problem] of INVALID) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      assert.deepEqual(parseFlinkDuration(text), { ok: false, problem });
    });
  }
});

describe('Java text helpers', () => {
  it('trims like String#trim: controls and spaces, not U+00A0', () => {
    assert.equal(javaTrim('\t\u0000 a b \r\n'), 'a b');
    assert.equal(javaTrim('\u00a0a\u00a0'), '\u00a0a\u00a0');
    assert.equal(javaTrim('   '), '');
  });

  const DOUBLES: [number, string][] = [
    [1, '1.0'],
    [1.5, '1.5'],
    [0, '0.0'],
    [-0, '-0.0'],
    [0.001, '0.001'],
    [0.0001, '1.0E-4'],
    [1234567.5, '1234567.5'],
    [1e7, '1.0E7'],
    [1.5e-5, '1.5E-5'],
    [-2.5e10, '-2.5E10'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
  ];
  for (const [value, text] of DOUBLES) {
    it(`prints ${value} as Double#toString does: ${text}`, () => assert.equal(javaDoubleToString(value), text));
  }
});

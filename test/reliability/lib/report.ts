/**
 * Measured values of the reliability scenarios against their stated bounds. Each is shown as a
 * test diagnostic; with RELIABILITY_REPORT=<file> each is also appended to that file as one JSON
 * line, so the worst cases across runs can be collected (docs/reliability.md).
 */
import { appendFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';

export interface Measurement {
  scenario: string;
  metric: string;
  valueMs: number;
  boundMs: number;
}

/** Records a measured value and asserts it is within its bound. */
export function within(t: TestContext, scenario: string, metric: string, valueMs: number, boundMs: number, context = ''): void {
  const m: Measurement = { scenario, metric, valueMs: Math.round(valueMs * 10) / 10, boundMs };
  t.diagnostic(`${scenario}: ${metric} = ${m.valueMs} ms (bound ${boundMs} ms)`);
  const file = process.env['RELIABILITY_REPORT'];
  if (file) appendFileSync(file, `${JSON.stringify(m)}\n`);
  assert.ok(
    valueMs <= boundMs,
    `${scenario}: ${metric} was ${m.valueMs} ms, beyond the bound of ${boundMs} ms${context ? `\n${context}` : ''}`,
  );
}

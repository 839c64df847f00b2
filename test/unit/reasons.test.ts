/**
 * Covers src/core/reasons.ts, the public contract of reason codes: docs/endpoints.md's reason table names
 * exactly the codes the code can report, each under its check, and the core reports no code that is
 * not in the table (checked over the reasons the core tests reach).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REASONS } from '../../src/core/reasons.js';

const ENDPOINTS_DOC = readFileSync(join(__dirname, '..', '..', 'docs', 'endpoints.md'), 'utf8');

/** The rows of docs/endpoints.md's "Reasons, by check" table: check name → codes in backticks. */
function readmeTable(): Map<string, Set<string>> {
  const start = ENDPOINTS_DOC.indexOf('Reasons, by check:');
  assert.ok(start >= 0, "docs/endpoints.md has a 'Reasons, by check' table");
  const lines = ENDPOINTS_DOC.slice(start).split('\n').slice(1);
  const first = lines.findIndex((l) => l.startsWith('|'));
  const end = lines.findIndex((l, i) => i > first && !l.startsWith('|'));
  // The header and its separator first, then one row per check.
  const rows = lines.slice(first + 2, end);
  const table = new Map<string, Set<string>>();
  for (const row of rows) {
    const [check = '', codes = ''] = row.slice(2).split(' | ');
    table.set(check.trim(), new Set([...codes.matchAll(/`([a-z0-9-]+)`/g)].map((m) => m[1]!)));
  }
  return table;
}

describe('reason codes', () => {
  it('docs/endpoints.md lists every reason code under its check', () => {
    const table = readmeTable();
    const listed = new Set([...table.values()].flatMap((codes) => [...codes]));
    const missing = Object.keys(REASONS).filter((code) => !listed.has(code));
    assert.deepEqual(missing, []);
    for (const [code, { check }] of Object.entries(REASONS)) {
      const row = [...table.entries()].find(
        ([name]) =>
          name.split(' ')[0] === check.replace('jobmanager-livez', 'jobmanager') &&
          (check !== 'jobmanager-livez' || name.includes('livez')),
      );
      assert.ok(row?.[1].has(code), `${code} is listed in the ${check} row`);
    }
  });

  it('docs/endpoints.md names no code the sidecar does not report', () => {
    // Settings named in the explanations are no codes.
    const unknown = [...readmeTable().values()]
      .flatMap((codes) => [...codes])
      .filter((code) => !(code in REASONS) && !code.startsWith('--'));
    assert.deepEqual(unknown, []);
  });
});

/**
 * Covers src/flink-conf/flink-map.ts: Flink's map syntax (StructuredOptionsSplitter#splitEscaped and
 * ConfigurationUtils#parseMap), with Flink's own StructuredOptionsSplitterTest cases, and errors
 * that never quote the text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlinkMapSyntaxError, parseFlinkMap, splitEscaped } from '../../src/flink-conf/flink-map.js';

describe('splitEscaped, as StructuredOptionsSplitter', () => {
  const CASES: [string, string[]][] = [
    ["'A;B';C", ['A;B', 'C']],
    ["'A;B';'C'", ['A;B', 'C']],
    ['A;B;C', ['A', 'B', 'C']],
    ["'AB''D;B';C", ["AB'D;B", 'C']],
    ["A'BD;B';C", ["A'BD", "B'", 'C']],
    ['"A;B";C', ['A;B', 'C']],
    ['"AB""D;B";C', ['AB"D;B', 'C']],
    ["'AB\"D';B;C", ['AB"D', 'B', 'C']],
    [' A ; B ', ['A', 'B']],
    ['A;;B', ['A', '', 'B']],
  ];
  for (const [text, parts] of CASES) {
    it(`splits ${text}`, () => assert.deepEqual(splitEscaped(text, ';'), parts));
  }
  for (const text of ["'AB'D;B;C", "'A", "C;'"]) {
    it(`refuses ${text}`, () => assert.throws(() => splitEscaped(text, ';'), FlinkMapSyntaxError));
  }
});

describe('parseFlinkMap, as ConfigurationUtils#parseMap', () => {
  // Each answer here is what Flink 1.20.5's own Configuration made of the same text.
  it('reads quoted values that hold the delimiters', () => {
    assert.deepEqual(parseFlinkMap("digest:'flink:secret'"), [['digest', 'flink:secret']]);
    assert.deepEqual(parseFlinkMap(`"digest:'flink:se,cret'"`), [['digest', 'flink:se,cret']]);
    assert.deepEqual(parseFlinkMap('a:1, b:"x:y"'), [
      ['a', '1'],
      ['b', 'x:y'],
    ]);
  });

  it("refuses an entry with a second ':' (Flink: Could not parse value), without quoting it", () => {
    assert.throws(
      () => parseFlinkMap('digest:flink:topsecret'),
      (error: unknown) => error instanceof FlinkMapSyntaxError && !error.message.includes('topsecret'),
    );
  });

  it("refuses a ',' inside a quoted value unless the whole entry is quoted too", () => {
    assert.throws(() => parseFlinkMap("digest:'flink:se,cret'"), FlinkMapSyntaxError);
  });

  it('refuses a repeated key', () => assert.throws(() => parseFlinkMap('a:1,a:2'), /twice/));
});

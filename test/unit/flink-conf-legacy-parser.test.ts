/**
 * Covers src/flink-conf/parse-legacy.ts: flink-conf.yaml read line by line as Flink's
 * GlobalConfiguration#loadLegacyYAMLResource does, with the cases of Flink's own
 * GlobalConfigurationTest#testConfigurationWithLegacyYAML and the quirks around them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseLegacyFlinkConf } from '../../src/flink-conf/parse-legacy.js';

const FIXTURES = join(__dirname, '..', 'fixtures', 'flink-conf');

/** key -> value of a parse, in the map's order. */
function values(text: string): Record<string, string> {
  return Object.fromEntries([...parseLegacyFlinkConf(text).entries.values()].map((e) => [e.key, e.value]));
}

describe('legacy flink-conf.yaml parser: Flink own test file', () => {
  // Line for line what GlobalConfigurationTest writes, with Flink's verdicts.
  const FLINK_TEST = [
    '###########################', // skipped
    '# Some : comments : to skip', // skipped
    '###########################', // skipped
    'mykey1: myvalue1', // OK, simple correct case
    'mykey2       : myvalue2', // OK, whitespace before colon is correct
    'mykey3:myvalue3', // SKIP, missing white space after colon
    ' some nonsense without colon and whitespace separator', // SKIP
    ' :  ', // SKIP
    '   ', // SKIP (silently)
    ' ', // SKIP (silently)
    'mykey4: myvalue4# some comments', // OK, skip comments only
    '   mykey5    :    myvalue5    ', // OK, trim unnecessary whitespace
    'mykey6: my: value6', // OK, only use first ': ' as separator
    'mykey7: ', // SKIP, no value provided
    ': myvalue8', // SKIP, no key provided
    'mykey9: myvalue9', // OK
    'mykey9: myvalue10', // OK, overwrite last value
  ].join('\n');

  it('keeps exactly the six keys Flink keeps, with its values', () => {
    assert.deepEqual(values(FLINK_TEST), {
      mykey1: 'myvalue1',
      mykey2: 'myvalue2',
      mykey4: 'myvalue4',
      mykey5: 'myvalue5',
      mykey6: 'my: value6',
      mykey9: 'myvalue10',
    });
  });

  it('records the skipped lines with their intended keys, never their values', () => {
    assert.deepEqual(parseLegacyFlinkConf(FLINK_TEST).skipped, [
      { line: 6, reason: 'no-separator', key: 'mykey3' },
      { line: 7, reason: 'no-separator', key: null },
      { line: 8, reason: 'no-separator', key: null },
      { line: 14, reason: 'no-separator', key: 'mykey7' },
      { line: 15, reason: 'empty-key', key: null },
    ]);
  });

  it('gives every entry its line, no column, and kind text', () => {
    const entry = parseLegacyFlinkConf(FLINK_TEST).entries.get('mykey9');
    assert.deepEqual(entry, { key: 'mykey9', value: 'myvalue10', kind: 'text', line: 17, column: null });
  });

  it('accepts any file: no problems, ever', () => {
    assert.deepEqual(parseLegacyFlinkConf('invalid').problems, []);
    assert.deepEqual(parseLegacyFlinkConf('\u0000\u0001: [unclosed').problems, []);
  });
});

const CASES: { title: string; text: string; expected: Record<string, string> }[] = [
  { title: 'a # anywhere starts a comment, even in quotes', text: 'a: "b#c"\nd: e # f', expected: { a: '"b', d: 'e' } },
  { title: 'a value keeps its quotes, as in the JobManager', text: 'a: "b"\nc: \'d\'', expected: { a: '"b"', c: "'d'" } },
  { title: 'a comment line with a key in it', text: '# a: b', expected: {} },
  { title: 'tabs and other controls are trimmed like spaces', text: '\ta\t:\tb \t', expected: {} },
  { title: 'only ": " separates, a tab after the colon does not', text: 'a:\tb\nc: \td', expected: { c: 'd' } },
  { title: 'CRLF and lone CR end lines like LF', text: 'a: 1\r\nb: 2\rc: 3\n', expected: { a: '1', b: '2', c: '3' } },
  { title: 'a key with spaces inside', text: 'a b: c', expected: { 'a b': 'c' } },
  { title: 'YAML nesting means nothing: indented keys are flat keys', text: 'rest:\n  port: 8081', expected: { port: '8081' } },
  { title: 'a list stays text', text: 'a: [1, 2]', expected: { a: '[1, 2]' } },
  { title: 'a BOM stays part of the first key, as in Java', text: '\ufeffa: 1', expected: { '\ufeffa': '1' } },
  { title: 'the last duplicate wins and takes the last place', text: 'a: 1\nb: 2\na: 3', expected: { b: '2', a: '3' } },
  { title: 'non-breaking spaces are not trimmed', text: 'a: \u00a0b\u00a0', expected: { a: '\u00a0b\u00a0' } },
];

describe('legacy flink-conf.yaml parser: quirks', () => {
  for (const c of CASES) {
    it(c.title, () => {
      const parsed = values(c.text);
      assert.deepEqual(parsed, c.expected);
      assert.deepEqual(Object.keys(parsed), Object.keys(c.expected));
    });
  }

  it('reads the quirks fixture as Flink would', () => {
    const parsed = parseLegacyFlinkConf(readFileSync(join(FIXTURES, 'legacy-quirks', 'flink-conf.yaml'), 'utf8'));
    assert.deepEqual(Object.fromEntries([...parsed.entries].map(([k, e]) => [k, [e.value, e.line]])), {
      'high-availability': ['zookeeper', 5],
      'high-availability.zookeeper.path.root': ['/quirks', 7],
      'high-availability.cluster-id': ['"quoted-id"', 8],
      'high-availability.zookeeper.path.latch': ['/latch', 9],
      'high-availability.zookeeper.path.leader': ['/leader: with a colon', 10],
      'rest.port': ['9091', 14],
      'security.ssl.rest.truststore-password': ['quirks-truststore', 15],
    });
    assert.deepEqual(parsed.skipped, [
      { line: 6, reason: 'no-separator', key: 'high-availability.zookeeper.quorum' },
      { line: 11, reason: 'no-separator', key: 'high-availability.zookeeper.client.session-timeout' },
      { line: 12, reason: 'empty-key', key: null },
    ]);
  });
});

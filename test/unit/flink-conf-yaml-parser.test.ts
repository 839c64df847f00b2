/**
 * Covers src/flink-conf/parse-yaml.ts: config.yaml flattened as Flink's GlobalConfiguration does
 * (nested, flat and mixed keys; YAML 1.2 core-schema scalars as snakeyaml-engine builds them and
 * Flink prints them, checked against values recorded from Flink's own GlobalConfiguration; lists as
 * flow YAML, Flink's own GlobalConfigurationTest example), and refused as Flink refuses it
 * (malformed YAML with line and column, duplicate keys, null values, a document that is no mapping,
 * unknown tags, alias bombs) without quoting the file.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseStandardFlinkConf } from '../../src/flink-conf/parse-yaml.js';
import type { FlinkConfEntry } from '../../src/flink-conf/types.js';

const FIXTURES = join(__dirname, '..', 'fixtures', 'flink-conf');

function values(text: string): Record<string, string> {
  const parsed = parseStandardFlinkConf(text);
  assert.deepEqual(parsed.problems, []);
  return Object.fromEntries([...parsed.entries.values()].map((e) => [e.key, e.value]));
}

describe('config.yaml parser: Flink own test file', () => {
  // GlobalConfigurationTest#testConfigurationWithStandardYAML, with the strings Flink reads.
  const FLINK_TEST = [
    'Key1: ',
    '    Key2: v1',
    "    Key3: 'v2'",
    'Key4: 1',
    "Key5: '1'",
    "Key6: '*'",
    'Key7: true',
    "Key8: 'true'",
    "Key9: [a, b, '*', 1, '2',  true, 'true']",
    "Key10: {k1: v1, k2: '2', k3: 3}",
    "Key11: [{k1: v1, k2: '2', k3: 3}, {k4: true}]",
  ].join('\n');

  it('flattens to the twelve keys Flink has', () => {
    assert.deepEqual(values(FLINK_TEST), {
      'Key1.Key2': 'v1',
      'Key1.Key3': 'v2',
      Key4: '1',
      Key5: '1',
      Key6: '*',
      Key7: 'true',
      Key8: 'true',
      Key9: "[a, b, '*', 1, '2', true, 'true']",
      'Key10.k1': 'v1',
      'Key10.k2': '2',
      'Key10.k3': '3',
      Key11: "[{k1: v1, k2: '2', k3: 3}, {k4: true}]",
    });
  });

  it('marks lists, and gives each value its line and column', () => {
    const entries = parseStandardFlinkConf(FLINK_TEST).entries;
    assert.deepEqual(entries.get('Key9'), {
      key: 'Key9',
      value: "[a, b, '*', 1, '2', true, 'true']",
      kind: 'list',
      line: 9,
      column: 7,
    } satisfies FlinkConfEntry);
    assert.deepEqual(entries.get('Key1.Key3'), { key: 'Key1.Key3', value: 'v2', kind: 'text', line: 3, column: 11 });
  });
});

const SCALARS: { title: string; text: string; expected: Record<string, string> }[] = [
  { title: 'nested keys join with dots', text: 'a:\n  b:\n    c: 1\n', expected: { 'a.b.c': '1' } },
  { title: 'flat dotted keys stay as they are', text: 'a.b.c: 1\n', expected: { 'a.b.c': '1' } },
  { title: 'a mix of flat and nested', text: 'a:\n  b.c: 1\n  d:\n    e: 2\n', expected: { 'a.b.c': '1', 'a.d.e': '2' } },
  { title: 'when two spellings meet, the later wins', text: 'a.b: 1\na:\n  b: 2\n', expected: { 'a.b': '2' } },
  { title: '... in either order', text: 'a:\n  b: 2\na.b: 1\n', expected: { 'a.b': '1' } },
  { title: 'an empty mapping adds nothing', text: 'a: {}\nb: 1\n', expected: { b: '1' } },
  { title: 'a comment after a value is a comment', text: 'a: /x # comment\n', expected: { a: '/x' } },
  { title: 'a # without a space before it is part of a plain value', text: 'a: x#y\n', expected: { a: 'x#y' } },
  { title: 'quotes keep # and leading blanks', text: "a: ' x # y'\n", expected: { a: ' x # y' } },
  {
    title: 'only true and false are booleans (YAML 1.2)',
    text: 'a: yes\nb: Off\nc: TRUE\nd: y\n',
    expected: { a: 'yes', b: 'Off', c: 'true', d: 'y' },
  },
  {
    title: 'YAML 1.2 integers print in decimal',
    text: 'a: 0x1F\nb: 017\nc: 0o17\ne: -5\n',
    expected: { a: '31', b: '17', c: '15', e: '-5' },
  },
  { title: 'YAML 1.1 integers are strings', text: 'a: 1_000\nb: 1:30\nc: 0b101\n', expected: { a: '1_000', b: '1:30', c: '0b101' } },
  { title: 'integers beyond 2^53 keep every digit', text: 'a: 123456789012345678901\n', expected: { a: '123456789012345678901' } },
  {
    title: 'floats print as Java does',
    text: 'a: 1.0\nb: 1e7\nc: .inf\nd: .NaN\ne: 0.5\n',
    expected: { a: '1.0', b: '1.0E7', c: '.inf', d: '.nan', e: '0.5' },
  },
  { title: 'an explicit !!float takes any number', text: 'a: !!float 3\n', expected: { a: '3.0' } },
  {
    title: 'a non-string key prints as Java concatenation does',
    text: '8081: a\ntrue: b\n~: c\n',
    expected: { '8081': 'a', true: 'b', null: 'c' },
  },
  {
    title: 'block scalars',
    text: 'a: |\n  line1\n  line2\nb: >-\n  folded\n  text\n',
    expected: { a: 'line1\nline2\n', b: 'folded text' },
  },
  { title: 'anchors and aliases', text: 'x: &port 8081\nrest.port: *port\n', expected: { x: '8081', 'rest.port': '8081' } },
  { title: 'an alias to a mapping flattens it under the new key', text: 'd: &d\n  a: 1\ne: *d\n', expected: { 'd.a': '1', 'e.a': '1' } },
  {
    title: "no merge keys in YAML 1.2: '<<' is a key",
    text: 'p: &p\n  a: 1\nr:\n  <<: *p\n  b: 2\n',
    expected: { 'p.a': '1', 'r.<<.a': '1', 'r.b': '2' },
  },
  { title: 'a BOM at the start is no part of the first key', text: '\ufeffa: 1\n', expected: { a: '1' } },
  { title: 'an empty file has no keys', text: '', expected: {} },
  { title: 'a file of comments has no keys', text: '# nothing\n\n# here\n', expected: {} },
  { title: 'an explicit document start and end', text: '---\na: 1\n...\n', expected: { a: '1' } },
];

describe('config.yaml parser: values as Flink reads them', () => {
  for (const c of SCALARS) {
    it(c.title, () => assert.deepEqual(values(c.text), c.expected));
  }

  it('marks values that are no single plain string', () => {
    const entries = parseStandardFlinkConf('a: [1, 2]\nb: 2001-12-14\nc: !!binary aGVsbG8=\nd: !!set {x, y}\n').entries;
    assert.deepEqual(
      [...entries.values()].map((e) => [e.key, e.kind]),
      [
        ['a', 'list'],
        ['b', 'text'],
        ['c', 'binary'],
        ['d', 'collection'],
      ],
    );
    assert.equal(entries.get('b')?.value, '2001-12-14');
  });

  it("reads every edge value as Flink's own GlobalConfiguration does (values recorded from Flink 1.19.3, 1.20.5, 2.3.0)", () => {
    const dir = join(FIXTURES, 'yaml-1.2-edge');
    const flink = JSON.parse(readFileSync(join(dir, 'flink-values.json'), 'utf8')) as Record<string, string>;
    assert.deepEqual(values(readFileSync(join(dir, 'config.yaml'), 'utf8')), flink);
  });
});

const REFUSED: { title: string; text: string; problems: { line: number; column: number; description: string }[]; kept?: string[] }[] = [
  {
    title: 'a duplicate key',
    text: 'a: 1\nb: 2\na: 3\n',
    problems: [{ line: 3, column: 1, description: 'Map keys must be unique' }],
  },
  {
    title: 'bad indentation (the first error only, as SnakeYAML)',
    text: 'high-availability:\n  type: zookeeper\n   quorum: zk-0:2181\n',
    problems: [{ line: 2, column: 9, description: 'Nested mappings are not allowed in compact mappings' }],
  },
  {
    title: 'an unclosed flow list',
    text: 'a: 1\nb: [1, 2\nc: 3\n',
    problems: [{ line: 3, column: 1, description: 'bad indentation' }],
  },
  {
    title: 'an unclosed quote',
    text: 'a: "unterminated\nb: 2\n',
    problems: [{ line: 3, column: 1, description: 'Missing closing "quote' }],
  },
  {
    title: 'a tab as indentation',
    text: 'a:\n\t- x\n',
    problems: [{ line: 2, column: 1, description: 'Tabs are not allowed as indentation' }],
  },
  {
    title: 'a reserved character starting a plain value',
    text: 'a: 1\nkey: @secret-value\n',
    problems: [{ line: 2, column: 6, description: 'a plain value that starts with a reserved character (quote it)' }],
  },
  {
    title: 'a bad escape in a double-quoted password',
    text: 's3.secret-key: "abc\\qdef"\n',
    problems: [{ line: 1, column: 20, description: 'an invalid escape sequence in a double-quoted string' }],
  },
  {
    title: 'block scalar header with extra text (which yaml would quote)',
    text: 'a: |secret-header\n  t\n',
    problems: [{ line: 1, column: 5, description: 'unexpected text' }],
  },
  {
    title: 'an unknown tag, which snakeyaml-engine cannot construct',
    text: 'a: 1\nb: !vault secret/path\n',
    problems: [{ line: 2, column: 4, description: "a tag that Flink's YAML parser does not know" }],
  },
  {
    title: 'tags of YAML 1.1 that snakeyaml-engine does not construct',
    text: 'a: !!timestamp 2001-12-14\n',
    problems: [{ line: 1, column: 4, description: "a tag that Flink's YAML parser does not know" }],
  },
  {
    title: 'an ordered map',
    text: 'a: !!omap [x: 1]\n',
    problems: [{ line: 1, column: 4, description: "a tag that Flink's YAML parser does not know" }],
  },
  {
    title: "a signed infinity, on which snakeyaml-engine fails (NumberFormatException: '.inf')",
    text: 'a: +.inf\n',
    problems: [{ line: 1, column: 4, description: "a: Flink's YAML parser fails on a signed infinity (write .inf)" }],
  },
  {
    title: 'two documents',
    text: 'a: 1\n---\nb: 2\n',
    problems: [{ line: 2, column: 1, description: 'Source contains multiple documents; please use YAML.parseAllDocuments()' }],
  },
  {
    title: 'a document that is one value (Flink: ClassCastException)',
    text: 'invalid',
    problems: [{ line: 1, column: 1, description: 'the document is a single value, not a mapping of keys to values' }],
  },
  {
    title: 'a document that is a list',
    text: '- a\n- b\n',
    problems: [{ line: 1, column: 1, description: 'the document is a list, not a mapping of keys to values' }],
  },
  {
    title: 'keys without values (Flink: NullPointerException), the others kept',
    text: 'high-availability:\n  # type: zookeeper\nrest.port: 8081\nb: ~\nc: null\n',
    problems: [
      { line: 1, column: 1, description: "high-availability has no value (Flink's JobManager does not start with a key without a value)" },
      { line: 4, column: 1, description: "b has no value (Flink's JobManager does not start with a key without a value)" },
      { line: 5, column: 1, description: "c has no value (Flink's JobManager does not start with a key without a value)" },
    ],
    kept: ['rest.port'],
  },
];

describe('config.yaml parser: files Flink refuses', () => {
  for (const c of REFUSED) {
    it(`refuses ${c.title}`, () => {
      const parsed = parseStandardFlinkConf(c.text);
      assert.deepEqual(parsed.problems, c.problems);
      assert.deepEqual([...parsed.entries.keys()], c.kept ?? []);
    });
  }

  it('refuses more than 50 aliases to collections, as SnakeYAML does', () => {
    const text = `base: &b {a: 1}\n${Array.from({ length: 51 }, (_, i) => `k${i}: *b`).join('\n')}\n`;
    assert.deepEqual(parseStandardFlinkConf(text).problems, [
      { line: 1, column: 1, description: "more than 50 aliases to mappings or lists (Flink's YAML parser refuses that many)" },
    ]);
    const fifty = `base: &b {a: 1}\n${Array.from({ length: 50 }, (_, i) => `k${i}: *b`).join('\n')}\n`;
    assert.equal(parseStandardFlinkConf(fifty).entries.size, 51);
  });

  it('stops an alias bomb that stays under 50 aliases', () => {
    const levels = Array.from({ length: 20 }, (_, i) => `l${i + 1}: &l${i + 1} {a: *l${i}, b: *l${i}}`);
    const text = `l0: &l0 {x: 1}\n${levels.join('\n')}\n`;
    const started = Date.now();
    assert.deepEqual(parseStandardFlinkConf(text).problems, [
      { line: 1, column: 1, description: 'aliases expand to more than 100000 keys' },
    ]);
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  });

  it('never quotes the file in a problem', () => {
    const secrets = ['s3cr3t-one', 's3cr3t-two', 'secret-header', 'secret/path', 'secret-value', 'qdef'];
    const texts = [
      'password: s3cr3t-one\npassword: s3cr3t-two\n',
      'a: |secret-header\n  t\n',
      'b: !vault secret/path\n',
      'key: @secret-value\n',
      's3.secret-key: "abc\\qdef"\n',
      'x:\n  password: s3cr3t-one\n   oops: s3cr3t-two\n',
    ];
    for (const text of texts) {
      for (const problem of parseStandardFlinkConf(text).problems) {
        for (const secret of secrets) assert.ok(!problem.description.includes(secret), `${problem.description} quotes ${secret}`);
      }
    }
  });
});

describe('config.yaml parser: fixtures', () => {
  it("reads Flink 1.19's shipped config.yaml: nested keys, HA commented out", () => {
    const parsed = values(readFileSync(join(FIXTURES, 'shipped-default-1.19', 'config.yaml'), 'utf8'));
    assert.equal(parsed['jobmanager.rpc.address'], 'localhost');
    assert.equal(parsed['jobmanager.rpc.port'], '6123');
    assert.equal(parsed['rest.bind-address'], 'localhost');
    assert.equal(parsed['env.java.opts.all']?.startsWith('--add-exports='), true);
    assert.equal(
      Object.keys(parsed).some((key) => key.startsWith('high-availability')),
      false,
    );
  });

  it('reads a mixed file with anchors, quotes, booleans and lists', () => {
    const parsed = values(readFileSync(join(FIXTURES, 'standard-mixed', 'config.yaml'), 'utf8'));
    assert.deepEqual(
      {
        quorum: parsed['high-availability.zookeeper.quorum'],
        root: parsed['high-availability.zookeeper.path.root'],
        clusterId: parsed['high-availability.cluster-id'],
        latch: parsed['high-availability.zookeeper.path.latch'],
        tolerate: parsed['high-availability.zookeeper.client.tolerate-suspended-connections'],
        ssl: parsed['security.ssl.rest.enabled'],
        annotations: parsed['kubernetes.jobmanager.annotations.team'],
      },
      {
        quorum: 'zk-m0:2181,zk-m1:2181',
        root: 'mixed-root/',
        clusterId: 'mixed # not a comment inside quotes',
        latch: '/latches',
        tolerate: 'true',
        ssl: 'false',
        annotations: 'data',
      },
    );
    const text = readFileSync(join(FIXTURES, 'standard-mixed', 'config.yaml'), 'utf8');
    assert.equal(parseStandardFlinkConf(text).entries.get('pipeline.cached-files')?.kind, 'list');
  });
});

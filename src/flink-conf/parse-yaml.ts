/**
 * config.yaml as Flink 1.19 and later read it: standard YAML, nested or flat dotted keys, or a mix.
 *
 * Read in apache/flink: GlobalConfiguration#loadYAMLResource and #flatten, YamlParserUtils and
 * GlobalConfigurationTest#testConfigurationWithStandardYAML. Flink parses with SnakeYAML (a YAML
 * 1.1 parser, despite the "YAML 1.2" in Flink's docs) with duplicate keys refused, then flattens:
 * - a mapping's keys are joined to their parent's with '.' ('rest: {port: 8081}' is 'rest.port');
 *   flat and nested keys mix, and when two spellings meet ('a.b' and 'a: {b}') the later one in
 *   the document wins, silently;
 * - a value that is not a mapping is kept as the object SnakeYAML built and turned into a string
 *   when read: strings as they are, integers in decimal (0x1F, 0o17, 1_000 and 1:30 are YAML 1.1
 *   integers), floats as Java's Double#toString ('1.0'), booleans as 'true'/'false' (YAML 1.1:
 *   yes/no/on/off too), lists as one-line flow YAML ("[a, b, '*', 1]"), mappings inside lists
 *   likewise;
 * - a key without a value (null) makes Configuration#setValueInternal throw, and a document that is
 *   not a mapping fails a cast: the JobManager does not start. Both are problems here.
 * SnakeYAML's error messages quote the offending line; Flink strips those snippets
 * (wrapExceptionToHiddenSensitiveData) because the line may hold a password. Problems here likewise
 * never quote the file: only line, column and a fixed description.
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  stringify,
  visit,
  type Document,
  type Node,
  type Pair,
  type ScalarTag,
  type Tags,
  type YAMLMap,
} from 'yaml';
import { javaDoubleToString } from './java-text.js';
import type { FileProblem, FlinkConfEntry, FlinkValueKind, ParsedFlinkConf } from './types.js';

const BOOL_TAG = 'tag:yaml.org,2002:bool';

/**
 * SnakeYAML's YAML 1.1 booleans (Resolver.BOOL). The yaml package's 1.1 schema also reads y, Y, n
 * and N as booleans; SnakeYAML keeps them strings.
 */
const SNAKEYAML_TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const SNAKEYAML_FALSE = /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/;

function snakeYamlTags(tags: Tags): Tags {
  return tags.map((tag) => {
    if (typeof tag !== 'object' || tag.tag !== BOOL_TAG || !('test' in tag) || tag.test === undefined) return tag;
    const scalarTag = tag as ScalarTag;
    return { ...scalarTag, test: scalarTag.test?.test('true') ? SNAKEYAML_TRUE : SNAKEYAML_FALSE };
  });
}

/** SnakeYAML's LoaderOptions#maxAliasesForCollections default: a guard against alias bombs that Flink inherits. */
const MAX_ALIASES_FOR_COLLECTIONS = 50;

/**
 * Fifty aliases nested in pairs still expand to 2^25 keys, in Flink's flatten as here; no real
 * configuration comes near this many keys.
 */
const MAX_FLATTENED_VALUES = 100_000;

class TooManyValues extends Error {}

/** Messages of the yaml package that are fixed text, safe to show; any other message may quote the file. */
const SAFE_MESSAGES = new Set([
  'Map keys must be unique',
  'Implicit map keys need to be followed by map values',
  'Implicit keys need to be on a single line',
  'Missing closing "quote',
  "Missing closing 'quote",
  'Tabs are not allowed as indentation',
  'All sequence items must start at the same column',
  'Sequence item without - indicator',
  'A block sequence may not be used as an implicit map key',
  'Nested mappings are not allowed in compact mappings',
  'Comments must be separated from other tokens by white space characters',
  'Missing , or : between flow map items',
  'Missing , or : between flow sequence items',
  'Missing , between flow map items',
  'Missing , between flow sequence items',
  'Source contains multiple documents; please use YAML.parseAllDocuments()',
]);

/** Fixed descriptions by yaml error code, for messages that are not in SAFE_MESSAGES. */
const CODE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  ALIAS_PROPS: 'an alias with an anchor or tag',
  BAD_ALIAS: 'an invalid alias or anchor',
  BAD_DIRECTIVE: 'an invalid directive',
  BAD_DQ_ESCAPE: 'an invalid escape sequence in a double-quoted string',
  BAD_INDENT: 'bad indentation',
  BAD_PROP_ORDER: 'an anchor or tag in the wrong place',
  BAD_SCALAR_START: 'a plain value that starts with a reserved character (quote it)',
  BLOCK_AS_IMPLICIT_KEY: 'a block collection used as a key',
  BLOCK_IN_FLOW: 'a block collection inside a flow collection',
  DUPLICATE_KEY: 'a duplicate key',
  KEY_OVER_1024_CHARS: 'an implicit key longer than 1024 characters',
  MISSING_CHAR: 'a missing character (a closing quote or bracket, a ":" or a ",")',
  MULTILINE_IMPLICIT_KEY: 'a key that spans lines',
  MULTIPLE_ANCHORS: 'a value with two anchors',
  MULTIPLE_DOCS: 'more than one YAML document',
  MULTIPLE_TAGS: 'a value with two tags',
  NON_STRING_KEY: 'a key that is not a string',
  RESOURCE_EXHAUSTION: 'aliases that expand to too much data',
  TAB_AS_INDENT: 'a tab used as indentation',
  TAG_RESOLVE_FAILED: "a tag that Flink's YAML parser does not know",
  UNEXPECTED_TOKEN: 'unexpected text',
  BAD_COLLECTION_TYPE: 'a tag that does not fit its value',
};

function describeYamlError(code: string, message: string): string {
  const head = message.split(' at line ')[0] ?? '';
  if (SAFE_MESSAGES.has(head)) return head;
  return CODE_DESCRIPTIONS[code] ?? 'invalid YAML';
}

interface Walk {
  readonly doc: Document;
  readonly lines: LineCounter;
  readonly entries: Map<string, FlinkConfEntry>;
  readonly problems: FileProblem[];
  /** Alias#resolve searches the whole document each time; an alias-heavy file would crawl without this. */
  readonly aliasTargets: Map<Node, Node | null>;
  values: number;
}

function position(walk: Walk, node: Node | null | undefined): { line: number; column: number } {
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = walk.lines.linePos(offset);
  return { line, column: col };
}

function resolveNode(walk: Walk, node: unknown): Node | null {
  if (!isAlias(node)) return (node as Node | null) ?? null;
  let target = walk.aliasTargets.get(node);
  if (target === undefined) {
    target = (node.resolve(walk.doc) as Node | undefined) ?? null;
    walk.aliasTargets.set(node, target);
  }
  return target;
}

/** Aliases written in the document that point at a mapping or list: what SnakeYAML counts. */
function aliasesToCollections(doc: Document): number {
  let count = 0;
  visit(doc, {
    Alias(_key, alias) {
      const target = alias.resolve(doc);
      if (target !== undefined && !isScalar(target)) count++;
    },
  });
  return count;
}

/** Java's String.valueOf of what SnakeYAML builds for a scalar, as Flink's flatten and getString produce it. */
function scalarText(value: unknown, source: string): { text: string; kind: FlinkValueKind } | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return { text: value, kind: 'text' };
  if (typeof value === 'bigint' || typeof value === 'boolean') return { text: String(value), kind: 'text' };
  if (typeof value === 'number') return { text: javaDoubleToString(value), kind: 'text' };
  if (value instanceof Date) return { text: source, kind: 'timestamp' };
  if (value instanceof Uint8Array) return { text: source, kind: 'binary' };
  return { text: String(value), kind: 'collection' };
}

/** A key's text: Java's `prefix + key` turns null into 'null' and numbers into their decimal digits. */
function keyText(walk: Walk, keyNode: unknown): string {
  const node = resolveNode(walk, keyNode);
  if (node === null) return 'null';
  if (isScalar(node)) return scalarText(node.value, node.source ?? '')?.text ?? 'null';
  return stringify(node.toJS(walk.doc), { collectionStyle: 'flow', flowCollectionPadding: false }).trimEnd();
}

function isMergeKey(pair: Pair): boolean {
  return isScalar(pair.key) && typeof pair.key.value === 'symbol';
}

const SPECIAL_COLLECTION_TAGS = new Set(['tag:yaml.org,2002:set', 'tag:yaml.org,2002:omap', 'tag:yaml.org,2002:pairs']);

function addValue(walk: Walk, key: string, valueNode: unknown, keyNode: unknown): void {
  if (++walk.values > MAX_FLATTENED_VALUES) throw new TooManyValues();
  const node = resolveNode(walk, valueNode);
  const at = position(walk, (isAlias(valueNode) ? valueNode : node) ?? (keyNode as Node | null));
  const put = (value: string, kind: FlinkValueKind): void => {
    walk.entries.delete(key);
    walk.entries.set(key, { key, value, kind, ...at });
  };
  if (isMap(node) && !SPECIAL_COLLECTION_TAGS.has(node.tag ?? '')) {
    flattenMap(walk, node, `${key}.`);
  } else if (isSeq(node) || isMap(node)) {
    const text = stringify(node.toJS(walk.doc), { collectionStyle: 'flow', flowCollectionPadding: false, singleQuote: true });
    put(text.trimEnd(), isSeq(node) && node.tag === undefined ? 'list' : 'collection');
  } else {
    const scalar = isScalar(node) ? scalarText(node.value, node.source ?? '') : null;
    if (scalar === null) {
      walk.entries.delete(key);
      walk.problems.push({
        ...position(walk, keyNode as Node | null),
        description: `${key} has no value (Flink's JobManager does not start with a key without a value)`,
      });
    } else {
      put(scalar.text, scalar.kind);
    }
  }
}

function flattenMap(walk: Walk, map: YAMLMap, prefix: string): void {
  // SnakeYAML's merge ('<<: *base'): the map's own keys win over merged ones, and an earlier merge
  // source over a later one. Writing later-wins in reverse order gives exactly that.
  const merges = map.items.filter(isMergeKey);
  for (const pair of merges) {
    const value = resolveNode(walk, pair.value);
    const sources = isSeq(value) ? value.items.map((item) => resolveNode(walk, item)) : [value];
    for (const source of sources.reverse()) {
      if (isMap(source)) flattenMap(walk, source, prefix);
    }
  }
  for (const pair of map.items) {
    if (isMergeKey(pair)) continue;
    addValue(walk, prefix + keyText(walk, pair.key), pair.value, pair.key);
  }
}

/**
 * Parses the text of a config.yaml into flattened entries, the way Flink does. On a YAML error the
 * entries are empty (Flink refuses the whole file) and `problems` holds the first error, with its
 * line and column; null values are problems too (one each), but leave the other entries in place.
 */
export function parseStandardFlinkConf(text: string): ParsedFlinkConf {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    version: '1.1',
    intAsBigInt: true,
    customTags: snakeYamlTags,
    lineCounter: lines,
    prettyErrors: false,
  });
  const walk: Walk = { doc, lines, entries: new Map(), problems: [], aliasTargets: new Map(), values: 0 };
  // SnakeYAML stops at the first error, and later ones are mostly its echoes: report the first.
  const failure = [...doc.errors, ...doc.warnings.filter((w) => w.code === 'TAG_RESOLVE_FAILED')].sort(
    (a, b) => a.pos[0] - b.pos[0],
  )[0];
  if (failure !== undefined) {
    const { line, col } = lines.linePos(failure.pos[0]);
    const problem = { line, column: col, description: describeYamlError(failure.code, failure.message) };
    return { entries: new Map(), skipped: [], problems: [problem] };
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return { entries: new Map(), skipped: [], problems: [] };
  if (!isMap(root)) {
    const what = isSeq(root) ? 'a list' : 'a single value';
    return {
      entries: new Map(),
      skipped: [],
      problems: [{ ...position(walk, root), description: `the document is ${what}, not a mapping of keys to values` }],
    };
  }
  const refuse = (description: string): ParsedFlinkConf => ({
    entries: new Map(),
    skipped: [],
    problems: [{ line: 1, column: 1, description }],
  });
  if (aliasesToCollections(doc) > MAX_ALIASES_FOR_COLLECTIONS) {
    return refuse(`more than ${MAX_ALIASES_FOR_COLLECTIONS} aliases to mappings or lists (Flink's YAML parser refuses that many)`);
  }
  try {
    flattenMap(walk, root, '');
  } catch (error) {
    if (error instanceof TooManyValues) return refuse(`aliases expand to more than ${MAX_FLATTENED_VALUES} keys`);
    throw error;
  }
  return { entries: walk.entries, skipped: [], problems: walk.problems };
}

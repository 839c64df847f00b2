/**
 * config.yaml as Flink 1.19 and later read it: standard YAML, nested or flat dotted keys, or a mix.
 *
 * Read in apache/flink: GlobalConfiguration#loadYAMLResource and #flatten, YamlParserUtils and
 * YamlParserUtilsTest#testYaml12Features. From 1.19.0 on, Flink parses with snakeyaml-engine, a
 * YAML 1.2 parser, with the core schema and duplicate keys refused (docs/design.md, "Flink's
 * configuration file"), then flattens:
 * - a mapping's keys are joined to their parent's with '.' ('rest: {port: 8081}' is 'rest.port');
 *   flat and nested keys mix, and when two spellings meet ('a.b' and 'a: {b}') the later one in
 *   the document wins, silently;
 * - a value that is not a mapping is kept as the object the parser built and turned into a string
 *   when read (ConfigurationUtils#convertToString): strings as they are; anything else as
 *   snakeyaml-engine dumps it in flow style: integers in decimal ('010' is 10, 0x1F is 31, 0o17 is
 *   15), floats as Java's Double#toString ('1.0') or .inf/-.inf/.nan, booleans only from
 *   true/True/TRUE/false/False/FALSE, lists as one-line flow YAML ("[a, b, '*', 1]"). Under YAML
 *   1.2, yes/no/on/off, 1_000, 0b101, 1:30 and dates such as 2024-06-01 are plain strings;
 * - a key without a value (null) makes Configuration#setValueInternal throw, and a document that is
 *   not a mapping fails a cast: the JobManager does not start. Both are problems here.
 * The parser's error messages quote the offending line; Flink strips those snippets
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
  type ScalarTag,
  type YAMLMap,
} from 'yaml';
import { javaDoubleToString } from './java-text.js';
import type { FileProblem, FlinkConfEntry, FlinkValueKind, ParsedFlinkConf } from './types.js';

/** snakeyaml-engine's LoaderOptions#maxAliasesForCollections default: a guard against alias bombs that Flink inherits. */
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
    target = node.resolve(walk.doc) ?? null;
    walk.aliasTargets.set(node, target);
  }
  return target;
}

/** Aliases written in the document that point at a mapping or list: what snakeyaml-engine counts. */
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

/**
 * An explicit !!float, which snakeyaml-engine builds from any text Java's Double#parseDouble reads
 * ('!!float 3' is 3.0); the yaml package's core float tags accept only text that looks like a float.
 * A tag without a test applies to explicitly tagged values only.
 */
const EXPLICIT_FLOAT: ScalarTag = {
  tag: 'tag:yaml.org,2002:float',
  resolve(source, onError) {
    const special = /^(-?)\.(?:inf|Inf|INF)$/.exec(source);
    if (special !== null) return special[1] === '-' ? -Infinity : Infinity;
    if (/^\.(?:nan|NaN|NAN)$/.test(source)) return NaN;
    const value = /^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/.test(source.trim()) ? Number(source) : NaN;
    if (Number.isNaN(value)) onError('not a float');
    return value;
  },
};

/** snakeyaml-engine fails on a signed '+.inf' (its float constructor hands '.inf' to Double#parseDouble). */
const PLUS_INFINITY = /^\+\.(?:inf|Inf|INF)$/;

/** snakeyaml-engine's text for a Double: Java's Double#toString, with YAML's names for the values that are not finite. */
function yamlDoubleText(value: number): string {
  if (Number.isNaN(value)) return '.nan';
  if (value === Infinity) return '.inf';
  if (value === -Infinity) return '-.inf';
  return javaDoubleToString(value);
}

/** The text Flink's getString gives for what snakeyaml-engine builds from a scalar (ConfigurationUtils#convertToString). */
function scalarText(value: unknown, source: string): { text: string; kind: FlinkValueKind } | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return { text: value, kind: 'text' };
  if (typeof value === 'bigint' || typeof value === 'boolean') return { text: String(value), kind: 'text' };
  if (typeof value === 'number') return { text: yamlDoubleText(value), kind: 'text' };
  if (value instanceof Uint8Array) return { text: source, kind: 'binary' };
  // An object that the YAML library built from a tagged scalar: its default text is the
  // approximation that the 'collection' kind announces.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return { text: String(value), kind: 'collection' };
}

/** A key's text: Java's `prefix + key` turns null into 'null' and numbers into their decimal digits. */
function keyText(walk: Walk, keyNode: unknown): string {
  const node = resolveNode(walk, keyNode);
  if (node === null) return 'null';
  if (isScalar(node)) return scalarText(node.value, node.source ?? '')?.text ?? 'null';
  return stringify(node.toJS(walk.doc), { collectionStyle: 'flow', flowCollectionPadding: false }).trimEnd();
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
    if (isScalar(node) && typeof node.value === 'number' && PLUS_INFINITY.test(node.source ?? '')) {
      walk.entries.delete(key);
      walk.problems.push({ ...at, description: `${key}: Flink's YAML parser fails on a signed infinity (write .inf)` });
    } else if (scalar === null) {
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
  // YAML 1.2 has no merge keys: '<<' is a key like any other, as in snakeyaml-engine.
  for (const pair of map.items) addValue(walk, prefix + keyText(walk, pair.key), pair.value, pair.key);
}

/**
 * Parses the text of a config.yaml into flattened entries, the way Flink does. On a YAML error the
 * entries are empty (Flink refuses the whole file) and `problems` holds the first error, with its
 * line and column; null values are problems too (one each), but leave the other entries in place.
 */
export function parseStandardFlinkConf(text: string): ParsedFlinkConf {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    version: '1.2',
    schema: 'core',
    // snakeyaml-engine's core schema constructs !!binary and !!set besides the core tags (and refuses
    // !!omap, !!pairs and !!timestamp).
    customTags: ['binary', 'set', EXPLICIT_FLOAT],
    resolveKnownTags: false,
    intAsBigInt: true,
    lineCounter: lines,
    prettyErrors: false,
  });
  const walk: Walk = { doc, lines, entries: new Map(), problems: [], aliasTargets: new Map(), values: 0 };
  // snakeyaml-engine stops at the first error, and later ones are mostly its echoes: report the first.
  const failure = [...doc.errors, ...doc.warnings.filter((w) => w.code === 'TAG_RESOLVE_FAILED')].sort((a, b) => a.pos[0] - b.pos[0])[0];
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

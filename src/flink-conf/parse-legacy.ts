/**
 * flink-conf.yaml as Flink reads it: not YAML, but Flink's own line parser.
 *
 * Read in apache/flink: GlobalConfiguration#loadYAMLResource (Flink 1.x up to 1.18),
 * GlobalConfiguration#loadLegacyYAMLResource (1.19, 1.20) and
 * ConfigurationFileMigrationUtils#loadLegacyYAMLResource (2.x, migration only); the three agree,
 * and GlobalConfigurationTest#testConfigurationWithLegacyYAML pins the rules. For each line
 * (BufferedReader#readLine: split at \n, \r or \r\n):
 * 1. everything from the first '#' on is a comment, even inside quotes or a value ('a: b#c' is 'b');
 * 2. the rest is trimmed (String#trim); an empty result is skipped silently;
 * 3. key and value are split at the first ': ' (colon and one space), so 'a:b' and a line ending in
 *    ':' are skipped, and 'a: b: c' has the value 'b: c';
 * 4. key and value are trimmed; a line whose key or value is then empty is skipped;
 * 5. a later line with the same key wins.
 * Nothing is unquoted: 'a: "b"' has the value '"b"', quotes included, in the JobManager too. Skipped
 * lines only earn a warning in the JobManager's log, so Flink accepts every file; this parser never
 * reports problems, and records the skipped lines so that a missing setting can point at them.
 */
import { javaTrim } from './java-text.js';
import type { FlinkConfEntry, ParsedFlinkConf, SkippedLine } from './types.js';

/**
 * Parses the text of a flink-conf.yaml. Every value is a plain string ('text'); columns are null.
 * Never fails: what Flink skips lands in `skipped` (line, reason and intended key, never a value).
 */
export function parseLegacyFlinkConf(text: string): ParsedFlinkConf {
  const entries = new Map<string, FlinkConfEntry>();
  const skipped: SkippedLine[] = [];
  const lines = text.split(/\r\n|\r|\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    const hash = raw.indexOf('#');
    const conf = javaTrim(hash === -1 ? raw : raw.slice(0, hash));
    if (conf === '') return;
    const separator = conf.indexOf(': ');
    if (separator === -1) {
      const colon = conf.indexOf(':');
      const key = colon === -1 ? '' : javaTrim(conf.slice(0, colon));
      skipped.push({ line, reason: 'no-separator', key: key === '' ? null : key });
      return;
    }
    const key = javaTrim(conf.slice(0, separator));
    // conf is trimmed, so the value after ': ' is never empty; Flink checks anyway, and so do we.
    const value = javaTrim(conf.slice(separator + 2));
    if (key === '') {
      skipped.push({ line, reason: 'empty-key', key: null });
    } else if (value === '') {
      skipped.push({ line, reason: 'no-separator', key });
    } else {
      // Delete first so that the map's order is the order of the winning lines.
      entries.delete(key);
      entries.set(key, { key, value, kind: 'text', line, column: null });
    }
  });
  return { entries, skipped, problems: [] };
}

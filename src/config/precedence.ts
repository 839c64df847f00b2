/**
 * Precedence: each setting's value and where it came from (the sources record), from the flag,
 * then the environment variable, then Flink's configuration file, then the default. An empty
 * variable counts as unset; an empty flag value is a value and is validated like any other.
 */
import type { LeaderSource } from '../core/model.js';
import { LEGACY_FILE_NAME, STANDARD_FILE_NAME } from '../flink-conf/read-flink-conf.js';
import type { ArgScan } from './argv.js';
import type { FlinkContext } from './flink-file.js';
import { label, SETTINGS, type SettingSpec } from './settings.js';
import type { Env, SettingName, SettingSource, SettingValues } from './types.js';
import { fail, ok, show, type Parsed } from './values.js';

type Resolved<T> = { source: SettingSource } & Parsed<T>;

/** 'required, e.g. ...', with where Flink's file was looked for when the setting could have come from it. */
function requiredProblem(spec: SettingSpec<unknown>, example: string, flink: FlinkContext): string {
  const unset = spec.unset;
  // ZooKeeper is the default source: its settings read as plainly required.
  const source = 'onlyWithSource' in unset ? unset.onlyWithSource : undefined;
  const withSource = source === undefined || source === 'zookeeper' ? '' : ` with --leader-source=${source}`;
  const head = `${label(spec)}: required${withSource}, e.g. ${example}`;
  if (spec.flink === undefined) return head;
  const key = spec.flink.keys[0] ?? '';
  const read = flink.read;
  if (read === null) return `${head}, or ${key} in Flink's configuration file`;
  if (read.kind === 'missing') {
    const found = read.dirExists ? `has neither ${LEGACY_FILE_NAME} nor ${STANDARD_FILE_NAME}` : 'does not exist';
    return `${head}, or ${key} in Flink's configuration file (${read.dir} ${found})`;
  }
  const hints =
    read.kind === 'read'
      ? read.skipped
          .filter((line) => line.key !== null && spec.flink?.keys.includes(line.key))
          .map((line) => `; ${read.path}:${line.line} sets ${line.key ?? ''} without ": " after the key, so Flink skips that line`)
      : [];
  return `${head}, or ${key} in Flink's configuration file (${read.path} does not set it)${hints.join('')}`;
}

/**
 * One setting's value and where it came from. null: a required setting that Flink's file may set,
 * when that file could not be read (the file's own problem says what to fix first).
 */
export function resolveSetting<K extends SettingName>(
  name: K,
  scan: ArgScan,
  env: Env,
  flink: FlinkContext,
  leaderSource?: LeaderSource,
): Resolved<SettingValues[K]> | null {
  const spec: SettingSpec<SettingValues[K]> = SETTINGS[name];
  const flagValues = scan.values.get(spec.flag) ?? [];
  const envValue = env[spec.env];
  if (flagValues.length > 1) {
    const given = flagValues.map(show).join(', ');
    const problem = `${label(spec)}: --${spec.flag} is given ${flagValues.length} times (${given}); give it once`;
    return { source: 'flag', ...fail(problem) };
  }
  const prefix = (parsed: Parsed<SettingValues[K]>): Parsed<SettingValues[K]> =>
    parsed.ok ? parsed : fail(...parsed.problems.map((p) => `${label(spec)}: ${p}`));
  const flagValue = flagValues[0];
  if (flagValue !== undefined) return { source: 'flag', ...prefix(spec.parse(flagValue)) };
  if (envValue !== undefined && envValue !== '') {
    return { source: 'environment', ...prefix(spec.parse(envValue)) };
  }
  const fromFile = flink.file === null ? null : (spec.flink?.resolve(flink.file) ?? null);
  // Problems from the file already name the key, the file and the line.
  if (fromFile !== null) return { source: 'flink-conf', ...fromFile };
  const unset = spec.unset;
  if ('example' in unset) {
    // Required by one leader source only: the other has no use for it.
    if (unset.onlyWithSource !== undefined && leaderSource !== unset.onlyWithSource) {
      return { source: 'default', ...ok(null as SettingValues[K]) };
    }
    // A file that could not be read may well set it: its own problem says what to fix first.
    if (flink.failed && spec.flink !== undefined) return null;
    return { source: 'default', ...fail(requiredProblem(spec, unset.example, flink)) };
  }
  if ('value' in unset) return { source: 'default', ...ok(unset.value) };
  return { source: 'default', ...prefix(spec.parse(unset.raw)) };
}

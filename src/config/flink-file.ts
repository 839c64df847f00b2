/**
 * Flink's configuration file as a whole: which of its keys the settings read (nothing else is
 * kept), what became of reading it, and the problems of the file itself (unreadable, or refused
 * by Flink).
 */
import type { FlinkConfRead } from '../flink-conf/read-flink-conf.js';
import type { FlinkFile } from './flink-sources.js';
import { label, SETTINGS, type SettingSpec } from './settings.js';
import type { SettingSource } from './types.js';
import { REST_ADDRESS_KEYS, REST_AUTHENTICATION_KEY, REST_TRUSTSTORE_TYPE_KEY, show } from './values.js';

/** What became of Flink's configuration file, for the settings and their problems. */
export interface FlinkContext {
  /** null when flinkConfDir itself is invalid, so nothing was read. */
  readonly read: FlinkConfRead | null;
  /** The file's entries when it was read. */
  readonly file: FlinkFile | null;
  /** The file was there but unreadable or refused: whether it sets a required setting is unknown. */
  readonly failed: boolean;
}

/** Every Flink key the settings and the checks read; nothing else from the file is kept. */
const FLINK_KEY_SET: ReadonlySet<string> = new Set([
  ...Object.values<SettingSpec<unknown>>(SETTINGS).flatMap((spec) => spec.flink?.keys ?? []),
  ...REST_ADDRESS_KEYS,
  REST_AUTHENTICATION_KEY,
  REST_TRUSTSTORE_TYPE_KEY,
]);
const FLINK_KEY_PREFIXES = Object.values<SettingSpec<unknown>>(SETTINGS).flatMap((spec) => spec.flink?.prefixes ?? []);
export const isFlinkKey = (key: string): boolean => FLINK_KEY_SET.has(key) || FLINK_KEY_PREFIXES.some((prefix) => key.startsWith(prefix));

/** Problems of the file as a whole: unreadable, or refused by Flink. */
export function flinkFileProblems(read: FlinkConfRead, dirSource: SettingSource): string[] {
  if (read.kind === 'missing') {
    // The default directory may well be absent (a sidecar given only flags); one named on purpose may not.
    if (read.dirExists || dirSource === 'default') return [];
    return [`${label(SETTINGS.flinkConfDir)}: ${show(read.dir)} does not exist or is not a directory`];
  }
  if (read.kind === 'unreadable') return [`${read.path}: cannot read Flink's configuration file: ${read.reason}`];
  const problems = read.problems.map((p) => {
    const column = p.column === null ? '' : `:${p.column}`;
    return `${read.path}:${p.line}${column}: ${p.description}`;
  });
  return problems;
}

/**
 * Finds and reads the configuration file the JobManager reads from FLINK_CONF_DIR.
 *
 * Which file (apache/flink GlobalConfiguration#loadConfiguration):
 * - Flink 1.19 and 1.20: flink-conf.yaml if it exists (File#exists, so a directory of that name
 *   counts and then fails to read), parsed by the legacy line parser; otherwise config.yaml, parsed
 *   as standard YAML; neither is an error for Flink. FLIP-366 calls this the compatibility rule of
 *   the 1.x line: while flink-conf.yaml is there, config.yaml is ignored.
 * - Flink up to 1.18: flink-conf.yaml only. Flink 2.x: config.yaml only (flink-conf.yaml is ignored).
 * The sidecar does not know the JobManager's version when it starts, so it follows 1.19/1.20, which
 * also gives the right file for every version whose directory holds only one of the two. A Flink 2.x
 * directory that still holds a stale flink-conf.yaml is read wrongly: once the JobManager's REST API
 * names its version, version-rules.ts says so in the log; flinkConfFile in /debug/config shows which
 * file was read.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseLegacyFlinkConf } from './parse-legacy.js';
import { parseStandardFlinkConf } from './parse-yaml.js';
import type { FileProblem, FlinkConfEntry, FlinkConfFormat, SkippedLine } from './types.js';

export const LEGACY_FILE_NAME = 'flink-conf.yaml';
export const STANDARD_FILE_NAME = 'config.yaml';

/** In the order Flink 1.19 and 1.20 look for them. */
const CANDIDATES: readonly { name: string; format: FlinkConfFormat }[] = [
  { name: LEGACY_FILE_NAME, format: 'legacy' },
  { name: STANDARD_FILE_NAME, format: 'yaml' },
];

/** File access, injectable so that unit tests need no files. */
export interface FlinkConfIo {
  /** Reads a whole file as UTF-8; throws an error with a Node `code` (ENOENT, EACCES, EISDIR...) as fs.readFileSync does. */
  readFile(path: string): string;
  /** Whether a directory exists at `path`, following symbolic links. */
  isDirectory(path: string): boolean;
}

export const NODE_IO: FlinkConfIo = {
  readFile: (path) => readFileSync(path, 'utf8'),
  isDirectory: (path) => {
    try {
      return statSync(path).isDirectory();
    } catch {
      return false;
    }
  },
};

export type FlinkConfRead =
  /** Neither file exists. */
  | { kind: 'missing'; dir: string; dirExists: boolean }
  /** The file exists but could not be read; `reason` is a short description such as 'permission denied (EACCES)'. */
  | { kind: 'unreadable'; path: string; reason: string }
  | {
      kind: 'read';
      path: string;
      format: FlinkConfFormat;
      /** Only the keys asked for: nothing else from the file (passwords included) leaves this module. */
      entries: ReadonlyMap<string, FlinkConfEntry>;
      /** Skipped legacy lines whose intended key is one of the keys asked for. */
      skipped: readonly SkippedLine[];
      /** Why Flink would refuse the file; empty when it would accept it. */
      problems: readonly FileProblem[];
      /** config.yaml exists beside the flink-conf.yaml that was read (Flink 2.x would read it instead). */
      shadowsStandardFile: boolean;
    };

const REASONS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a directory',
  ELOOP: 'too many levels of symbolic links',
  EIO: 'input/output error',
};

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Reads Flink's configuration from `dir` as the JobManager would, keeping only the entries whose
 * key `isWanted` accepts. Never throws for file-system or parse errors: they come back as 'unreadable' or
 * as `problems`, which never quote the file's text.
 */
function fileExists(io: FlinkConfIo, path: string): boolean {
  try {
    io.readFile(path);
    return true;
  } catch (error) {
    const code = errorCode(error);
    return code !== 'ENOENT' && code !== 'ENOTDIR';
  }
}

export function readFlinkConf(dir: string, isWanted: (key: string) => boolean, io: FlinkConfIo = NODE_IO): FlinkConfRead {
  for (const { name, format } of CANDIDATES) {
    const path = join(dir, name);
    let text: string;
    try {
      text = io.readFile(path);
    } catch (error) {
      const code = errorCode(error);
      // ENOTDIR: the "directory" is a file, so this file does not exist either.
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      const reason = code === undefined ? String(error) : `${REASONS[code] ?? 'error'} (${code})`;
      return { kind: 'unreadable', path, reason };
    }
    const parsed = format === 'legacy' ? parseLegacyFlinkConf(text) : parseStandardFlinkConf(text);
    const entries = new Map([...parsed.entries].filter(([key]) => isWanted(key)));
    const skipped = parsed.skipped.filter((line) => line.key !== null && isWanted(line.key));
    const shadowsStandardFile = format === 'legacy' && fileExists(io, join(dir, STANDARD_FILE_NAME));
    return { kind: 'read', path, format, entries, skipped, problems: parsed.problems, shadowsStandardFile };
  }
  return { kind: 'missing', dir, dirExists: io.isDirectory(dir) };
}

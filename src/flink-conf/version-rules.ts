/**
 * What a JobManager reads depends on its Flink version (docs/design.md, "Flink's configuration
 * file"). The sidecar reads the configuration directory before it knows that version; once the
 * JobManager's REST API names it (`flink-version` in GET /config), these rules say where the
 * JobManager and the sidecar may have read different things.
 */
import type { FlinkConfFormat } from './types.js';

/** What the sidecar found in the configuration directory that different Flink versions read differently. */
export interface FlinkConfFacts {
  /** The file read: 'legacy' (flink-conf.yaml) or 'yaml' (config.yaml); null when none was read. */
  readonly format: FlinkConfFormat | null;
  /** flink-conf.yaml was read while config.yaml lies beside it. */
  readonly shadowsStandardFile: boolean;
  /** high-availability.type is set (a key from Flink 1.17 on) and high-availability is not. */
  readonly setsHaTypeOnly: boolean;
  /** https came from security.ssl.enabled alone, a fallback for security.ssl.rest.enabled up to Flink 1.20. */
  readonly restSslFromSharedKeyOnly: boolean;
}

export interface FlinkVersion {
  readonly major: number;
  readonly minor: number;
}

/** '1.20.5', '2.3.0', '1.19-SNAPSHOT'; null for anything else. */
export function parseFlinkVersion(text: string): FlinkVersion | null {
  const match = /^(\d{1,3})\.(\d{1,3})(?:[.-]|$)/.exec(text);
  return match === null ? null : { major: Number(match[1]), minor: Number(match[2]) };
}

const atLeast = (v: FlinkVersion, major: number, minor: number): boolean => v.major > major || (v.major === major && v.minor >= minor);

/** One sentence per difference between what this JobManager reads and what the sidecar read. */
export function confWarnings(version: FlinkVersion, facts: FlinkConfFacts): string[] {
  const name = `Flink ${version.major}.${version.minor}`;
  const warnings: string[] = [];
  if (version.major >= 2 && facts.format === 'legacy') {
    warnings.push(
      facts.shadowsStandardFile
        ? `${name} reads only config.yaml, but the sidecar read the flink-conf.yaml beside it: remove the stale flink-conf.yaml`
        : `${name} reads only config.yaml and ignores the flink-conf.yaml the sidecar read: rename or convert it`,
    );
  }
  if (!atLeast(version, 1, 19) && facts.format === 'yaml') {
    warnings.push(`${name} reads only flink-conf.yaml and ignores the config.yaml the sidecar read: provide flink-conf.yaml`);
  }
  if (!atLeast(version, 1, 17) && facts.setsHaTypeOnly) {
    warnings.push(`${name} has no high-availability.type (it came with 1.17) and ignores it: set high-availability instead`);
  }
  if (version.major >= 2 && facts.restSslFromSharedKeyOnly) {
    warnings.push(
      `${name} no longer falls back to security.ssl.enabled for REST: its REST API is http while the sidecar calls https; ` +
        'set security.ssl.rest.enabled',
    );
  }
  return warnings;
}

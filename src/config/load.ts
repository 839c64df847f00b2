/**
 * loadConfig: reads the command line, the environment and Flink's configuration file into one
 * Config, or reports every problem at once. Nothing here touches `process`; main.ts passes argv
 * and env in. Flink's file is read synchronously at load time.
 */
import { ConfigError } from '../errors.js';
import { NODE_IO, readFlinkConf, type FlinkConfIo } from '../flink-conf/read-flink-conf.js';
import { positionalProblems, scanArgs, type ArgScan } from './argv.js';
import { crossCheckProblems, labelRoutingProblems, leaderSourceProblems } from './cross-checks.js';
import { flinkFileProblems, isFlinkKey, type FlinkContext } from './flink-file.js';
import { firstEntry } from './flink-sources.js';
import { helpText, versionText } from './help.js';
import { resolveSetting } from './precedence.js';
import { SETTING_NAMES } from './settings.js';
import type { Env, LoadResult, PartialValues, SettingName, SettingSource } from './types.js';
import { parseReadableFile, REST_ADDRESS_KEYS } from './values.js';

/**
 * File access: Flink's configuration file, and whether the service account's files can be read
 * (label mode); tests inject them, main uses the real file system.
 */
export type LoadOptions = Partial<FlinkConfIo> & { isReadableFile?: (path: string) => boolean };

/** A readable regular file: opened and closed, never read (the service account token stays out of memory). */
function isReadableRegularFile(path: string): boolean {
  return parseReadableFile(path).ok;
}

/**
 * Reads the settings from command-line arguments (without the node and script paths), the
 * environment and Flink's configuration file in FLINK_CONF_DIR (read synchronously); flags beat
 * variables, variables beat the file, the file beats defaults; empty variables count as unset.
 * --help/-h and --version/-v win over everything, problems included, so that they work in a
 * misconfigured pod (and then no file is read). Durations are in milliseconds.
 * @param version shown by --version.
 * @param options injectable file access for Flink's configuration file (default: node:fs).
 * @throws ConfigError listing every problem found: arguments first, then each setting in --help
 *   order with the file's own problems after --flink-conf-dir's, then problems between settings.
 *   A problem names the flag and the variable, or, for a value from Flink's file, the file, line,
 *   column (config.yaml) and Flink key. No problem quotes any other part of the file.
 */
export function loadConfig(argv: readonly string[], env: Env, version: string, options: LoadOptions = {}): LoadResult {
  const scan: ArgScan = { values: new Map(), help: false, version: false, positionals: [], problems: [] };
  scanArgs(argv, scan);
  if (scan.help) return { kind: 'help', text: helpText() };
  if (scan.version) return { kind: 'version', text: versionText(version) };

  const problems = [...scan.problems, ...positionalProblems(scan.positionals)];
  const values: PartialValues = {};
  const sources = {} as Record<SettingName, SettingSource>;
  // K ties resolved.value's type to values[name], which a plain SettingName parameter would not.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  const resolveInto = <K extends SettingName>(name: K, flink: FlinkContext): void => {
    const resolved = resolveSetting(name, scan, env, flink, values.leaderSource);
    if (resolved === null) {
      sources[name] = 'default';
      return;
    }
    sources[name] = resolved.source;
    if (resolved.ok) values[name] = resolved.value;
    else problems.push(...resolved.problems);
  };

  resolveInto('flinkConfDir', { read: null, file: null, failed: false });
  const io: FlinkConfIo = { ...NODE_IO, ...options };
  const read = values.flinkConfDir === undefined ? null : readFlinkConf(values.flinkConfDir, isFlinkKey, io);
  const file = read?.kind === 'read' ? { path: read.path, entries: read.entries } : null;
  const failed = read?.kind === 'unreadable' || (read?.kind === 'read' && read.problems.length > 0);
  if (read !== null) problems.push(...flinkFileProblems(read, sources.flinkConfDir));
  const flink: FlinkContext = { read, file, failed };
  SETTING_NAMES.filter((name) => name !== 'flinkConfDir').forEach((name) => resolveInto(name, flink));

  problems.push(...crossCheckProblems(values, file));
  const cluster = { env, isReadableFile: options.isReadableFile ?? isReadableRegularFile };
  problems.push(...leaderSourceProblems(values, cluster));
  problems.push(...labelRoutingProblems(values, cluster));
  if (problems.length > 0) throw new ConfigError(problems);
  // Every setting resolved without a problem, so every key is present.
  const {
    flinkRestCaFile,
    flinkRestCertFile,
    flinkRestKeyFile,
    flinkRestTruststore,
    flinkRestTruststorePassword,
    flinkRestServerName,
    ...rest
  } = values as Required<PartialValues>;
  const restAddress = file === null ? null : firstEntry(file, REST_ADDRESS_KEYS);
  return {
    kind: 'run',
    config: {
      ...rest,
      flinkConfFile: read?.kind === 'read' ? read.path : null,
      flinkRestAddress: restAddress?.kind === 'text' ? restAddress.value : null,
      flinkConfFacts: {
        format: read?.kind === 'read' ? read.format : null,
        shadowsStandardFile: read?.kind === 'read' && read.shadowsStandardFile,
        setsHaTypeOnly:
          file !== null && firstEntry(file, ['high-availability.type']) !== null && firstEntry(file, ['high-availability']) === null,
        restSslFromSharedKeyOnly:
          sources.flinkRestUrl === 'flink-conf' &&
          file !== null &&
          firstEntry(file, ['security.ssl.rest.enabled']) === null &&
          firstEntry(file, ['security.ssl.enabled']) !== null,
      },
      flinkRestTls: {
        caFile: flinkRestCaFile,
        certFile: flinkRestCertFile,
        keyFile: flinkRestKeyFile,
        truststore:
          flinkRestCaFile === null && flinkRestTruststore !== null && flinkRestTruststorePassword !== null
            ? { file: flinkRestTruststore, password: flinkRestTruststorePassword }
            : null,
        serverName: flinkRestServerName,
      },
      sources,
    },
  };
}

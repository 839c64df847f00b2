/**
 * How a setting is read from Flink's configuration file: one option with its fallback and
 * deprecated keys, the REST URL built from several keys, and the ZooKeeper authorization map.
 * Problems name the file, the line and the key instead of the flag.
 */
import { isIPv6 } from 'node:net';
import type { FlinkConfEntry } from '../flink-conf/types.js';
import type { LeaderSource } from '../core/model.js';
import type { ZooKeeperAuth } from './types.js';
import {
  DEFAULT_REST_PORT,
  fail,
  ok,
  parseBindHost,
  parseBindPort,
  parseBoolean,
  parseZooKeeperAuthorization,
  REST_BIND_ADDRESS_KEYS,
  REST_BIND_PORT_KEYS,
  REST_SSL_KEYS,
  show,
  ZOOKEEPER_AUTHORIZATION_KEY,
  zooKeeperAuths,
  type Parsed,
} from './values.js';

export interface FlinkFile {
  readonly path: string;
  readonly entries: ReadonlyMap<string, FlinkConfEntry>;
}

/** The first of `keys` the file sets: Flink looks up a key, then its fallback and deprecated keys, in declaration order. */
export function firstEntry(file: FlinkFile, keys: readonly string[]): FlinkConfEntry | null {
  for (const key of keys) {
    const entry = file.entries.get(key);
    if (entry !== undefined) return entry;
  }
  return null;
}

/** 'file:line[:column]: key', the head of a problem with a value from the file. */
export function where(file: FlinkFile, entry: FlinkConfEntry): string {
  const column = entry.column === null ? '' : `:${entry.column}`;
  return `${file.path}:${entry.line}${column}: ${entry.key}`;
}

export const KIND_PROBLEMS: Readonly<Record<Exclude<FlinkConfEntry['kind'], 'text'>, string>> = {
  list: 'is a YAML list; Flink expects a single value here',
  binary: 'is a !!binary value; Flink expects a single plain value here',
  collection: 'is a tagged YAML collection; Flink expects a single plain value here',
};

/** Parses one entry; problems name the key, the file and the line instead of the flag. */
export function parseEntry<T>(file: FlinkFile, entry: FlinkConfEntry, parse: (raw: string) => Parsed<T>): Parsed<T> {
  if (entry.kind !== 'text') return fail(`${where(file, entry)} ${KIND_PROBLEMS[entry.kind]}`);
  const parsed = parse(entry.value);
  return parsed.ok ? parsed : fail(...parsed.problems.map((p) => `${where(file, entry)}: ${p}`));
}

/** How a setting is read from Flink's file. */
export interface FlinkSource<T> {
  /** Every key read, in Flink's lookup order; the first is the one to mention. */
  readonly keys: readonly string[];
  /** Key prefixes read too (a map option's entries). */
  readonly prefixes?: readonly string[];
  /** For --help. */
  readonly help: string;
  /** The value the file gives, or null when it sets none of `keys`. */
  readonly resolve: (file: FlinkFile) => Parsed<T> | null;
}

/** A setting that is one Flink option: its key and then its fallback/deprecated keys. */
export function flinkOption<T>(keys: readonly string[], parse: (raw: string) => Parsed<T>, help?: string): FlinkSource<T> {
  const [key = '', ...others] = keys;
  return {
    keys,
    help: help ?? (others.length === 0 ? key : `${key} (deprecated: ${others.join(', ')})`),
    resolve: (file) => {
      const entry = firstEntry(file, keys);
      return entry === null ? null : parseEntry(file, entry, parse);
    },
  };
}

/**
 * The map option, as Flink's Configuration reads a map: the key itself in Flink's map syntax, else
 * its prefixed keys (`...authorization.digest: user:password`, which is also what a nested YAML map
 * under the key flattens to).
 */
export const ZOOKEEPER_AUTHORIZATION_SOURCE: FlinkSource<ZooKeeperAuth[]> = {
  keys: [ZOOKEEPER_AUTHORIZATION_KEY],
  prefixes: [`${ZOOKEEPER_AUTHORIZATION_KEY}.`],
  help: `${ZOOKEEPER_AUTHORIZATION_KEY}, or its keys ${ZOOKEEPER_AUTHORIZATION_KEY}.<scheme>`,
  resolve: (file) => {
    const entry = firstEntry(file, [ZOOKEEPER_AUTHORIZATION_KEY]);
    if (entry !== null) return parseEntry(file, entry, parseZooKeeperAuthorization);
    const prefix = `${ZOOKEEPER_AUTHORIZATION_KEY}.`;
    const entries = [...file.entries.values()].filter((e) => e.key.startsWith(prefix));
    if (entries.length === 0) return null;
    const parsed = entries.map((e) => parseEntry(file, e, (raw) => zooKeeperAuths([[e.key.slice(prefix.length), raw]])));
    const problems = parsed.flatMap((p) => (p.ok ? [] : p.problems));
    return problems.length > 0 ? fail(...problems) : ok(parsed.flatMap((p) => (p.ok ? p.value : [])));
  },
};

export const FLINK_REST_URL_SOURCE: FlinkSource<URL> = {
  keys: [...REST_SSL_KEYS, ...REST_BIND_PORT_KEYS, ...REST_BIND_ADDRESS_KEYS],
  help:
    'https when security.ssl.rest.enabled; the port of rest.bind-port (the first of a range) or rest.port; ' +
    '127.0.0.1, or rest.bind-address when it names one address other than localhost',
  resolve: (file) => {
    const ssl = firstEntry(file, REST_SSL_KEYS);
    const port = firstEntry(file, REST_BIND_PORT_KEYS);
    const bind = firstEntry(file, REST_BIND_ADDRESS_KEYS);
    if (ssl === null && port === null && bind === null) return null;
    const https = ssl === null ? ok(false) : parseEntry(file, ssl, parseBoolean);
    const portNumber = port === null ? ok(DEFAULT_REST_PORT) : parseEntry(file, port, parseBindPort);
    const host = bind === null ? ok('127.0.0.1') : parseEntry(file, bind, parseBindHost);
    if (!https.ok || !portNumber.ok || !host.ok) {
      return fail(...[https, portNumber, host].flatMap((p) => (p.ok ? [] : p.problems)));
    }
    const hostText = isIPv6(host.value) ? `[${host.value}]` : host.value;
    return ok(new URL(`${https.value ? 'https' : 'http'}://${hostText}:${portNumber.value}/`));
  },
};

/** Flink's HighAvailabilityOptions.HA_MODE and its deprecated keys, in Flink's lookup order. */
export const HA_TYPE_KEYS = ['high-availability.type', 'recovery.mode', 'high-availability'] as const;
/** The factory Flink loads for `high-availability.type: kubernetes`, which may also be named directly. */
export const KUBERNETES_HA_FACTORY = 'org.apache.flink.kubernetes.highavailability.KubernetesHaServicesFactory';

/**
 * Flink's HighAvailabilityMode#fromConfig: the value, in any case, is a mode name (zookeeper,
 * kubernetes, none, or its old name standalone); anything else is the class name of a custom
 * HighAvailabilityServicesFactory, of which the sidecar knows Flink's own Kubernetes one.
 */
export function parseHaType(raw: string): Parsed<LeaderSource> {
  const mode = raw.trim().toUpperCase();
  if (mode === 'ZOOKEEPER') return ok('zookeeper');
  if (mode === 'KUBERNETES' || raw.trim() === KUBERNETES_HA_FACTORY) return ok('kubernetes');
  const wanted = 'the sidecar reads the leader election of ZooKeeper or Kubernetes high availability';
  if (mode === 'NONE' || mode === 'STANDALONE')
    return fail(`${show(raw)} turns high availability off, so no JobManager is elected; ${wanted}`);
  return fail(`${show(raw)} names a custom high-availability services factory; ${wanted}`);
}

export const HA_TYPE_SOURCE: FlinkSource<LeaderSource> = {
  ...flinkOption(HA_TYPE_KEYS, parseHaType),
  help: HA_TYPE_KEYS.join(', then '),
};

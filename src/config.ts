/**
 * Settings: the one place that reads flags, environment variables and Flink's own configuration
 * file, validates them and reports every problem at once. Nothing here touches `process`; main.ts
 * passes argv and env in. Flink's file is read synchronously at load time.
 *
 * Precedence: flag, then environment variable, then Flink's configuration file (flink-conf.yaml or
 * config.yaml in FLINK_CONF_DIR, for the settings that Flink has too), then default. An empty
 * environment variable counts as unset (Kubernetes renders an unset downward-API field or an empty
 * ConfigMap value as ""); an empty flag value is a value and is validated like any other.
 */
import { isIPv6 } from 'node:net';
import { parseArgs } from 'node:util';
import {
  checkedBy,
  DEFAULT_REST_PORT,
  fail,
  MAX_INT_MS,
  ok,
  parseBindHost,
  parseBindPort,
  parseBoolean,
  parseDirectory,
  parseFlinkPath,
  parseFlinkSessionTimeout,
  parseHost,
  parseHostList,
  parseMs,
  parseOneOf,
  parsePort,
  parseQuorum,
  parseReadableFile,
  parseRestUrl,
  REST_ADDRESS_KEYS,
  REST_AUTHENTICATION_KEY,
  REST_BIND_ADDRESS_KEYS,
  REST_BIND_PORT_KEYS,
  REST_SSL_KEYS,
  REST_TRUSTSTORE_KEYS,
  REST_TRUSTSTORE_PASSWORD_KEYS,
  REST_TRUSTSTORE_TYPE_KEY,
  parseNonEmpty,
  parseZooKeeperAuthorization,
  ZOOKEEPER_AUTHORIZATION_KEY,
  zooKeeperAuths,
  type ZooKeeperAuth,
  show,
  type Parsed,
} from './config-values.js';
import { ConfigError } from './errors.js';
import {
  LEGACY_FILE_NAME,
  NODE_IO,
  readFlinkConf,
  STANDARD_FILE_NAME,
  type FlinkConfIo,
  type FlinkConfRead,
} from './flink-conf/read-flink-conf.js';
import type { FlinkConfEntry } from './flink-conf/types.js';
import type { FlinkConfFacts } from './flink-conf/version-rules.js';
import type { RoutingMode } from './core/model.js';
import {
  labelKeyProblems,
  labelValueProblems,
  missingInClusterCredentials,
  namespaceProblems,
  notInClusterProblem,
  podNameProblems,
  ROUTING_MODES,
  type InClusterFacts,
} from './sources/kubernetes/settings.js';

/**
 * The shipped readiness probe (manifests/base/jobmanager.yaml: periodSeconds 2, failureThreshold 1,
 * timeoutSeconds 1) plus 0.5 s for the kubelet's status update and the EndpointSlice controller.
 */
export const DEFAULT_LEADER_HANDOVER_DELAY_MS = 3500;

/** ZooKeeper znode layout, named by the Flink line that introduced it (DESIGN.md section 2). */
export type HaLayout = 'auto' | '1.15' | '1.14' | '1.13';

/** 'flink-conf': Flink's configuration file (the one named in Config.flinkConfFile). */
export type SettingSource = 'flag' | 'environment' | 'flink-conf' | 'default';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface ZooKeeperQuorum {
  /** In the order given. Hosts are lowercase, IPv6 addresses canonical (RFC 5952) and unbracketed. */
  servers: { host: string; port: number }[];
  /** Validated chroot such as '/flink-chroot'; null when absent or '/' (ZooKeeper treats '/' as none). */
  chroot: string | null;
  /**
   * 'h1:2181,h2:2181/chroot', every port explicit, IPv6 hosts bracketed as ZooKeeper's own client
   * expects. Caution: node-zookeeper-client 1.1.3 splits each server on every ':', so it cannot
   * parse a bracketed IPv6 server from this string; a caller that must reach IPv6 literals has to
   * hand it `servers` another way.
   */
  connectString: string;
}

/**
 * PEM files for the JobManager's REST API over https, as paths: checked to be readable regular
 * files at load time, never read here (so no key material is ever in a Config). Used only when
 * flinkRestUrl is https. certFile and keyFile are both set or both null.
 */
export interface FlinkRestTls {
  /** CA bundle that verifies the JobManager's certificate; null = Node's default CAs. */
  caFile: string | null;
  /** Client certificate, for Flink's security.ssl.rest.authentication-enabled (mutual TLS). */
  certFile: string | null;
  /** The client certificate's private key. */
  keyFile: string | null;
  /**
   * Flink's own PKCS12 truststore (security.ssl.rest.truststore), whose certificates verify the
   * JobManager's certificate when caFile is null; read at start, its password never shown.
   */
  truststore: { file: string; password: string } | null;
  /**
   * null: the chain is verified and the host name is not, as Flink's own REST client does. Set: the
   * certificate must also be valid for this name, which is sent as the TLS server name.
   */
  serverName: string | null;
}

/** One value per setting (a flag and a variable each); Config is built from these. */
interface SettingValues {
  /** Where Flink's configuration file is looked for. */
  flinkConfDir: string;
  zookeeperQuorum: ZooKeeperQuorum;
  /**
   * high-availability.zookeeper.path.root, normalized like Flink: '/flink', or '/' when empty. Join
   * parts with their slashes trimmed as Flink does, never by concatenation ('/' + '/default').
   */
  zookeeperRoot: string;
  /** high-availability.cluster-id, normalized like the root: '/default'. */
  clusterId: string;
  layout: HaLayout;
  /** 1.13 layout only: high-availability.zookeeper.path.latch, normalized like the root. */
  zookeeperLatchPath: string;
  /** 1.13 layout only: high-availability.zookeeper.path.leader, normalized like the root. */
  zookeeperLeaderPath: string;
  /** The sidecar's own ZooKeeper session timeout. */
  zookeeperSessionTimeoutMs: number;
  /**
   * The JobManagers' ZooKeeper session timeout (high-availability.zookeeper.client.session-timeout,
   * Flink's default 60000), 1..2147483647: how long a JobManager that lost ZooKeeper may go on
   * leading when tolerateSuspendedConnections is true.
   */
  flinkSessionTimeoutMs: number;
  /** Added to every ZooKeeper connection; null = none. Secrets: never logged or shown. */
  zookeeperAuthorization: ZooKeeperAuth[] | null;
  /**
   * high-availability.zookeeper.client.tolerate-suspended-connections (Flink's default false): with
   * false a leader revokes itself the moment its ZooKeeper connection is suspended; with true it
   * keeps leading until its session is lost.
   */
  tolerateSuspendedConnections: boolean;
  /**
   * The local JobManager's REST API: http or https, no credentials, query or fragment. Its path
   * always ends with '/', so `new URL('overview', flinkRestUrl)` keeps a path prefix.
   */
  flinkRestUrl: URL;
  flinkRestCaFile: string | null;
  flinkRestCertFile: string | null;
  flinkRestKeyFile: string | null;
  flinkRestTruststore: string | null;
  flinkRestTruststorePassword: string | null;
  flinkRestServerName: string | null;
  /**
   * Hosts the local JobManager advertises: lowercase, IPv6 canonical and unbracketed, no duplicates.
   * null = not set (use the pod's interface addresses).
   */
  advertisedAddresses: string[] | null;
  jobmanagerCheckIntervalMs: number;
  /** Always below jobmanagerCheckIntervalMs. */
  jobmanagerCheckTimeoutMs: number;
  /** /jobmanager/livez: how long the JM may stay dead after it was first seen healthy. */
  jobmanagerLivenessGraceMs: number;
  /** /jobmanager/livez: how long a JM never seen healthy gets to start. */
  jobmanagerStartupAllowanceMs: number;
  /** Listen address, normalized like advertisedAddresses; null = not set (listen on '::', falling back to 0.0.0.0). */
  host: string | null;
  /** Listen port, 1..65535. */
  port: number;
  shutdownTimeoutMs: number;
  /** Listen address of the debug endpoints, normalized like host. */
  debugHost: string;
  /** Listen port of the debug endpoints; 0 turns them off. */
  debugPort: number;
  /** File holding the bearer token the debug endpoints require; null for none (loopback only). */
  debugTokenFile: string | null;
  /** readiness: only the leader is Ready; label: the sidecar keeps a role label on its pod, readiness means healthy. */
  routingMode: RoutingMode;
  /** Readiness mode: how long after another JM was last seen leading this one may turn Ready (ms). */
  leaderHandoverDelayMs: number;
  /** This pod's name (downward API); required in label mode. */
  podName: string | null;
  /** This pod's namespace (downward API); required in label mode. */
  podNamespace: string | null;
  /** The label key the sidecar owns on its pod. (No "key" in the name: /debug/config masks such settings.) */
  roleLabel: string;
  roleLabelLeaderValue: string;
  roleLabelStandbyValue: string;
  /** A label every JM pod of this Flink cluster carries with the same value (read from our pod). */
  podClusterLabel: string;
  /** Label mode: how long label updates may fail before /readyz fails. */
  labelFailureReadinessTimeoutMs: number;
  logLevel: LogLevel;
}

/** Every setting: each has a flag, an environment variable and an entry in Config.sources. */
export type SettingName = keyof SettingValues;

type TlsSettingName =
  | 'flinkRestCaFile'
  | 'flinkRestCertFile'
  | 'flinkRestKeyFile'
  | 'flinkRestTruststore'
  | 'flinkRestTruststorePassword'
  | 'flinkRestServerName';

export interface Config extends Omit<SettingValues, TlsSettingName> {
  /** The Flink configuration file actually read (flink-conf.yaml or config.yaml in flinkConfDir), or null when there was none. */
  flinkConfFile: string | null;
  /**
   * From Flink's file only: rest.address, falling back to jobmanager.rpc.address as Flink's
   * RestOptions.ADDRESS does, trimmed as written; null when the file sets neither. For debug output
   * and early warnings only, never as this JobManager's identity: the file is usually one ConfigMap
   * shared by every JobManager, and the JobManager's start-up arguments often override it.
   */
  flinkRestAddress: string | null;
  /** Facts of Flink's file that JobManager versions read differently (checked once the version is known). */
  flinkConfFacts: FlinkConfFacts;
  /** Built from the --flink-rest-* TLS settings. */
  flinkRestTls: FlinkRestTls;
  /** Where each setting came from, for /debug/config. */
  sources: Record<SettingName, SettingSource>;
}

export type LoadResult =
  | { kind: 'run'; config: Config }
  | { kind: 'help'; text: string }
  | { kind: 'version'; text: string };

// --- Flink's configuration file, as the settings see it ----------------------------------------

interface FlinkFile {
  readonly path: string;
  readonly entries: ReadonlyMap<string, FlinkConfEntry>;
}

/** The first of `keys` the file sets: Flink looks up a key, then its fallback and deprecated keys, in declaration order. */
function firstEntry(file: FlinkFile, keys: readonly string[]): FlinkConfEntry | null {
  for (const key of keys) {
    const entry = file.entries.get(key);
    if (entry !== undefined) return entry;
  }
  return null;
}

/** 'file:line[:column]: key', the head of a problem with a value from the file. */
function where(file: FlinkFile, entry: FlinkConfEntry): string {
  const column = entry.column === null ? '' : `:${entry.column}`;
  return `${file.path}:${entry.line}${column}: ${entry.key}`;
}

const KIND_PROBLEMS: Readonly<Record<Exclude<FlinkConfEntry['kind'], 'text'>, string>> = {
  list: 'is a YAML list; Flink expects a single value here',
  binary: 'is a !!binary value; Flink expects a single plain value here',
  collection: 'is a tagged YAML collection; Flink expects a single plain value here',
};

/** Parses one entry; problems name the key, the file and the line instead of the flag. */
function parseEntry<T>(file: FlinkFile, entry: FlinkConfEntry, parse: (raw: string) => Parsed<T>): Parsed<T> {
  if (entry.kind !== 'text') return fail(`${where(file, entry)} ${KIND_PROBLEMS[entry.kind]}`);
  const parsed = parse(entry.value);
  return parsed.ok ? parsed : fail(...parsed.problems.map((p) => `${where(file, entry)}: ${p}`));
}

/** How a setting is read from Flink's file. */
interface FlinkSource<T> {
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
function flinkOption<T>(keys: readonly string[], parse: (raw: string) => Parsed<T>, help?: string): FlinkSource<T> {
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
const ZOOKEEPER_AUTHORIZATION_SOURCE: FlinkSource<ZooKeeperAuth[]> = {
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

const FLINK_REST_URL_SOURCE: FlinkSource<URL> = {
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

// ---------------------------------------------------------------------------------------------
// The settings table: one entry per setting drives parsing, precedence, sources and --help.

interface SettingSpec<T> {
  /** Long flag name without the leading '--'. */
  readonly flag: string;
  readonly env: string;
  /** Placeholder shown in --help, e.g. '<ms>'. */
  readonly valueHint: string;
  /**
   * When neither flag nor variable is set: raw text parsed like user input (so a default obeys the
   * same rules), a fixed value described for --help, or required (with an example for the problem).
   */
  readonly unset:
    | { readonly raw: string }
    | { readonly value: T; readonly help: string }
    | { readonly example: string };
  readonly section: string;
  /** Meaning, for --help; lines are wrapped by hand. */
  readonly help: readonly string[];
  /** Parses the flag or variable (and a `raw` default). */
  readonly parse: (raw: string) => Parsed<T>;
  /** Settings that Flink has too are read from its file after flag and variable. */
  readonly flink?: FlinkSource<T>;
}

type SettingSpecs = { readonly [K in SettingName]: SettingSpec<SettingValues[K]> };

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const LAYOUTS: readonly HaLayout[] = ['auto', '1.15', '1.14', '1.13'];
const MAX_MS = 600_000;

/** In --help order. */
const SETTINGS: SettingSpecs = {
  flinkConfDir: {
    flag: 'flink-conf-dir',
    env: 'FLINK_CONF_DIR',
    valueHint: '<dir>',
    unset: { raw: '/opt/flink/conf' },
    section: "Flink's configuration file",
    help: [
      `The directory with the JobManager's ${LEGACY_FILE_NAME} (read first when both exist, as Flink`,
      `1.19 and 1.20 do) or ${STANDARD_FILE_NAME} (Flink 1.19 and later). Settings marked "Flink file"`,
      'below come from it when neither flag nor variable is set. A missing file, or a missing default',
      'directory, is fine when every required setting comes from a flag or variable.',
    ],
    parse: parseDirectory,
  },
  zookeeperQuorum: {
    flag: 'zookeeper-quorum',
    env: 'ZOOKEEPER_QUORUM',
    valueHint: '<host:port,...[/chroot]>',
    unset: { example: 'zk-0:2181,zk-1:2181,zk-2:2181' },
    section: 'ZooKeeper',
    help: [
      "The ZooKeeper servers, as in Flink's high-availability.zookeeper.quorum, e.g.",
      'zk-0:2181,zk-1:2181,zk-2:2181/flink-chroot. A server without a port uses 2181, like',
      "ZooKeeper's own client. IPv6 servers need a DNS name (the client cannot use IPv6",
      'literals). An optional chroot follows the last server.',
    ],
    parse: parseQuorum,
    flink: flinkOption(['high-availability.zookeeper.quorum', 'recovery.zookeeper.quorum'], parseQuorum),
  },
  zookeeperRoot: {
    flag: 'zookeeper-root',
    env: 'ZOOKEEPER_ROOT',
    valueHint: '<path>',
    unset: { raw: '/flink' },
    section: 'ZooKeeper',
    help: [
      "Flink's high-availability.zookeeper.path.root. Leading and trailing slashes are trimmed",
      "as Flink does ('flink/' is '/flink')."],
    parse: parseFlinkPath,
    flink: flinkOption(['high-availability.zookeeper.path.root', 'recovery.zookeeper.path.root'], parseFlinkPath),
  },
  clusterId: {
    flag: 'cluster-id',
    env: 'FLINK_CLUSTER_ID',
    valueHint: '<path>',
    unset: { raw: '/default' },
    section: 'ZooKeeper',
    help: ["Flink's high-availability.cluster-id, trimmed like the root ('default' is '/default')."],
    parse: parseFlinkPath,
    // Flink's HighAvailabilityOptions.HA_CLUSTER_ID and its deprecated keys, in that order.
    flink: flinkOption(
      ['high-availability.cluster-id', 'high-availability.zookeeper.path.namespace', 'recovery.zookeeper.path.namespace'],
      parseFlinkPath,
    ),
  },
  layout: {
    flag: 'layout',
    env: 'FLINK_HA_LAYOUT',
    valueHint: '<layout>',
    unset: { raw: 'auto' },
    section: 'ZooKeeper',
    help: [
      "Where Flink keeps its leader election in ZooKeeper: 1.15 (Flink 1.15 and later), 1.14",
      '(Flink 1.14, and 1.15 with high-availability.use-old-ha-services), 1.13 (Flink 1.5',
      'to 1.13), or auto to find out from the znodes present.',
    ],
    parse: parseOneOf(LAYOUTS, ' (1.15 also covers every later Flink)'),
  },
  zookeeperLatchPath: {
    flag: 'zookeeper-latch-path',
    env: 'ZOOKEEPER_LATCH_PATH',
    valueHint: '<path>',
    unset: { raw: '/leaderlatch' },
    section: 'ZooKeeper',
    help: ["1.13 layout only: Flink's high-availability.zookeeper.path.latch."],
    parse: parseFlinkPath,
    flink: flinkOption(['high-availability.zookeeper.path.latch', 'recovery.zookeeper.path.latch'], parseFlinkPath),
  },
  zookeeperLeaderPath: {
    flag: 'zookeeper-leader-path',
    env: 'ZOOKEEPER_LEADER_PATH',
    valueHint: '<path>',
    unset: { raw: '/leader' },
    section: 'ZooKeeper',
    help: ["1.13 layout only: Flink's high-availability.zookeeper.path.leader."],
    parse: parseFlinkPath,
    flink: flinkOption(['high-availability.zookeeper.path.leader', 'recovery.zookeeper.path.leader'], parseFlinkPath),
  },
  zookeeperSessionTimeoutMs: {
    flag: 'zookeeper-session-timeout-ms',
    env: 'ZOOKEEPER_SESSION_TIMEOUT_MS',
    valueHint: '<ms>',
    unset: { raw: '10000' },
    section: 'ZooKeeper',
    help: [
      "The sidecar's own ZooKeeper session timeout, 2000 to 600000. The server grants between 2",
      'and 20 times its tickTime (often 2000 or 3000 ms), so the session it grants may differ.',
    ],
    parse: parseMs(2000, MAX_MS),
  },
  zookeeperAuthorization: {
    flag: 'zookeeper-authorization',
    env: 'ZOOKEEPER_AUTHORIZATION',
    valueHint: "<digest:'user:password'>",
    unset: { value: null, help: 'none' },
    section: 'ZooKeeper',
    help: [
      'Authentication added to the ZooKeeper connection, as the JobManagers add it (Flink 1.20+), in',
      "Flink's map syntax; needed to read znodes under a creator ACL. Never logged or shown.",
    ],
    parse: parseZooKeeperAuthorization,
    flink: ZOOKEEPER_AUTHORIZATION_SOURCE,
  },
  flinkSessionTimeoutMs: {
    flag: 'flink-session-timeout-ms',
    env: 'FLINK_SESSION_TIMEOUT_MS',
    valueHint: '<ms>',
    unset: { raw: '60000' },
    section: 'ZooKeeper',
    help: [
      "The JobManagers' ZooKeeper session timeout, 1 to 2147483647 (in Flink's file a Flink",
      "duration: 60000, 60 s, 1 min). With tolerated suspended connections, how long a leader",
      'that lost ZooKeeper may go on leading.',
    ],
    parse: parseMs(1, MAX_INT_MS),
    flink: flinkOption(
      ['high-availability.zookeeper.client.session-timeout', 'recovery.zookeeper.client.session-timeout'],
      parseFlinkSessionTimeout,
    ),
  },
  tolerateSuspendedConnections: {
    flag: 'tolerate-suspended-connections',
    env: 'FLINK_TOLERATE_SUSPENDED_CONNECTIONS',
    valueHint: '<true|false>',
    unset: { raw: 'false' },
    section: 'ZooKeeper',
    help: [
      'Whether the JobManagers keep leading while their ZooKeeper connection is suspended (true) or',
      'give up leadership at once (false, as Flink by default).',
    ],
    parse: parseBoolean,
    flink: flinkOption(['high-availability.zookeeper.client.tolerate-suspended-connections'], parseBoolean),
  },
  flinkRestUrl: {
    flag: 'flink-rest-url',
    env: 'FLINK_REST_URL',
    valueHint: '<url>',
    unset: { raw: 'http://127.0.0.1:8081' },
    section: 'Flink JobManager',
    help: [
      "The local JobManager's REST API: http or https, without credentials, query or fragment;",
      'a path is kept as a prefix.',
    ],
    parse: parseRestUrl,
    flink: FLINK_REST_URL_SOURCE,
  },
  flinkRestCaFile: {
    flag: 'flink-rest-ca-file',
    env: 'FLINK_REST_CA_FILE',
    valueHint: '<file>',
    unset: { value: null, help: "Node's default CAs" },
    section: 'Flink JobManager',
    help: ["PEM CA bundle that verifies the JobManager's certificate when the REST URL is https."],
    parse: parseReadableFile,
  },
  flinkRestCertFile: {
    flag: 'flink-rest-cert-file',
    env: 'FLINK_REST_CERT_FILE',
    valueHint: '<file>',
    unset: { value: null, help: 'none' },
    section: 'Flink JobManager',
    help: [
      "PEM client certificate for the JobManager's REST API over https (needed with Flink's",
      'security.ssl.rest.authentication-enabled); give it together with its key.',
    ],
    parse: parseReadableFile,
  },
  flinkRestKeyFile: {
    flag: 'flink-rest-key-file',
    env: 'FLINK_REST_KEY_FILE',
    valueHint: '<file>',
    unset: { value: null, help: 'none' },
    section: 'Flink JobManager',
    help: ['PEM private key of the client certificate. Only its path is checked at start-up; the', 'key itself is never read here nor logged.'],
    parse: parseReadableFile,
  },
  flinkRestTruststore: {
    flag: 'flink-rest-truststore',
    env: 'FLINK_REST_TRUSTSTORE',
    valueHint: '<file>',
    unset: { value: null, help: 'none' },
    section: 'Flink JobManager',
    help: [
      "Flink's PKCS12 truststore whose certificates verify the JobManager's certificate when the REST",
      'URL is https and no CA file is given; read with its password at start-up.',
    ],
    parse: parseReadableFile,
    // Read from Flink's file only as a path: Flink may name it for internal SSL alone, with REST on
    // http, and the sidecar need not mount it then. truststoreProblems checks it when it is used.
    flink: flinkOption(
      REST_TRUSTSTORE_KEYS,
      parseNonEmpty,
      `${REST_TRUSTSTORE_KEYS.join(', then ')}, as Flink's REST client reads them`,
    ),
  },
  flinkRestTruststorePassword: {
    flag: 'flink-rest-truststore-password',
    env: 'FLINK_REST_TRUSTSTORE_PASSWORD',
    valueHint: '<password>',
    unset: { value: null, help: 'none' },
    section: 'Flink JobManager',
    help: ['Password of the truststore; never logged or shown. Prefer the variable or Flink\'s file', 'to the flag, which other users of the machine can see.'],
    parse: parseNonEmpty,
    flink: flinkOption(
      REST_TRUSTSTORE_PASSWORD_KEYS,
      parseNonEmpty,
      `${REST_TRUSTSTORE_PASSWORD_KEYS.join(', then ')}`,
    ),
  },
  flinkRestServerName: {
    flag: 'flink-rest-server-name',
    env: 'FLINK_REST_SERVER_NAME',
    valueHint: '<name>',
    unset: { value: null, help: 'none (chain only)' },
    section: 'Flink JobManager',
    help: [
      "A name the JobManager's certificate must be valid for (a DNS name or IP address), sent as the",
      "TLS server name. Unset, the chain is verified and the host name is not, as Flink's own REST",
      'client does.',
    ],
    parse: parseHost,
  },
  advertisedAddresses: {
    flag: 'advertised-address',
    env: 'POD_IP',
    valueHint: '<host,...>',
    unset: { value: null, help: "the pod's interface addresses" },
    section: 'Flink JobManager',
    help: [
      'Comma-separated hosts the local JobManager advertises in its leader address (IP addresses',
      'or names; IPv6 with or without brackets), e.g. the pod IP from the downward API.',
    ],
    parse: parseHostList,
  },
  jobmanagerCheckIntervalMs: {
    flag: 'jobmanager-check-interval-ms',
    env: 'JOBMANAGER_CHECK_INTERVAL_MS',
    valueHint: '<ms>',
    unset: { raw: '2000' },
    section: 'Flink JobManager',
    help: ["How often the local JobManager's REST API is checked, 100 to 600000."],
    parse: parseMs(100, MAX_MS),
  },
  jobmanagerCheckTimeoutMs: {
    flag: 'jobmanager-check-timeout-ms',
    env: 'JOBMANAGER_CHECK_TIMEOUT_MS',
    valueHint: '<ms>',
    unset: { raw: '1000' },
    section: 'Flink JobManager',
    help: ['Timeout of one check, 1 to 600000 and below the check interval.'],
    parse: parseMs(1, MAX_MS),
  },
  jobmanagerLivenessGraceMs: {
    flag: 'jobmanager-liveness-grace-ms',
    env: 'JOBMANAGER_LIVENESS_GRACE_MS',
    valueHint: '<ms>',
    unset: { raw: '60000' },
    section: 'Flink JobManager',
    help: [
      '/jobmanager/livez fails once the JobManager, after it was first seen healthy, has been dead',
      '(refused, timed out, 5xx, or "no leader" while ZooKeeper has one) this long, 0 to 3600000.',
    ],
    parse: parseMs(0, 3_600_000),
  },
  jobmanagerStartupAllowanceMs: {
    flag: 'jobmanager-startup-allowance-ms',
    env: 'JOBMANAGER_STARTUP_ALLOWANCE_MS',
    valueHint: '<ms>',
    unset: { raw: '180000' },
    section: 'Flink JobManager',
    help: ['/jobmanager/livez: how long a JobManager never seen healthy gets to start, 0 to 3600000.'],
    parse: parseMs(0, 3_600_000),
  },
  host: {
    flag: 'host',
    env: 'SIDECAR_HOST',
    valueHint: '<host>',
    unset: { value: null, help: ':: with fallback to 0.0.0.0' },
    section: 'Probe server',
    help: ['Listen address of the probe server (an IP address or a name; IPv6 brackets optional).'],
    parse: parseHost,
  },
  port: {
    flag: 'port',
    env: 'SIDECAR_PORT',
    valueHint: '<port>',
    unset: { raw: '8090' },
    section: 'Probe server',
    help: ['Listen port of the probe server, 1 to 65535.'],
    parse: parsePort,
  },
  shutdownTimeoutMs: {
    flag: 'shutdown-timeout-ms',
    env: 'SHUTDOWN_TIMEOUT_MS',
    valueHint: '<ms>',
    unset: { raw: '10000' },
    section: 'Probe server',
    help: [
      'How long SIGTERM waits for in-flight requests before closing them, 0 to 600000. Keep it',
      "below the pod's terminationGracePeriodSeconds.",
    ],
    parse: parseMs(0, MAX_MS),
  },
  debugHost: {
    flag: 'debug-host',
    env: 'SIDECAR_DEBUG_HOST',
    valueHint: '<host>',
    unset: { raw: '127.0.0.1' },
    section: 'Debug endpoints',
    help: [
      'Listen address of /debug/state and /debug/config (reach them with kubectl port-forward).',
      'Any address other than a loopback one needs --debug-token-file.',
    ],
    parse: parseHost,
  },
  debugPort: {
    flag: 'debug-port',
    env: 'SIDECAR_DEBUG_PORT',
    valueHint: '<port>',
    unset: { raw: '8091' },
    section: 'Debug endpoints',
    help: ['Listen port of the debug endpoints, 1 to 65535, or 0 to turn them off.'],
    parse: (raw) => (raw === '0' ? ok(0) : parsePort(raw)),
  },
  debugTokenFile: {
    flag: 'debug-token-file',
    env: 'SIDECAR_DEBUG_TOKEN_FILE',
    valueHint: '<file>',
    unset: { value: null, help: 'none' },
    section: 'Debug endpoints',
    help: ['A file holding the bearer token that every debug request must send (Authorization: Bearer).'],
    parse: parseReadableFile,
  },
  routingMode: {
    flag: 'routing-mode',
    env: 'ROUTING_MODE',
    valueHint: '<readiness|label>',
    unset: { raw: 'readiness' },
    section: 'Routing',
    help: [
      'readiness: only the healthy leader is Ready, so a Service over the JM pods reaches the leader.',
      'label: the sidecar keeps a role label on its own pod (--role-label) through the Kubernetes',
      'API, for a Service that selects the leader value; /readyz then passes on a healthy leader or',
      'standby. Needs the pod, its namespace and in-cluster credentials (RBAC: get, list and',
      'patch pods in the namespace).',
    ],
    parse: parseOneOf(ROUTING_MODES, ''),
  },
  leaderHandoverDelayMs: {
    flag: 'leader-handover-delay-ms',
    env: 'LEADER_HANDOVER_DELAY_MS',
    valueHint: '<ms>',
    unset: { raw: String(DEFAULT_LEADER_HANDOVER_DELAY_MS) },
    section: 'Routing',
    help: [
      'Readiness mode: a JobManager that takes over from another is Ready only this long after the',
      "other was last seen leading, so the kubelet has marked the old leader's pod not ready first",
      'and the Service never lists both. Set it to the readiness probe\'s periodSeconds x',
      'failureThreshold + timeoutSeconds, plus 0.5 s (the shipped probe: 2 s x 1 + 1 s + 0.5 s);',
      '0 makes a new leader Ready at once.',
    ],
    parse: parseMs(0, MAX_MS),
  },
  podName: {
    flag: 'pod-name',
    env: 'POD_NAME',
    valueHint: '<name>',
    unset: { value: null, help: 'none (required with --routing-mode=label)' },
    section: 'Routing',
    help: ["This pod's name, from the downward API (fieldRef metadata.name)."],
    parse: checkedBy(podNameProblems),
  },
  podNamespace: {
    flag: 'pod-namespace',
    env: 'POD_NAMESPACE',
    valueHint: '<namespace>',
    unset: { value: null, help: 'none (required with --routing-mode=label)' },
    section: 'Routing',
    help: ["This pod's namespace, from the downward API (fieldRef metadata.namespace)."],
    parse: checkedBy(namespaceProblems),
  },
  roleLabel: {
    flag: 'role-label',
    env: 'ROLE_LABEL',
    valueHint: '<key>',
    unset: { raw: 'flink-ha-sidecar/role' },
    section: 'Routing',
    help: ['Label mode: the label the sidecar sets on its pod ([prefix/]name), removed while the role is', 'unknown.'],
    parse: checkedBy(labelKeyProblems),
  },
  roleLabelLeaderValue: {
    flag: 'role-label-leader-value',
    env: 'ROLE_LABEL_LEADER_VALUE',
    valueHint: '<value>',
    unset: { raw: 'leader' },
    section: 'Routing',
    help: ["Label mode: the role label's value on the leader's pod; the leader Service selects it."],
    parse: checkedBy(labelValueProblems),
  },
  roleLabelStandbyValue: {
    flag: 'role-label-standby-value',
    env: 'ROLE_LABEL_STANDBY_VALUE',
    valueHint: '<value>',
    unset: { raw: 'standby' },
    section: 'Routing',
    help: ["Label mode: the role label's value on a standby's pod."],
    parse: checkedBy(labelValueProblems),
  },
  podClusterLabel: {
    flag: 'pod-cluster-label',
    env: 'POD_CLUSTER_LABEL',
    valueHint: '<key>',
    unset: { raw: 'app.kubernetes.io/instance' },
    section: 'Routing',
    help: [
      'Label mode: a label that every JM pod of this Flink cluster carries with the same value and no',
      'other pod in the namespace does; its value is read from this pod. A new leader removes stale',
      'leader labels only from pods with that value.',
    ],
    parse: checkedBy(labelKeyProblems),
  },
  labelFailureReadinessTimeoutMs: {
    flag: 'label-failure-readiness-timeout-ms',
    env: 'LABEL_FAILURE_READINESS_TIMEOUT_MS',
    valueHint: '<ms>',
    unset: { raw: '30000' },
    section: 'Routing',
    help: ['Label mode: /readyz fails once label updates have failed this long, 1000 to 600000.'],
    parse: parseMs(1000, MAX_MS),
  },
  logLevel: {
    flag: 'log-level',
    env: 'LOG_LEVEL',
    valueHint: '<level>',
    unset: { raw: 'info' },
    section: 'Logging',
    help: [`Log level: ${LOG_LEVELS.join(', ')} (any case).`],
    parse: parseOneOf(LOG_LEVELS, '', true),
  },
};

const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

const label = (spec: SettingSpec<unknown>): string => `--${spec.flag} / ${spec.env}`;

const SPEC_BY_FLAG = new Map<string, SettingSpec<unknown>>(
  SETTING_NAMES.map((name) => [SETTINGS[name].flag, SETTINGS[name]]),
);

/** The flag and, for a setting, its variable too: the operator may be looking at either. */
const flagLabel = (flag: string): string => {
  const spec = SPEC_BY_FLAG.get(flag);
  return spec === undefined ? `--${flag}` : label(spec);
};

// ---------------------------------------------------------------------------------------------
// Arguments

interface ArgScan {
  /** Values by long flag name, in order given (more than one is a problem). */
  readonly values: Map<string, string[]>;
  help: boolean;
  version: boolean;
  readonly positionals: string[];
  readonly problems: string[];
}

type ParseOptions = Record<string, { type: 'string' | 'boolean'; short?: string }>;

const PARSE_OPTIONS: ParseOptions = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  ...Object.fromEntries(SETTING_NAMES.map((name) => [SETTINGS[name].flag, { type: 'string' as const }])),
};

/**
 * parseArgs runs non-strict with tokens: strict mode throws at the first mistake, and we want every
 * mistake in one report. The checks strict mode would make are made here on the tokens instead.
 */
function scanArgs(args: readonly string[], scan: ArgScan): void {
  const { tokens } = parseArgs({
    args: [...args],
    options: PARSE_OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind === 'positional') scan.positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const option = PARSE_OPTIONS[token.name];
    if (option === undefined) {
      scan.problems.push(`unknown flag ${token.rawName} (see --help)`);
    } else if (option.type === 'boolean') {
      if (token.value !== undefined) scan.problems.push(`${token.rawName} does not take a value`);
      else if (token.name === 'help') scan.help = true;
      else scan.version = true;
    } else if (token.value === undefined) {
      scan.problems.push(`${flagLabel(token.name)}: ${token.rawName} needs a value`);
    } else if (!token.inlineValue && token.value.startsWith('-') && token.value !== '-') {
      // Non-strict parseArgs took the next flag as this one's value; strict mode calls that
      // ambiguous. Report it, then read the rest again so that the next flag still counts.
      scan.problems.push(
        `${flagLabel(token.name)}: ${token.rawName} needs a value (one starting with "-" is written ${token.rawName}=-...)`,
      );
      scanArgs(args.slice(token.index + 1), scan);
      return;
    } else {
      const seen = scan.values.get(token.name) ?? [];
      scan.values.set(token.name, [...seen, token.value]);
    }
  }
}

function positionalProblems(positionals: readonly string[]): string[] {
  return positionals.map((value, i) =>
    i === 0
      ? `unknown command ${show(value)} (settings are flags, see --help)`
      : `unexpected argument ${show(value)} (settings are flags, see --help)`,
  );
}

// ---------------------------------------------------------------------------------------------
// Resolution

type Env = Readonly<Record<string, string | undefined>>;

type Resolved<T> = { source: SettingSource } & Parsed<T>;

/** What became of Flink's configuration file, for the settings and their problems. */
interface FlinkContext {
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
  'high-availability.type',
  'recovery.mode',
  'high-availability',
]);
const FLINK_KEY_PREFIXES = Object.values<SettingSpec<unknown>>(SETTINGS).flatMap((spec) => spec.flink?.prefixes ?? []);
const isFlinkKey = (key: string): boolean => FLINK_KEY_SET.has(key) || FLINK_KEY_PREFIXES.some((prefix) => key.startsWith(prefix));

/** 'required, e.g. ...', with where Flink's file was looked for when the setting could have come from it. */
function requiredProblem(spec: SettingSpec<unknown>, example: string, flink: FlinkContext): string {
  const head = `${label(spec)}: required, e.g. ${example}`;
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

function resolveSetting<K extends SettingName>(
  name: K,
  scan: ArgScan,
  env: Env,
  flink: FlinkContext,
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
    // A file that could not be read may well set it: its own problem says what to fix first.
    if (flink.failed && spec.flink !== undefined) return null;
    return { source: 'default', ...fail(requiredProblem(spec, unset.example, flink)) };
  }
  if ('value' in unset) return { source: 'default', ...ok(unset.value) };
  return { source: 'default', ...prefix(spec.parse(unset.raw)) };
}

/** Problems of the file as a whole: unreadable, refused by Flink, or not configured for ZooKeeper high availability. */
function flinkFileProblems(read: FlinkConfRead, dirSource: SettingSource): string[] {
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
  return [...problems, ...haTypeProblems({ path: read.path, entries: read.entries })];
}

/**
 * Flink's HighAvailabilityMode#fromConfig: high-availability.type, then the deprecated recovery.mode
 * and high-availability; 'standalone' means NONE; a value that is no mode name is the class name of
 * a custom HighAvailabilityServicesFactory. Flink has no factory class for ZooKeeper (the ZOOKEEPER
 * mode builds its services directly), so only 'zookeeper', in any case, is ZooKeeper. Unset is fine:
 * the JobManager may get it as a start-up argument (-D, FLINK_PROPERTIES).
 */
function haTypeProblems(file: FlinkFile): string[] {
  const entry = firstEntry(file, ['high-availability.type', 'recovery.mode', 'high-availability']);
  if (entry === null) return [];
  if (entry.kind !== 'text') return [`${where(file, entry)} ${KIND_PROBLEMS[entry.kind]}`];
  const mode = entry.value.toUpperCase();
  if (mode === 'ZOOKEEPER') return [];
  const found = `${where(file, entry)}: ${show(entry.value)}`;
  const wanted = 'the sidecar works only with ZooKeeper high availability (high-availability.type: zookeeper)';
  if (mode === 'NONE' || mode === 'STANDALONE') {
    return [`${found} turns high availability off, so no JobManager is elected; ${wanted}`];
  }
  if (mode === 'KUBERNETES') {
    return [`${found} keeps the leader election in Kubernetes ConfigMaps, not in ZooKeeper; ${wanted}`];
  }
  return [`${found} names a custom high-availability services factory, not ZooKeeper; ${wanted}`];
}

type PartialValues = { -readonly [K in SettingName]?: SettingValues[K] };

function crossCheckProblems(values: PartialValues, file: FlinkFile | null): string[] {
  const problems: string[] = [];
  const { jobmanagerCheckTimeoutMs: timeout, jobmanagerCheckIntervalMs: interval } = values;
  if (timeout !== undefined && interval !== undefined && timeout >= interval) {
    problems.push(
      `${label(SETTINGS.jobmanagerCheckTimeoutMs)}: ${show(String(timeout))} must be below ` +
        `${label(SETTINGS.jobmanagerCheckIntervalMs)} (${interval})`,
    );
  }
  const { flinkRestCertFile: cert, flinkRestKeyFile: key } = values;
  if (cert !== undefined && key !== undefined && (cert === null) !== (key === null)) {
    const [given, missing] =
      cert === null ? [SETTINGS.flinkRestKeyFile, SETTINGS.flinkRestCertFile] : [SETTINGS.flinkRestCertFile, SETTINGS.flinkRestKeyFile];
    problems.push(
      `${label(given)}: a client certificate needs both its certificate and its key; ${label(missing)} is not set`,
    );
  }
  problems.push(...mutualTlsProblems(values, file));
  problems.push(...truststoreProblems(values, file));
  problems.push(...debugProblems(values));
  return problems;
}

/**
 * A truststore is read only with its password, and only as PKCS12 (Java's default type since 9;
 * Flink's docs create REST stores with -storetype PKCS12).
 */
function truststoreProblems(values: PartialValues, file: FlinkFile | null): string[] {
  const { flinkRestTruststore: store, flinkRestTruststorePassword: password, flinkRestCaFile: ca, flinkRestUrl: url } = values;
  if (store === undefined || store === null || ca !== null || url?.protocol !== 'https:') return [];
  const problems: string[] = [];
  const readable = parseReadableFile(store);
  if (!readable.ok) problems.push(...readable.problems.map((p) => `${label(SETTINGS.flinkRestTruststore)}: ${p}`));
  if (password === null) {
    problems.push(`${label(SETTINGS.flinkRestTruststore)}: the truststore needs its password; ${label(SETTINGS.flinkRestTruststorePassword)} is not set`);
  }
  const type = file === null ? null : firstEntry(file, [REST_TRUSTSTORE_TYPE_KEY]);
  if (type !== null && type.value.trim().toLowerCase() !== 'pkcs12') {
    problems.push(
      `${where(file as FlinkFile, type)}: ${show(type.value)}: only PKCS12 truststores can be read; convert it ` +
        `(keytool -importkeystore -deststoretype PKCS12) or give ${label(SETTINGS.flinkRestCaFile)}`,
    );
  }
  return problems;
}

/** The debug endpoints show the whole state: off the loopback interface only behind a token. */
function debugProblems(values: PartialValues): string[] {
  const { debugHost: host, debugPort: port, debugTokenFile: token } = values;
  if (host === undefined || port === undefined || port === 0) return [];
  const problems: string[] = [];
  if (!isLoopbackHost(host) && token === null) {
    problems.push(
      `${label(SETTINGS.debugHost)}: ${show(host)} is not a loopback address; debug endpoints bound there need ` +
        `${label(SETTINGS.debugTokenFile)}, or set ${label(SETTINGS.debugPort)} to 0 to turn them off`,
    );
  }
  if (port === values.port) {
    problems.push(`${label(SETTINGS.debugPort)}: ${port} is also the probe port (${label(SETTINGS.port)}); give the debug endpoints their own`);
  }
  return problems;
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Flink's SSLUtils#isRestSSLAuthenticationEnabled: REST SSL on and security.ssl.rest.authentication-enabled
 * true means the JobManager refuses a TLS client without a certificate, so every check would fail.
 */
function mutualTlsProblems(values: PartialValues, file: FlinkFile | null): string[] {
  if (file === null || values.flinkRestUrl?.protocol !== 'https:' || values.flinkRestCertFile !== null) return [];
  const entry = firstEntry(file, [REST_AUTHENTICATION_KEY]);
  if (entry === null) return [];
  const required = parseEntry(file, entry, parseBoolean);
  if (!required.ok) return required.problems;
  if (!required.value) return [];
  return [
    `${where(file, entry)}: true: the JobManager's REST API accepts only clients with a certificate; set ` +
      `${label(SETTINGS.flinkRestCertFile)} and ${label(SETTINGS.flinkRestKeyFile)}`,
  ];
}

/**
 * File access: Flink's configuration file, and whether the service account's files can be read
 * (label mode); tests inject them, main uses the real file system.
 */
export type LoadOptions = Partial<FlinkConfIo> & { isReadableFile?: (path: string) => boolean };

/** A readable regular file: opened and closed, never read (the service account token stays out of memory). */
function isReadableRegularFile(path: string): boolean {
  return parseReadableFile(path).ok;
}

/** Label routing's settings together: distinct values, and in label mode the pod and in-cluster credentials. */
function labelRoutingProblems(values: PartialValues, cluster: InClusterFacts): string[] {
  const problems: string[] = [];
  const { roleLabelLeaderValue: leader, roleLabelStandbyValue: standby, roleLabel, podClusterLabel } = values;
  if (leader !== undefined && leader === standby) {
    problems.push(`${label(SETTINGS.roleLabelStandbyValue)}: ${show(leader)} is also ${label(SETTINGS.roleLabelLeaderValue)}; give each role its own value`);
  }
  if (roleLabel !== undefined && roleLabel === podClusterLabel) {
    problems.push(
      `${label(SETTINGS.podClusterLabel)}: ${show(roleLabel)} is also ${label(SETTINGS.roleLabel)}, which the sidecar rewrites; ` +
        'name a label that every JM pod of the cluster shares',
    );
  }
  if (values.routingMode !== 'label') return problems;
  if (values.podName === null) {
    problems.push(`${label(SETTINGS.podName)}: required with --routing-mode=label; set it from the downward API (fieldRef metadata.name)`);
  }
  if (values.podNamespace === null) {
    problems.push(`${label(SETTINGS.podNamespace)}: required with --routing-mode=label; set it from the downward API (fieldRef metadata.namespace)`);
  }
  const missing = missingInClusterCredentials(cluster);
  if (missing.length > 0) problems.push(`${label(SETTINGS.routingMode)}: label ${notInClusterProblem(missing)}`);
  return problems;
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
  if (scan.version) return { kind: 'version', text: `flink-ha-sidecar ${version}` };

  const problems = [...scan.problems, ...positionalProblems(scan.positionals)];
  const values: PartialValues = {};
  const sources = {} as Record<SettingName, SettingSource>;
  const resolveInto = <K extends SettingName>(name: K, flink: FlinkContext): void => {
    const resolved = resolveSetting(name, scan, env, flink);
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
  problems.push(...labelRoutingProblems(values, { env, isReadableFile: options.isReadableFile ?? isReadableRegularFile }));
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
        setsHaTypeOnly: file !== null && firstEntry(file, ['high-availability.type']) !== null && firstEntry(file, ['high-availability']) === null,
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

// ---------------------------------------------------------------------------------------------
// Help

function defaultHelp(spec: SettingSpec<unknown>): string {
  if ('example' in spec.unset) return 'required';
  if ('raw' in spec.unset) return `default ${spec.unset.raw}`;
  return `default: ${spec.unset.help}`;
}

function settingHelp(spec: SettingSpec<unknown>): string[] {
  const head = [`  --${spec.flag} ${spec.valueHint}`, `      ${spec.env}, ${defaultHelp(spec)}`];
  const flink = spec.flink === undefined ? [] : wrap(`Flink file: ${spec.flink.help}`, HELP_WIDTH - 6, '  ');
  return [...head, ...[...flink, ...spec.help].map((line) => `      ${line}`)];
}

/** The hand-wrapped help lines are at most this wide. */
const HELP_WIDTH = 100;

/** Wraps at spaces; continuation lines get `indent`. A word longer than the width stays whole. */
function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const candidate = line === '' ? word : `${line} ${word}`;
    if (candidate.length > width && line !== '') {
      lines.push(line);
      line = `${indent}${word}`;
    } else {
      line = candidate;
    }
  }
  lines.push(line);
  return lines;
}

/** The --help text: every flag with its variable, default and meaning, then the exit codes. Ends with a newline. */
export function helpText(): string {
  const lines = [
    'Usage: flink-ha-sidecar [flags]',
    '       flink-ha-sidecar status [--json] [flags]   read the leader election once and exit',
    '',
    'Readiness for Apache Flink JobManagers in ZooKeeper high-availability mode: reads the leader',
    "election from ZooKeeper and the local JobManager's health from its REST API; only the",
    'healthy leader is Ready.',
    '',
    'Each flag has an environment variable. The flag wins over the variable, the variable over',
    "Flink's configuration file (for the settings marked \"Flink file\"), the file over the",
    'default. An empty variable counts as unset. Write --flag=value or --flag value.',
  ];
  let section = '';
  for (const name of SETTING_NAMES) {
    const spec = SETTINGS[name];
    if (spec.section !== section) {
      section = spec.section;
      lines.push('', `${section}:`);
    }
    lines.push(...settingHelp(spec));
  }
  lines.push(
    '',
    'Other:',
    '  -h, --help       Show this help and exit.',
    '  -v, --version    Show the version and exit.',
    '',
    'Exit codes:',
    '  0  help or version shown, or stopped cleanly (status: rest_server has a current leader)',
    '  1  failure at run time (the log says which; status: no current rest_server leader)',
    '  2  invalid settings (every problem is listed on stderr; status: also ZooKeeper unreachable)',
  );
  return `${lines.join('\n')}\n`;
}

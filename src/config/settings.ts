/**
 * The settings table, the single source of every setting: its flag, variable, default, --help
 * text, parser and, for the settings Flink has too, how it is read from Flink's file. Parsing,
 * precedence, the sources record and --help are all driven by it.
 */
import type { LeaderSource, RoutingMode } from '../core/model.js';
import { LEGACY_FILE_NAME, STANDARD_FILE_NAME } from '../flink-conf/read-flink-conf.js';
import {
  FLINK_REST_URL_SOURCE,
  flinkOption,
  HA_TYPE_SOURCE,
  KUBERNETES_HA_FACTORY,
  ZOOKEEPER_AUTHORIZATION_SOURCE,
  type FlinkSource,
} from './flink-sources.js';
import { clusterIdProblems, labelKeyProblems, labelValueProblems, namespaceProblems, podNameProblems } from './kubernetes-names.js';
import type { HaLayout, LogLevel, SettingName, SettingValues } from './types.js';
import {
  checkedBy,
  MAX_INT_MS,
  ok,
  parseBoolean,
  parseDirectory,
  parseFlinkPath,
  parseFlinkSessionTimeout,
  parseHost,
  parseHostList,
  parseListenPort,
  parseMs,
  parseNonEmpty,
  parseOneOf,
  parsePort,
  parseQuorum,
  parseReadableFile,
  parseRestUrl,
  parseTokenFile,
  parseZooKeeperAuthorization,
  REST_TRUSTSTORE_KEYS,
  REST_TRUSTSTORE_PASSWORD_KEYS,
  type Parsed,
} from './values.js';

/**
 * The shipped readiness probe (manifests/base/jobmanager.yaml: periodSeconds 1, failureThreshold 2,
 * timeoutSeconds 1) plus 0.5 s for the kubelet's status update and the EndpointSlice controller.
 */
export const DEFAULT_LEADER_HANDOVER_DELAY_MS = 3500;

/** One setting: how it is given, shown in --help, parsed and, if Flink has it too, read from Flink's file. */
export interface SettingSpec<T> {
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
    /** Required; with `onlyWithSource`, only for that leader source (else null). */
    | { readonly example: string; readonly onlyWithSource?: LeaderSource };
  readonly section: string;
  /** Meaning, for --help; lines are wrapped by hand. */
  readonly help: readonly string[];
  /** Parses the flag or variable (and a `raw` default). */
  readonly parse: (raw: string) => Parsed<T>;
  /** Settings that Flink has too are read from its file after flag and variable. */
  readonly flink?: FlinkSource<T>;
}

/** Exactly one entry per setting, typed by its value. */
type SettingSpecs = { readonly [K in SettingName]: SettingSpec<SettingValues[K]> };

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const LAYOUTS: readonly HaLayout[] = ['auto', '1.15', '1.14', '1.13'];
const ROUTING_MODES: readonly RoutingMode[] = ['readiness', 'label'];
const LEADER_SOURCES: readonly LeaderSource[] = ['zookeeper', 'kubernetes'];
const MAX_MS = 600_000;

/** In --help order. */
export const SETTINGS: SettingSpecs = {
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
  leaderSource: {
    flag: 'leader-source',
    env: 'LEADER_SOURCE',
    valueHint: '<zookeeper|kubernetes>',
    unset: { raw: 'zookeeper' },
    section: "Flink's configuration file",
    help: [
      "Where Flink keeps the leader election: zookeeper, or kubernetes (Flink's Kubernetes HA",
      'services: high-availability.type kubernetes, or the factory class',
      `${KUBERNETES_HA_FACTORY}).`,
    ],
    parse: parseOneOf(LEADER_SOURCES, ''),
    flink: HA_TYPE_SOURCE,
  },
  zookeeperQuorum: {
    flag: 'zookeeper-quorum',
    env: 'ZOOKEEPER_QUORUM',
    valueHint: '<host:port,...[/chroot]>',
    unset: { example: 'zk-0:2181,zk-1:2181,zk-2:2181', onlyWithSource: 'zookeeper' },
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
      "as Flink does ('flink/' is '/flink').",
    ],
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
      'Where Flink keeps its leader election in ZooKeeper: 1.15 (Flink 1.15 and later), 1.14',
      '(Flink 1.14, and 1.15 with high-availability.use-old-ha-services), 1.13 (Flink 1.5',
      'to 1.13), or auto to find out from the znodes present. With Kubernetes HA: 1.15 (one',
      'ConfigMap, Flink 1.15 and later), 1.14 (one per component, Flink 1.12 to 1.14) or auto.',
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
      'duration: 60000, 60 s, 1 min). With tolerated suspended connections, how long a leader',
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
  kubernetesClusterId: {
    flag: 'kubernetes-cluster-id',
    env: 'KUBERNETES_CLUSTER_ID',
    valueHint: '<id>',
    unset: { example: 'my-flink-cluster', onlyWithSource: 'kubernetes' },
    section: 'Kubernetes HA',
    help: [
      "Flink's kubernetes.cluster-id, which names the HA ConfigMaps (<id>-cluster-config-map from",
      'Flink 1.15, <id>-restserver-leader before).',
    ],
    parse: checkedBy(clusterIdProblems),
    flink: flinkOption(['kubernetes.cluster-id'], checkedBy(clusterIdProblems)),
  },
  kubernetesNamespace: {
    flag: 'kubernetes-namespace',
    env: 'KUBERNETES_NAMESPACE',
    valueHint: '<namespace>',
    unset: { raw: 'default' },
    section: 'Kubernetes HA',
    help: ["Flink's kubernetes.namespace: where the HA ConfigMaps are (Flink's default too is default)."],
    parse: checkedBy(namespaceProblems),
    flink: flinkOption(['kubernetes.namespace'], checkedBy(namespaceProblems)),
  },
  kubeconfig: {
    flag: 'kubeconfig',
    env: 'KUBECONFIG',
    valueHint: '<file>',
    unset: { value: null, help: "the pod's service account" },
    section: 'Kubernetes HA',
    help: [
      "A kubeconfig file (its current context) to reach the API server with, as Flink's",
      "kubernetes.config.file; unset, the pod's service account (RBAC: get, list and watch",
      'configmaps in the namespace).',
    ],
    parse: parseReadableFile,
    flink: flinkOption(['kubernetes.config.file'], parseReadableFile),
  },
  flinkRestUrl: {
    flag: 'flink-rest-url',
    env: 'FLINK_REST_URL',
    valueHint: '<url>',
    unset: { raw: 'http://127.0.0.1:8081' },
    section: 'Flink JobManager',
    help: ["The local JobManager's REST API: http or https, without credentials, query or fragment;", 'a path is kept as a prefix.'],
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
    help: [
      'PEM private key of the client certificate. Only its path is checked at start-up; the',
      'key itself is never read here nor logged.',
    ],
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
    flink: flinkOption(REST_TRUSTSTORE_KEYS, parseNonEmpty, `${REST_TRUSTSTORE_KEYS.join(', then ')}, as Flink's REST client reads them`),
  },
  flinkRestTruststorePassword: {
    flag: 'flink-rest-truststore-password',
    env: 'FLINK_REST_TRUSTSTORE_PASSWORD',
    valueHint: '<password>',
    unset: { value: null, help: 'none' },
    section: 'Flink JobManager',
    help: [
      "Password of the truststore; never logged or shown. Prefer the variable or Flink's file",
      'to the flag, which other users of the machine can see.',
    ],
    parse: parseNonEmpty,
    flink: flinkOption(REST_TRUSTSTORE_PASSWORD_KEYS, parseNonEmpty, REST_TRUSTSTORE_PASSWORD_KEYS.join(', then ')),
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
    help: [
      'Listen port of the probe server, 1 to 65535, or 0 for any free port, which the log line',
      '"probe server listening" then names.',
    ],
    parse: parseListenPort,
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
    help: [
      'A file holding the bearer token that every debug request must send (Authorization: Bearer):',
      'at least 32 characters without whitespace.',
    ],
    parse: parseTokenFile,
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
      "and the Service never lists both. Set it to the readiness probe's periodSeconds x",
      'failureThreshold + timeoutSeconds, plus 0.5 s (the shipped probe: 1 s x 2 + 1 s + 0.5 s);',
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

export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

/** '--flag / VARIABLE', the head of a problem with a flag's or a variable's value. */
export const label = (spec: SettingSpec<unknown>): string => `--${spec.flag} / ${spec.env}`;

/**
 * The value a setting that is not required has when nothing sets it, parsed as loadConfig parses
 * it; for values derived from the defaults elsewhere, so that the table stays their one home.
 */
export function settingDefault<K extends SettingName>(name: K): SettingValues[K] {
  const spec: SettingSpec<SettingValues[K]> = SETTINGS[name];
  const unset = spec.unset;
  if ('value' in unset) return unset.value;
  if ('example' in unset) throw new Error(`${label(spec)} is required: it has no default`);
  const parsed = spec.parse(unset.raw);
  if (!parsed.ok) throw new Error(`${label(spec)}: the default ${unset.raw} does not parse: ${parsed.problems.join('; ')}`);
  return parsed.value;
}

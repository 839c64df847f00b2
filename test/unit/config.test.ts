/**
 * Covers loadConfig (src/config/) without a Flink configuration file (flink-conf-settings.test.ts
 * covers the file): defaults, every setting from environment and from flag, precedence and
 * sources, path normalization as Flink's ZooKeeperUtils does it, IPv6 hosts, TLS file checks, every
 * invalid input with its exact problem line, many problems in one report, --help and --version.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { helpText, loadConfig, type Config, type LoadOptions, type SettingName } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';

type Env = Record<string, string>;

const QUORUM = { ZOOKEEPER_QUORUM: 'zk-0:2181' };

/** Every directory exists and holds no file: Flink's configuration file is never found. */
const NO_FLINK_FILE: LoadOptions = {
  readFile: (path) => {
    throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
  },
  isDirectory: () => true,
};

/** Real PEM-named files for the TLS settings (their content is never read by config). */
const TLS_DIR = mkdtempSync(join(tmpdir(), 'config-test-tls-'));
after(() => rmSync(TLS_DIR, { recursive: true, force: true }));
const tlsFile = (name: string): string => {
  const path = join(TLS_DIR, name);
  writeFileSync(path, `-----BEGIN ${name}-----\n-----END ${name}-----\n`);
  return path;
};
const CA = tlsFile('ca.pem');
const CA_2 = tlsFile('ca-2.pem');
const CERT = tlsFile('cert.pem');
const CERT_2 = tlsFile('cert-2.pem');
const KEY = tlsFile('key.pem');
const KEY_2 = tlsFile('key-2.pem');
/** Debug token files: a good one each, and the kinds the settings refuse. */
const tokenFile = (name: string, text: string): string => {
  const path = join(TLS_DIR, name);
  writeFileSync(path, text);
  return path;
};
const TOKEN = tokenFile('token', `${'a1b2c3d4'.repeat(5)}\n`);
const TOKEN_2 = tokenFile('token-2', `${'e5f6a7b8'.repeat(5)}\n`);
const A_DIRECTORY = join(TLS_DIR, 'a-directory');
mkdirSync(A_DIRECTORY);

function load(argv: readonly string[], env: Env = QUORUM): Config {
  const result = loadConfig(argv, env, '1.2.3', NO_FLINK_FILE);
  assert.equal(result.kind, 'run');
  return result.config;
}

/** The problems of a configuration that must be refused; fails the test if it loads. */
function problemsOf(argv: readonly string[], env: Env = QUORUM): readonly string[] {
  try {
    loadConfig(argv, env, '1.2.3', NO_FLINK_FILE);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail(`expected a ConfigError for ${JSON.stringify({ argv, env })}`);
}

/** Config with the URL as its href, so that deepEqual compares what matters. */
function plain(config: Config): Record<string, unknown> {
  return { ...config, flinkRestUrl: config.flinkRestUrl.href };
}

const ALL_DEFAULT_SOURCES: Record<SettingName, 'default'> = {
  flinkConfDir: 'default',
  leaderSource: 'default',
  zookeeperQuorum: 'default',
  zookeeperRoot: 'default',
  clusterId: 'default',
  layout: 'default',
  zookeeperLatchPath: 'default',
  zookeeperLeaderPath: 'default',
  flinkRestUrl: 'default',
  advertisedAddresses: 'default',
  host: 'default',
  port: 'default',
  zookeeperSessionTimeoutMs: 'default',
  kubernetesClusterId: 'default',
  kubernetesNamespace: 'default',
  kubeconfig: 'default',
  zookeeperAuthorization: 'default',
  flinkSessionTimeoutMs: 'default',
  tolerateSuspendedConnections: 'default',
  flinkRestCaFile: 'default',
  flinkRestCertFile: 'default',
  flinkRestKeyFile: 'default',
  flinkRestTruststore: 'default',
  flinkRestTruststorePassword: 'default',
  flinkRestServerName: 'default',
  jobmanagerCheckIntervalMs: 'default',
  jobmanagerCheckTimeoutMs: 'default',
  jobmanagerLivenessGraceMs: 'default',
  jobmanagerStartupAllowanceMs: 'default',
  shutdownTimeoutMs: 'default',
  debugHost: 'default',
  debugPort: 'default',
  debugTokenFile: 'default',
  routingMode: 'default',
  leaderHandoverDelayMs: 'default',
  podName: 'default',
  podNamespace: 'default',
  roleLabel: 'default',
  roleLabelLeaderValue: 'default',
  roleLabelStandbyValue: 'default',
  podClusterLabel: 'default',
  labelFailureReadinessTimeoutMs: 'default',
  logLevel: 'default',
};

describe('config defaults', () => {
  it('fills every setting but the quorum with its documented default', () => {
    assert.deepEqual(plain(load([])), {
      flinkConfDir: '/opt/flink/conf',
      flinkConfFile: null,
      flinkRestAddress: null,
      flinkConfFacts: { format: null, shadowsStandardFile: false, setsHaTypeOnly: false, restSslFromSharedKeyOnly: false },
      leaderSource: 'zookeeper',
      zookeeperQuorum: { servers: [{ host: 'zk-0', port: 2181 }], chroot: null, connectString: 'zk-0:2181' },
      zookeeperRoot: '/flink',
      clusterId: '/default',
      layout: 'auto',
      zookeeperLatchPath: '/leaderlatch',
      zookeeperLeaderPath: '/leader',
      flinkRestUrl: 'http://127.0.0.1:8081/',
      flinkRestTls: { caFile: null, certFile: null, keyFile: null, truststore: null, serverName: null },
      advertisedAddresses: null,
      host: null,
      port: 8090,
      zookeeperSessionTimeoutMs: 10000,
      kubernetesClusterId: null,
      kubernetesNamespace: 'default',
      kubeconfig: null,
      zookeeperAuthorization: null,
      flinkSessionTimeoutMs: 60000,
      tolerateSuspendedConnections: false,
      jobmanagerCheckIntervalMs: 2000,
      jobmanagerCheckTimeoutMs: 1000,
      jobmanagerLivenessGraceMs: 60000,
      jobmanagerStartupAllowanceMs: 180000,
      shutdownTimeoutMs: 10000,
      debugHost: '127.0.0.1',
      debugPort: 8091,
      debugTokenFile: null,
      routingMode: 'readiness',
      leaderHandoverDelayMs: 3500,
      podName: null,
      podNamespace: null,
      roleLabel: 'flink-ha-sidecar/role',
      roleLabelLeaderValue: 'leader',
      roleLabelStandbyValue: 'standby',
      podClusterLabel: 'app.kubernetes.io/instance',
      labelFailureReadinessTimeoutMs: 30000,
      logLevel: 'info',
      sources: { ...ALL_DEFAULT_SOURCES, zookeeperQuorum: 'environment' },
    });
  });

  it('allows debug endpoints off the loopback interface with a token, or turned off', () => {
    assert.equal(load([], { ...QUORUM, SIDECAR_DEBUG_HOST: '0.0.0.0', SIDECAR_DEBUG_TOKEN_FILE: TOKEN }).debugHost, '0.0.0.0');
    assert.equal(load([], { ...QUORUM, SIDECAR_DEBUG_HOST: '0.0.0.0', SIDECAR_DEBUG_PORT: '0' }).debugPort, 0);
  });

  it('counts an empty environment variable as unset', () => {
    const config = load([], { ...QUORUM, SIDECAR_PORT: '', POD_IP: '', SIDECAR_HOST: '', LOG_LEVEL: '' });
    assert.equal(config.port, 8090);
    assert.equal(config.advertisedAddresses, null);
    assert.equal(config.host, null);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.sources.port, 'default');
  });

  it('requires the quorum, and an empty variable does not provide it', () => {
    const expected = [
      '--zookeeper-quorum / ZOOKEEPER_QUORUM: required, e.g. zk-0:2181,zk-1:2181,zk-2:2181, or ' +
        "high-availability.zookeeper.quorum in Flink's configuration file (/opt/flink/conf has neither flink-conf.yaml nor config.yaml)",
    ];
    assert.deepEqual(problemsOf([], {}), expected);
    assert.deepEqual(problemsOf([], { ZOOKEEPER_QUORUM: '' }), expected);
  });
});

/**
 * One valid value per setting: the raw text, and the value it must load as. `companion` is set in
 * the environment alongside, for a setting that is only valid with another.
 */
const SETTING_CASES: {
  name: SettingName;
  flag: string;
  env: string;
  raw: string;
  other: string;
  expected: unknown;
  companion?: { name: SettingName; env: string; raw: string };
}[] = [
  { name: 'flinkConfDir', flag: 'flink-conf-dir', env: 'FLINK_CONF_DIR', raw: '/etc/flink', other: '/x', expected: '/etc/flink' },
  // The flag beats the variable's kubernetes (which alone would need a cluster-id and credentials).
  { name: 'leaderSource', flag: 'leader-source', env: 'LEADER_SOURCE', raw: 'zookeeper', other: 'kubernetes', expected: 'zookeeper' },
  {
    name: 'kubernetesClusterId',
    flag: 'kubernetes-cluster-id',
    env: 'KUBERNETES_CLUSTER_ID',
    raw: 'flink-a',
    other: 'flink-b',
    expected: 'flink-a',
  },
  {
    name: 'kubernetesNamespace',
    flag: 'kubernetes-namespace',
    env: 'KUBERNETES_NAMESPACE',
    raw: 'analytics',
    other: 'x',
    expected: 'analytics',
  },
  { name: 'kubeconfig', flag: 'kubeconfig', env: 'KUBECONFIG', raw: KEY, other: CA, expected: KEY },
  {
    name: 'zookeeperQuorum',
    flag: 'zookeeper-quorum',
    env: 'ZOOKEEPER_QUORUM',
    raw: 'zk-1:2182,zk-2/chroot',
    other: 'elsewhere:2181',
    expected: {
      servers: [
        { host: 'zk-1', port: 2182 },
        { host: 'zk-2', port: 2181 },
      ],
      chroot: '/chroot',
      connectString: 'zk-1:2182,zk-2:2181/chroot',
    },
  },
  { name: 'zookeeperRoot', flag: 'zookeeper-root', env: 'ZOOKEEPER_ROOT', raw: 'ha/', other: '/x', expected: '/ha' },
  { name: 'clusterId', flag: 'cluster-id', env: 'FLINK_CLUSTER_ID', raw: 'session-1', other: '/x', expected: '/session-1' },
  { name: 'layout', flag: 'layout', env: 'FLINK_HA_LAYOUT', raw: '1.13', other: '1.14', expected: '1.13' },
  {
    name: 'zookeeperLatchPath',
    flag: 'zookeeper-latch-path',
    env: 'ZOOKEEPER_LATCH_PATH',
    raw: '/latches/',
    other: '/x',
    expected: '/latches',
  },
  {
    name: 'zookeeperLeaderPath',
    flag: 'zookeeper-leader-path',
    env: 'ZOOKEEPER_LEADER_PATH',
    raw: 'leaders',
    other: '/x',
    expected: '/leaders',
  },
  {
    name: 'flinkRestUrl',
    flag: 'flink-rest-url',
    env: 'FLINK_REST_URL',
    raw: 'HTTPS://JM-0.Flink:8443/api',
    other: 'http://x:1',
    expected: 'https://jm-0.flink:8443/api/',
  },
  {
    name: 'advertisedAddresses',
    flag: 'advertised-address',
    env: 'POD_IP',
    raw: '10.0.0.7, JM-0.flink',
    other: '10.9.9.9',
    expected: ['10.0.0.7', 'jm-0.flink'],
  },
  { name: 'host', flag: 'host', env: 'SIDECAR_HOST', raw: '[::1]', other: '0.0.0.0', expected: '::1' },
  { name: 'port', flag: 'port', env: 'SIDECAR_PORT', raw: '9000', other: '9001', expected: 9000 },
  {
    name: 'zookeeperSessionTimeoutMs',
    flag: 'zookeeper-session-timeout-ms',
    env: 'ZOOKEEPER_SESSION_TIMEOUT_MS',
    raw: '4000',
    other: '5000',
    expected: 4000,
  },
  {
    name: 'flinkSessionTimeoutMs',
    flag: 'flink-session-timeout-ms',
    env: 'FLINK_SESSION_TIMEOUT_MS',
    raw: '30000',
    other: '40000',
    expected: 30000,
  },
  {
    name: 'tolerateSuspendedConnections',
    flag: 'tolerate-suspended-connections',
    env: 'FLINK_TOLERATE_SUSPENDED_CONNECTIONS',
    raw: 'TRUE',
    other: 'false',
    expected: true,
  },
  { name: 'flinkRestCaFile', flag: 'flink-rest-ca-file', env: 'FLINK_REST_CA_FILE', raw: CA, other: CA_2, expected: CA },
  {
    name: 'flinkRestCertFile',
    flag: 'flink-rest-cert-file',
    env: 'FLINK_REST_CERT_FILE',
    raw: CERT,
    other: CERT_2,
    expected: CERT,
    companion: { name: 'flinkRestKeyFile', env: 'FLINK_REST_KEY_FILE', raw: KEY },
  },
  {
    name: 'flinkRestKeyFile',
    flag: 'flink-rest-key-file',
    env: 'FLINK_REST_KEY_FILE',
    raw: KEY,
    other: KEY_2,
    expected: KEY,
    companion: { name: 'flinkRestCertFile', env: 'FLINK_REST_CERT_FILE', raw: CERT },
  },
  {
    name: 'leaderHandoverDelayMs',
    flag: 'leader-handover-delay-ms',
    env: 'LEADER_HANDOVER_DELAY_MS',
    raw: '0',
    other: '5000',
    expected: 0,
  },
  {
    name: 'zookeeperAuthorization',
    flag: 'zookeeper-authorization',
    env: 'ZOOKEEPER_AUTHORIZATION',
    raw: "digest:'flink:secret-one'",
    other: "digest:'flink:secret-two'",
    expected: [{ scheme: 'digest', credentials: 'flink:secret-one' }],
  },
  {
    name: 'flinkRestTruststore',
    flag: 'flink-rest-truststore',
    env: 'FLINK_REST_TRUSTSTORE',
    raw: CA,
    other: CA_2,
    expected: CA,
    companion: { name: 'flinkRestTruststorePassword', env: 'FLINK_REST_TRUSTSTORE_PASSWORD', raw: 'truststore-password' },
  },
  {
    name: 'flinkRestTruststorePassword',
    flag: 'flink-rest-truststore-password',
    env: 'FLINK_REST_TRUSTSTORE_PASSWORD',
    raw: 'password-one',
    other: 'password-two',
    expected: 'password-one',
    companion: { name: 'flinkRestTruststore', env: 'FLINK_REST_TRUSTSTORE', raw: CA },
  },
  {
    name: 'flinkRestServerName',
    flag: 'flink-rest-server-name',
    env: 'FLINK_REST_SERVER_NAME',
    raw: 'Flink-JobManager.flink.svc',
    other: 'other.flink.svc',
    expected: 'flink-jobmanager.flink.svc',
  },
  {
    name: 'jobmanagerCheckIntervalMs',
    flag: 'jobmanager-check-interval-ms',
    env: 'JOBMANAGER_CHECK_INTERVAL_MS',
    raw: '5000',
    other: '6000',
    expected: 5000,
  },
  {
    name: 'jobmanagerCheckTimeoutMs',
    flag: 'jobmanager-check-timeout-ms',
    env: 'JOBMANAGER_CHECK_TIMEOUT_MS',
    raw: '1500',
    other: '500',
    expected: 1500,
  },
  {
    name: 'jobmanagerLivenessGraceMs',
    flag: 'jobmanager-liveness-grace-ms',
    env: 'JOBMANAGER_LIVENESS_GRACE_MS',
    raw: '30000',
    other: '0',
    expected: 30000,
  },
  {
    name: 'jobmanagerStartupAllowanceMs',
    flag: 'jobmanager-startup-allowance-ms',
    env: 'JOBMANAGER_STARTUP_ALLOWANCE_MS',
    raw: '600000',
    other: '1000',
    expected: 600000,
  },
  {
    name: 'shutdownTimeoutMs',
    flag: 'shutdown-timeout-ms',
    env: 'SHUTDOWN_TIMEOUT_MS',
    raw: '0',
    other: '100',
    expected: 0,
  },
  { name: 'debugHost', flag: 'debug-host', env: 'SIDECAR_DEBUG_HOST', raw: '[::1]', other: 'localhost', expected: '::1' },
  { name: 'debugPort', flag: 'debug-port', env: 'SIDECAR_DEBUG_PORT', raw: '0', other: '9091', expected: 0 },
  { name: 'debugTokenFile', flag: 'debug-token-file', env: 'SIDECAR_DEBUG_TOKEN_FILE', raw: TOKEN, other: TOKEN_2, expected: TOKEN },
  // 'label' alone is refused here (no pod, no in-cluster credentials): test/unit/label-config.test.ts covers it.
  { name: 'routingMode', flag: 'routing-mode', env: 'ROUTING_MODE', raw: 'readiness', other: 'label', expected: 'readiness' },
  { name: 'podName', flag: 'pod-name', env: 'POD_NAME', raw: 'flink-jm-0', other: 'flink-jm-1', expected: 'flink-jm-0' },
  { name: 'podNamespace', flag: 'pod-namespace', env: 'POD_NAMESPACE', raw: 'flink', other: 'other', expected: 'flink' },
  { name: 'roleLabel', flag: 'role-label', env: 'ROLE_LABEL', raw: 'example.com/role', other: 'role', expected: 'example.com/role' },
  {
    name: 'roleLabelLeaderValue',
    flag: 'role-label-leader-value',
    env: 'ROLE_LABEL_LEADER_VALUE',
    raw: 'primary',
    other: 'p',
    expected: 'primary',
  },
  {
    name: 'roleLabelStandbyValue',
    flag: 'role-label-standby-value',
    env: 'ROLE_LABEL_STANDBY_VALUE',
    raw: 'replica',
    other: 'r',
    expected: 'replica',
  },
  { name: 'podClusterLabel', flag: 'pod-cluster-label', env: 'POD_CLUSTER_LABEL', raw: 'app', other: 'x', expected: 'app' },
  {
    name: 'labelFailureReadinessTimeoutMs',
    flag: 'label-failure-readiness-timeout-ms',
    env: 'LABEL_FAILURE_READINESS_TIMEOUT_MS',
    raw: '5000',
    other: '6000',
    expected: 5000,
  },
  { name: 'logLevel', flag: 'log-level', env: 'LOG_LEVEL', raw: 'DEBUG', other: 'warn', expected: 'debug' },
];

function valueOf(config: Config, name: SettingName): unknown {
  if (name === 'flinkRestCaFile') return config.flinkRestTls.caFile;
  if (name === 'flinkRestCertFile') return config.flinkRestTls.certFile;
  if (name === 'flinkRestKeyFile') return config.flinkRestTls.keyFile;
  if (name === 'flinkRestTruststore') return config.flinkRestTls.truststore?.file ?? null;
  if (name === 'flinkRestTruststorePassword') return config.flinkRestTls.truststore?.password ?? null;
  if (name === 'flinkRestServerName') return config.flinkRestTls.serverName;
  const value = config[name];
  return value instanceof URL ? value.href : value;
}

describe('config settings from environment and flags', () => {
  it('has one case per setting', () => {
    assert.deepEqual(SETTING_CASES.map((c) => c.name).sort(), Object.keys(ALL_DEFAULT_SOURCES).sort());
  });

  for (const c of SETTING_CASES) {
    const base = c.companion === undefined ? QUORUM : { ...QUORUM, [c.companion.env]: c.companion.raw };
    const baseSources = c.companion === undefined ? {} : { [c.companion.name]: 'environment' };

    it(`${c.name} from ${c.env}`, () => {
      const config = load([], { ...base, [c.env]: c.raw });
      assert.deepEqual(valueOf(config, c.name), c.expected);
      assert.deepEqual(config.sources, {
        ...ALL_DEFAULT_SOURCES,
        ...baseSources,
        zookeeperQuorum: 'environment',
        [c.name]: 'environment',
      });
    });

    it(`${c.name} from --${c.flag}=value`, () => {
      const config = load([`--${c.flag}=${c.raw}`], base);
      assert.deepEqual(valueOf(config, c.name), c.expected);
      assert.equal(config.sources[c.name], 'flag');
    });

    it(`${c.name} from --${c.flag} value, beating ${c.env}`, () => {
      const config = load([`--${c.flag}`, c.raw], { ...base, [c.env]: c.other });
      assert.deepEqual(valueOf(config, c.name), c.expected);
      assert.equal(config.sources[c.name], 'flag');
    });
  }

  it('reads several flags in both forms together', () => {
    const config = load(['--zookeeper-quorum=zk', '--port', '9000', '--host=127.0.0.1', '--layout', '1.15'], {});
    assert.deepEqual(
      [config.zookeeperQuorum!.connectString, config.port, config.host, config.layout],
      ['zk:2181', 9000, '127.0.0.1', '1.15'],
    );
  });

  it('accepts every documented layout and log level', () => {
    for (const layout of ['auto', '1.15', '1.14', '1.13']) assert.equal(load([`--layout=${layout}`]).layout, layout);
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) {
      assert.equal(load([`--log-level=${level}`]).logLevel, level);
    }
  });

  it('accepts the bounds of every number', () => {
    const config = load([
      '--port=65535',
      '--zookeeper-session-timeout-ms=600000',
      '--jobmanager-check-interval-ms=600000',
      '--jobmanager-check-timeout-ms=599999',
      '--shutdown-timeout-ms=600000',
    ]);
    assert.deepEqual(
      [config.port, config.zookeeperSessionTimeoutMs, config.jobmanagerCheckIntervalMs, config.jobmanagerCheckTimeoutMs],
      [65535, 600000, 600000, 599999],
    );
    assert.equal(load(['--port=1', '--zookeeper-session-timeout-ms=2000']).port, 1);
    assert.equal(load(['--port=0']).port, 0, 'any free port');
    assert.equal(load([], { ...QUORUM, SIDECAR_PORT: '0' }).port, 0, 'any free port');
    assert.equal(load(['--jobmanager-check-interval-ms=100', '--jobmanager-check-timeout-ms=1']).jobmanagerCheckTimeoutMs, 1);
  });

  it('keeps a REST path prefix usable as a base URL', () => {
    const url = load(['--flink-rest-url=http://jm:8081/flink']).flinkRestUrl;
    assert.equal(new URL('overview', url).href, 'http://jm:8081/flink/overview');
  });

  it('takes a value that starts with "-" in the --flag=value form', () => {
    assert.deepEqual(problemsOf(['--port=-5']), ['--port / SIDECAR_PORT: "-5" is not a port number (0-65535)']);
  });
});

// Flink 1.14+ ZooKeeperUtils.generateZookeeperPath: each part's leading and trailing slashes
// trimmed, empty parts dropped, joined with '/'. Inner '//' survives there and Curator refuses it.
const PATH_CASES: { raw: string; expected: string }[] = [
  { raw: '/flink', expected: '/flink' },
  { raw: 'flink', expected: '/flink' },
  { raw: 'flink/', expected: '/flink' },
  { raw: '//flink//', expected: '/flink' },
  { raw: 'a/b', expected: '/a/b' },
  { raw: '/a/b/', expected: '/a/b' },
  { raw: '/', expected: '/' },
  { raw: '///', expected: '/' },
  { raw: '', expected: '/' },
  { raw: 'with space', expected: '/with space' },
  { raw: '...', expected: '/...' },
  { raw: 'ünïcode', expected: '/ünïcode' },
];

describe('config ZooKeeper path normalization', () => {
  for (const { raw, expected } of PATH_CASES) {
    it(`${JSON.stringify(raw)} -> ${expected} for root, cluster id, latch and leader path`, () => {
      const config = load([
        `--zookeeper-root=${raw}`,
        `--cluster-id=${raw}`,
        `--zookeeper-latch-path=${raw}`,
        `--zookeeper-leader-path=${raw}`,
      ]);
      assert.deepEqual(
        [config.zookeeperRoot, config.clusterId, config.zookeeperLatchPath, config.zookeeperLeaderPath],
        [expected, expected, expected, expected],
      );
    });
  }

  const INVALID_PATHS: { raw: string; problem: string }[] = [
    { raw: '//a//b/', problem: '"//a//b/" has an empty segment ("//")' },
    { raw: '/a/./b', problem: '"/a/./b" has a "." or ".." segment' },
    { raw: '..', problem: '".." has a "." or ".." segment' },
    { raw: '/fl\u0000ink', problem: '"/fl\\u0000ink" contains U+0000, which ZooKeeper does not allow in paths' },
    { raw: '/a\tb', problem: '"/a\\tb" contains U+0009, which ZooKeeper does not allow in paths' },
    { raw: '/a\u007fb', problem: '"/a\u007fb" contains U+007F, which ZooKeeper does not allow in paths' },
    { raw: '/a\ue000b', problem: '"/a\ue000b" contains U+E000, which ZooKeeper does not allow in paths' },
    { raw: '/a😀', problem: '"/a😀" contains U+1F600, which ZooKeeper does not allow in paths' },
  ];
  for (const { raw, problem } of INVALID_PATHS) {
    it(`refuses ${JSON.stringify(raw)}`, () => {
      assert.deepEqual(problemsOf([`--zookeeper-root=${raw}`], { ...QUORUM, FLINK_CLUSTER_ID: raw }), [
        `--zookeeper-root / ZOOKEEPER_ROOT: ${problem}`,
        `--cluster-id / FLINK_CLUSTER_ID: ${problem}`,
      ]);
    });
  }
});

describe('config ZooKeeper quorum', () => {
  const QUORUM_CASES: { raw: string; servers: [string, number][]; chroot: string | null; connectString: string }[] = [
    { raw: 'zk', servers: [['zk', 2181]], chroot: null, connectString: 'zk:2181' },
    {
      raw: ' ZK-0.zk.NS.svc:2181 , zk-1:2182,,',
      servers: [
        ['zk-0.zk.ns.svc', 2181],
        ['zk-1', 2182],
      ],
      chroot: null,
      connectString: 'zk-0.zk.ns.svc:2181,zk-1:2182',
    },
    { raw: '10.0.0.1:2181/', servers: [['10.0.0.1', 2181]], chroot: null, connectString: '10.0.0.1:2181' },
    { raw: 'zk:2181/a/b', servers: [['zk', 2181]], chroot: '/a/b', connectString: 'zk:2181/a/b' },
  ];
  for (const c of QUORUM_CASES) {
    it(`parses ${JSON.stringify(c.raw)}`, () => {
      const quorum = load([], { ZOOKEEPER_QUORUM: c.raw }).zookeeperQuorum;
      assert.deepEqual(quorum, {
        servers: c.servers.map(([host, port]) => ({ host, port })),
        chroot: c.chroot,
        connectString: c.connectString,
      });
    });
  }
});

describe('config advertised and listen addresses', () => {
  it('normalizes IPv6 with or without brackets, IPv4 and names, dropping duplicates', () => {
    const config = load(['--advertised-address=[FD00::0:7],fd00::7,10.1.2.3,Jm-0.Flink.,10.1.2.3']);
    assert.deepEqual(config.advertisedAddresses, ['fd00::7', '10.1.2.3', 'jm-0.flink.']);
  });

  it('accepts IPv6 listen addresses with or without brackets', () => {
    assert.equal(load(['--host=::']).host, '::');
    assert.equal(load(['--host=[::]']).host, '::');
    assert.equal(load(['--host=localhost']).host, 'localhost');
  });
});

/** Invalid inputs with their exact problem lines. */
const INVALID_CASES: { title: string; argv?: string[]; env?: Env; problems: string[] }[] = [
  { title: 'port with letters', env: { SIDECAR_PORT: '80a' }, problems: ['--port / SIDECAR_PORT: "80a" is not a port number (0-65535)'] },
  { title: 'port 00', argv: ['--port=00'], problems: ['--port / SIDECAR_PORT: "00" is not a port number (0-65535)'] },
  { title: 'port 65536', argv: ['--port=65536'], problems: ['--port / SIDECAR_PORT: "65536" is not a port number (0-65535)'] },
  { title: 'empty port flag', argv: ['--port='], problems: ['--port / SIDECAR_PORT: "" is not a port number (0-65535)'] },
  ...['1e3', '10s', '-5', ' 5', '0x10', '5.0', '+5'].map((raw) => ({
    title: `duration ${JSON.stringify(raw)}`,
    env: { SHUTDOWN_TIMEOUT_MS: raw },
    problems: [`--shutdown-timeout-ms / SHUTDOWN_TIMEOUT_MS: ${JSON.stringify(raw)} is not a whole number of milliseconds (digits only)`],
  })),
  {
    title: 'session timeout below 2000',
    env: { ZOOKEEPER_SESSION_TIMEOUT_MS: '1999' },
    problems: ['--zookeeper-session-timeout-ms / ZOOKEEPER_SESSION_TIMEOUT_MS: "1999" is outside 2000..600000 milliseconds'],
  },
  {
    title: 'session timeout above 600000',
    env: { ZOOKEEPER_SESSION_TIMEOUT_MS: '600001' },
    problems: ['--zookeeper-session-timeout-ms / ZOOKEEPER_SESSION_TIMEOUT_MS: "600001" is outside 2000..600000 milliseconds'],
  },
  {
    title: 'check interval below 100',
    argv: ['--jobmanager-check-interval-ms=99', '--jobmanager-check-timeout-ms=50'],
    problems: ['--jobmanager-check-interval-ms / JOBMANAGER_CHECK_INTERVAL_MS: "99" is outside 100..600000 milliseconds'],
  },
  {
    title: 'check timeout 0',
    argv: ['--jobmanager-check-timeout-ms=0'],
    problems: ['--jobmanager-check-timeout-ms / JOBMANAGER_CHECK_TIMEOUT_MS: "0" is outside 1..600000 milliseconds'],
  },
  {
    title: 'shutdown timeout above 600000',
    argv: ['--shutdown-timeout-ms=600001'],
    problems: ['--shutdown-timeout-ms / SHUTDOWN_TIMEOUT_MS: "600001" is outside 0..600000 milliseconds'],
  },
  {
    title: 'check timeout equal to the interval',
    env: { JOBMANAGER_CHECK_TIMEOUT_MS: '2000' },
    problems: [
      '--jobmanager-check-timeout-ms / JOBMANAGER_CHECK_TIMEOUT_MS: "2000" must be below ' +
        '--jobmanager-check-interval-ms / JOBMANAGER_CHECK_INTERVAL_MS (2000)',
    ],
  },
  {
    title: 'unknown layout',
    argv: ['--layout=1.16'],
    problems: ['--layout / FLINK_HA_LAYOUT: "1.16" is not one of auto, 1.15, 1.14, 1.13 (1.15 also covers every later Flink)'],
  },
  {
    title: 'unknown log level',
    env: { LOG_LEVEL: 'verbose' },
    problems: ['--log-level / LOG_LEVEL: "verbose" is not one of fatal, error, warn, info, debug, trace, silent'],
  },
  {
    title: 'REST URL without scheme',
    env: { FLINK_REST_URL: '127.0.0.1:8081' },
    problems: ['--flink-rest-url / FLINK_REST_URL: "127.0.0.1:8081" is not a URL (include the scheme, e.g. http://127.0.0.1:8081)'],
  },
  {
    title: 'REST URL that does not parse',
    env: { FLINK_REST_URL: 'http://jm:99999' },
    problems: ['--flink-rest-url / FLINK_REST_URL: "http://jm:99999" is not a URL'],
  },
  {
    title: 'REST URL with another scheme',
    env: { FLINK_REST_URL: 'ftp://jm:8081' },
    problems: ['--flink-rest-url / FLINK_REST_URL: "ftp://jm:8081/" is not an http or https URL'],
  },
  {
    title: 'REST URL with credentials (user name and password hidden)',
    env: { FLINK_REST_URL: 'http://admin:s3cret@jm:8081' },
    problems: ['--flink-rest-url / FLINK_REST_URL: "http://***:***@jm:8081/" must not contain credentials'],
  },
  {
    title: 'REST URL with a token as its user name (hidden)',
    env: { FLINK_REST_URL: 'http://tok3n-abcdef@jm:8081' },
    problems: ['--flink-rest-url / FLINK_REST_URL: "http://***@jm:8081/" must not contain credentials'],
  },
  {
    title: 'REST URL with a query',
    env: { FLINK_REST_URL: 'http://jm:8081/?a=1' },
    problems: ['--flink-rest-url / FLINK_REST_URL: "http://jm:8081/?a=1" must not have a query or fragment'],
  },
  {
    title: 'REST URL with an empty fragment',
    env: { FLINK_REST_URL: 'http://jm:8081/#' },
    problems: ['--flink-rest-url / FLINK_REST_URL: "http://jm:8081/#" must not have a query or fragment'],
  },
  {
    title: 'quorum without servers',
    env: { ZOOKEEPER_QUORUM: ' , /chroot' },
    problems: ['--zookeeper-quorum / ZOOKEEPER_QUORUM: " , /chroot" names no server'],
  },
  {
    title: 'an IPv6 literal in the quorum, which the ZooKeeper client cannot reach',
    env: { ZOOKEEPER_QUORUM: '[FD00:0:0::1]:2181,zk-2:3000' },
    problems: [
      '--zookeeper-quorum / ZOOKEEPER_QUORUM: server "[FD00:0:0::1]:2181": IPv6 addresses are not supported by the ZooKeeper client; use a DNS name that resolves to it',
    ],
  },
  {
    title: 'quorum with an unbracketed IPv6 server',
    env: { ZOOKEEPER_QUORUM: 'fd00::1' },
    problems: ['--zookeeper-quorum / ZOOKEEPER_QUORUM: server "fd00::1": write an IPv6 address in brackets, then its port: [fd00::1]:2181'],
  },
  {
    title: 'debug endpoints on every address without a token',
    env: { SIDECAR_DEBUG_HOST: '0.0.0.0' },
    problems: [
      '--debug-host / SIDECAR_DEBUG_HOST: "0.0.0.0" is not a loopback address (127.x.x.x or ::1); debug endpoints bound there need ' +
        '--debug-token-file / SIDECAR_DEBUG_TOKEN_FILE, or set --debug-port / SIDECAR_DEBUG_PORT to 0 to turn them off',
    ],
  },
  {
    title: 'debug endpoints on the name localhost without a token (only literal loopback addresses count)',
    env: { SIDECAR_DEBUG_HOST: 'localhost' },
    problems: [
      '--debug-host / SIDECAR_DEBUG_HOST: "localhost" is not a loopback address (127.x.x.x or ::1); debug endpoints bound there need ' +
        '--debug-token-file / SIDECAR_DEBUG_TOKEN_FILE, or set --debug-port / SIDECAR_DEBUG_PORT to 0 to turn them off',
    ],
  },
  {
    title: 'an empty debug token file',
    env: { SIDECAR_DEBUG_TOKEN_FILE: tokenFile('token-empty', ' \n\n') },
    problems: [`--debug-token-file / SIDECAR_DEBUG_TOKEN_FILE: "${join(TLS_DIR, 'token-empty')}" is empty: it must hold the token`],
  },
  {
    title: 'a debug token with a space inside',
    env: { SIDECAR_DEBUG_TOKEN_FILE: tokenFile('token-space', `${'x'.repeat(20)} ${'y'.repeat(20)}\n`) },
    problems: [
      `--debug-token-file / SIDECAR_DEBUG_TOKEN_FILE: "${join(TLS_DIR, 'token-space')}": the token has whitespace inside, which an Authorization header cannot carry`,
    ],
  },
  {
    title: 'a short debug token (never quoted)',
    env: { SIDECAR_DEBUG_TOKEN_FILE: tokenFile('token-short', 'hunter2\n') },
    problems: [
      `--debug-token-file / SIDECAR_DEBUG_TOKEN_FILE: "${join(TLS_DIR, 'token-short')}": the token has 7 characters; use at least 32 (e.g. openssl rand -hex 32)`,
    ],
  },
  {
    title: 'debug endpoints on the probe port',
    env: { SIDECAR_DEBUG_PORT: '8090' },
    problems: [
      '--debug-port / SIDECAR_DEBUG_PORT: 8090 is also the probe port (--port / SIDECAR_PORT); give the debug endpoints their own',
    ],
  },
  {
    title: 'quorum server with two colons',
    env: { ZOOKEEPER_QUORUM: 'zk:2181:2182' },
    problems: ['--zookeeper-quorum / ZOOKEEPER_QUORUM: server "zk:2181:2182" is not host, host:port or [IPv6]:port'],
  },
  {
    title: 'quorum ports',
    env: { ZOOKEEPER_QUORUM: 'zk-0:0,zk-1:65536,zk-2:,zk-3:21a' },
    problems: [
      '--zookeeper-quorum / ZOOKEEPER_QUORUM: server "zk-0:0": "0" is not a port number (1-65535)',
      '--zookeeper-quorum / ZOOKEEPER_QUORUM: server "zk-1:65536": "65536" is not a port number (1-65535)',
      '--zookeeper-quorum / ZOOKEEPER_QUORUM: server "zk-2:": "" is not a port number (1-65535)',
      '--zookeeper-quorum / ZOOKEEPER_QUORUM: server "zk-3:21a": "21a" is not a port number (1-65535)',
    ],
  },
  {
    title: 'quorum hosts',
    env: { ZOOKEEPER_QUORUM: 'zk_bad-:2181,999.1.1.1,[zk-0]:2181,[fe80::1%eth0]:2181,a b,:2181' },
    problems: [
      '--zookeeper-quorum / ZOOKEEPER_QUORUM: server "zk_bad-:2181": host "zk_bad-" is not a host name or IP address',
      '--zookeeper-quorum / ZOOKEEPER_QUORUM: server "999.1.1.1" is not a host name or IP address',
      '--zookeeper-quorum / ZOOKEEPER_QUORUM: server "[zk-0]:2181": host "[zk-0]" is in brackets, which only an IPv6 address takes',
      '--zookeeper-quorum / ZOOKEEPER_QUORUM: server "[fe80::1%eth0]:2181": host "[fe80::1%eth0]" has an IPv6 zone index, which is not supported',
      '--zookeeper-quorum / ZOOKEEPER_QUORUM: server "a b" is not a host name or IP address',
      '--zookeeper-quorum / ZOOKEEPER_QUORUM: server ":2181": host "" is not a host name or IP address',
    ],
  },
  {
    title: 'quorum chroot with a trailing slash',
    env: { ZOOKEEPER_QUORUM: 'zk:2181/flink/' },
    problems: ['--zookeeper-quorum / ZOOKEEPER_QUORUM: chroot "/flink/" ends with "/"'],
  },
  {
    title: 'quorum chroot with an empty segment and a dot segment',
    env: { ZOOKEEPER_QUORUM: 'zk:2181/a//b/..' },
    problems: [
      '--zookeeper-quorum / ZOOKEEPER_QUORUM: chroot "/a//b/.." has an empty segment ("//")',
      '--zookeeper-quorum / ZOOKEEPER_QUORUM: chroot "/a//b/.." has a "." or ".." segment',
    ],
  },
  {
    title: 'advertised addresses',
    env: { POD_IP: '10.0.0.1:8081,[fd00::1]:8081,bad host,[jm-0]' },
    problems: [
      '--advertised-address / POD_IP: "10.0.0.1:8081" has a port; give the host only',
      '--advertised-address / POD_IP: "[fd00::1]:8081" has a port; give the host only',
      '--advertised-address / POD_IP: "bad host" is not a host name or IP address',
      '--advertised-address / POD_IP: "[jm-0]" is in brackets, which only an IPv6 address takes',
    ],
  },
  {
    title: 'advertised addresses naming no host',
    argv: ['--advertised-address=,'],
    problems: ['--advertised-address / POD_IP: "," names no host'],
  },
  {
    title: 'listen host',
    env: { SIDECAR_HOST: 'http://0.0.0.0' },
    problems: ['--host / SIDECAR_HOST: "http://0.0.0.0" is not a host name or IP address'],
  },
  {
    title: 'an empty Flink configuration directory',
    argv: ['--flink-conf-dir='],
    problems: ['--flink-conf-dir / FLINK_CONF_DIR: "" names no directory'],
  },
  ...['0', '2147483648', '60s', '1e3'].map((raw) => ({
    title: `Flink session timeout ${JSON.stringify(raw)} as a flag (milliseconds only, unlike in the Flink file)`,
    env: { FLINK_SESSION_TIMEOUT_MS: raw },
    problems: [
      /^[0-9]+$/.test(raw)
        ? `--flink-session-timeout-ms / FLINK_SESSION_TIMEOUT_MS: ${JSON.stringify(raw)} is outside 1..2147483647 milliseconds`
        : `--flink-session-timeout-ms / FLINK_SESSION_TIMEOUT_MS: ${JSON.stringify(raw)} is not a whole number of milliseconds (digits only)`,
    ],
  })),
  ...['yes', '1', ''].map((raw) => ({
    title: `tolerate-suspended-connections ${JSON.stringify(raw)}`,
    argv: [`--tolerate-suspended-connections=${raw}`],
    problems: [`--tolerate-suspended-connections / FLINK_TOLERATE_SUSPENDED_CONNECTIONS: ${JSON.stringify(raw)} is not true or false`],
  })),
  {
    title: 'TLS files that do not exist, are directories or are empty names',
    env: { FLINK_REST_CA_FILE: join(TLS_DIR, 'missing.pem'), FLINK_REST_CERT_FILE: A_DIRECTORY },
    argv: ['--flink-rest-key-file='],
    problems: [
      `--flink-rest-ca-file / FLINK_REST_CA_FILE: ${JSON.stringify(join(TLS_DIR, 'missing.pem'))} does not exist`,
      `--flink-rest-cert-file / FLINK_REST_CERT_FILE: ${JSON.stringify(A_DIRECTORY)} is not a regular file`,
      '--flink-rest-key-file / FLINK_REST_KEY_FILE: "" names no file',
    ],
  },
  {
    title: 'a client certificate without its key',
    env: { FLINK_REST_CERT_FILE: CERT, FLINK_REST_URL: 'https://127.0.0.1:8443' },
    problems: [
      '--flink-rest-cert-file / FLINK_REST_CERT_FILE: a client certificate needs both its certificate and its key; ' +
        '--flink-rest-key-file / FLINK_REST_KEY_FILE is not set',
    ],
  },
  {
    title: 'a key without its client certificate',
    argv: [`--flink-rest-key-file=${KEY}`],
    problems: [
      '--flink-rest-key-file / FLINK_REST_KEY_FILE: a client certificate needs both its certificate and its key; ' +
        '--flink-rest-cert-file / FLINK_REST_CERT_FILE is not set',
    ],
  },
  {
    title: 'unknown flags, long and short',
    argv: ['--bogus=1', '-x', '--Port=1'],
    problems: ['unknown flag --bogus (see --help)', 'unknown flag -x (see --help)', 'unknown flag --Port (see --help)'],
  },
  {
    title: 'a flag without its value',
    argv: ['--port'],
    problems: ['--port / SIDECAR_PORT: --port needs a value'],
  },
  {
    title: 'a flag followed by another flag, which still counts',
    argv: ['--port', '--host=bad host'],
    problems: [
      '--port / SIDECAR_PORT: --port needs a value (one starting with "-" is written --port=-...)',
      '--host / SIDECAR_HOST: "bad host" is not a host name or IP address',
    ],
  },
  {
    title: 'a boolean flag with a value',
    argv: ['--version=yes'],
    problems: ['--version does not take a value'],
  },
  {
    title: 'a duplicate flag',
    argv: ['--port=1', '--port', '2'],
    problems: ['--port / SIDECAR_PORT: --port is given 2 times ("1", "2"); give it once'],
  },
  {
    title: 'positional arguments, also after --',
    argv: ['run', 'now', '--', '--port=1'],
    problems: [
      'unknown command "run" (settings are flags, see --help)',
      'unexpected argument "now" (settings are flags, see --help)',
      'unexpected argument "--port=1" (settings are flags, see --help)',
    ],
  },
];

describe('config invalid settings', () => {
  for (const c of INVALID_CASES) {
    it(`refuses ${c.title}`, () => {
      assert.deepEqual(problemsOf(c.argv ?? [], { ...QUORUM, ...c.env }), c.problems);
    });
  }

  it('reports every problem at once, arguments first, then settings in --help order', () => {
    const problems = problemsOf(['--bogus', 'extra', '--port=http', '--cluster-id=a//b'], {
      ZOOKEEPER_QUORUM: 'zk:0',
      FLINK_REST_URL: 'jm:8081',
      LOG_LEVEL: 'loud',
      JOBMANAGER_CHECK_TIMEOUT_MS: '10s',
    });
    assert.deepEqual(problems, [
      'unknown flag --bogus (see --help)',
      'unknown command "extra" (settings are flags, see --help)',
      '--zookeeper-quorum / ZOOKEEPER_QUORUM: server "zk:0": "0" is not a port number (1-65535)',
      '--cluster-id / FLINK_CLUSTER_ID: "a//b" has an empty segment ("//")',
      '--flink-rest-url / FLINK_REST_URL: "jm:8081" is not an http or https URL',
      '--jobmanager-check-timeout-ms / JOBMANAGER_CHECK_TIMEOUT_MS: "10s" is not a whole number of milliseconds (digits only)',
      '--port / SIDECAR_PORT: "http" is not a port number (0-65535)',
      '--log-level / LOG_LEVEL: "loud" is not one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });

  it('puts every problem in the error message, one per line', () => {
    assert.throws(
      () => loadConfig(['--port=65536', '--flink-conf-dir=/etc/flink'], {}, '1.2.3', NO_FLINK_FILE),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(
          error.message,
          'invalid configuration:\n' +
            '  - --zookeeper-quorum / ZOOKEEPER_QUORUM: required, e.g. zk-0:2181,zk-1:2181,zk-2:2181, or ' +
            "high-availability.zookeeper.quorum in Flink's configuration file (/etc/flink has neither flink-conf.yaml nor config.yaml)\n" +
            '  - --port / SIDECAR_PORT: "65536" is not a port number (0-65535)',
        );
        return true;
      },
    );
  });
});

describe('config --help and --version', () => {
  it('answers --help and -h with the help text, even when other settings are invalid', () => {
    for (const flag of ['--help', '-h']) {
      assert.deepEqual(loadConfig([flag, '--bogus', 'x'], { SIDECAR_PORT: 'bad' }, '1.2.3'), {
        kind: 'help',
        text: helpText(),
      });
    }
  });

  it('answers --version and -v with the version', () => {
    for (const flag of ['--version', '-v']) {
      assert.deepEqual(loadConfig([flag], {}, '1.2.3'), { kind: 'version', text: 'flink-ha-sidecar 1.2.3' });
    }
  });

  it('prefers help when both are asked for', () => {
    assert.equal(loadConfig(['-v', '-h'], {}, '1.2.3').kind, 'help');
  });

  it('lists every flag with its variable and default, and the exit codes', () => {
    const text = helpText();
    const expected: [string, string, string][] = [
      ['--flink-conf-dir <dir>', 'FLINK_CONF_DIR', 'default /opt/flink/conf'],
      ['--zookeeper-quorum <host:port,...[/chroot]>', 'ZOOKEEPER_QUORUM', 'required'],
      ['--zookeeper-root <path>', 'ZOOKEEPER_ROOT', 'default /flink'],
      ['--cluster-id <path>', 'FLINK_CLUSTER_ID', 'default /default'],
      ['--layout <layout>', 'FLINK_HA_LAYOUT', 'default auto'],
      ['--zookeeper-latch-path <path>', 'ZOOKEEPER_LATCH_PATH', 'default /leaderlatch'],
      ['--zookeeper-leader-path <path>', 'ZOOKEEPER_LEADER_PATH', 'default /leader'],
      ['--zookeeper-session-timeout-ms <ms>', 'ZOOKEEPER_SESSION_TIMEOUT_MS', 'default 10000'],
      ['--flink-session-timeout-ms <ms>', 'FLINK_SESSION_TIMEOUT_MS', 'default 60000'],
      ['--tolerate-suspended-connections <true|false>', 'FLINK_TOLERATE_SUSPENDED_CONNECTIONS', 'default false'],
      ['--flink-rest-url <url>', 'FLINK_REST_URL', 'default http://127.0.0.1:8081'],
      ['--flink-rest-ca-file <file>', 'FLINK_REST_CA_FILE', "default: Node's default CAs"],
      ['--flink-rest-cert-file <file>', 'FLINK_REST_CERT_FILE', 'default: none'],
      ['--flink-rest-key-file <file>', 'FLINK_REST_KEY_FILE', 'default: none'],
      ['--advertised-address <host,...>', 'POD_IP', "default: the pod's interface addresses"],
      ['--jobmanager-check-interval-ms <ms>', 'JOBMANAGER_CHECK_INTERVAL_MS', 'default 2000'],
      ['--jobmanager-check-timeout-ms <ms>', 'JOBMANAGER_CHECK_TIMEOUT_MS', 'default 1000'],
      ['--host <host>', 'SIDECAR_HOST', 'default: :: with fallback to 0.0.0.0'],
      ['--port <port>', 'SIDECAR_PORT', 'default 8090'],
      ['--shutdown-timeout-ms <ms>', 'SHUTDOWN_TIMEOUT_MS', 'default 10000'],
      ['--routing-mode <readiness|label>', 'ROUTING_MODE', 'default readiness'],
      ['--pod-name <name>', 'POD_NAME', 'default: none (required with --routing-mode=label)'],
      ['--pod-namespace <namespace>', 'POD_NAMESPACE', 'default: none (required with --routing-mode=label)'],
      ['--role-label <key>', 'ROLE_LABEL', 'default flink-ha-sidecar/role'],
      ['--role-label-leader-value <value>', 'ROLE_LABEL_LEADER_VALUE', 'default leader'],
      ['--role-label-standby-value <value>', 'ROLE_LABEL_STANDBY_VALUE', 'default standby'],
      ['--pod-cluster-label <key>', 'POD_CLUSTER_LABEL', 'default app.kubernetes.io/instance'],
      ['--label-failure-readiness-timeout-ms <ms>', 'LABEL_FAILURE_READINESS_TIMEOUT_MS', 'default 30000'],
      ['--log-level <level>', 'LOG_LEVEL', 'default info'],
    ];
    for (const [flag, env, fallback] of expected) {
      assert.ok(text.includes(`\n  ${flag}\n      ${env}, ${fallback}\n`), `help lacks ${flag}`);
    }
    assert.match(text, /A server without a port uses 2181/);
    // Settings Flink has too name their Flink keys, deprecated ones included.
    assert.match(text, /\n {6}Flink file: high-availability\.zookeeper\.quorum \(deprecated: recovery\.zookeeper\.quorum\)\n/);
    assert.match(
      text,
      /\n {6}Flink file: high-availability\.cluster-id \(deprecated:\n {8}high-availability\.zookeeper\.path\.namespace, recovery\.zookeeper\.path\.namespace\)\n/,
    );
    assert.match(text, /the variable over\nFlink's configuration file/);
    for (const line of text.split('\n')) assert.ok(line.length <= 100, `help line over 100 characters: ${line}`);
    assert.match(text, /\n {2}-h, --help {7}Show this help and exit\.\n/);
    assert.match(text, /\n {2}-v, --version {4}Show the version and exit\.\n/);
    assert.match(
      text,
      /\nExit codes:\n {2}0 {2}help or version shown, or stopped cleanly.*\n {2}1 {2}failure at run time.*\n {2}2 {2}invalid settings/,
    );
    assert.match(text, /flink-ha-sidecar status \[--json\]/);
    assert.ok(text.endsWith('\n'));
  });
});

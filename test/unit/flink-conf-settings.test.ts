/**
 * Covers loadConfig (src/config/) with Flink's configuration file: precedence flag > environment >
 * file > default with the source recorded per setting; every file-backed setting from both file
 * formats; deprecated keys; the HA type check; the REST URL derived from Flink's REST and SSL keys;
 * TLS files and mutual TLS; missing, unreadable and malformed files; every invalid value with its
 * exact problem (file, line, column, Flink key); secrets planted in the files never appearing in a
 * problem or in the Config. Realistic files from test/fixtures/flink-conf are read from disk.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig, type Config, type LoadOptions, type SettingName, type SettingSource } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';

type Env = Record<string, string>;
type Files = Record<string, string>;

const FIXTURES = join(__dirname, '..', 'fixtures', 'flink-conf');
const CONF = '/conf';
const LEGACY = `${CONF}/flink-conf.yaml`;
const YAML = `${CONF}/config.yaml`;

/** FLINK_CONF_DIR /conf holding `files` (name -> text); no other directory exists. */
function filesIo(files: Files, dirExists = true): LoadOptions {
  return {
    readFile: (path) => {
      const name = path.startsWith(`${CONF}/`) ? path.slice(CONF.length + 1) : undefined;
      const text = name === undefined ? undefined : files[name];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return text;
    },
    isDirectory: (path) => dirExists && path === CONF,
  };
}

function run(argv: readonly string[], env: Env, options: LoadOptions): Config {
  const result = loadConfig(argv, env, '1.2.3', options);
  assert.equal(result.kind, 'run');
  return result.config;
}

function refused(argv: readonly string[], env: Env, options: LoadOptions): readonly string[] {
  try {
    loadConfig(argv, env, '1.2.3', options);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

const withFiles = (files: Files, argv: readonly string[] = [], env: Env = {}): Config =>
  run(argv, { FLINK_CONF_DIR: CONF, ...env }, filesIo(files));
const problemsWith = (files: Files, argv: readonly string[] = [], env: Env = {}): readonly string[] =>
  refused(argv, { FLINK_CONF_DIR: CONF, ...env }, filesIo(files));

/** A fixture directory read from disk, as in a pod. */
const fixture = (name: string, env: Env = {}, argv: readonly string[] = []): Config =>
  run(argv, { FLINK_CONF_DIR: join(FIXTURES, name), ...env }, {});
const fixtureProblems = (name: string, env: Env = {}): readonly string[] =>
  refused([], { FLINK_CONF_DIR: join(FIXTURES, name), ...env }, {});

const TLS_DIR = mkdtempSync(join(tmpdir(), 'flink-conf-settings-tls-'));
after(() => rmSync(TLS_DIR, { recursive: true, force: true }));
const CERT = join(TLS_DIR, 'client.pem');
const KEY = join(TLS_DIR, 'client-key.pem');
const CA = join(TLS_DIR, 'ca.pem');
writeFileSync(CERT, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
writeFileSync(KEY, '-----BEGIN PRIVATE KEY-----\nplanted-private-key-material\n-----END PRIVATE KEY-----\n');
writeFileSync(CA, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');

const DEFAULT_SOURCES: Record<SettingName, SettingSource> = {
  flinkConfDir: 'environment',
  leaderSource: 'default',
  zookeeperQuorum: 'default',
  zookeeperRoot: 'default',
  clusterId: 'default',
  layout: 'default',
  zookeeperLatchPath: 'default',
  zookeeperLeaderPath: 'default',
  zookeeperSessionTimeoutMs: 'default',
  kubernetesClusterId: 'default',
  kubernetesNamespace: 'default',
  kubeconfig: 'default',
  zookeeperAuthorization: 'default',
  flinkSessionTimeoutMs: 'default',
  tolerateSuspendedConnections: 'default',
  flinkRestUrl: 'default',
  flinkRestCaFile: 'default',
  flinkRestCertFile: 'default',
  flinkRestKeyFile: 'default',
  flinkRestTruststore: 'default',
  flinkRestTruststorePassword: 'default',
  flinkRestServerName: 'default',
  advertisedAddresses: 'default',
  jobmanagerCheckIntervalMs: 'default',
  jobmanagerCheckTimeoutMs: 'default',
  jobmanagerLivenessGraceMs: 'default',
  jobmanagerStartupAllowanceMs: 'default',
  host: 'default',
  port: 'default',
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

/** Config with the URL as its href, so that deepEqual compares what matters. */
function plain(config: Config): Record<string, unknown> {
  return { ...config, flinkRestUrl: config.flinkRestUrl.href };
}

describe('Flink file: realistic files from disk', () => {
  it("reads a legacy flink-conf.yaml like Flink 1.18's, with ZooKeeper HA as the docs set it up", () => {
    const dir = join(FIXTURES, 'legacy-zookeeper');
    assert.deepEqual(plain(fixture('legacy-zookeeper')), {
      flinkConfDir: dir,
      flinkConfFile: join(dir, 'flink-conf.yaml'),
      flinkRestAddress: 'flink-jobmanager',
      flinkConfFacts: { format: 'legacy', shadowsStandardFile: false, setsHaTypeOnly: true, restSslFromSharedKeyOnly: false },
      leaderSource: 'zookeeper',
      zookeeperQuorum: {
        servers: [
          { host: 'zk-0.zk-hs', port: 2181 },
          { host: 'zk-1.zk-hs', port: 2181 },
          { host: 'zk-2.zk-hs', port: 2181 },
        ],
        chroot: null,
        connectString: 'zk-0.zk-hs:2181,zk-1.zk-hs:2181,zk-2.zk-hs:2181',
      },
      zookeeperRoot: '/flink',
      clusterId: '/cluster_one',
      layout: 'auto',
      zookeeperLatchPath: '/leaderlatch',
      zookeeperLeaderPath: '/leader',
      zookeeperSessionTimeoutMs: 10000,
      kubernetesClusterId: null,
      kubernetesNamespace: 'default',
      kubeconfig: null,
      zookeeperAuthorization: null,
      flinkSessionTimeoutMs: 30000,
      tolerateSuspendedConnections: true,
      flinkRestUrl: 'http://127.0.0.1:8081/',
      flinkRestTls: { caFile: null, certFile: null, keyFile: null, truststore: null, serverName: null },
      advertisedAddresses: null,
      jobmanagerCheckIntervalMs: 2000,
      jobmanagerCheckTimeoutMs: 1000,
      jobmanagerLivenessGraceMs: 60000,
      jobmanagerStartupAllowanceMs: 180000,
      host: null,
      port: 8090,
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
      sources: {
        ...DEFAULT_SOURCES,
        leaderSource: 'flink-conf',
        zookeeperQuorum: 'flink-conf',
        zookeeperRoot: 'flink-conf',
        clusterId: 'flink-conf',
        flinkSessionTimeoutMs: 'flink-conf',
        tolerateSuspendedConnections: 'flink-conf',
        flinkRestUrl: 'flink-conf',
      },
    });
  });

  it('reads a nested config.yaml with REST over mutual TLS, given the client certificate', () => {
    const config = fixture('standard-nested', { FLINK_REST_CERT_FILE: CERT, FLINK_REST_KEY_FILE: KEY, FLINK_REST_CA_FILE: CA });
    assert.deepEqual(
      {
        file: config.flinkConfFile,
        quorum: config.zookeeperQuorum!.connectString,
        root: config.zookeeperRoot,
        clusterId: config.clusterId,
        sessionMs: config.flinkSessionTimeoutMs,
        tolerate: config.tolerateSuspendedConnections,
        url: config.flinkRestUrl.href,
        tls: config.flinkRestTls,
        restAddress: config.flinkRestAddress,
      },
      {
        file: join(FIXTURES, 'standard-nested', 'config.yaml'),
        quorum: 'zk-0.zk-hs:2181,zk-1.zk-hs:2181,zk-2.zk-hs:2181/chroot',
        root: '/flink-ha',
        clusterId: '/session-a',
        sessionMs: 60000,
        tolerate: true,
        url: 'https://127.0.0.1:8443/',
        tls: { caFile: CA, certFile: CERT, keyFile: KEY, truststore: null, serverName: null },
        restAddress: 'flink-jobmanager',
      },
    );
  });

  it('reads cluster-ids that YAML 1.1 would turn into numbers or dates as the strings Flink reads', () => {
    for (const [written, id] of [
      ['1_234567', '/1_234567'],
      ['010', '/10'],
      ['0b101', '/0b101'],
      ['1:00', '/1:00'],
      ['2024-06-01', '/2024-06-01'],
      ['yes', '/yes'],
      ["'010'", '/010'],
    ]) {
      const config = withFiles({ 'config.yaml': `high-availability.zookeeper.quorum: zk\nhigh-availability.cluster-id: ${written}` });
      assert.equal(config.clusterId, id, written);
    }
  });

  it('reads flat dotted keys as in the ZooKeeper HA docs', () => {
    const config = fixture('standard-flat');
    assert.deepEqual(
      [config.zookeeperQuorum!.connectString, config.clusterId, config.flinkSessionTimeoutMs, config.flinkRestUrl.href],
      ['zk-a:2181,zk-b:2181', '/cluster_one', 90000, 'http://127.0.0.1:8082/'],
    );
  });

  it('reads a mix of nested and flat keys with anchors, quotes and booleans', () => {
    const config = fixture('standard-mixed');
    assert.deepEqual(
      {
        quorum: config.zookeeperQuorum!.connectString,
        root: config.zookeeperRoot,
        clusterId: config.clusterId,
        latch: config.zookeeperLatchPath,
        sessionMs: config.flinkSessionTimeoutMs,
        tolerate: config.tolerateSuspendedConnections,
        url: config.flinkRestUrl.href,
      },
      {
        quorum: 'zk-m0:2181,zk-m1:2181',
        root: '/mixed-root',
        clusterId: '/mixed # not a comment inside quotes',
        latch: '/latches',
        sessionMs: 45000,
        tolerate: true,
        url: 'http://127.0.0.1:8085/',
      },
    );
  });

  it('reads flink-conf.yaml when config.yaml is beside it', () => {
    const config = fixture('both-files');
    assert.deepEqual(
      [config.flinkConfFile, config.zookeeperQuorum!.connectString, config.clusterId],
      [join(FIXTURES, 'both-files', 'flink-conf.yaml'), 'zk-legacy:2181', '/from-flink-conf'],
    );
  });

  it('needs the quorum from elsewhere with the config.yaml Flink 1.19 ships, and then takes it', () => {
    const dir = join(FIXTURES, 'shipped-default-1.19');
    assert.deepEqual(fixtureProblems('shipped-default-1.19'), [
      '--zookeeper-quorum / ZOOKEEPER_QUORUM: required, e.g. zk-0:2181,zk-1:2181,zk-2:2181, or ' +
        `high-availability.zookeeper.quorum in Flink's configuration file (${join(dir, 'config.yaml')} does not set it)`,
    ]);
    const config = fixture('shipped-default-1.19', { ZOOKEEPER_QUORUM: 'zk:2181' });
    // rest.bind-address: localhost is reachable on 127.0.0.1; rest.address is only informational.
    assert.deepEqual(
      [config.flinkRestUrl.href, config.flinkRestAddress, config.sources.flinkRestUrl],
      ['http://127.0.0.1:8081/', 'localhost', 'flink-conf'],
    );
  });

  it('points at a legacy line that Flink skips for want of ": "', () => {
    const path = join(FIXTURES, 'legacy-quirks', 'flink-conf.yaml');
    assert.deepEqual(fixtureProblems('legacy-quirks'), [
      '--zookeeper-quorum / ZOOKEEPER_QUORUM: required, e.g. zk-0:2181,zk-1:2181,zk-2:2181, or ' +
        `high-availability.zookeeper.quorum in Flink's configuration file (${path} does not set it); ` +
        `${path}:6 sets high-availability.zookeeper.quorum without ": " after the key, so Flink skips that line`,
    ]);
    const config = fixture('legacy-quirks', { ZOOKEEPER_QUORUM: 'zk:2181' });
    // Quotes stay (the JobManager keeps them too), '#' cuts, ': ' splits once, the last rest.port wins.
    assert.deepEqual(
      [config.zookeeperRoot, config.clusterId, config.zookeeperLatchPath, config.zookeeperLeaderPath, config.flinkRestUrl.port],
      ['/quirks', '/"quoted-id"', '/latch', '/leader: with a colon', '9091'],
    );
    assert.equal(config.sources.flinkSessionTimeoutMs, 'default');
  });
});

/** Each setting Flink has too: a file line that sets it, and values from each source. */
const PRECEDENCE_CASES: {
  name: SettingName;
  line: string;
  fromFile: unknown;
  env: [string, string, unknown];
  flag: [string, unknown];
}[] = [
  {
    name: 'zookeeperQuorum',
    line: 'high-availability.zookeeper.quorum: zk-f:2181',
    fromFile: 'zk-f:2181',
    env: ['ZOOKEEPER_QUORUM', 'zk-e:2181', 'zk-e:2181'],
    flag: ['--zookeeper-quorum=zk-c', 'zk-c:2181'],
  },
  {
    name: 'zookeeperRoot',
    line: 'high-availability.zookeeper.path.root: file-root/',
    fromFile: '/file-root',
    env: ['ZOOKEEPER_ROOT', '/env-root', '/env-root'],
    flag: ['--zookeeper-root=/flag-root', '/flag-root'],
  },
  {
    name: 'clusterId',
    line: 'high-availability.cluster-id: file-id',
    fromFile: '/file-id',
    env: ['FLINK_CLUSTER_ID', 'env-id', '/env-id'],
    flag: ['--cluster-id=flag-id', '/flag-id'],
  },
  {
    name: 'zookeeperLatchPath',
    line: 'high-availability.zookeeper.path.latch: /file-latch',
    fromFile: '/file-latch',
    env: ['ZOOKEEPER_LATCH_PATH', '/env-latch', '/env-latch'],
    flag: ['--zookeeper-latch-path=/flag-latch', '/flag-latch'],
  },
  {
    name: 'zookeeperLeaderPath',
    line: 'high-availability.zookeeper.path.leader: /file-leader',
    fromFile: '/file-leader',
    env: ['ZOOKEEPER_LEADER_PATH', '/env-leader', '/env-leader'],
    flag: ['--zookeeper-leader-path=/flag-leader', '/flag-leader'],
  },
  {
    name: 'flinkSessionTimeoutMs',
    line: 'high-availability.zookeeper.client.session-timeout: 90 s',
    fromFile: 90000,
    env: ['FLINK_SESSION_TIMEOUT_MS', '15000', 15000],
    flag: ['--flink-session-timeout-ms=20000', 20000],
  },
  {
    name: 'tolerateSuspendedConnections',
    line: 'high-availability.zookeeper.client.tolerate-suspended-connections: True',
    fromFile: true,
    env: ['FLINK_TOLERATE_SUSPENDED_CONNECTIONS', 'false', false],
    flag: ['--tolerate-suspended-connections=true', true],
  },
  {
    name: 'flinkRestUrl',
    line: 'rest.port: 9000',
    fromFile: 'http://127.0.0.1:9000/',
    env: ['FLINK_REST_URL', 'http://jm-env:1', 'http://jm-env:1/'],
    flag: ['--flink-rest-url=http://jm-flag:2', 'http://jm-flag:2/'],
  },
];

function valueOf(config: Config, name: SettingName): unknown {
  const value = config[name as keyof Config];
  if (value instanceof URL) return value.href;
  if (name === 'zookeeperQuorum') return config.zookeeperQuorum!.connectString;
  return value;
}

describe('Flink file: precedence flag > environment > file > default', () => {
  for (const format of ['flink-conf.yaml', 'config.yaml'] as const) {
    for (const c of PRECEDENCE_CASES) {
      const quorum = c.name === 'zookeeperQuorum' ? '' : 'high-availability.zookeeper.quorum: zk-base:2181\n';
      const files = { [format]: `${quorum}${c.line}\n` };

      it(`${c.name} from ${format}, recorded as flink-conf`, () => {
        const config = withFiles(files);
        assert.deepEqual(valueOf(config, c.name), c.fromFile);
        assert.equal(config.sources[c.name], 'flink-conf');
        assert.equal(config.flinkConfFile, `${CONF}/${format}`);
      });

      it(`${c.name}: ${c.env[0]} beats ${format}`, () => {
        const config = withFiles(files, [], { [c.env[0]]: c.env[1] });
        assert.deepEqual(valueOf(config, c.name), c.env[2]);
        assert.equal(config.sources[c.name], 'environment');
      });

      it(`${c.name}: the flag beats ${c.env[0]} and ${format}`, () => {
        const config = withFiles(files, [c.flag[0]], { [c.env[0]]: c.env[1] });
        assert.deepEqual(valueOf(config, c.name), c.flag[1]);
        assert.equal(config.sources[c.name], 'flag');
      });
    }
  }

  it('keeps defaults, recorded as default, for what the file does not set', () => {
    const config = withFiles({ 'config.yaml': 'high-availability.zookeeper.quorum: zk:2181\n' });
    assert.deepEqual(config.sources, { ...DEFAULT_SOURCES, zookeeperQuorum: 'flink-conf' });
    assert.deepEqual(
      [config.zookeeperRoot, config.clusterId, config.flinkSessionTimeoutMs, config.tolerateSuspendedConnections, config.flinkRestUrl.href],
      ['/flink', '/default', 60000, false, 'http://127.0.0.1:8081/'],
    );
  });

  it('does not validate a file value that a flag or variable overrides', () => {
    const config = withFiles(
      { 'flink-conf.yaml': 'high-availability.zookeeper.quorum: zk:0\nrest.port: 0\n' },
      ['--zookeeper-quorum=zk:2181'],
      { FLINK_REST_URL: 'http://127.0.0.1:8081' },
    );
    assert.equal(config.zookeeperQuorum!.connectString, 'zk:2181');
  });

  it('reads a setting from the file under FLINK_CONF_DIR given as a flag', () => {
    const config = run(
      ['--flink-conf-dir', CONF],
      {},
      filesIo({ 'config.yaml': 'high-availability.cluster-id: x\nhigh-availability.zookeeper.quorum: zk\n' }),
    );
    assert.deepEqual([config.clusterId, config.sources.flinkConfDir, config.sources.clusterId], ['/x', 'flag', 'flink-conf']);
  });
});

describe('Flink file: deprecated keys', () => {
  const QUORUM = 'high-availability.zookeeper.quorum: zk:2181\n';
  const CLUSTER_ID_CASES: [title: string, lines: string, expected: string][] = [
    ['high-availability.zookeeper.path.namespace alone', 'high-availability.zookeeper.path.namespace: ns-1', '/ns-1'],
    ['recovery.zookeeper.path.namespace alone', 'recovery.zookeeper.path.namespace: ns-2', '/ns-2'],
    [
      'high-availability.cluster-id before both deprecated names',
      'recovery.zookeeper.path.namespace: old\nhigh-availability.zookeeper.path.namespace: older\nhigh-availability.cluster-id: new',
      '/new',
    ],
    [
      'high-availability.zookeeper.path.namespace before recovery.zookeeper.path.namespace, whatever the line order',
      'high-availability.zookeeper.path.namespace: first\nrecovery.zookeeper.path.namespace: second',
      '/first',
    ],
  ];
  for (const [title, lines, expected] of CLUSTER_ID_CASES) {
    it(`cluster-id: ${title}`, () => {
      const config = withFiles({ 'flink-conf.yaml': `${QUORUM}${lines}\n` });
      assert.deepEqual([config.clusterId, config.sources.clusterId], [expected, 'flink-conf']);
    });
  }

  it('reads every other recovery.* name of the ZooKeeper keys', () => {
    const config = withFiles({
      'flink-conf.yaml': [
        'recovery.zookeeper.quorum: zk-old:2181',
        'recovery.zookeeper.path.root: /old-root',
        'recovery.zookeeper.path.latch: /old-latch',
        'recovery.zookeeper.path.leader: /old-leader',
        'recovery.zookeeper.client.session-timeout: 45000',
        'recovery.mode: zookeeper',
      ].join('\n'),
    });
    assert.deepEqual(
      [
        config.zookeeperQuorum!.connectString,
        config.zookeeperRoot,
        config.zookeeperLatchPath,
        config.zookeeperLeaderPath,
        config.flinkSessionTimeoutMs,
      ],
      ['zk-old:2181', '/old-root', '/old-latch', '/old-leader', 45000],
    );
  });

  it('names the deprecated key that gave an invalid value', () => {
    assert.deepEqual(problemsWith({ 'flink-conf.yaml': `${QUORUM}high-availability.zookeeper.path.namespace: a//b\n` }), [
      `${LEGACY}:2: high-availability.zookeeper.path.namespace: "a//b" has an empty segment ("//")`,
    ]);
  });
});

describe('Flink file: durations', () => {
  const QUORUM = 'high-availability.zookeeper.quorum: zk:2181\n';
  for (const [text, ms] of [
    ['60 s', 60000],
    ['60000', 60000],
    ['1 min', 60000],
    ['2m', 120000],
    ['1500 ms', 1500],
    ['1 h', 3600000],
  ] as const) {
    it(`session-timeout ${JSON.stringify(text)} is ${ms} ms`, () => {
      const config = withFiles({ 'config.yaml': `${QUORUM}high-availability.zookeeper.client.session-timeout: ${text}\n` });
      assert.equal(config.flinkSessionTimeoutMs, ms);
    });
  }
  it('reads a YAML integer as milliseconds', () => {
    const config = withFiles({ 'config.yaml': `${QUORUM}high-availability:\n  zookeeper:\n    client:\n      session-timeout: 45000\n` });
    assert.equal(config.flinkSessionTimeoutMs, 45000);
  });
});

describe('Flink file: the high-availability type', () => {
  const QUORUM = 'high-availability.zookeeper.quorum: zk:2181\n';
  const wanted = 'the sidecar reads the leader election of ZooKeeper or Kubernetes high availability';
  const CASES: [title: string, files: Files, problem: string | null][] = [
    ['high-availability.type: zookeeper', { 'flink-conf.yaml': 'high-availability.type: zookeeper' }, null],
    ['ZooKeeper in any case', { 'config.yaml': 'high-availability:\n  type: ZooKeeper' }, null],
    ['the deprecated high-availability: zookeeper', { 'flink-conf.yaml': 'high-availability: ZOOKEEPER' }, null],
    ['the deprecated recovery.mode: zookeeper', { 'flink-conf.yaml': 'recovery.mode: zookeeper' }, null],
    ['no type at all (a -D argument may set it)', { 'flink-conf.yaml': 'rest.port: 8081' }, null],
    [
      'NONE',
      { 'flink-conf.yaml': 'high-availability.type: NONE' },
      `${LEGACY}:2: high-availability.type: "NONE" turns high availability off, so no JobManager is elected; ${wanted}`,
    ],
    [
      "the old default 'standalone'",
      { 'flink-conf.yaml': 'high-availability: standalone' },
      `${LEGACY}:2: high-availability: "standalone" turns high availability off, so no JobManager is elected; ${wanted}`,
    ],
    [
      'a custom factory class name',
      { 'config.yaml': 'high-availability.type: com.example.MyHaServicesFactory' },
      `${YAML}:2:25: high-availability.type: "com.example.MyHaServicesFactory" names a custom high-availability services factory; ${wanted}`,
    ],
    [
      'a list',
      { 'config.yaml': 'high-availability.type: [zookeeper]' },
      `${YAML}:2:25: high-availability.type is a YAML list; Flink expects a single value here`,
    ],
    [
      'high-availability.type before the deprecated keys',
      { 'flink-conf.yaml': 'high-availability: NONE\nhigh-availability.type: zookeeper' },
      null,
    ],
    [
      'recovery.mode before high-availability, as Flink looks them up',
      { 'flink-conf.yaml': 'high-availability: zookeeper\nrecovery.mode: NONE' },
      `${LEGACY}:3: recovery.mode: "NONE" turns high availability off, so no JobManager is elected; ${wanted}`,
    ],
  ];
  for (const [title, files, problem] of CASES) {
    it(`${problem === null ? 'accepts' : 'refuses'} ${title}`, () => {
      const withQuorum = Object.fromEntries(Object.entries(files).map(([name, text]) => [name, `${QUORUM}${text}\n`]));
      if (problem === null) assert.equal(withFiles(withQuorum).zookeeperQuorum!.connectString, 'zk:2181');
      else assert.deepEqual(problemsWith(withQuorum), [problem]);
    });
  }

  it("takes Kubernetes HA from the file, with its cluster-id and namespace, and Flink's defaults", () => {
    const config = fixture('kubernetes-ha', { KUBECONFIG: CA });
    assert.deepEqual(
      [config.leaderSource, config.kubernetesClusterId, config.kubernetesNamespace, config.kubeconfig, config.zookeeperQuorum],
      ['kubernetes', 'my-cluster', 'default', CA, null],
    );
    assert.equal(config.sources.leaderSource, 'flink-conf');
  });

  const K8S = `kubernetes.cluster-id: flink-a\nkubernetes.namespace: analytics\nkubernetes.config.file: ${CA}\n`;
  for (const [title, type] of [
    ['kubernetes, nested in config.yaml', 'high-availability:\n  type: kubernetes'],
    ['KUBERNETES in any case', 'high-availability.type: KUBERNETES'],
    ["Flink's factory class name", 'high-availability.type: org.apache.flink.kubernetes.highavailability.KubernetesHaServicesFactory'],
    ['the deprecated high-availability: kubernetes', 'high-availability: kubernetes'],
  ] as const) {
    it(`takes ${title} as the Kubernetes source, its keys from the file`, () => {
      const config = withFiles({ 'config.yaml': `${K8S}${type}\n` });
      assert.deepEqual(
        [config.leaderSource, config.kubernetesClusterId, config.kubernetesNamespace, config.kubeconfig],
        ['kubernetes', 'flink-a', 'analytics', CA],
      );
    });
  }

  it('needs, for Kubernetes HA, the cluster-id, a Kubernetes layout and credentials, and says so', () => {
    assert.deepEqual(problemsWith({ 'config.yaml': 'high-availability.type: kubernetes\n' }, ['--layout=1.13']), [
      "--kubernetes-cluster-id / KUBERNETES_CLUSTER_ID: required with --leader-source=kubernetes, e.g. my-flink-cluster, or kubernetes.cluster-id in Flink's configuration file (/conf/config.yaml does not set it)",
      '--layout / FLINK_HA_LAYOUT: 1.13 is a ZooKeeper layout; Kubernetes high availability has 1.15 (Flink 1.15 and later), 1.14 (Flink 1.12 to 1.14) and auto',
      "--leader-source / LEADER_SOURCE: kubernetes reads Flink's ConfigMaps through the Kubernetes API, and --kubeconfig / KUBECONFIG is not set; " +
        "the pod's service account cannot be used here: KUBERNETES_SERVICE_HOST is not set; KUBERNETES_SERVICE_PORT is not set; " +
        '/var/run/secrets/kubernetes.io/serviceaccount/token cannot be read; /var/run/secrets/kubernetes.io/serviceaccount/ca.crt cannot be read',
    ]);
  });

  it('refuses a cluster-id that cannot name a ConfigMap, and a namespace that is no namespace name', () => {
    assert.deepEqual(
      problemsWith(
        { 'config.yaml': `high-availability.type: kubernetes\nkubernetes.cluster-id: My_Cluster\nkubernetes.namespace: Not/A/Namespace\n` },
        [],
        { KUBECONFIG: CA },
      ),
      [
        `${YAML}:2:24: kubernetes.cluster-id: "My_Cluster" cannot name a ConfigMap (<cluster-id>-cluster-config-map must be a lowercase DNS subdomain of at most 253 characters)`,
        `${YAML}:3:23: kubernetes.namespace: "Not/A/Namespace" is not a namespace name (lowercase DNS label, at most 63 characters)`,
      ],
    );
  });

  it('lets --leader-source beat the file, and needs no quorum for Kubernetes', () => {
    const config = withFiles(
      { 'config.yaml': 'high-availability.type: zookeeper\n' },
      ['--leader-source=kubernetes', '--kubernetes-cluster-id=c1'],
      { KUBECONFIG: CA },
    );
    assert.deepEqual([config.leaderSource, config.kubernetesClusterId, config.zookeeperQuorum], ['kubernetes', 'c1', null]);
  });
});

describe('Flink file: the REST URL', () => {
  const QUORUM = 'high-availability.zookeeper.quorum: zk:2181\n';
  const CASES: [title: string, lines: string, url: string][] = [
    ['SSL on: https', 'security.ssl.rest.enabled: true', 'https://127.0.0.1:8081/'],
    ['the deprecated security.ssl.enabled', 'security.ssl.enabled: true', 'https://127.0.0.1:8081/'],
    [
      'security.ssl.rest.enabled before security.ssl.enabled',
      'security.ssl.enabled: true\nsecurity.ssl.rest.enabled: false',
      'http://127.0.0.1:8081/',
    ],
    ['rest.port', 'rest.port: 9000', 'http://127.0.0.1:9000/'],
    ['rest.bind-port before rest.port, first port of a range', 'rest.port: 9000\nrest.bind-port: 8443-8450', 'http://127.0.0.1:8443/'],
    ['the first port of a list of ranges', 'rest.bind-port: 50100,50200-50300', 'http://127.0.0.1:50100/'],
    ['the first port, blanks around entries', 'rest.bind-port:  8082 , 8083 ', 'http://127.0.0.1:8082/'],
    ['the old web.port', 'web.port: 8088', 'http://127.0.0.1:8088/'],
    ['bind address 0.0.0.0: loopback', 'rest.bind-address: 0.0.0.0', 'http://127.0.0.1:8081/'],
    ['bind address :: : loopback', 'rest.bind-address: "::"', 'http://127.0.0.1:8081/'],
    ['bind address localhost: loopback', 'rest.bind-address: LocalHost', 'http://127.0.0.1:8081/'],
    ['one IPv4 bind address: only it answers', 'rest.bind-address: 10.1.2.3', 'http://10.1.2.3:8081/'],
    ['one IPv6 bind address, bracketed', 'rest.bind-address: "fd00:0::1"', 'http://[fd00::1]:8081/'],
    ['a bind host name', 'rest.bind-address: JM-0.Flink.svc', 'http://jm-0.flink.svc:8081/'],
    ['everything together', 'security.ssl.rest.enabled: true\nrest.bind-port: 8443\nrest.bind-address: 0.0.0.0', 'https://127.0.0.1:8443/'],
    ['rest.address is advertised, not bound: ignored', 'rest.address: flink-jobmanager', 'http://127.0.0.1:8081/'],
  ];
  for (const [title, lines, url] of CASES) {
    it(`${title}: ${url}`, () => {
      assert.equal(withFiles({ 'config.yaml': `${QUORUM}${lines}\n` }).flinkRestUrl.href, url);
    });
  }

  it('keeps FLINK_REST_URL over the file', () => {
    const config = withFiles({ 'config.yaml': `${QUORUM}security.ssl.rest.enabled: true\n` }, [], { FLINK_REST_URL: 'http://jm:8081' });
    assert.deepEqual([config.flinkRestUrl.href, config.sources.flinkRestUrl], ['http://jm:8081/', 'environment']);
  });

  it('records rest.address, falling back to jobmanager.rpc.address, for debugging only', () => {
    assert.equal(withFiles({ 'config.yaml': `${QUORUM}jobmanager.rpc.address: jm-rpc\n` }).flinkRestAddress, 'jm-rpc');
    assert.equal(
      withFiles({ 'config.yaml': `${QUORUM}jobmanager.rpc.address: jm-rpc\nrest.address: jm-rest\n` }).flinkRestAddress,
      'jm-rest',
    );
    assert.equal(withFiles({ 'config.yaml': QUORUM }).flinkRestAddress, null);
  });
});

describe("Flink file: ZooKeeper authorization (Flink 1.20's high-availability.zookeeper.client.authorization)", () => {
  const QUORUM = 'high-availability.zookeeper.quorum: zk:2181\n';
  const DIGEST = [{ scheme: 'digest', credentials: 'flink:s3cret' }];

  // Each spelling was read by Flink 1.20.5's own Configuration as {digest=flink:s3cret}.
  for (const [title, files] of [
    ['the map syntax, quoted', { 'config.yaml': `${QUORUM}high-availability.zookeeper.client.authorization: "digest:'flink:s3cret'"\n` }],
    ['a nested YAML map', { 'config.yaml': `${QUORUM}high-availability.zookeeper.client.authorization:\n  digest: flink:s3cret\n` }],
    ['a flow YAML map', { 'config.yaml': `${QUORUM}high-availability.zookeeper.client.authorization: {digest: "flink:s3cret"}\n` }],
    ['a prefixed key', { 'config.yaml': `${QUORUM}high-availability.zookeeper.client.authorization.digest: "flink:s3cret"\n` }],
    ['flink-conf.yaml', { 'flink-conf.yaml': `${QUORUM}high-availability.zookeeper.client.authorization: digest:'flink:s3cret'\n` }],
  ] as const) {
    it(`reads ${title}`, () => {
      const config = withFiles(files);
      assert.deepEqual(config.zookeeperAuthorization, DIGEST);
      assert.equal(config.sources.zookeeperAuthorization, 'flink-conf');
    });
  }

  it('refuses what Flink refuses, and other schemes, never quoting the credentials', () => {
    const problems = problemsWith({
      'config.yaml': `${QUORUM}high-availability.zookeeper.client.authorization: digest:flink:s3cret\n`,
    });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /high-availability\.zookeeper\.client\.authorization: is not a Flink map/);
    assert.ok(!problems.join('\n').includes('s3cret'));
    assert.deepEqual(problemsWith({ 'config.yaml': `${QUORUM}high-availability.zookeeper.client.authorization.sasl: "x:s3cret"\n` }), [
      `${YAML}:2:56: high-availability.zookeeper.client.authorization.sasl: scheme "sasl" is not supported: only digest (the ZooKeeper client library has no SASL)`,
    ]);
  });
});

describe('Flink file: TLS for the REST API', () => {
  const HTTPS = 'high-availability.zookeeper.quorum: zk:2181\nsecurity.ssl.rest.enabled: true\n';

  it('needs no client certificate without mutual authentication', () => {
    const config = withFiles({ 'config.yaml': HTTPS }, [`--flink-rest-ca-file=${CA}`]);
    assert.deepEqual(config.flinkRestTls, { caFile: CA, certFile: null, keyFile: null, truststore: null, serverName: null });
  });

  it('asks for the client certificate when Flink requires mutual authentication', () => {
    assert.deepEqual(problemsWith({ 'config.yaml': `${HTTPS}security.ssl.rest.authentication-enabled: true\n` }), [
      `${YAML}:3:43: security.ssl.rest.authentication-enabled: true: the JobManager's REST API accepts only clients ` +
        'with a certificate; set --flink-rest-cert-file / FLINK_REST_CERT_FILE and --flink-rest-key-file / FLINK_REST_KEY_FILE',
    ]);
  });

  it('is satisfied with the certificate and its key', () => {
    const config = withFiles({ 'config.yaml': `${HTTPS}security.ssl.rest.authentication-enabled: true\n` }, [], {
      FLINK_REST_CERT_FILE: CERT,
      FLINK_REST_KEY_FILE: KEY,
    });
    assert.deepEqual(config.flinkRestTls, { caFile: null, certFile: CERT, keyFile: KEY, truststore: null, serverName: null });
  });

  it("takes Flink's own truststore and its password, the REST keys before the shared ones", () => {
    const config = withFiles({
      'config.yaml':
        `${HTTPS}security.ssl.truststore: /nowhere/shared.p12\nsecurity.ssl.truststore-password: shared-pw\n` +
        `security.ssl.rest.truststore: ${CA}\nsecurity.ssl.rest.truststore-password: rest-pw\n`,
    });
    assert.deepEqual(config.flinkRestTls.truststore, { file: CA, password: 'rest-pw' });
    assert.equal(config.sources.flinkRestTruststorePassword, 'flink-conf');
    const shared = withFiles({ 'config.yaml': `${HTTPS}security.ssl.truststore: ${CA}\nsecurity.ssl.truststore-password: shared-pw\n` });
    assert.deepEqual(shared.flinkRestTls.truststore, { file: CA, password: 'shared-pw' });
  });

  it('prefers an explicit CA file to the truststore', () => {
    const config = withFiles({ 'config.yaml': `${HTTPS}security.ssl.rest.truststore: /nowhere/t.p12\n` }, [`--flink-rest-ca-file=${CA}`]);
    assert.deepEqual([config.flinkRestTls.caFile, config.flinkRestTls.truststore], [CA, null]);
  });

  it('refuses a truststore without its password, one that cannot be read and a type other than PKCS12, never quoting a password', () => {
    assert.deepEqual(
      problemsWith({ 'config.yaml': `${HTTPS}security.ssl.rest.truststore: /nowhere/t.p12\nsecurity.ssl.rest.truststore-type: JKS\n` }),
      [
        '--flink-rest-truststore / FLINK_REST_TRUSTSTORE: "/nowhere/t.p12" does not exist',
        '--flink-rest-truststore / FLINK_REST_TRUSTSTORE: the truststore needs its password; ' +
          '--flink-rest-truststore-password / FLINK_REST_TRUSTSTORE_PASSWORD is not set',
        `${YAML}:4:36: security.ssl.rest.truststore-type: "JKS": only PKCS12 truststores can be read; convert it ` +
          '(keytool -importkeystore -deststoretype PKCS12) or give --flink-rest-ca-file / FLINK_REST_CA_FILE',
      ],
    );
    const problems = problemsWith({ 'config.yaml': `${HTTPS}security.ssl.rest.truststore-password: ""\n` });
    assert.deepEqual(problems, [`${YAML}:3:40: security.ssl.rest.truststore-password: must not be empty`]);
  });

  it('ignores a truststore for internal SSL only when REST is http', () => {
    const config = withFiles({ 'config.yaml': 'high-availability.zookeeper.quorum: zk:2181\nsecurity.ssl.truststore: /nowhere/t.p12\n' });
    assert.equal(config.flinkRestUrl.protocol, 'http:');
  });

  it('does not ask when the REST URL is http after all', () => {
    const files = { 'config.yaml': `${HTTPS}security.ssl.rest.authentication-enabled: true\n` };
    assert.equal(withFiles(files, [], { FLINK_REST_URL: 'http://127.0.0.1:8081' }).flinkRestTls.certFile, null);
  });

  it('reports a certificate without its key, and an invalid authentication flag', () => {
    assert.deepEqual(
      problemsWith({ 'flink-conf.yaml': `${HTTPS}security.ssl.rest.authentication-enabled: maybe\n` }, [`--flink-rest-cert-file=${CERT}`]),
      [
        '--flink-rest-cert-file / FLINK_REST_CERT_FILE: a client certificate needs both its certificate and its key; ' +
          '--flink-rest-key-file / FLINK_REST_KEY_FILE is not set',
      ],
    );
    assert.deepEqual(problemsWith({ 'flink-conf.yaml': `${HTTPS}security.ssl.rest.authentication-enabled: maybe\n` }), [
      `${LEGACY}:3: security.ssl.rest.authentication-enabled: "maybe" is not true or false`,
    ]);
  });

  it('keeps only paths in the Config, never what the key file holds', () => {
    const config = withFiles({ 'config.yaml': HTTPS }, [`--flink-rest-cert-file=${CERT}`, `--flink-rest-key-file=${KEY}`]);
    assert.ok(!JSON.stringify(config).includes('planted-private-key-material'));
  });
});

/** Invalid values from the file, each with its exact problem: file, line (and column), Flink key. */
const INVALID_VALUES: [title: string, files: Files, problems: string[]][] = [
  [
    'a quorum with port 0 (legacy: line only)',
    { 'flink-conf.yaml': 'high-availability.zookeeper.quorum: zk:0' },
    [`${LEGACY}:1: high-availability.zookeeper.quorum: server "zk:0": "0" is not a port number (1-65535)`],
  ],
  [
    'a quorum as a YAML list (column too)',
    { 'config.yaml': 'high-availability:\n  zookeeper:\n    quorum: [zk-0:2181, zk-1:2181]' },
    [`${YAML}:3:13: high-availability.zookeeper.quorum is a YAML list; Flink expects a single value here`],
  ],
  [
    'a root path with a dot segment',
    { 'config.yaml': 'high-availability.zookeeper.quorum: zk\nhigh-availability.zookeeper.path.root: /a/../b' },
    [`${YAML}:2:40: high-availability.zookeeper.path.root: "/a/../b" has a "." or ".." segment`],
  ],
  [
    "a boolean spelled as YAML 1.1 spells it (a string under YAML 1.2; Flink's getBoolean refuses it too)",
    { 'config.yaml': 'high-availability.zookeeper.quorum: zk\nhigh-availability.zookeeper.client.tolerate-suspended-connections: yes' },
    [`${YAML}:2:68: high-availability.zookeeper.client.tolerate-suspended-connections: "yes" is not true or false`],
  ],
  [
    'latch and leader paths with empty segments',
    {
      'flink-conf.yaml':
        'high-availability.zookeeper.quorum: zk\nhigh-availability.zookeeper.path.latch: a//b\nhigh-availability.zookeeper.path.leader: c//d',
    },
    [
      `${LEGACY}:2: high-availability.zookeeper.path.latch: "a//b" has an empty segment ("//")`,
      `${LEGACY}:3: high-availability.zookeeper.path.leader: "c//d" has an empty segment ("//")`,
    ],
  ],
  [
    'session timeouts Flink cannot read or the sidecar cannot keep',
    { 'flink-conf.yaml': 'high-availability.zookeeper.quorum: zk\nhigh-availability.zookeeper.client.session-timeout: 60 sec0' },
    [
      `${LEGACY}:2: high-availability.zookeeper.client.session-timeout: "60 sec0": unit "sec0" is not one of d, h, min, m, s, ms, µs, ns (or day, hour, minute, sec, second, milli, micro, nano and their plurals)`,
    ],
  ],
  [
    'a session timeout of 0 ms',
    { 'config.yaml': 'high-availability.zookeeper.quorum: zk\nhigh-availability.zookeeper.client.session-timeout: 0 ms' },
    [`${YAML}:2:53: high-availability.zookeeper.client.session-timeout: "0 ms" is 0 ms, outside 1..2147483647 milliseconds`],
  ],
  [
    'a session timeout beyond an int of milliseconds',
    { 'config.yaml': 'high-availability.zookeeper.quorum: zk\nhigh-availability.zookeeper.client.session-timeout: 25 d' },
    [`${YAML}:2:53: high-availability.zookeeper.client.session-timeout: "25 d" is 2160000000 ms, outside 1..2147483647 milliseconds`],
  ],
  [
    "'yes' for a boolean in flink-conf.yaml (no YAML there: Flink refuses it too)",
    { 'flink-conf.yaml': 'high-availability.zookeeper.quorum: zk\nhigh-availability.zookeeper.client.tolerate-suspended-connections: yes' },
    [`${LEGACY}:2: high-availability.zookeeper.client.tolerate-suspended-connections: "yes" is not true or false`],
  ],
  [
    'SSL flag, port and bind address all wrong, reported together',
    {
      'flink-conf.yaml':
        'high-availability.zookeeper.quorum: zk\nsecurity.ssl.rest.enabled: on\nrest.bind-port: 80a\nrest.bind-address: bad host',
    },
    [
      `${LEGACY}:2: security.ssl.rest.enabled: "on" is not true or false`,
      `${LEGACY}:3: rest.bind-port: "80a" is not a port, a port range (8081-8090) or a comma-separated list of them`,
      `${LEGACY}:4: rest.bind-address: "bad host" is not a host name or IP address`,
    ],
  ],
  [
    'port 0: any free port',
    { 'flink-conf.yaml': 'high-availability.zookeeper.quorum: zk\nrest.port: 0' },
    [
      `${LEGACY}:2: rest.port: "0" lets the JobManager take any free port, which the sidecar cannot know; set --flink-rest-url / FLINK_REST_URL`,
    ],
  ],
  [
    'an empty port range',
    { 'flink-conf.yaml': 'high-availability.zookeeper.quorum: zk\nrest.bind-port: 8090-8081' },
    [`${LEGACY}:2: rest.bind-port: "8090-8081": the range "8090-8081" is empty`],
  ],
  [
    'blanks around the dash of a range, which Flink cannot parse',
    { 'flink-conf.yaml': 'high-availability.zookeeper.quorum: zk\nrest.bind-port: 8081 - 8090' },
    [`${LEGACY}:2: rest.bind-port: "8081 - 8090" is not a port, a port range (8081-8090) or a comma-separated list of them`],
  ],
  [
    'a port above 65535',
    { 'config.yaml': 'high-availability.zookeeper.quorum: zk\nrest.port: 65536' },
    [`${YAML}:2:12: rest.port: "65536" is not a port, a port range (8081-8090) or a comma-separated list of them`],
  ],
];

describe('Flink file: invalid values', () => {
  for (const [title, files, problems] of INVALID_VALUES) {
    it(`refuses ${title}`, () => assert.deepEqual(problemsWith(files), problems));
  }

  it('puts file problems in --help order among the flag problems', () => {
    assert.deepEqual(
      problemsWith(
        { 'flink-conf.yaml': 'high-availability.type: NONE\nhigh-availability.cluster-id: a//b\nrest.port: 0' },
        ['--port=65536'],
        {
          ZOOKEEPER_QUORUM: 'zk:2181',
        },
      ),
      [
        `${LEGACY}:1: high-availability.type: "NONE" turns high availability off, so no JobManager is elected; the sidecar reads the leader election of ZooKeeper or Kubernetes high availability`,
        `${LEGACY}:2: high-availability.cluster-id: "a//b" has an empty segment ("//")`,
        `${LEGACY}:3: rest.port: "0" lets the JobManager take any free port, which the sidecar cannot know; set --flink-rest-url / FLINK_REST_URL`,
        '--port / SIDECAR_PORT: "65536" is not a port number (0-65535)',
      ],
    );
  });
});

describe('Flink file: missing, unreadable and malformed files', () => {
  it('is fine without a file when the quorum comes from the environment', () => {
    const config = withFiles({}, [], { ZOOKEEPER_QUORUM: 'zk:2181' });
    assert.deepEqual([config.flinkConfFile, config.sources.zookeeperQuorum], [null, 'environment']);
  });

  it('says where it looked when the quorum is missing too', () => {
    assert.deepEqual(problemsWith({}), [
      '--zookeeper-quorum / ZOOKEEPER_QUORUM: required, e.g. zk-0:2181,zk-1:2181,zk-2:2181, or ' +
        "high-availability.zookeeper.quorum in Flink's configuration file (/conf has neither flink-conf.yaml nor config.yaml)",
    ]);
  });

  it('is fine without the default directory', () => {
    const config = run([], { ZOOKEEPER_QUORUM: 'zk:2181' }, filesIo({}, false));
    assert.deepEqual([config.flinkConfDir, config.flinkConfFile, config.sources.flinkConfDir], ['/opt/flink/conf', null, 'default']);
  });

  it('refuses a directory named on purpose that does not exist (real file system)', () => {
    const missing = join(TLS_DIR, 'no-such-conf');
    assert.deepEqual(refused([], { FLINK_CONF_DIR: missing, ZOOKEEPER_QUORUM: 'zk:2181' }, {}), [
      `--flink-conf-dir / FLINK_CONF_DIR: ${JSON.stringify(missing)} does not exist or is not a directory`,
    ]);
    assert.deepEqual(refused([`--flink-conf-dir=${missing}`], {}, {}), [
      `--flink-conf-dir / FLINK_CONF_DIR: ${JSON.stringify(missing)} does not exist or is not a directory`,
      '--zookeeper-quorum / ZOOKEEPER_QUORUM: required, e.g. zk-0:2181,zk-1:2181,zk-2:2181, or ' +
        `high-availability.zookeeper.quorum in Flink's configuration file (${missing} does not exist)`,
    ]);
  });

  it('refuses an unreadable file, even when everything came from elsewhere, and does not claim the quorum is missing', () => {
    const io: LoadOptions = {
      readFile: (path) => {
        throw Object.assign(new Error(`EACCES: permission denied, open '${path}'`), { code: 'EACCES' });
      },
      isDirectory: () => true,
    };
    const problem = `${LEGACY}: cannot read Flink's configuration file: permission denied (EACCES)`;
    assert.deepEqual(refused([], { FLINK_CONF_DIR: CONF, ZOOKEEPER_QUORUM: 'zk:2181' }, io), [problem]);
    assert.deepEqual(refused([], { FLINK_CONF_DIR: CONF }, io), [problem]);
  });

  it('refuses malformed YAML with line and column, and nothing about the quorum it may hold', () => {
    const path = join(FIXTURES, 'malformed-yaml', 'config.yaml');
    assert.deepEqual(fixtureProblems('malformed-yaml'), [`${path}:7:1: Map keys must be unique`]);
  });

  it('refuses keys without values, which stop the JobManager, and uses the rest of the file', () => {
    assert.deepEqual(problemsWith({ 'config.yaml': 'high-availability:\n  zookeeper:\n    quorum: zk:0\nrest:\n' }), [
      `${YAML}:4:1: rest has no value (Flink's JobManager does not start with a key without a value)`,
      `${YAML}:3:13: high-availability.zookeeper.quorum: server "zk:0": "0" is not a port number (1-65535)`,
    ]);
  });
});

describe('Flink file: secrets', () => {
  /** Every secret planted in the fixtures and below. */
  const SECRETS = [
    'AKIAFAKELEGACYACCESS',
    'legacy-s3-secret-value',
    'legacy-keystore-password',
    'legacy-datadog-apikey',
    'nested-keystore-password',
    'nested-key-password',
    'nested-truststore-password',
    'nested-s3-secret-value',
    'AKIAFAKENESTEDACCESS',
    'flat-datadog-apikey',
    'mixed-azure-account-key',
    'malformed-keystore-password',
    'malformed-other-keystore-password',
    'quirks-truststore',
    // Covers every planted-... value below and the private key's content.
    'planted',
  ];

  function assertNoSecret(text: string): void {
    for (const secret of SECRETS) assert.ok(!text.includes(secret), `${secret} leaked into: ${text}`);
  }

  /** Problems when refused, else the whole Config: neither may hold a secret. */
  function everythingSaid(env: Env, options: LoadOptions, argv: readonly string[] = []): string {
    try {
      return JSON.stringify(loadConfig(argv, env, '1.2.3', options));
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return `${error.message}\n${JSON.stringify(error.problems)}`;
    }
  }

  const FIXTURE_DIRS = [
    'legacy-zookeeper',
    'legacy-quirks',
    'shipped-default-1.19',
    'standard-nested',
    'standard-flat',
    'standard-mixed',
    'both-files',
    'kubernetes-ha',
    'malformed-yaml',
  ];
  for (const dir of FIXTURE_DIRS) {
    it(`never shows a secret of the ${dir} fixture, loaded or refused`, () => {
      const env = { FLINK_CONF_DIR: join(FIXTURES, dir) };
      assertNoSecret(everythingSaid(env, {}));
      assertNoSecret(everythingSaid({ ...env, ZOOKEEPER_QUORUM: 'zk:2181' }, {}));
      assertNoSecret(everythingSaid({ ...env, FLINK_REST_CERT_FILE: CERT, FLINK_REST_KEY_FILE: KEY }, {}));
    });
  }

  const BROKEN: [title: string, files: Files][] = [
    ['a secret on a malformed YAML line', { 'config.yaml': 'a: 1\ns3.secret-key: @planted-secret\n' }],
    ['a secret in a bad block scalar header', { 'config.yaml': 's3.secret-key: |planted-secret\n  x\n' }],
    ['a secret in a bad escape', { 'config.yaml': 's3.secret-key: "planted-secret\\q"\n' }],
    ['a secret under an unknown tag', { 'config.yaml': 'password: !vault planted-secret\n' }],
    ['a duplicate secret key', { 'config.yaml': 'token: planted-secret\ntoken: planted-secret-2\n' }],
    ['a secret key without a value next to one with', { 'config.yaml': 'password:\ncredential: planted-secret\n' }],
    ['a secret as a YAML list', { 'config.yaml': 'secret: [planted-secret]\nhigh-availability.type: NONE\n' }],
    ['a legacy line Flink skips', { 'flink-conf.yaml': 's3.secret-key:planted-secret\nhigh-availability.zookeeper.quorum:zk:2181\n' }],
    ['a legacy secret with a # in it', { 'flink-conf.yaml': 'password: planted#secret\nrest.port: 0\n' }],
    [
      'secrets between invalid values the sidecar reads',
      { 'flink-conf.yaml': 'high-availability.zookeeper.quorum: zk:0\ns3.secret-key: planted-secret\nrest.bind-port: eighty\n' },
    ],
  ];
  for (const [title, files] of BROKEN) {
    it(`never shows ${title}`, () => {
      assertNoSecret(everythingSaid({ FLINK_CONF_DIR: CONF }, filesIo(files)));
      assertNoSecret(everythingSaid({ FLINK_CONF_DIR: CONF, ZOOKEEPER_QUORUM: 'zk:2181' }, filesIo(files)));
    });
  }
});

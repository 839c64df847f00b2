/**
 * The label routing settings (src/config/): label mode loads inside a pod with in-cluster
 * credentials; outside one (no KUBERNETES_SERVICE_HOST, no service account token, no POD_NAME) it
 * is refused with every problem at once (main exits 2); bad keys, values and names, and settings
 * that clash, each with its exact problem line naming flag and variable.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, SERVICE_ACCOUNT_DIR, type Config, type LoadOptions } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';

type Env = Record<string, string>;

const NO_FLINK_FILE: LoadOptions = {
  readFile: (path) => {
    throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
  },
  isDirectory: () => true,
};
const IN_POD_FILES: LoadOptions = { ...NO_FLINK_FILE, isReadableFile: (p) => p.startsWith(SERVICE_ACCOUNT_DIR) };
const NO_FILES: LoadOptions = { ...NO_FLINK_FILE, isReadableFile: () => false };
const LABEL_KEY_RULE = 'must be 1 to 63 characters, letters, digits, "-", "_" or ".", beginning and ending with a letter or digit';
const LABEL_VALUE_RULE = '1 to 63 characters, letters, digits, "-", "_" or ".", beginning and ending with a letter or digit';
const IN_POD_ENV: Env = {
  ZOOKEEPER_QUORUM: 'zk-0:2181',
  KUBERNETES_SERVICE_HOST: '10.96.0.1',
  KUBERNETES_SERVICE_PORT: '443',
  POD_NAME: 'flink-jobmanager-0',
  POD_NAMESPACE: 'flink',
  ROUTING_MODE: 'label',
};

function load(argv: readonly string[], env: Env, options: LoadOptions = IN_POD_FILES): Config {
  const result = loadConfig(argv, env, 'test', options);
  assert.equal(result.kind, 'run');
  return (result as { config: Config }).config;
}

function problemsOf(argv: readonly string[], env: Env, options: LoadOptions = IN_POD_FILES): readonly string[] {
  try {
    loadConfig(argv, env, 'test', options);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('config: label routing', () => {
  it('loads label mode inside a pod, from the downward API variables', () => {
    const c = load([], IN_POD_ENV);
    assert.deepEqual(
      [
        c.routingMode,
        c.podName,
        c.podNamespace,
        c.roleLabel,
        c.roleLabelLeaderValue,
        c.roleLabelStandbyValue,
        c.podClusterLabel,
        c.labelFailureReadinessTimeoutMs,
      ],
      ['label', 'flink-jobmanager-0', 'flink', 'flink-ha-sidecar/role', 'leader', 'standby', 'app.kubernetes.io/instance', 30000],
    );
    assert.equal(c.sources.routingMode, 'environment');
  });

  it('refuses label mode outside a cluster, with every problem at once', () => {
    assert.deepEqual(problemsOf(['--routing-mode=label'], { ZOOKEEPER_QUORUM: 'zk-0:2181' }, NO_FILES), [
      '--pod-name / POD_NAME: required with --routing-mode=label; set it from the downward API (fieldRef metadata.name)',
      '--pod-namespace / POD_NAMESPACE: required with --routing-mode=label; set it from the downward API (fieldRef metadata.namespace)',
      "--routing-mode / ROUTING_MODE: label needs the Kubernetes API with the pod's service account, and this is not a pod with " +
        'in-cluster credentials: KUBERNETES_SERVICE_HOST is not set; KUBERNETES_SERVICE_PORT is not set; ' +
        '/var/run/secrets/kubernetes.io/serviceaccount/token cannot be read; /var/run/secrets/kubernetes.io/serviceaccount/ca.crt cannot be read ' +
        '(outside Kubernetes use ROUTING_MODE=readiness; in a pod, check automountServiceAccountToken)',
    ]);
  });

  it('refuses label mode in a pod whose service account token is not mounted', () => {
    const problems = problemsOf([], IN_POD_ENV, { ...NO_FLINK_FILE, isReadableFile: (p) => p.endsWith('/ca.crt') });
    assert.equal(problems.length, 1);
    assert.match(
      problems[0]!,
      /^--routing-mode \/ ROUTING_MODE: label needs .*: \/var\/run\/secrets\/kubernetes\.io\/serviceaccount\/token cannot be read \(/,
    );
  });

  it('readiness mode needs none of it (the default, outside a cluster)', () => {
    const c = load([], { ZOOKEEPER_QUORUM: 'zk-0:2181' }, NO_FILES);
    assert.equal(c.routingMode, 'readiness');
    assert.equal(c.podName, null);
  });

  it('checks label syntax in readiness mode too, so a typo does not wait for label mode', () => {
    assert.deepEqual(problemsOf(['--role-label-leader-value=le ader'], { ZOOKEEPER_QUORUM: 'zk-0:2181' }, NO_FILES), [
      `--role-label-leader-value / ROLE_LABEL_LEADER_VALUE: "le ader" is not a label value: ${LABEL_VALUE_RULE}`,
    ]);
  });

  it('takes a key without a prefix, and values with dots, dashes and underscores', () => {
    const c = load(['--role-label=role', '--role-label-leader-value=is.the-leader_1', '--role-label-standby-value=x'], IN_POD_ENV);
    assert.deepEqual([c.roleLabel, c.roleLabelLeaderValue, c.roleLabelStandbyValue], ['role', 'is.the-leader_1', 'x']);
  });

  const invalid: { name: string; argv: string[]; env?: Env; problems: string[] }[] = [
    {
      name: 'an unknown mode',
      argv: ['--routing-mode=labels'],
      problems: ['--routing-mode / ROUTING_MODE: "labels" is not one of readiness, label'],
    },
    {
      name: 'a label key that Kubernetes refuses',
      argv: ['--role-label=Example.com/role'],
      problems: [
        '--role-label / ROLE_LABEL: "Example.com/role": the prefix before "/" must be a lowercase DNS subdomain of at most 253 characters',
      ],
    },
    {
      name: 'a label key whose name starts with "-"',
      argv: ['--role-label=flink/-role'],
      problems: [`--role-label / ROLE_LABEL: "flink/-role" is not a label key: the name after "/" ${LABEL_KEY_RULE}`],
    },
    {
      name: 'a label key whose name is over 63 characters',
      argv: [`--role-label=x/${'a'.repeat(64)}`],
      problems: [`--role-label / ROLE_LABEL: "x/${'a'.repeat(64)}" is not a label key: the name after "/" ${LABEL_KEY_RULE}`],
    },
    {
      name: 'an empty label key',
      argv: ['--role-label='],
      problems: [`--role-label / ROLE_LABEL: "" is not a label key: the name ${LABEL_KEY_RULE}`],
    },
    {
      name: 'a cluster label with a space',
      argv: ['--pod-cluster-label=a b'],
      problems: [`--pod-cluster-label / POD_CLUSTER_LABEL: "a b" is not a label key: the name ${LABEL_KEY_RULE}`],
    },
    {
      name: 'a standby value with a space',
      argv: ['--role-label-standby-value=stand by'],
      problems: [`--role-label-standby-value / ROLE_LABEL_STANDBY_VALUE: "stand by" is not a label value: ${LABEL_VALUE_RULE}`],
    },
    {
      name: 'an empty leader value',
      argv: ['--role-label-leader-value='],
      problems: [
        '--role-label-leader-value / ROLE_LABEL_LEADER_VALUE: "" is not a label value: 1 to 63 characters, letters, digits, "-", "_" or ".", beginning and ending with a letter or digit',
      ],
    },
    {
      name: 'the same value for both roles',
      argv: ['--role-label-standby-value=leader'],
      problems: [
        '--role-label-standby-value / ROLE_LABEL_STANDBY_VALUE: "leader" is also --role-label-leader-value / ROLE_LABEL_LEADER_VALUE; give each role its own value',
      ],
    },
    {
      name: 'the cluster label is the role label',
      argv: ['--pod-cluster-label=flink-ha-sidecar/role'],
      problems: [
        '--pod-cluster-label / POD_CLUSTER_LABEL: "flink-ha-sidecar/role" is also --role-label / ROLE_LABEL, which the sidecar rewrites; name a label that every JM pod of the cluster shares',
      ],
    },
    {
      name: 'a pod name with upper case',
      argv: ['--pod-name=JM-0'],
      problems: ['--pod-name / POD_NAME: "JM-0" is not a pod name (lowercase DNS subdomain, at most 253 characters)'],
    },
    {
      name: 'a namespace with a dot',
      argv: ['--pod-namespace=a.b'],
      problems: ['--pod-namespace / POD_NAMESPACE: "a.b" is not a namespace name (lowercase DNS label, at most 63 characters)'],
    },
    {
      name: 'a timeout below a second',
      argv: ['--label-failure-readiness-timeout-ms=500'],
      problems: ['--label-failure-readiness-timeout-ms / LABEL_FAILURE_READINESS_TIMEOUT_MS: "500" is outside 1000..600000 milliseconds'],
    },
    {
      name: 'a timeout over ten minutes',
      argv: ['--label-failure-readiness-timeout-ms=600001'],
      problems: [
        '--label-failure-readiness-timeout-ms / LABEL_FAILURE_READINESS_TIMEOUT_MS: "600001" is outside 1000..600000 milliseconds',
      ],
    },
  ];
  for (const c of invalid) {
    it(`refuses ${c.name}`, () => {
      assert.deepEqual(problemsOf(c.argv, c.env ?? IN_POD_ENV), c.problems);
    });
  }
});

/**
 * validateLabelRouting, table-driven: label keys and values as Kubernetes accepts them, pod and
 * namespace names, the timeout's range, and that label mode refuses to start outside a pod with
 * in-cluster credentials (no KUBERNETES_SERVICE_HOST, no token, no POD_NAME), each problem naming
 * its variable and flag.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_LABEL_ROUTING,
  SERVICE_ACCOUNT_DIR,
  validateLabelRouting,
  type InClusterFacts,
  type LabelRoutingSettings,
} from '../../src/sources/kubernetes/settings.js';

const IN_POD: InClusterFacts = {
  env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
  isReadableFile: (path) => path.startsWith(SERVICE_ACCOUNT_DIR),
};
const LAPTOP: InClusterFacts = { env: {}, isReadableFile: () => false };
const LABEL_MODE: LabelRoutingSettings = { ...DEFAULT_LABEL_ROUTING, mode: 'label', podName: 'flink-jobmanager-7d9f-x2k4p', podNamespace: 'flink' };

describe('validateLabelRouting', () => {
  const cases: { name: string; settings: Partial<LabelRoutingSettings>; cluster?: InClusterFacts; problems: RegExp[] }[] = [
    { name: 'readiness mode with the defaults, outside a cluster', settings: { ...DEFAULT_LABEL_ROUTING }, cluster: LAPTOP, problems: [] },
    { name: 'label mode in a pod', settings: {}, problems: [] },
    { name: 'a key without a prefix', settings: { roleLabel: 'role' }, problems: [] },
    { name: 'values with dots, dashes and underscores', settings: { leaderValue: 'is.the-leader_1', standbyValue: 'x' }, problems: [] },
    {
      name: 'label mode outside a cluster: every missing piece at once',
      settings: { podName: null, podNamespace: null },
      cluster: LAPTOP,
      problems: [
        /^POD_NAME \(--pod-name\) is required with ROUTING_MODE=label: set it from the downward API \(fieldRef metadata\.name\)$/,
        /^POD_NAMESPACE \(--pod-namespace\) is required/,
        /not a pod with in-cluster credentials: KUBERNETES_SERVICE_HOST is not set; KUBERNETES_SERVICE_PORT is not set; \/var\/run\/secrets\/kubernetes\.io\/serviceaccount\/token cannot be read; .*ca\.crt cannot be read \(outside Kubernetes use ROUTING_MODE=readiness/,
      ],
    },
    {
      name: 'label mode in a pod without a mounted token',
      settings: {},
      cluster: { ...IN_POD, isReadableFile: (p) => p.endsWith('ca.crt') },
      problems: [/serviceaccount\/token cannot be read.*automountServiceAccountToken/],
    },
    { name: 'an unknown mode', settings: { mode: 'labels' as 'label' }, problems: [/^ROUTING_MODE \(--routing-mode\): "labels" is not one of readiness, label$/] },
    { name: 'a key with a bad name', settings: { roleLabel: 'flink/-role' }, problems: [/^ROLE_LABEL \(--role-label\): "flink\/-role" is not a label key/] },
    { name: 'a key with an upper-case prefix', settings: { roleLabel: 'Flink.io/role' }, problems: [/ROLE_LABEL .*the prefix before "\/" must be a lowercase DNS subdomain/] },
    { name: 'a key name over 63 characters', settings: { roleLabel: `x/${'a'.repeat(64)}` }, problems: [/is not a label key/] },
    { name: 'an empty key', settings: { roleLabel: '' }, problems: [/ROLE_LABEL .*"" is not a label key/] },
    { name: 'an empty leader value', settings: { leaderValue: '' }, problems: [/^ROLE_LABEL_LEADER_VALUE \(--role-label-leader-value\): "" is not a label value/] },
    { name: 'a value with a space', settings: { standbyValue: 'stand by' }, problems: [/^ROLE_LABEL_STANDBY_VALUE .*"stand by" is not a label value/] },
    { name: 'the same value for leader and standby', settings: { leaderValue: 'x', standbyValue: 'x' }, problems: [/must differ from ROLE_LABEL_LEADER_VALUE/] },
    { name: 'the cluster label is the role label', settings: { clusterLabel: DEFAULT_LABEL_ROUTING.roleLabel }, problems: [/^POD_CLUSTER_LABEL .*must differ from ROLE_LABEL/] },
    { name: 'a bad cluster label', settings: { clusterLabel: 'a b' }, problems: [/^POD_CLUSTER_LABEL \(--pod-cluster-label\): "a b" is not a label key/] },
    { name: 'a timeout below a second', settings: { failureReadinessTimeoutMs: 999 }, problems: [/^LABEL_FAILURE_READINESS_TIMEOUT_MS .*999 is not a whole number of milliseconds from 1000 to 600000$/] },
    { name: 'a timeout over ten minutes', settings: { failureReadinessTimeoutMs: 600_001 }, problems: [/LABEL_FAILURE_READINESS_TIMEOUT_MS/] },
    { name: 'a pod name with upper case', settings: { podName: 'JM-0' }, problems: [/^POD_NAME \(--pod-name\): "JM-0" is not a pod name/] },
    { name: 'a namespace with a dot', settings: { podNamespace: 'a.b' }, problems: [/^POD_NAMESPACE .*"a\.b" is not a namespace name/] },
    {
      name: 'syntax is checked in readiness mode too, the pod is not',
      settings: { mode: 'readiness', podName: null, podNamespace: null, leaderValue: 'le ader' },
      cluster: LAPTOP,
      problems: [/ROLE_LABEL_LEADER_VALUE/],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const problems = validateLabelRouting({ ...LABEL_MODE, ...c.settings }, c.cluster ?? IN_POD);
      assert.equal(problems.length, c.problems.length, problems.join('\n'));
      c.problems.forEach((re, i) => assert.match(problems[i]!, re));
    });
  }

  it('looks for the credentials under the path prefix', () => {
    const seen: string[] = [];
    validateLabelRouting(LABEL_MODE, { ...IN_POD, pathPrefix: '/tmp/x', isReadableFile: (p) => (seen.push(p), true) });
    assert.deepEqual(seen, [`/tmp/x${SERVICE_ACCOUNT_DIR}/token`, `/tmp/x${SERVICE_ACCOUNT_DIR}/ca.crt`]);
  });
});

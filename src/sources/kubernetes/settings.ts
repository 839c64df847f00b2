/**
 * Label routing settings and their validation, pure so that src/config.ts can report every problem
 * at once (exit code 2) before anything starts. Importing this file never loads the Kubernetes client.
 */
import type { RoutingMode } from '../../core/model.js';

/** The settings label routing needs. In readiness mode only `mode` matters. */
export interface LabelRoutingSettings {
  /** ROUTING_MODE / --routing-mode. */
  mode: RoutingMode;
  /** POD_NAME / --pod-name: this pod (downward API metadata.name); required in label mode. */
  podName: string | null;
  /** POD_NAMESPACE / --pod-namespace: this pod's namespace (downward API metadata.namespace); required in label mode. */
  podNamespace: string | null;
  /**
   * ROLE_LABEL / --role-label: the label key the sidecar owns on its pod. (Named without "key":
   * /debug/config masks every setting whose name contains "key".)
   */
  roleLabel: string;
  /** ROLE_LABEL_LEADER_VALUE / --role-label-leader-value: the value that the leader-only Service selects. */
  leaderValue: string;
  /** ROLE_LABEL_STANDBY_VALUE / --role-label-standby-value. */
  standbyValue: string;
  /**
   * POD_CLUSTER_LABEL / --pod-cluster-label: a label that every JM pod of this Flink cluster
   * carries with the same value, and no other Flink cluster's JobManagers do. The sidecar reads its
   * value from its own pod, and a new leader removes stale leader labels only from pods with it.
   */
  clusterLabel: string;
  /** LABEL_FAILURE_READINESS_TIMEOUT_MS / --label-failure-readiness-timeout-ms: how long failing updates are tolerated before /readyz fails. */
  failureReadinessTimeoutMs: number;
}

export const DEFAULT_LABEL_ROUTING: Readonly<LabelRoutingSettings> = {
  mode: 'readiness',
  podName: null,
  podNamespace: null,
  roleLabel: 'flink-ha-sidecar/role',
  leaderValue: 'leader',
  standbyValue: 'standby',
  clusterLabel: 'app.kubernetes.io/instance',
  failureReadinessTimeoutMs: 30_000,
};

/** The environment variable and flag of each setting, for problems and --help. */
export const LABEL_ROUTING_SETTING_NAMES: Readonly<Record<keyof LabelRoutingSettings, { env: string; flag: string }>> = {
  mode: { env: 'ROUTING_MODE', flag: '--routing-mode' },
  podName: { env: 'POD_NAME', flag: '--pod-name' },
  podNamespace: { env: 'POD_NAMESPACE', flag: '--pod-namespace' },
  roleLabel: { env: 'ROLE_LABEL', flag: '--role-label' },
  leaderValue: { env: 'ROLE_LABEL_LEADER_VALUE', flag: '--role-label-leader-value' },
  standbyValue: { env: 'ROLE_LABEL_STANDBY_VALUE', flag: '--role-label-standby-value' },
  clusterLabel: { env: 'POD_CLUSTER_LABEL', flag: '--pod-cluster-label' },
  failureReadinessTimeoutMs: { env: 'LABEL_FAILURE_READINESS_TIMEOUT_MS', flag: '--label-failure-readiness-timeout-ms' },
};

export const ROUTING_MODES: readonly RoutingMode[] = ['readiness', 'label'];
export const MIN_LABEL_FAILURE_READINESS_TIMEOUT_MS = 1000;
export const MAX_LABEL_FAILURE_READINESS_TIMEOUT_MS = 600_000;

/** Where Kubernetes mounts a pod's service account credentials (automountServiceAccountToken). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** What decides whether the sidecar runs inside a pod with API credentials. */
export interface InClusterFacts {
  /** The process environment (KUBERNETES_SERVICE_HOST and _PORT, set by the kubelet). */
  env: Readonly<Record<string, string | undefined>>;
  /** Whether a path is a readable regular file. */
  isReadableFile: (path: string) => boolean;
  /** Prefix of SERVICE_ACCOUNT_DIR, for tests; '' in production. */
  pathPrefix?: string;
}

const name = (k: keyof LabelRoutingSettings): string => {
  const n = LABEL_ROUTING_SETTING_NAMES[k];
  return `${n.env} (${n.flag})`;
};

/**
 * Every problem with the label routing settings, each naming its variable and flag; empty when
 * all is well. Label syntax is checked in both modes (a typo should not wait for the day label
 * mode is switched on); the pod and the in-cluster credentials only in label mode, where their
 * absence means the sidecar is not running in a Kubernetes pod that can reach the API.
 */
export function validateLabelRouting(s: LabelRoutingSettings, cluster: InClusterFacts): string[] {
  const problems: string[] = [];
  if (!ROUTING_MODES.includes(s.mode)) {
    problems.push(`${name('mode')}: ${JSON.stringify(s.mode)} is not one of ${ROUTING_MODES.join(', ')}`);
  }
  problems.push(...labelKeyProblems(s.roleLabel).map((p) => `${name('roleLabel')}: ${p}`));
  problems.push(...labelKeyProblems(s.clusterLabel).map((p) => `${name('clusterLabel')}: ${p}`));
  if (s.clusterLabel === s.roleLabel) {
    problems.push(`${name('clusterLabel')}: must differ from ${name('roleLabel')}, which the sidecar rewrites`);
  }
  problems.push(...labelValueProblems(s.leaderValue).map((p) => `${name('leaderValue')}: ${p}`));
  problems.push(...labelValueProblems(s.standbyValue).map((p) => `${name('standbyValue')}: ${p}`));
  if (s.leaderValue === s.standbyValue) {
    problems.push(`${name('standbyValue')}: must differ from ${name('leaderValue')} (both are ${JSON.stringify(s.leaderValue)})`);
  }
  if (
    !Number.isInteger(s.failureReadinessTimeoutMs) ||
    s.failureReadinessTimeoutMs < MIN_LABEL_FAILURE_READINESS_TIMEOUT_MS ||
    s.failureReadinessTimeoutMs > MAX_LABEL_FAILURE_READINESS_TIMEOUT_MS
  ) {
    problems.push(
      `${name('failureReadinessTimeoutMs')}: ${s.failureReadinessTimeoutMs} is not a whole number of milliseconds ` +
        `from ${MIN_LABEL_FAILURE_READINESS_TIMEOUT_MS} to ${MAX_LABEL_FAILURE_READINESS_TIMEOUT_MS}`,
    );
  }
  if (s.podName !== null) problems.push(...podNameProblems(s.podName).map((p) => `${name('podName')}: ${p}`));
  if (s.podNamespace !== null) problems.push(...namespaceProblems(s.podNamespace).map((p) => `${name('podNamespace')}: ${p}`));
  if (s.mode !== 'label') return problems;

  if (s.podName === null) {
    problems.push(`${name('podName')} is required with ROUTING_MODE=label: set it from the downward API (fieldRef metadata.name)`);
  }
  if (s.podNamespace === null) {
    problems.push(`${name('podNamespace')} is required with ROUTING_MODE=label: set it from the downward API (fieldRef metadata.namespace)`);
  }
  const missing = missingInClusterCredentials(cluster);
  if (missing.length > 0) problems.push(`ROUTING_MODE=label ${notInClusterProblem(missing)}`);
  return problems;
}

/** What is missing for in-cluster credentials, one phrase each (`KUBERNETES_SERVICE_HOST is not set`); empty inside a pod. */
export function missingInClusterCredentials(cluster: InClusterFacts): string[] {
  const missing: string[] = [];
  if (!cluster.env.KUBERNETES_SERVICE_HOST) missing.push('KUBERNETES_SERVICE_HOST is not set');
  if (!cluster.env.KUBERNETES_SERVICE_PORT) missing.push('KUBERNETES_SERVICE_PORT is not set');
  const dir = `${cluster.pathPrefix ?? ''}${SERVICE_ACCOUNT_DIR}`;
  for (const file of ['token', 'ca.crt']) {
    if (!cluster.isReadableFile(`${dir}/${file}`)) missing.push(`${dir}/${file} cannot be read`);
  }
  return missing;
}

/** The rest of the sentence that says label mode cannot run here, given what is missing. */
export function notInClusterProblem(missing: readonly string[]): string {
  return (
    "needs the Kubernetes API with the pod's service account, and this is not a pod with in-cluster credentials: " +
    `${missing.join('; ')} (outside Kubernetes use ROUTING_MODE=readiness; in a pod, check automountServiceAccountToken)`
  );
}

/** A pod name: a lowercase DNS subdomain of at most 253 characters. */
export function podNameProblems(podName: string): string[] {
  return isDnsSubdomain(podName) ? [] : [`${JSON.stringify(podName)} is not a pod name (lowercase DNS subdomain, at most 253 characters)`];
}

/** A namespace name: a lowercase DNS label of at most 63 characters. */
export function namespaceProblems(namespace: string): string[] {
  return isDnsLabel(namespace) ? [] : [`${JSON.stringify(namespace)} is not a namespace name (lowercase DNS label, at most 63 characters)`];
}

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Kubernetes' IsQualifiedName: `[prefix/]name`, prefix a DNS subdomain of at most 253, name at most 63 characters. */
export function labelKeyProblems(key: string): string[] {
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? null : key.slice(0, slash);
  const labelName = slash < 0 ? key : key.slice(slash + 1);
  const problems: string[] = [];
  if (prefix !== null && !isDnsSubdomain(prefix)) {
    problems.push(`${JSON.stringify(key)}: the prefix before "/" must be a lowercase DNS subdomain of at most 253 characters`);
  }
  if (labelName.length === 0 || labelName.length > 63 || !LABEL_NAME.test(labelName)) {
    problems.push(
      `${JSON.stringify(key)} is not a label key: the name${prefix === null ? '' : ' after "/"'} must be 1 to 63 characters, ` +
        'letters, digits, "-", "_" or ".", beginning and ending with a letter or digit',
    );
  }
  return problems;
}

/** A label value the sidecar can select on: 1 to 63 characters, as Kubernetes allows (empty is allowed there, not here). */
export function labelValueProblems(value: string): string[] {
  if (value.length > 0 && value.length <= 63 && LABEL_NAME.test(value)) return [];
  return [
    `${JSON.stringify(value)} is not a label value: 1 to 63 characters, letters, digits, "-", "_" or ".", ` +
      'beginning and ending with a letter or digit',
  ];
}

function isDnsLabel(s: string): boolean {
  return s.length <= 63 && DNS_LABEL.test(s);
}

function isDnsSubdomain(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split('.').every((part) => DNS_LABEL.test(part));
}

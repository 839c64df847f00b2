/**
 * Checks across settings, made once every setting has its value: check timeout and interval, the
 * REST client's TLS (certificate and key, mutual TLS, truststore), the debug endpoints' exposure,
 * and label routing (distinct labels and values; in label mode the pod and in-cluster credentials).
 */
import { firstEntry, parseEntry, where, type FlinkFile } from './flink-sources.js';
import { missingInClusterCredentials, notInClusterProblem, type InClusterFacts } from './in-cluster.js';
import { label, SETTINGS } from './settings.js';
import type { PartialValues } from './types.js';
import { parseBoolean, parseReadableFile, REST_AUTHENTICATION_KEY, REST_TRUSTSTORE_TYPE_KEY, show } from './values.js';

/** Problems between settings that have a value (one with a problem of its own is left out). */
export function crossCheckProblems(values: PartialValues, file: FlinkFile | null): string[] {
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
    problems.push(`${label(given)}: a client certificate needs both its certificate and its key; ${label(missing)} is not set`);
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
    problems.push(
      `${label(SETTINGS.flinkRestTruststore)}: the truststore needs its password; ${label(SETTINGS.flinkRestTruststorePassword)} is not set`,
    );
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
      `${label(SETTINGS.debugHost)}: ${show(host)} is not a loopback address (127.x.x.x or ::1); debug endpoints bound there need ` +
        `${label(SETTINGS.debugTokenFile)}, or set ${label(SETTINGS.debugPort)} to 0 to turn them off`,
    );
  }
  if (port === values.port) {
    problems.push(
      `${label(SETTINGS.debugPort)}: ${port} is also the probe port (${label(SETTINGS.port)}); give the debug endpoints their own`,
    );
  }
  return problems;
}

/** Literal loopback addresses only: the name `localhost` may resolve to anything where /etc/hosts says so. */
function isLoopbackHost(host: string): boolean {
  return host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
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

/** Label routing's settings together: distinct values, and in label mode the pod and in-cluster credentials. */
export function labelRoutingProblems(values: PartialValues, cluster: InClusterFacts): string[] {
  const problems: string[] = [];
  const { roleLabelLeaderValue: leader, roleLabelStandbyValue: standby, roleLabel, podClusterLabel } = values;
  if (leader !== undefined && leader === standby) {
    problems.push(
      `${label(SETTINGS.roleLabelStandbyValue)}: ${show(leader)} is also ${label(SETTINGS.roleLabelLeaderValue)}; give each role its own value`,
    );
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
    problems.push(
      `${label(SETTINGS.podNamespace)}: required with --routing-mode=label; set it from the downward API (fieldRef metadata.namespace)`,
    );
  }
  const missing = missingInClusterCredentials(cluster);
  if (missing.length > 0) problems.push(`${label(SETTINGS.routingMode)}: label ${notInClusterProblem(missing)}`);
  return problems;
}

/**
 * What the Kubernetes source needs besides its cluster-id (required by the settings table): a layout
 * that Kubernetes HA has, and credentials (a kubeconfig, or the pod's own).
 */
export function leaderSourceProblems(values: PartialValues, cluster: InClusterFacts): string[] {
  if (values.leaderSource !== 'kubernetes') return [];
  const problems: string[] = [];
  if (values.layout === '1.13') {
    problems.push(
      `${label(SETTINGS.layout)}: 1.13 is a ZooKeeper layout; Kubernetes high availability has 1.15 (Flink 1.15 and later), ` +
        '1.14 (Flink 1.12 to 1.14) and auto',
    );
  }
  if (values.kubeconfig === null) {
    const missing = missingInClusterCredentials(cluster);
    if (missing.length > 0) {
      problems.push(
        `${label(SETTINGS.leaderSource)}: kubernetes reads Flink's ConfigMaps through the Kubernetes API, and ${label(SETTINGS.kubeconfig)} ` +
          `is not set; the pod's service account cannot be used here: ${missing.join('; ')}`,
      );
    }
  }
  return problems;
}

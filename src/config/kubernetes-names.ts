/**
 * Kubernetes names as the label routing settings take them: label keys and values, pod and
 * namespace names. Each check lists its problems, worded to follow the setting's name.
 */

/** A pod name: a lowercase DNS subdomain of at most 253 characters. */
export function podNameProblems(podName: string): string[] {
  return isDnsSubdomain(podName) ? [] : [`${JSON.stringify(podName)} is not a pod name (lowercase DNS subdomain, at most 253 characters)`];
}

/**
 * Flink's kubernetes.cluster-id as far as the sidecar needs it: it names the HA ConfigMaps
 * (`<cluster-id>-cluster-config-map`, `<cluster-id>-restserver-leader`), which must be lowercase
 * DNS subdomains of at most 253 characters.
 */
export function clusterIdProblems(clusterId: string): string[] {
  return isDnsSubdomain(`${clusterId}-cluster-config-map`)
    ? []
    : [
        `${JSON.stringify(clusterId)} cannot name a ConfigMap (<cluster-id>-cluster-config-map must be a lowercase DNS subdomain of at most 253 characters)`,
      ];
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

/**
 * Whether the sidecar runs in a pod that can reach the Kubernetes API with its service account:
 * what label mode needs before it starts.
 */

/** Where Kubernetes mounts a pod's service account credentials (automountServiceAccountToken). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** What decides whether the sidecar runs inside a pod with API credentials. */
export interface InClusterFacts {
  /** The process environment (KUBERNETES_SERVICE_HOST and _PORT, set by the kubelet). */
  env: Readonly<Record<string, string | undefined>>;
  /** Whether a path is a readable regular file. */
  isReadableFile: (path: string) => boolean;
}

/** What is missing for in-cluster credentials, one phrase each (`KUBERNETES_SERVICE_HOST is not set`); empty inside a pod. */
export function missingInClusterCredentials(cluster: InClusterFacts): string[] {
  const missing: string[] = [];
  if (!cluster.env.KUBERNETES_SERVICE_HOST) missing.push('KUBERNETES_SERVICE_HOST is not set');
  if (!cluster.env.KUBERNETES_SERVICE_PORT) missing.push('KUBERNETES_SERVICE_PORT is not set');
  for (const file of ['token', 'ca.crt']) {
    const path = `${SERVICE_ACCOUNT_DIR}/${file}`;
    if (!cluster.isReadableFile(path)) missing.push(`${path} cannot be read`);
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

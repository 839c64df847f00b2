/**
 * The three Kubernetes API calls label routing makes, behind a narrow interface so that the labeler
 * can be tested against anything that behaves like the API. The implementation uses
 * @kubernetes/client-node 1.4.0, loaded with require only when a client is made: readiness mode
 * never loads it (it is an ES module of a few megabytes; 2.x does not run on Node 20 at all).
 */
import type { KubeConfig, ObservableMiddleware, V1Pod } from '@kubernetes/client-node';
import { KubernetesError, reasonForStatus } from './kubernetes-error.js';

export type ClientNode = typeof import('@kubernetes/client-node');

/** What the labeler needs to know of a pod. */
export interface PodSummary {
  name: string;
  /** Changes with every change of the pod; sent back as a precondition. */
  resourceVersion: string;
  labels: Readonly<Record<string, string>>;
}

/**
 * Pod calls in one namespace. Every method rejects with a KubernetesError (reason, HTTP status)
 * and settles within the client's request timeout.
 */
export interface KubeClient {
  getPod(name: string): Promise<PodSummary>;
  /** Pods matching an equality-based label selector (`k=v,k2=v2`). */
  listPods(labelSelector: string): Promise<PodSummary[]>;
  /**
   * JSON merge patch (application/merge-patch+json) of the pod's labels (and `annotations`, when
   * given): a string sets a key, null removes it, keys not named are left alone. With
   * `resourceVersion`, the patch applies only if the pod has not changed since (else a
   * KubernetesError with reason `conflict`, HTTP 409).
   */
  patchPodLabels(
    name: string,
    labels: Readonly<Record<string, string | null>>,
    options?: { resourceVersion?: string; annotations?: Readonly<Record<string, string | null>> },
  ): Promise<PodSummary>;
}

/**
 * The name the API server records as the writer of the labels (metadata.managedFields, `kubectl get
 * --show-managed-fields`). Without it the server takes it from the User-Agent: "node-fetch".
 */
export const FIELD_MANAGER = 'flink-ha-sidecar';

export interface KubeClientOptions {
  /** Every request is aborted after this many ms (connecting included). */
  requestTimeoutMs: number;
}

/** Loads @kubernetes/client-node. Only label routing calls this. */
export function loadClientNode(): ClientNode {
  // require, not import: an import would load the library in readiness mode too. Node 20.19+
  // loads this ES module synchronously.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy load, as said above
  return require('@kubernetes/client-node') as ClientNode;
}

/**
 * The pod's own credentials: KubeConfig.loadFromCluster, which reads KUBERNETES_SERVICE_HOST and
 * KUBERNETES_SERVICE_PORT from the environment and the service account's token (re-read every
 * minute, as projected tokens rotate) and CA under `pathPrefix` + /var/run/secrets/kubernetes.io/serviceaccount.
 * `pathPrefix` is for tests. The settings checks (src/config/in-cluster.ts) look at the files first; this does not.
 */
export function loadInClusterKubeConfig(pathPrefix = ''): KubeConfig {
  const k8s = loadClientNode();
  const kc = new k8s.KubeConfig();
  kc.loadFromCluster(pathPrefix);
  return kc;
}

/** A kubeconfig file's current context (the Kubernetes source outside a pod, and tests). */
export function loadKubeConfigFile(path: string): KubeConfig {
  const k8s = loadClientNode();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** Request options that abort every call of the generated client after `requestTimeoutMs`. */
export function requestTimeout(k8s: ClientNode, requestTimeoutMs: number) {
  const timeout: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(AbortSignal.timeout(requestTimeoutMs));
      return new k8s.Observable(Promise.resolve(context));
    },
    post: (response) => new k8s.Observable(Promise.resolve(response)),
  };
  return { middleware: [timeout], middlewareMergeStrategy: 'append' as const };
}

/** Runs one API call, turning whatever it throws into a KubernetesError that names the call. */
export async function apiCall<T>(k8s: ClientNode, what: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toKubernetesError(k8s, what, err, timeoutMs);
  }
}

/** A KubeClient for pods in `namespace`, authenticated and addressed as `kubeConfig` says. */
export function createKubeClient(kubeConfig: KubeConfig, namespace: string, options: KubeClientOptions): KubeClient {
  const k8s = loadClientNode();
  const api = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const withTimeout = requestTimeout(k8s, options.requestTimeoutMs);
  // The generated client would send application/json-patch+json (the first type the API lists).
  const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch, withTimeout);
  const call = <T>(what: string, fn: () => Promise<T>): Promise<T> => apiCall(k8s, what, options.requestTimeoutMs, fn);

  return {
    getPod: (name) =>
      call(`GET pod ${namespace}/${name}`, async () => summarize(await api.readNamespacedPod({ name, namespace }, withTimeout))),
    listPods: (labelSelector) =>
      call(`LIST pods in ${namespace} (${labelSelector})`, async () => {
        const list = await api.listNamespacedPod({ namespace, labelSelector }, withTimeout);
        return list.items.map(summarize);
      }),
    patchPodLabels: (name, labels, opts = {}) =>
      call(`PATCH pod ${namespace}/${name}`, async () => {
        const metadata: Record<string, unknown> = { labels };
        if (opts.annotations !== undefined) metadata.annotations = opts.annotations;
        if (opts.resourceVersion !== undefined) metadata.resourceVersion = opts.resourceVersion;
        return summarize(await api.patchNamespacedPod({ name, namespace, body: { metadata }, fieldManager: FIELD_MANAGER }, mergePatch));
      }),
  };
}

function summarize(pod: V1Pod): PodSummary {
  const meta = pod.metadata;
  if (meta?.name === undefined) {
    throw new KubernetesError('the API server answered with a pod without metadata.name', 'invalid-response', null);
  }
  return { name: meta.name, resourceVersion: meta.resourceVersion ?? '', labels: { ...(meta.labels ?? {}) } };
}

/** Names what went wrong by origin: the API server's status and message, a timeout, or the connection. */
export function toKubernetesError(k8s: ClientNode, what: string, err: unknown, timeoutMs: number): KubernetesError {
  if (err instanceof KubernetesError) return err;
  if (err instanceof k8s.ApiException) {
    const status = (err as InstanceType<ClientNode['ApiException']>).code;
    const message = statusMessage((err as { body?: unknown }).body);
    return new KubernetesError(`${what}: HTTP ${status}${message ? `: ${message}` : ''}`, reasonForStatus(status), status, { cause: err });
  }
  const e = err as { name?: unknown; code?: unknown; message?: unknown };
  if (e.name === 'AbortError' || e.name === 'TimeoutError') {
    return new KubernetesError(`${what}: no answer within ${timeoutMs} ms`, 'timeout', null, { cause: err });
  }
  if (e.name === 'FetchError') {
    const code = typeof e.code === 'string' ? `${e.code}: ` : '';
    return new KubernetesError(`${what}: ${code}${String(e.message)}`, 'connection-error', null, { cause: err });
  }
  return new KubernetesError(`${what}: ${String(e.message ?? err)}`, 'invalid-response', null, { cause: err });
}

/** The `message` of a Kubernetes Status body (parsed or not), else the text itself, shortened. */
function statusMessage(body: unknown): string {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body) as unknown;
    } catch {
      return body.slice(0, 300);
    }
  }
  if (parsed !== null && typeof parsed === 'object' && typeof (parsed as { message?: unknown }).message === 'string') {
    return (parsed as { message: string }).message;
  }
  return parsed === undefined || parsed === null ? '' : JSON.stringify(parsed).slice(0, 300);
}

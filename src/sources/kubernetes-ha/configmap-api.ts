/**
 * The two calls the Kubernetes source makes, list and watch of one ConfigMap by name, behind a
 * narrow interface so that the watcher can be tested against anything that behaves like the API.
 * The implementation uses @kubernetes/client-node, loaded only when the Kubernetes source is used.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { apiCall, loadClientNode, requestTimeout, toKubernetesError } from '../kubernetes/kube-client.js';
import { KubernetesError } from '../kubernetes/kubernetes-error.js';
import type { ConfigMapLike } from './decode.js';

export type WatchEvent =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: ConfigMapLike }
  | { type: 'BOOKMARK'; resourceVersion: string }
  /** The API server ended the watch with a Status: 410 when the resourceVersion is too old. */
  | { type: 'ERROR'; code: number | null; message: string };

export interface ConfigMapApi {
  /** The ConfigMap (null when it does not exist) and the resourceVersion to watch from. */
  list(name: string): Promise<{ configMap: ConfigMapLike | null; resourceVersion: string }>;
  /**
   * Watches the ConfigMap from `resourceVersion`. Rejects (KubernetesError) when the watch cannot be
   * started; otherwise `onEnd` is called once when it ends: null for a clean end (the server's
   * timeout), else the error. Resolves with a function that ends it.
   */
  watch(
    name: string,
    resourceVersion: string,
    onEvent: (event: WatchEvent) => void,
    onEnd: (err: KubernetesError | null) => void,
  ): Promise<() => void>;
}

export interface ConfigMapApiOptions {
  namespace: string;
  requestTimeoutMs: number;
  /** The server ends each watch after about this long, so a half-open connection does not last. */
  watchTimeoutSeconds: number;
}

export function createConfigMapApi(kubeConfig: KubeConfig, options: ConfigMapApiOptions): ConfigMapApi {
  const k8s = loadClientNode();
  const api = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const watcher = new k8s.Watch(kubeConfig);
  const { namespace, requestTimeoutMs } = options;
  const withTimeout = requestTimeout(k8s, requestTimeoutMs);
  const fieldSelector = (name: string) => `metadata.name=${name}`;
  return {
    list: (name) =>
      apiCall(k8s, `LIST configmap ${namespace}/${name}`, requestTimeoutMs, async () => {
        const list = await api.listNamespacedConfigMap({ namespace, fieldSelector: fieldSelector(name) }, withTimeout);
        return { configMap: (list.items[0] as ConfigMapLike | undefined) ?? null, resourceVersion: list.metadata?.resourceVersion ?? '' };
      }),
    watch: async (name, resourceVersion, onEvent, onEnd) => {
      const what = `WATCH configmap ${namespace}/${name}`;
      let started = false;
      let startError: unknown = null;
      const controller = await watcher.watch(
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`,
        { fieldSelector: fieldSelector(name), resourceVersion, allowWatchBookmarks: true, timeoutSeconds: options.watchTimeoutSeconds },
        (type: string, object: unknown) => {
          started = true;
          onEvent(toWatchEvent(type, object));
        },
        (err: unknown) => {
          if (!started && err !== null && err !== undefined) startError = err;
          else onEnd(err === null || err === undefined ? null : toKubernetesError(k8s, what, err, requestTimeoutMs));
        },
      );
      // client-node reports a refused start through the end callback before it resolves.
      if (startError !== null) throw toKubernetesError(k8s, what, statusError(startError), requestTimeoutMs);
      started = true;
      return () => controller.abort();
    },
  };
}

/** client-node's error for a non-200 start carries the status as statusCode; make it an HTTP error. */
function statusError(err: unknown): unknown {
  const code = (err as { statusCode?: unknown }).statusCode;
  if (typeof code !== 'number') return err;
  return new KubernetesError(
    `HTTP ${code}: ${(err as Error).message}`,
    code === 401 ? 'unauthorized' : code === 403 ? 'forbidden' : 'http-status',
    code,
  );
}

function toWatchEvent(type: string, object: unknown): WatchEvent {
  const o = (object ?? {}) as { metadata?: { resourceVersion?: string }; code?: unknown; message?: unknown };
  switch (type) {
    case 'ADDED':
    case 'MODIFIED':
    case 'DELETED':
      return { type, object: o };
    case 'BOOKMARK':
      return { type, resourceVersion: o.metadata?.resourceVersion ?? '' };
    default:
      return {
        type: 'ERROR',
        code: typeof o.code === 'number' ? o.code : null,
        message: typeof o.message === 'string' ? o.message : `watch event ${type}`,
      };
  }
}

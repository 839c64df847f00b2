/**
 * Label routing's entry point for the wiring (src/sidecar.ts): core settings from the label routing
 * settings, and a started PodLabeler. The Kubernetes client library is loaded here, and only here,
 * when label mode is on.
 */
import type { Logger } from 'pino';
import { createKubeClient, loadInClusterKubeConfig, type KubeClient } from './kube-client.js';
import { PodLabeler, type LabelerStore, type PodLabelerOptions } from './pod-labeler.js';
import type { LabelRoutingSettings } from './settings.js';

/** Every Kubernetes API request is aborted after this long; a failed step is then retried with backoff. */
export const KUBERNETES_REQUEST_TIMEOUT_MS = 5000;

/** What the wiring passes when label routing is wanted. */
export interface LabelRoutingOptions {
  settings: LabelRoutingSettings;
  /** Instead of a client on the pod's in-cluster credentials (tests). */
  kubeClient?: KubeClient;
  /** Retry and resync timing (tests). */
  timing?: Pick<PodLabelerOptions, 'initialBackoffMs' | 'maxBackoffMs' | 'resyncIntervalMs'>;
}

/**
 * Starts keeping the pod's role label current, or returns null in readiness mode. Expects settings
 * that passed the settings checks (src/config/cross-checks.ts: pod name and namespace set). Start it before the sources, so
 * that no change of the desired label is missed; stop it after `shutdownStarted` and before the
 * probe server drains.
 */
export function startLabelRouting(
  options: LabelRoutingOptions,
  store: LabelerStore,
  clock: () => number,
  logger: Logger,
): PodLabeler | null {
  const s = options.settings;
  if (s.mode !== 'label') return null;
  if (s.podName === null || s.podNamespace === null) {
    throw new Error('label routing needs POD_NAME and POD_NAMESPACE (the settings checks report this at start)');
  }
  const client =
    options.kubeClient ?? createKubeClient(loadInClusterKubeConfig(), s.podNamespace, { requestTimeoutMs: KUBERNETES_REQUEST_TIMEOUT_MS });
  const log = logger.child({ module: 'pod-labeler' });
  log.info(
    {
      pod: s.podName,
      namespace: s.podNamespace,
      label: s.roleLabel,
      leader: s.leaderValue,
      standby: s.standbyValue,
      clusterLabel: s.clusterLabel,
    },
    'label routing: keeping the role label on this pod',
  );
  const labeler = new PodLabeler({
    client,
    store,
    settings: { ...s, podName: s.podName },
    clock,
    logger: log,
    ...options.timing,
  });
  labeler.start();
  return labeler;
}

/**
 * The shape of the label routing settings as the wiring hands them to label routing. The settings
 * table (src/config/settings.ts) defines, parses and validates them, and owns their defaults.
 */
import type { RoutingMode } from '../../core/model.js';
import { settingDefault } from '../../config/index.js';

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

/** Label routing with every setting at its default (readiness mode), from the settings table. */
export const DEFAULT_LABEL_ROUTING: Readonly<LabelRoutingSettings> = {
  mode: settingDefault('routingMode'),
  podName: settingDefault('podName'),
  podNamespace: settingDefault('podNamespace'),
  roleLabel: settingDefault('roleLabel'),
  leaderValue: settingDefault('roleLabelLeaderValue'),
  standbyValue: settingDefault('roleLabelStandbyValue'),
  clusterLabel: settingDefault('podClusterLabel'),
  failureReadinessTimeoutMs: settingDefault('labelFailureReadinessTimeoutMs'),
};

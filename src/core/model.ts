import type { LeaderTarget, LocalIdentity } from './identity.js';
import type { LoopReason, Reason } from './reasons.js';

/** Flink's ZooKeeper HA layouts, named by the Flink line that introduced them (docs/design.md, "What Flink writes to ZooKeeper"). */
export type Layout = '1.15' | '1.14' | '1.13';
export type LayoutSetting = Layout | 'auto';
export type Role = 'leader' | 'standby' | 'unknown';

/** One child of a Curator LeaderLatch node. */
export interface LatchParticipant {
  node: string;
  /** The number after `latch-`; the lowest leads. */
  sequence: number;
  /** ephemeralOwner of the node: the ZooKeeper session id as 16 lowercase hex digits. */
  owner: string;
}

/** What the rest_server leader information node held when last read. */
export type LeaderInfoObservation =
  | { kind: 'absent' }
  | { kind: 'empty'; owner: string }
  | {
      kind: 'published';
      owner: string;
      address: string;
      sessionId: string;
      /** The address taken apart and its host looked up, outside the watcher; null until then. */
      target: LeaderTarget | null;
    }
  | { kind: 'undecodable'; owner: string; error: string };

/** One component's election as seen in one layout's znodes. */
export interface LayoutObservation {
  layout: Layout;
  /** rest_server, dispatcher or resource_manager; only rest_server decides the role. */
  component: string;
  latchPath: string;
  leaderInfoPath: string;
  /** Whether the latch node itself exists (it is created by the first contender). */
  latchExists: boolean;
  /** Sorted by sequence, lowest (the leader) first. */
  participants: readonly LatchParticipant[];
  leaderInfo: LeaderInfoObservation;
}

export type ZooKeeperStatus =
  'connecting' | 'connected' | 'disconnected' | 'read-only' | 'expired' | 'unresponsive' | 'auth-failed' | 'closed';

/** Where Flink keeps the leader election: ZooKeeper, or ConfigMaps (Flink's Kubernetes HA services). */
export type LeaderSource = 'zookeeper' | 'kubernetes';

/**
 * The lock annotation (`control-plane.alpha.kubernetes.io/leader`) of a Flink HA ConfigMap, decoded.
 * `holder` null: the lock was released (holderIdentity null or empty).
 */
export type LockObservation =
  | { kind: 'absent' }
  | { kind: 'undecodable'; error: string }
  | {
      kind: 'record';
      holder: string | null;
      leaseDurationMs: number;
      /** As the holder wrote them (its wall clock): shown to people, compared only for change. */
      acquireTime: string | null;
      renewTime: string | null;
      leaderTransitions: number | null;
    };

/** The rest_server leader information in a Flink HA ConfigMap's data. */
export type ConfigMapLeaderInfo =
  | { kind: 'absent' }
  | { kind: 'undecodable'; error: string }
  | { kind: 'published'; address: string; sessionId: string; target: LeaderTarget | null };

/** One version of a Flink HA ConfigMap as the API server served it, decoded by the adapter. */
export interface ConfigMapVersion {
  resourceVersion: string;
  lock: LockObservation;
  leaderInfo: ConfigMapLeaderInfo;
}

/**
 * What the sidecar knows of one watched ConfigMap (Kubernetes source). Leader information carries
 * nothing that names its writer, so the writer is the holder named in the version in which the
 * sidecar saw the value change; after a gap (start, relist) it is unknown until the value changes.
 */
export interface ConfigMapTrack {
  name: string;
  layout: Layout;
  connection: { status: 'connecting' | 'connected' | 'unreachable' | 'forbidden'; sinceMs: number; detail: string | null };
  /** The last version seen; null when the ConfigMap does not exist (or before the first list). */
  version: ConfigMapVersion | null;
  /** Whether the first list has answered. */
  listed: boolean;
  /** The holder in the version where the leader information last changed; null when unknown. */
  writer: string | null;
  /** When the sidecar saw the lock renewed (renewTime or holder changed), by its own clock. */
  renewSeenAtMs: number | null;
  /** When the sidecar first saw the current holder hold the lock. */
  holderSinceMs: number | null;
}

export type JobManagerStatus = 'unchecked' | 'healthy' | 'no-leader' | 'unhealthy';

/** Why a check of the local JobManager's REST API did not find it healthy. */
export type JobManagerFailure = 'refused' | 'timeout' | 'http-5xx' | 'http-status' | 'invalid-response' | 'connection-error';

export interface JobManagerCheck {
  status: JobManagerStatus;
  /** The Flink version the JM last named (GET /config); null until it did. */
  flinkVersion: string | null;
  /** When the JM first answered healthy; null until then. */
  firstHealthyMs: number | null;
  /**
   * Since when the JM has been dead for /jobmanager/livez: unhealthy, or reporting "no leader"
   * while ZooKeeper shows one. null while alive.
   */
  deadSinceMs: number | null;
  recent: readonly JobManagerCheckRecord[];
  /** Stable reason code; null while healthy. */
  reason: Reason | null;
  detail: string | null;
  httpStatus: number | null;
  atMs: number | null;
  durationMs: number | null;
}

export interface Verdict {
  role: Role;
  /** Stable code: why the role is what it is (`is-leader`, `other-jm-leads`, `leader-info-stale`, ...). */
  roleReason: Reason;
  roleDetail: string | null;
  /** The layout whose znodes the decision used, when one was found. */
  layout: Layout | null;
  /**
   * The current leader (leader information written by whoever holds the lock now), when known.
   * `owner` names the lock holder as the source does: a ZooKeeper session id.
   */
  currentLeader: { address: string; sessionId: string; owner: string } | null;
  checks: readonly Check[];
  ready: boolean;
  /**
   * While a lost connection to the leader source is tolerated, the time the held verdict expires.
   * null otherwise.
   */
  holdUntilMs: number | null;
  /**
   * The next moment the verdict changes by time alone (a held verdict expires, a handover wait
   * ends): the wiring dispatches `clockTicked` then. null when nothing waits on the clock.
   */
  wakeAtMs: number | null;
}

/** One named condition of /readyz; `reason` is a stable code (reasons.ts), `detail` a sentence for people. */
export interface Check {
  /**
   * shutdown, the leader source's connection (zookeeper), leadership, jobmanager, handover, label
   * (label routing only); for /livez the name of each loop.
   */
  name: string;
  ok: boolean;
  reason: Reason | LoopReason;
  detail: string | null;
}

export interface Transition {
  atMs: number;
  fromRole: Role;
  toRole: Role;
  fromReady: boolean;
  toReady: boolean;
  /** The reason of the new verdict: the first failing check, or the role's reason when ready. */
  reason: Reason | LoopReason;
  detail: string | null;
  /** Why the role is what it is, which may differ from `reason` (a leader whose JM is down). */
  roleReason: Reason;
}

export interface LoopHeartbeat {
  lastMs: number;
  /** After this long without a tick the loop counts as stuck. */
  maxSilenceMs: number;
}

/**
 * How a Service finds the leader: `readiness` (only the leader is Ready) or `label` (the sidecar
 * keeps a role label on its pod for the Service to select, and readiness means "healthy").
 */
export type RoutingMode = 'readiness' | 'label';

/**
 * The role label on this pod, by meaning (the configured values are the adapter's business):
 * `absent` when the pod has no such label, `unrecognized` when it has one with a value that is
 * neither the leader nor the standby value.
 */
export type PodLabelValue = 'leader' | 'standby' | 'absent' | 'unrecognized';

/** Label routing: what the pod's role label is and should be, and how updating it goes. */
export interface PodLabelState {
  /** What the verdict asks for: the role while it is known and the sidecar is running, else absent. */
  desired: Exclude<PodLabelValue, 'unrecognized'>;
  /** The label as the API server last confirmed it (read or patched); null before the first answer. */
  applied: PodLabelValue | null;
  appliedAtMs: number | null;
  /** Since when the updates have been failing without our own label being patched since; null when not failing. */
  failingSinceMs: number | null;
  /** Failed steps of label updates since start (a counter for metrics). */
  failureCount: number;
  /** Leader labels taken off other pods of the cluster since start. */
  staleLeaderLabelsRemoved: number;
  lastError: PodLabelError | null;
}

/** One failed step of a label update, for people and /debug/state. */
export interface PodLabelError {
  atMs: number;
  operation: PodLabelOperation;
  /** The pod the step was about (ours, or the one whose stale leader label was being removed); null for a list. */
  podName: string | null;
  /** HTTP status from the API server; null when none came (timeout, connection error). */
  httpStatus: number | null;
  /** Stable code: forbidden, unauthorized, not-found, conflict, http-5xx, http-status, timeout, connection-error, ... */
  reason: string;
  detail: string;
}

/** The steps of a label update, in the order a new leader takes them. */
export type PodLabelOperation = 'read-own-pod' | 'list-leader-pods' | 'unlabel-stale-leader' | 'label-own-pod';

/** Settings the decisions depend on; fixed for the life of the sidecar. */
export interface CoreSettings {
  layoutSetting: LayoutSetting;
  leaderSource: LeaderSource;
  /** Kubernetes source: Flink's kubernetes.cluster-id, which names the HA ConfigMaps; null for ZooKeeper. */
  kubernetesClusterId: string | null;
  /**
   * Flink's high-availability.zookeeper.client.tolerate-suspended-connections: when true, a
   * leader keeps leading through a lost connection until its session times out, so the sidecar
   * keeps its last verdict for up to this many ms (Flink's session timeout, and never longer than
   * the servers grant: zookeeper.flinkSessionGrantedMs); null when false.
   */
  tolerateSuspendedMs: number | null;
  /** /jobmanager/livez: how long the JM may stay unhealthy after it was first seen healthy. */
  jobmanagerLivenessGraceMs: number;
  /** /jobmanager/livez: how long a JM never seen healthy gets to start. */
  jobmanagerStartupAllowanceMs: number;
  routingMode: RoutingMode;
  /** Label routing: how long label updates may keep failing before /readyz fails (check `label`). */
  labelFailureReadinessTimeoutMs: number;
  /**
   * Readiness routing: a JM that takes over from another is ready only this long after the other
   * was last seen leading, so that the kubelet has seen the old leader's pod fail its readiness
   * probe first and the Service never lists both. 0: at once.
   */
  leaderHandoverDelayMs: number;
}

/** One check of the local JM, kept for people debugging. */
export interface JobManagerCheckRecord {
  atMs: number;
  durationMs: number;
  healthy: boolean;
  reason: string | null;
  detail: string | null;
  httpStatus: number | null;
}

export const MAX_RECENT_CHECKS = 10;

export interface SidecarState {
  settings: CoreSettings;
  /** When another JM was last seen as the current leader (its sidecar's role was standby); null if never. */
  otherLeaderSeenMs: number | null;
  /** Kept as a top-level field too: the layout setting is read in many places. */
  layoutSetting: LayoutSetting;
  identity: LocalIdentity;
  /** When the sidecar started, and the time of the latest event (decisions never read a clock). */
  startedAtMs: number;
  nowMs: number;
  zookeeper: {
    status: ZooKeeperStatus;
    sessionId: string | null;
    sinceMs: number;
    detail: string | null;
    /** When ZooKeeper last answered anything (a ping or a read); null before the first answer. */
    lastAnswerMs: number | null;
    /** When the connection was lost, while it stays lost; null while connected or never connected. */
    lostSinceMs: number | null;
    /**
     * The session timeout the ZooKeeper servers grant a JobManager: Flink's requested timeout,
     * capped by the servers' maxSessionTimeout (20 ticks by default). Measured only when a lost
     * connection may be tolerated; null until then.
     */
    flinkSessionGrantedMs: number | null;
  };
  /** Kubernetes source: each watched ConfigMap by name (both layouts' names with `auto`). */
  kubernetes: Readonly<Record<string, ConfigMapTrack>>;
  election: {
    /** When the observations were made; compared with the session start to reject old ones. */
    observedAtMs: number | null;
    observations: readonly LayoutObservation[];
    readError: { code: string; path: string; message: string; atMs: number } | null;
  };
  jobmanager: JobManagerCheck;
  loops: Readonly<Record<string, LoopHeartbeat>>;
  shuttingDown: boolean;
  /** Label routing only; kept (unused) in readiness mode. */
  podLabel: PodLabelState;
  verdict: Verdict;
  /** The most recent transitions, oldest first, at most MAX_TRANSITIONS. */
  transitions: readonly Transition[];
}

export const MAX_TRANSITIONS = 100;

/** Everything the sources report. Past tense: each says what happened. */
export type SidecarEvent =
  | { type: 'zookeeperConnecting'; atMs: number }
  | { type: 'zookeeperConnected'; atMs: number; sessionId: string; readOnly?: boolean }
  | { type: 'zookeeperDisconnected'; atMs: number; detail: string }
  | { type: 'zookeeperSessionExpired'; atMs: number }
  | { type: 'zookeeperUnresponsive'; atMs: number; detail: string }
  | { type: 'zookeeperAuthFailed'; atMs: number; detail: string }
  | { type: 'zookeeperClosed'; atMs: number }
  | { type: 'zookeeperAnswered'; atMs: number }
  /** A session asked for with Flink's session timeout was granted this one by the servers. */
  | { type: 'flinkSessionTimeoutMeasured'; atMs: number; grantedMs: number }
  | { type: 'electionObserved'; atMs: number; observations: readonly LayoutObservation[] }
  | { type: 'electionReadFailed'; atMs: number; code: string; path: string; message: string }
  /**
   * Kubernetes source: a version of a watched ConfigMap (null: it does not exist). `continuous`
   * when it follows the previous one in a watch (no version missed); false after a (re)list.
   */
  | { type: 'configMapObserved'; atMs: number; name: string; version: ConfigMapVersion | null; continuous: boolean }
  /** Kubernetes source: listing or watching a ConfigMap failed; it is retried. */
  | { type: 'configMapWatchFailed'; atMs: number; name: string; forbidden: boolean; detail: string }
  | {
      type: 'restCheckSucceeded';
      atMs: number;
      durationMs: number;
      httpStatus: number;
      /** GET /config's flink-version, when the answer had one. */
      flinkVersion?: string | null;
    }
  | {
      type: 'restCheckFailed';
      atMs: number;
      durationMs: number;
      /** `jm-reports-no-leader` for Flink's leader-election 503, else a JobManagerFailure. */
      reason: JobManagerFailure | 'jm-reports-no-leader';
      detail: string;
      httpStatus: number | null;
    }
  | { type: 'loopTicked'; atMs: number; loop: string; maxSilenceMs: number }
  /** Time passed: re-evaluates decisions that expire (a tolerated disconnection, failing label updates). */
  | { type: 'clockTicked'; atMs: number }
  /** Label routing: the API server showed our pod's role label (a read of the pod). */
  | { type: 'podLabelRead'; atMs: number; value: PodLabelValue }
  /** Label routing: the API server accepted our patch of our own pod's role label. */
  | { type: 'podLabelApplied'; atMs: number; value: Exclude<PodLabelValue, 'unrecognized'> }
  /** Label routing: a step of a label update failed (its reads included); it will be retried. */
  | ({ type: 'podLabelPatchFailed' } & PodLabelError)
  /** Label routing: a new leader took the leader label off another pod of its cluster. */
  | { type: 'staleLeaderLabelRemoved'; atMs: number; podName: string }
  | { type: 'shutdownStarted'; atMs: number };

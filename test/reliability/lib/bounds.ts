/**
 * The bounds every reliability scenario is held to, for the settings below
 * (docs/reliability.md states them with the worst cases measured). Milliseconds.
 */
export const BOUNDS = {
  settings: {
    /** ZOOKEEPER_SESSION_TIMEOUT_MS of every sidecar. */
    sidecarSessionTimeoutMs: 4000,
    /** JOBMANAGER_CHECK_INTERVAL_MS / JOBMANAGER_CHECK_TIMEOUT_MS of every sidecar. */
    checkIntervalMs: 1000,
    checkTimeoutMs: 500,
    /** The JobManagers' (Flink's) ZooKeeper session timeout. */
    jmSessionTimeoutMs: 4000,
  },
  /** A sampled probe without an answer after this long counts as failed, as a kubelet's timeout. */
  probeTimeoutMs: 1000,
  /** Two sidecars ready at once, from their transition logs. */
  overlapLogMs: 50,
  /**
   * A sidecar process frozen (SIGSTOP, a long pause) while leadership moved still holds its last
   * verdict when it resumes, until it has processed what arrived meanwhile: two may be ready at
   * once for that long.
   */
  thawCatchUpMs: 150,
  /** Two sidecars ready at once, as sampled (a sample spans its request; edges blur by a period). */
  overlapSampledMs: 50,
  /** Sampled readiness lags the logged one by up to a sample period and a request. */
  samplingSlackMs: 100,
  /** A new leader's information written -> its sidecar ready. */
  newLeaderReadyMs: 1000,
  /** The leader's JobManager dies or freezes -> its sidecar not ready: a check interval and a timeout. */
  deadJobManagerNotReadyMs: 2000,
  /** The sidecar's ZooKeeper link goes silent -> not ready: within its session timeout. */
  partitionDetectedMs: 4000,
  /**
   * ZooKeeper restarted, the network healed or the sidecar thawed -> the leader's sidecar ready
   * again: a ZooKeeper JVM start, a sidecar connection that may need a new client (up to a session
   * timeout and a ping interval), Curator's reconnection and the JobManager's check.
   */
  recoveredReadyMs: 10_000,
  /** Other clients' probes while the server is abused (slow clients, floods): p99 and worst. */
  abuseProbeP99Ms: 100,
  abuseProbeMaxMs: 500,
  /** 3-node ensemble: a node or the quorum lost, or back -> a ready leader. */
  ensembleReadyMs: 20_000,
} as const;

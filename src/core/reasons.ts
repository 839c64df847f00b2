/**
 * Every reason code the sidecar reports, with what it means: /readyz, /leader, /standby,
 * /jobmanager/livez, the transition log, metrics, the alert rules and `status` all name them, so
 * they are a public contract. Renaming one breaks users' alerts and dashboards. docs/endpoints.md's
 * reason table lists exactly these (test/unit/reasons.test.ts keeps them in step).
 */

/** The check each reason belongs to, and its meaning, by code. */
export const REASONS = {
  // shutdown
  running: { check: 'shutdown', meaning: 'the sidecar runs' },
  'shutting-down': { check: 'shutdown', meaning: 'the sidecar received SIGTERM' },
  // zookeeper (also the role's reason while the connection is lost)
  'zookeeper-connected': { check: 'zookeeper', meaning: 'the session is connected' },
  'zookeeper-connecting': { check: 'zookeeper', meaning: 'connecting, not yet connected' },
  'zookeeper-disconnected': { check: 'zookeeper', meaning: 'the connection was lost; reconnecting' },
  'zookeeper-read-only': { check: 'zookeeper', meaning: 'connected to a read-only server, partitioned from the quorum' },
  'zookeeper-expired': { check: 'zookeeper', meaning: 'the session expired; a new one is starting' },
  'zookeeper-unresponsive': { check: 'zookeeper', meaning: "no answer to the sidecar's own ping: a silent partition" },
  'zookeeper-auth-failed': { check: 'zookeeper', meaning: 'the server refused the authentication' },
  'zookeeper-closed': { check: 'zookeeper', meaning: 'the session was closed' },
  'zookeeper-suspended-tolerated': {
    check: 'zookeeper',
    meaning: 'the connection is lost, but the last verdict holds (tolerate-suspended-connections)',
  },
  // kubernetes (Kubernetes source; also the role's reason while a watch fails)
  'kubernetes-connected': { check: 'kubernetes', meaning: 'every watched ConfigMap is listed and watched' },
  'kubernetes-connecting': { check: 'kubernetes', meaning: 'listing the ConfigMaps for the first time' },
  'kubernetes-unreachable': {
    check: 'kubernetes',
    meaning: 'listing or watching a ConfigMap failed (the API server is unreachable or answers errors); retrying',
  },
  'kubernetes-forbidden': { check: 'kubernetes', meaning: 'the API server refused the sidecar (401 or 403): its credentials or RBAC' },
  // leadership: the role's reasons
  'is-leader': { check: 'leadership', meaning: 'this JobManager is the current leader' },
  'other-jm-leads': { check: 'leadership', meaning: 'another JobManager is the current leader' },
  'election-not-read-yet': { check: 'leadership', meaning: 'the leader election has not been read yet' },
  'cluster-not-started': { check: 'leadership', meaning: 'no election znodes under the cluster-id' },
  'no-contenders': { check: 'leadership', meaning: 'nobody holds the latch (ZooKeeper) or the lock annotation is missing (Kubernetes)' },
  'no-leader-published': { check: 'leadership', meaning: 'the leader information node is absent or empty' },
  'leader-info-undecodable': { check: 'leadership', meaning: 'the leader information is not what Flink writes' },
  'leader-info-stale': {
    check: 'leadership',
    meaning: 'the leader information was written by a session (or lock holder) that no longer holds the latch (or lock)',
  },
  'leader-address-invalid': { check: 'leadership', meaning: 'the published address is not an http(s) URL' },
  'leader-address-unprintable': {
    check: 'leadership',
    meaning: 'the published address holds characters other than printable ASCII without whitespace (control characters, escapes)',
  },
  'identity-ambiguous': { check: 'leadership', meaning: 'the leader URL could be any JobManager (loopback, unspecified or shared host)' },
  'leader-host-unresolvable': { check: 'leadership', meaning: "the leader URL's host does not resolve" },
  'leader-configmap-absent': {
    check: 'leadership',
    meaning: 'Kubernetes source: the HA ConfigMap does not exist (cluster not started, or deleted)',
  },
  'lock-undecodable': { check: 'leadership', meaning: 'Kubernetes source: the lock annotation is not what Flink writes' },
  'lock-released': { check: 'leadership', meaning: 'Kubernetes source: the lock was released (no holderIdentity)' },
  'lease-expired': {
    check: 'leadership',
    meaning: "Kubernetes source: the holder has not renewed for longer than its lease, by the sidecar's clock",
  },
  'leader-writer-unknown': {
    check: 'leadership',
    meaning: 'Kubernetes source: the leader information predates the watch, and its holder has not yet been seen holding for a whole lease',
  },
  'zookeeper-noauth': { check: 'leadership', meaning: "the znodes' ACLs refuse the sidecar (NOAUTH)" },
  'zookeeper-read-failed': { check: 'leadership', meaning: 'reading the election failed' },
  // jobmanager: the local JobManager's REST API
  'jm-healthy': { check: 'jobmanager', meaning: 'GET /config answered 200 with a JSON object (or a 3xx)' },
  'jm-not-checked-yet': { check: 'jobmanager', meaning: 'no check has finished yet' },
  'jm-reports-no-leader': { check: 'jobmanager', meaning: "Flink's 503 'ongoing leader election': the JobManager knows no leader" },
  'jm-unhealthy': { check: 'jobmanager', meaning: 'the last check failed' },
  refused: { check: 'jobmanager', meaning: 'connection refused' },
  timeout: { check: 'jobmanager', meaning: 'no answer within the check timeout' },
  'http-5xx': { check: 'jobmanager', meaning: 'a 5xx other than the election 503' },
  'http-status': { check: 'jobmanager', meaning: 'another unexpected status' },
  'invalid-response': { check: 'jobmanager', meaning: 'not a JSON object, or too large' },
  'connection-error': { check: 'jobmanager', meaning: 'TLS or another connection failure (the detail says which)' },
  // handover (readiness mode, only while it waits)
  'leader-handover-wait': { check: 'handover', meaning: 'this JobManager took over from another less than --leader-handover-delay-ms ago' },
  // label (label mode)
  'label-current': { check: 'label', meaning: 'the pod carries the role label it should' },
  'label-updating': { check: 'label', meaning: 'the label is being updated' },
  'label-update-retrying': { check: 'label', meaning: 'updates fail, for less than --label-failure-readiness-timeout-ms' },
  'label-update-failing': { check: 'label', meaning: 'updates have failed for longer than --label-failure-readiness-timeout-ms' },
  // /jobmanager/livez
  'jm-alive': { check: 'jobmanager-livez', meaning: 'the JobManager is alive' },
  'jm-starting': { check: 'jobmanager-livez', meaning: 'not healthy yet, within the start-up allowance' },
  'jm-within-grace': { check: 'jobmanager-livez', meaning: 'dead for less than the grace' },
  'jm-never-healthy': { check: 'jobmanager-livez', meaning: 'never healthy within the start-up allowance' },
  'jm-stuck-without-leader': { check: 'jobmanager-livez', meaning: "says 'no leader' while ZooKeeper has one, longer than the grace" },
} as const;

export type Reason = keyof typeof REASONS;

/** The sidecar's own loops, each a check of /livez. */
export const LOOPS = ['zookeeper-supervisor', 'jobmanager-checker'] as const;
export type LoopName = (typeof LOOPS)[number];
/** /livez: `<loop>-running` or `<loop>-stuck`. */
export type LoopReason = `${LoopName}-running` | `${LoopName}-stuck`;

/** The zookeeper check's reason for a connection state. */
export function zookeeperReason(
  status: 'connecting' | 'connected' | 'disconnected' | 'read-only' | 'expired' | 'unresponsive' | 'auth-failed' | 'closed',
): Reason {
  return `zookeeper-${status}`;
}

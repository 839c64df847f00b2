import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { readLeaderSource } from '../core/leader-source.js';
import type { LayoutObservation, LayoutSetting, LeaderSource, SidecarEvent, SidecarState } from '../core/model.js';
import { readiness } from '../core/verdicts.js';
import type { Store } from '../store.js';
import { processMetrics } from './process-metrics.js';

export const METRIC_PREFIX = 'flink_ha_sidecar_';

type CheckFailureReason = Extract<SidecarEvent, { type: 'restCheckFailed' }>['reason'];

/**
 * Every value the `reason` label of `jobmanager_check_failures_total` can take. Fixed, so the
 * series exist (at 0) from the first scrape and `increase()` sees the first failure.
 */
export const JOBMANAGER_CHECK_FAILURE_REASONS = [
  'refused',
  'timeout',
  'http-5xx',
  'http-status',
  'invalid-response',
  'connection-error',
  'jm-reports-no-leader',
] as const satisfies readonly CheckFailureReason[];

// A reason added to the model without being listed above fails the type check here, rather than
// appearing as a series that was never initialised.
type UnlistedReason = Exclude<CheckFailureReason, (typeof JOBMANAGER_CHECK_FAILURE_REASONS)[number]>;
const allReasonsListed: [UnlistedReason] extends [never] ? true : UnlistedReason = true;
// `void` uses the constant, which exists only for its type, so noUnusedLocals accepts it.
// eslint-disable-next-line @typescript-eslint/no-meaningless-void-operator
void allReasonsListed;

/** Bucket bounds (seconds) of `jobmanager_check_duration_seconds`: loopback answers to the 1 s default timeout and beyond. */
export const JOBMANAGER_CHECK_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface MetricsOptions {
  store: Store;
  /** The sidecar's version (package.json), shown in build_info. */
  version: string;
  /** The configured layout (`auto`, `1.15`, ...), shown in build_info. */
  layoutSetting: LayoutSetting;
  /** Where the election is read (build_info's `leader_source`); the ZooKeeper session's own metrics exist only for zookeeper. */
  leaderSource: LeaderSource;
  /**
   * Flink's high-availability.cluster-id. Shown in build_info without leading slashes (`/default`
   * reads `default`), as operators write it in Flink's configuration.
   */
  clusterId: string;
}

export interface SidecarMetrics {
  /** This sidecar's registry: its own metrics plus the process-wide Node metrics. */
  registry: Registry;
  /** The Content-Type of `render()`'s text (Prometheus text format 0.0.4). */
  contentType: string;
  /**
   * The exposition text of every metric, from the state in memory: never waits on ZooKeeper or
   * Flink. Resolves within about a millisecond (see bench/metrics-scrape.ts).
   */
  render: () => Promise<string>;
  /** Stops following the store; counters keep their values. Idempotent. */
  close: () => void;
}

/**
 * Creates the sidecar's Prometheus metrics for one store, in a registry of its own (so that a
 * process may run several sidecars, as the tests do). Gauges read `store.state` at scrape time;
 * counters and the histogram are fed by store events from now on, so create the metrics before
 * the sources start. Timestamps are seconds on the epoch scale of the store's clock.
 */
export function createMetrics(opts: MetricsOptions): SidecarMetrics {
  const { store } = opts;
  const registry = new Registry();
  for (const metric of processMetrics()) registry.registerMetric(metric);
  const registers = [registry];
  const name = (suffix: string): string => METRIC_PREFIX + suffix;

  /** A gauge without labels whose value is read from the current state at every scrape. */
  const stateGauge = (suffix: string, help: string, value: (s: SidecarState) => number): void => {
    new Gauge({
      name: name(suffix),
      help,
      registers,
      collect() {
        this.set(value(store.state));
      },
    });
  };
  const flag = (b: boolean): number => (b ? 1 : 0);

  stateGauge('is_leader', '1 when this JobManager is the current leader (ZooKeeper says so and the leader URL is ours), else 0.', (s) =>
    flag(s.verdict.role === 'leader'),
  );
  stateGauge('is_standby', '1 when another JobManager is the current leader, else 0.', (s) => flag(s.verdict.role === 'standby'));
  stateGauge('role_known', '1 when the role is leader or standby, 0 while it is unknown (see the /readyz reason).', (s) =>
    flag(s.verdict.role !== 'unknown'),
  );
  stateGauge(
    'ready',
    '1 when /readyz answers 200: the healthy current leader (in label routing mode also a healthy standby), connected to ZooKeeper, not shutting down.',
    (s) => flag(readiness(s).ok),
  );
  stateGauge('pod_label_failing', 'Label routing: 1 while updates of the pod role label keep failing (see /debug/state), else 0.', (s) =>
    flag(s.podLabel.failingSinceMs !== null),
  );
  stateGauge(
    'leader_source_connected',
    '1 while the sidecar reads the election live from its leader source (ZooKeeper session connected, or every HA ConfigMap listed and watched), else 0.',
    (s) => flag(readLeaderSource(s).connected),
  );
  if (opts.leaderSource === 'zookeeper') {
    stateGauge(
      'zookeeper_connected',
      "1 while the sidecar's own ZooKeeper session is connected to the quorum (not read-only), else 0.",
      (s) => flag(s.zookeeper.status === 'connected'),
    );
    stateGauge(
      'zookeeper_last_seen_timestamp_seconds',
      'When ZooKeeper last answered the sidecar (a ping or a read), in seconds since the epoch; 0 before the first answer.',
      (s) => (s.zookeeper.lastAnswerMs === null ? 0 : s.zookeeper.lastAnswerMs / 1000),
    );
  }
  stateGauge(
    'leader_info_stale',
    '1 while the published leader information was written by a session (or lock holder) that no longer holds the latch (or lock).',
    (s) => flag(s.verdict.roleReason === 'leader-info-stale'),
  );
  stateGauge(
    'identity_ambiguous',
    '1 while the leader URL could be any JobManager (loopback, unspecified, or a name of several pods): role unknown, reason identity-ambiguous.',
    (s) => flag(s.verdict.roleReason === 'identity-ambiguous'),
  );
  stateGauge(
    'jobmanager_up',
    "1 when the local JobManager's last REST check was healthy; 0 when unchecked, failing, or it reports no leader.",
    (s) => flag(s.jobmanager.status === 'healthy'),
  );

  new Gauge({
    name: name('build_info'),
    help: 'Always 1; labels: the sidecar version, the leader source, the configured layout and the Flink cluster id.',
    labelNames: ['version', 'leader_source', 'flink_ha_layout', 'cluster_id'],
    registers,
  }).set(
    {
      version: opts.version,
      leader_source: opts.leaderSource,
      flink_ha_layout: opts.layoutSetting,
      cluster_id: opts.clusterId.replace(/^\/+/, ''),
    },
    1,
  );

  /** A counter kept by the core (it counts what the adapters report), read at every scrape. */
  const stateCounter = (suffix: string, help: string, value: (s: SidecarState) => number): void => {
    new Counter({
      name: name(suffix),
      help,
      registers,
      collect() {
        this.reset();
        this.inc(value(store.state));
      },
    });
  };
  stateCounter(
    'pod_label_update_failures_total',
    'Label routing: failed steps (get, list, patch) of pod role label updates; each is retried with backoff.',
    (s) => s.podLabel.failureCount,
  );
  stateCounter(
    'pod_label_stale_leader_labels_removed_total',
    'Label routing: leader labels this sidecar took off other pods of its cluster on becoming leader.',
    (s) => s.podLabel.staleLeaderLabelsRemoved,
  );

  const leadershipChanges = new Counter({
    name: name('leadership_changes_total'),
    help: 'How often the current leader (latch owner and Flink leader session id) changed, as seen by this sidecar; the first leader seen is not a change.',
    registers,
  });
  const lastLeadershipChange = new Gauge({
    name: name('last_leadership_change_timestamp_seconds'),
    help: 'When this sidecar last saw the current leader change, in seconds since the epoch; 0 before any change.',
    registers,
  });
  const sessionExpirations =
    opts.leaderSource === 'zookeeper'
      ? new Counter({
          name: name('zookeeper_session_expirations_total'),
          help: "How often the sidecar's own ZooKeeper session expired (each is followed by a new session).",
          registers,
        })
      : null;
  const decodeErrors = new Counter({
    name: name('leader_info_decode_errors_total'),
    help: "Leader information (znodes, or the HA ConfigMap's entry) whose content could not be decoded; the same content seen again is not counted again.",
    registers,
  });
  const checkDuration = new Histogram({
    name: name('jobmanager_check_duration_seconds'),
    help: "Duration of the checks of the local JobManager's REST API, successful or not.",
    buckets: JOBMANAGER_CHECK_BUCKETS_SECONDS,
    registers,
  });
  const checkFailures = new Counter({
    name: name('jobmanager_check_failures_total'),
    help: "Failed checks of the local JobManager's REST API, by reason (as in /readyz).",
    labelNames: ['reason'],
    registers,
  });
  for (const reason of JOBMANAGER_CHECK_FAILURE_REASONS) checkFailures.inc({ reason }, 0);

  // The last leader seen, kept across spells without one (a stale node, a lost connection), so that
  // A -> none -> B counts once and A -> none -> A not at all.
  let lastLeader = leaderKey(store.state);
  const unsubscribe = store.subscribe((next, previous, event) => {
    const leader = leaderKey(next);
    if (leader !== null && leader !== lastLeader) {
      if (lastLeader !== null) {
        leadershipChanges.inc();
        lastLeadershipChange.set(event.atMs / 1000);
      }
      lastLeader = leader;
    }
    switch (event.type) {
      case 'zookeeperSessionExpired':
        sessionExpirations?.inc();
        break;
      case 'electionObserved': {
        const fresh = newlyUndecodable(previous.election.observations, next.election.observations);
        if (fresh > 0) decodeErrors.inc(fresh);
        break;
      }
      case 'configMapObserved': {
        // A new error, not the same one seen again in a later version (a renewal, say).
        const info = event.version?.leaderInfo;
        const before = previous.kubernetes[event.name]?.version?.leaderInfo;
        if (info?.kind === 'undecodable' && !(before?.kind === 'undecodable' && before.error === info.error)) decodeErrors.inc();
        break;
      }
      case 'restCheckSucceeded':
        checkDuration.observe(event.durationMs / 1000);
        break;
      case 'restCheckFailed':
        checkDuration.observe(event.durationMs / 1000);
        checkFailures.inc({ reason: event.reason });
        break;
      default:
        break;
    }
  });

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    close: unsubscribe,
  };
}

function leaderKey(state: SidecarState): string | null {
  const leader = state.verdict.currentLeader;
  return leader === null ? null : `${leader.owner}/${leader.sessionId}`;
}

/**
 * How many leader information nodes are undecodable now that were not undecodable the same way
 * (same writer, same error) before: every read re-decodes every node, and a latch change alone
 * must not count a decode error again. Nodes are told apart by path (one per layout and component).
 */
function newlyUndecodable(before: readonly LayoutObservation[], after: readonly LayoutObservation[]): number {
  let count = 0;
  for (const o of after) {
    const info = o.leaderInfo;
    if (info.kind !== 'undecodable') continue;
    const old = before.find((b) => b.leaderInfoPath === o.leaderInfoPath)?.leaderInfo;
    if (old?.kind === 'undecodable' && old.owner === info.owner && old.error === info.error) continue;
    count += 1;
  }
  return count;
}

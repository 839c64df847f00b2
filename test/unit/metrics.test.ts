/**
 * The sidecar's Prometheus metrics (src/metrics/): gauges read the current state at scrape time,
 * counters and the histogram follow store events, label sets are fixed, names follow Prometheus
 * conventions, and GET /metrics serves them without logging or waiting.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LocalIdentity } from '../../src/core/identity.js';
import type { LayoutObservation, LeaderInfoObservation, SidecarEvent } from '../../src/core/model.js';
import { initialState } from '../../src/core/reduce.js';
import { testCoreSettings } from '../support/core-settings.js';
import { createApp } from '../../src/http/create-app.js';
import { createMetrics, JOBMANAGER_CHECK_FAILURE_REASONS, METRIC_PREFIX, type SidecarMetrics } from '../../src/metrics/create-metrics.js';
import { DROPPED_DEFAULT_METRICS } from '../../src/metrics/process-metrics.js';
import { packageVersion } from '../../src/package-version.js';
import { Store } from '../../src/store.js';
import { listenLocal } from '../support/listen-local.js';
import { targetOf } from '../support/leader-target.js';

const ME = '10.0.0.5';
const OTHER = '10.0.0.6';
const identity: LocalIdentity = { explicitHosts: null, interfaceAddresses: [ME], restPort: 8081 };
const S_ME = '0000000000000aaa';
const S_OTHER = '0000000000000bbb';
const FLINK_SESSION_1 = '6d1f0d7c-0000-4000-8000-000000000001';
const FLINK_SESSION_2 = '6d1f0d7c-0000-4000-8000-000000000002';

function published(host: string, owner: string, sessionId = FLINK_SESSION_1): LeaderInfoObservation {
  return { kind: 'published', owner, address: `http://${host}:8081`, sessionId, target: targetOf(`http://${host}:8081`) };
}

/** The 1.15 layout with `holders` in the latch (the first leads) and `leaderInfo` published. */
function election(holders: string[], leaderInfo: LeaderInfoObservation): LayoutObservation[] {
  // Asserted rather than typed: `component` is read by newer models, and the metrics never look at it.
  const restServer = {
    layout: '1.15',
    component: 'rest_server',
    latchPath: '/flink/default/leader/latch',
    leaderInfoPath: '/flink/default/leader/rest_server/connection_info',
    latchExists: holders.length > 0,
    participants: holders.map((owner, i) => ({ node: `_c_${owner}-latch-000000000${i}`, sequence: i, owner })),
    leaderInfo,
  } as LayoutObservation;
  return [restServer];
}

/** A store and its metrics, the sidecar connected to ZooKeeper at t=1 s with a healthy JM. */
function setUp(): { store: Store; metrics: SidecarMetrics } {
  const store = new Store(initialState('auto', identity, 0, testCoreSettings()));
  const metrics = createMetrics({ store, version: '1.2.3', leaderSource: 'zookeeper', layoutSetting: 'auto', clusterId: '/team-a/orders' });
  store.dispatch({ type: 'zookeeperConnected', atMs: 1000, sessionId: 'ccc' });
  store.dispatch({ type: 'restCheckSucceeded', atMs: 1000, durationMs: 4, httpStatus: 200 });
  return { store, metrics };
}

function observe(store: Store, atMs: number, observations: LayoutObservation[]): void {
  store.dispatch({ type: 'electionObserved', atMs, observations });
}

/** Samples of one exposition text: `name` or `name{labels as written}` to value. */
async function scrape(metrics: SidecarMetrics): Promise<Map<string, number>> {
  const samples = new Map<string, number>();
  for (const line of (await metrics.render()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    samples.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return samples;
}

async function value(metrics: SidecarMetrics, series: string): Promise<number> {
  const samples = await scrape(metrics);
  const v = samples.get(METRIC_PREFIX + series);
  assert.notEqual(v, undefined, `no sample ${METRIC_PREFIX}${series}`);
  return v!;
}

describe('role gauges follow the verdict at scrape time', () => {
  const cases: { name: string; events: SidecarEvent[]; expect: Record<string, number> }[] = [
    {
      name: 'leader, healthy: ready',
      events: [{ type: 'electionObserved', atMs: 2000, observations: election([S_ME, S_OTHER], published(ME, S_ME)) }],
      expect: { is_leader: 1, is_standby: 0, role_known: 1, ready: 1, leader_info_stale: 0, identity_ambiguous: 0, jobmanager_up: 1 },
    },
    {
      name: 'standby',
      events: [{ type: 'electionObserved', atMs: 2000, observations: election([S_OTHER, S_ME], published(OTHER, S_OTHER)) }],
      expect: { is_leader: 0, is_standby: 1, role_known: 1, ready: 0, leader_info_stale: 0, identity_ambiguous: 0 },
    },
    {
      name: 'leader whose JM reports no leader: not ready, JM not up',
      events: [
        { type: 'electionObserved', atMs: 2000, observations: election([S_ME], published(ME, S_ME)) },
        { type: 'restCheckFailed', atMs: 2100, durationMs: 2, reason: 'jm-reports-no-leader', detail: '503', httpStatus: 503 },
      ],
      expect: { is_leader: 1, ready: 0, jobmanager_up: 0 },
    },
    {
      name: 'stale leader information: role unknown, stale flag',
      events: [{ type: 'electionObserved', atMs: 2000, observations: election([S_OTHER], published(ME, S_ME)) }],
      expect: { is_leader: 0, is_standby: 0, role_known: 0, ready: 0, leader_info_stale: 1, identity_ambiguous: 0 },
    },
    {
      name: 'a leader URL on localhost: identity ambiguous',
      events: [{ type: 'electionObserved', atMs: 2000, observations: election([S_ME], published('localhost', S_ME)) }],
      expect: { is_leader: 0, role_known: 0, identity_ambiguous: 1, leader_info_stale: 0 },
    },
    {
      name: 'ZooKeeper lost: not connected, role unknown',
      events: [
        { type: 'electionObserved', atMs: 2000, observations: election([S_ME], published(ME, S_ME)) },
        { type: 'zookeeperDisconnected', atMs: 2500, detail: 'lost' },
      ],
      expect: { zookeeper_connected: 0, is_leader: 0, role_known: 0, ready: 0 },
    },
    {
      name: 'read-only server: not connected to the quorum',
      events: [{ type: 'zookeeperConnected', atMs: 2000, sessionId: 'ddd', readOnly: true }],
      expect: { zookeeper_connected: 0 },
    },
    {
      name: 'shutting down: the leader stays leader but is no longer ready',
      events: [
        { type: 'electionObserved', atMs: 2000, observations: election([S_ME], published(ME, S_ME)) },
        { type: 'shutdownStarted', atMs: 2100 },
      ],
      expect: { is_leader: 1, ready: 0 },
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { store, metrics } = setUp();
      for (const e of c.events) store.dispatch(e);
      for (const [series, expected] of Object.entries(c.expect)) {
        assert.equal(await value(metrics, series), expected, series);
      }
    });
  }

  it('a scrape reads the state of that moment, not of an earlier scrape', async () => {
    const { store, metrics } = setUp();
    observe(store, 2000, election([S_ME], published(ME, S_ME)));
    assert.equal(await value(metrics, 'is_leader'), 1);
    observe(store, 3000, election([S_OTHER], published(OTHER, S_OTHER)));
    assert.equal(await value(metrics, 'is_leader'), 0);
    assert.equal(await value(metrics, 'is_standby'), 1);
  });
});

describe('ZooKeeper metrics', () => {
  it('connected, last answer in seconds, 0 before any answer', async () => {
    const store = new Store(initialState('auto', identity, 0, testCoreSettings()));
    const metrics = createMetrics({ store, version: 'v', leaderSource: 'zookeeper', layoutSetting: 'auto', clusterId: '/default' });
    assert.equal(await value(metrics, 'zookeeper_connected'), 0);
    assert.equal(await value(metrics, 'zookeeper_last_seen_timestamp_seconds'), 0);
    const epochLikeMs = 1_760_000_000_123.5;
    store.dispatch({ type: 'zookeeperConnected', atMs: epochLikeMs - 5000, sessionId: 'ccc' });
    store.dispatch({ type: 'zookeeperAnswered', atMs: epochLikeMs });
    assert.equal(await value(metrics, 'zookeeper_connected'), 1);
    assert.equal(await value(metrics, 'zookeeper_last_seen_timestamp_seconds'), epochLikeMs / 1000);
  });

  it('counts session expirations, not disconnections', async () => {
    const { store, metrics } = setUp();
    store.dispatch({ type: 'zookeeperDisconnected', atMs: 2000, detail: 'lost' });
    store.dispatch({ type: 'zookeeperConnected', atMs: 2100, sessionId: 'ccc' });
    assert.equal(await value(metrics, 'zookeeper_session_expirations_total'), 0);
    store.dispatch({ type: 'zookeeperSessionExpired', atMs: 3000 });
    store.dispatch({ type: 'zookeeperConnecting', atMs: 4000 });
    store.dispatch({ type: 'zookeeperConnected', atMs: 4100, sessionId: 'ddd' });
    store.dispatch({ type: 'zookeeperSessionExpired', atMs: 5000 });
    assert.equal(await value(metrics, 'zookeeper_session_expirations_total'), 2);
  });
});

describe('leadership changes: counted when the current leader changes, the same on every sidecar', () => {
  const A = published(ME, S_ME);
  const B = published(OTHER, S_OTHER);
  const cases: { name: string; steps: LayoutObservation[][]; changes: number }[] = [
    { name: 'the first leader seen is not a change', steps: [election([S_ME], A)], changes: 0 },
    { name: 'A then B', steps: [election([S_ME], A), election([S_OTHER], B)], changes: 1 },
    {
      name: 'A, stale (no current leader), then B: one change',
      steps: [election([S_ME], A), election([S_OTHER], A), election([S_OTHER], B)],
      changes: 1,
    },
    {
      name: 'A, no leader published, A again: no change',
      steps: [election([S_ME], A), election([S_ME], { kind: 'empty', owner: S_ME }), election([S_ME], A)],
      changes: 0,
    },
    {
      name: 'the same JM re-elected with a new Flink leader session id: a change',
      steps: [election([S_ME], A), election([S_ME], published(ME, S_ME, FLINK_SESSION_2))],
      changes: 1,
    },
    {
      name: 'A, B, A, B: three changes',
      steps: [election([S_ME], A), election([S_OTHER], B), election([S_ME], A), election([S_OTHER], B)],
      changes: 3,
    },
    {
      name: 'a standby counts the same as the leader: B leads from the start, then A',
      steps: [election([S_OTHER, S_ME], B), election([S_ME], A)],
      changes: 1,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { store, metrics } = setUp();
      c.steps.forEach((observations, i) => observe(store, 2000 + i * 1000, observations));
      assert.equal(await value(metrics, 'leadership_changes_total'), c.changes);
    });
  }

  it('a lost and regained ZooKeeper connection with the same leader is no change', async () => {
    const { store, metrics } = setUp();
    observe(store, 2000, election([S_ME], A));
    store.dispatch({ type: 'zookeeperDisconnected', atMs: 3000, detail: 'lost' });
    store.dispatch({ type: 'zookeeperConnected', atMs: 4000, sessionId: 'ccc' });
    observe(store, 4100, election([S_ME], A));
    assert.equal(await value(metrics, 'leadership_changes_total'), 0);
    assert.equal(await value(metrics, 'last_leadership_change_timestamp_seconds'), 0);
  });

  it('stamps the last change with the time of the event that showed it, in seconds', async () => {
    const { store, metrics } = setUp();
    observe(store, 2000, election([S_ME], A));
    observe(store, 7_250, election([S_OTHER], B));
    assert.equal(await value(metrics, 'last_leadership_change_timestamp_seconds'), 7.25);
  });
});

describe('leader information decode errors', () => {
  const bad = (owner: string, error: string): LeaderInfoObservation => ({ kind: 'undecodable', owner, error });

  it('counts new undecodable content once, not every re-read', async () => {
    const { store, metrics } = setUp();
    observe(store, 2000, election([S_ME], bad(S_ME, 'bad magic')));
    // A latch change makes the watcher read (and decode) everything again.
    observe(store, 3000, election([S_ME, S_OTHER], bad(S_ME, 'bad magic')));
    assert.equal(await value(metrics, 'leader_info_decode_errors_total'), 1);
    observe(store, 4000, election([S_ME, S_OTHER], bad(S_ME, 'truncated')));
    observe(store, 5000, election([S_ME], published(ME, S_ME)));
    observe(store, 6000, election([S_ME], bad(S_ME, 'truncated')));
    assert.equal(await value(metrics, 'leader_info_decode_errors_total'), 3);
  });

  it('with the Kubernetes source: a new error in the ConfigMap once, not again in its later versions', async () => {
    const settings = testCoreSettings({ leaderSource: 'kubernetes', kubernetesClusterId: 'c' });
    const store = new Store(initialState('1.15', identity, 0, settings));
    const metrics = createMetrics({ store, version: '1.2.3', leaderSource: 'kubernetes', layoutSetting: '1.15', clusterId: 'c' });
    const lock = (renewTime: string) =>
      ({ kind: 'record', holder: 'a', leaseDurationMs: 15_000, acquireTime: null, renewTime, leaderTransitions: 0 }) as const;
    const seen = (atMs: number, renewTime: string, error: string) =>
      store.dispatch({
        type: 'configMapObserved',
        atMs,
        name: 'c-cluster-config-map',
        continuous: true,
        version: { resourceVersion: String(atMs), lock: lock(renewTime), leaderInfo: { kind: 'undecodable', error } },
      });
    seen(1000, 't1', 'no comma');
    seen(2000, 't2', 'no comma');
    assert.equal(await value(metrics, 'leader_info_decode_errors_total'), 1);
    seen(3000, 't3', 'not a UUID');
    assert.equal(await value(metrics, 'leader_info_decode_errors_total'), 2);
    assert.equal(await value(metrics, 'leader_source_connected'), 1);
    assert.equal((await metrics.render()).includes('zookeeper_connected'), false, 'no ZooKeeper metrics without ZooKeeper');
  });
});

describe('JobManager checks', () => {
  it('observes every check duration in seconds and counts failures by reason, all reasons from 0', async () => {
    const store = new Store(initialState('auto', identity, 0, testCoreSettings()));
    const metrics = createMetrics({ store, version: 'v', leaderSource: 'zookeeper', layoutSetting: 'auto', clusterId: '/default' });
    const before = await scrape(metrics);
    for (const reason of JOBMANAGER_CHECK_FAILURE_REASONS) {
      assert.equal(before.get(`${METRIC_PREFIX}jobmanager_check_failures_total{reason="${reason}"}`), 0, reason);
    }
    store.dispatch({ type: 'restCheckSucceeded', atMs: 1000, durationMs: 3, httpStatus: 200 });
    store.dispatch({ type: 'restCheckFailed', atMs: 2000, durationMs: 1000, reason: 'timeout', detail: 'no answer', httpStatus: null });
    store.dispatch({ type: 'restCheckFailed', atMs: 3000, durationMs: 1, reason: 'refused', detail: 'ECONNREFUSED', httpStatus: null });
    store.dispatch({ type: 'restCheckFailed', atMs: 4000, durationMs: 2, reason: 'refused', detail: 'ECONNREFUSED', httpStatus: null });
    const after = await scrape(metrics);
    const h = `${METRIC_PREFIX}jobmanager_check_duration_seconds`;
    assert.equal(after.get(`${h}_count`), 4);
    assert.ok(Math.abs(after.get(`${h}_sum`)! - 1.006) < 1e-9, `sum ${after.get(`${h}_sum`)}`);
    assert.equal(after.get(`${h}_bucket{le="0.001"}`), 1);
    assert.equal(after.get(`${h}_bucket{le="0.005"}`), 3);
    assert.equal(after.get(`${h}_bucket{le="0.5"}`), 3);
    assert.equal(after.get(`${h}_bucket{le="1"}`), 4);
    const failures = (reason: string) => after.get(`${METRIC_PREFIX}jobmanager_check_failures_total{reason="${reason}"}`);
    assert.equal(failures('refused'), 2);
    assert.equal(failures('timeout'), 1);
    assert.equal(failures('http-5xx'), 0);
    assert.equal(await value(metrics, 'jobmanager_up'), 0);
  });
});

describe('exposition', () => {
  it('build_info carries version, layout setting and the cluster id as Flink writes it', async () => {
    const { metrics } = setUp();
    const samples = await scrape(metrics);
    assert.equal(
      samples.get(
        `${METRIC_PREFIX}build_info{version="1.2.3",leader_source="zookeeper",flink_ha_layout="auto",cluster_id="team-a/orders"}`,
      ),
      1,
    );
  });

  it('names follow Prometheus conventions; the *_total gauges of the defaults are gone; Node metrics stay', async () => {
    const { metrics } = setUp();
    const text = await metrics.render();
    const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    for (const name of DROPPED_DEFAULT_METRICS) assert.equal(types.has(name), false, name);
    for (const [name, type] of types) {
      assert.equal(name.endsWith('_total'), type === 'counter', `${name} is a ${type}`);
    }
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_eventloop_lag_max_seconds',
      'nodejs_active_handles',
      'nodejs_gc_duration_seconds',
    ]) {
      assert.ok(types.has(name), name);
    }
    const own = [...types.keys()].filter((n) => n.startsWith(METRIC_PREFIX)).sort();
    assert.deepEqual(
      own,
      [
        'build_info',
        'identity_ambiguous',
        'is_leader',
        'is_standby',
        'jobmanager_check_duration_seconds',
        'jobmanager_check_failures_total',
        'jobmanager_up',
        'last_leadership_change_timestamp_seconds',
        'leader_info_decode_errors_total',
        'leader_info_stale',
        'leader_source_connected',
        'leadership_changes_total',
        'pod_label_failing',
        'pod_label_stale_leader_labels_removed_total',
        'pod_label_update_failures_total',
        'ready',
        'role_known',
        'zookeeper_connected',
        'zookeeper_last_seen_timestamp_seconds',
        'zookeeper_session_expirations_total',
      ]
        .map((n) => METRIC_PREFIX + n)
        .sort(),
    );
    // Every series of our own: only the labels we chose, so cardinality is fixed.
    const labelNames = new Set(
      [...text.matchAll(/^flink_ha_sidecar_\w+\{([^}]*)\}/gm)].flatMap((m) => [...m[1]!.matchAll(/(\w+)="/g)].map((l) => l[1]!)),
    );
    assert.deepEqual([...labelNames].sort(), ['cluster_id', 'flink_ha_layout', 'le', 'leader_source', 'reason', 'version']);
  });

  it('event-loop delay gauges are seconds a sample came late, set once the loop has been sampled', async () => {
    const { metrics } = setUp();
    await metrics.render();
    // The monitor samples once a second and each scrape starts its statistics afresh: scrape
    // every 1.5 s until some samples were recorded (bounded), then check their unit.
    let samples = await scrape(metrics);
    for (let i = 0; i < 8 && !(samples.get('nodejs_eventloop_lag_max_seconds')! > 0); i++) {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      samples = await scrape(metrics);
    }
    const p99 = samples.get('nodejs_eventloop_lag_p99_seconds')!;
    const max = samples.get('nodejs_eventloop_lag_max_seconds')!;
    assert.ok(max > 0, `max ${max}: no sample recorded`);
    // Node records the interval between samples; without the 1 s period taken off, a free loop
    // would show about 1 s here.
    assert.ok(p99 >= 0 && p99 < 0.9, `p99 ${p99}`);
    assert.ok(max >= p99 && max < 5, `max ${max}`);
    assert.ok(samples.get('nodejs_eventloop_lag_seconds')! >= 0);
  });

  it('several sidecars in one process each have their own registry and counters', async () => {
    const one = setUp();
    const two = setUp();
    one.store.dispatch({ type: 'zookeeperSessionExpired', atMs: 2000 });
    assert.equal(await value(one.metrics, 'zookeeper_session_expirations_total'), 1);
    assert.equal(await value(two.metrics, 'zookeeper_session_expirations_total'), 0);
    assert.notEqual(one.metrics.registry, two.metrics.registry);
  });

  it('close() stops following the store', async () => {
    const { store, metrics } = setUp();
    metrics.close();
    store.dispatch({ type: 'zookeeperSessionExpired', atMs: 2000 });
    assert.equal(await value(metrics, 'zookeeper_session_expirations_total'), 0);
  });

  it('GET /metrics serves the text format from the app, HEAD too, other methods 405', async () => {
    const { store, metrics } = setUp();
    observe(store, 2000, election([S_ME], published(ME, S_ME)));
    const srv = await listenLocal(createApp({ getState: () => store.state, clock: () => 3000, metrics }));
    try {
      const res = await fetch(`${srv.url}/metrics`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.match(await res.text(), /^flink_ha_sidecar_is_leader 1$/m);
      assert.equal((await fetch(`${srv.url}/metrics`, { method: 'HEAD' })).status, 200);
      assert.equal((await fetch(`${srv.url}/metrics`, { method: 'POST' })).status, 405);
    } finally {
      await srv.close();
    }
  });

  it("the version is package.json's", () => {
    assert.match(packageVersion(), /^\d+\.\d+\.\d+/);
  });
});

describe('label routing metrics', () => {
  it('count failed label updates and show while they keep failing', async () => {
    const { store, metrics } = setUp();
    assert.equal(await value(metrics, 'pod_label_update_failures_total'), 0);
    assert.equal(await value(metrics, 'pod_label_failing'), 0);
    for (const atMs of [2000, 2500]) {
      store.dispatch({
        type: 'podLabelPatchFailed',
        atMs,
        operation: 'label-own-pod',
        podName: 'jm-0',
        httpStatus: 503,
        reason: 'http-5xx',
        detail: 'HTTP 503',
      });
    }
    assert.equal(await value(metrics, 'pod_label_update_failures_total'), 2);
    assert.equal(await value(metrics, 'pod_label_failing'), 1);
    assert.equal(await value(metrics, 'pod_label_stale_leader_labels_removed_total'), 0);
  });
});

/**
 * The PodLabeler with a real Store, the real KubeClient and the fake Kubernetes API: the order of
 * its calls (stale leader labels off other pods of the cluster before ours goes on; our own label
 * first when leadership ends), retries with backoff, conflicts, failures surfacing in the state
 * and failing readiness after the timeout without any other event, and removal on shutdown.
 * Time is fake: backoffs, resyncs and timeouts run when a test advances it, never by sleeping.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { LocalIdentity } from '../../src/core/identity.js';
import type { SidecarEvent } from '../../src/core/model.js';
import { initialState } from '../../src/core/reduce.js';
import { testCoreSettings } from '../support/core-settings.js';
import { readiness } from '../../src/core/verdicts.js';
import { createLogger } from '../../src/log.js';
import type { KubeClient } from '../../src/sources/kubernetes/kube-client.js';
import { PodLabeler, type PodLabelerOptions } from '../../src/sources/kubernetes/pod-labeler.js';
import { Store } from '../../src/store.js';
import { wakeOnDeadlines } from '../../src/wake-timer.js';
import { kubeClientFor, startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { FakeTime, type FakeTimers } from '../support/fake-timers.js';
import { currentRestServerLeader } from '../support/leader-target.js';

const ROLE = 'flink-ha-sidecar/role';
const CLUSTER = 'app.kubernetes.io/instance';
const ME = '10.0.0.5';
const OTHER = '10.0.0.6';
const OWNER_ME = '0000000000000aaa';
const OWNER_OTHER = '0000000000000bbb';
const identity: LocalIdentity = { explicitHosts: null, interfaceAddresses: ['127.0.0.1', ME], restPort: 8081 };

let api: FakeKubeApi;
let seq = 0;
const running: { labeler: PodLabeler; time: FakeTime }[] = [];
const wakers: (() => void)[] = [];

before(async () => {
  api = await startFakeKubeApi();
});
afterEach(async () => {
  for (const { labeler, time } of running.splice(0)) {
    const stopped = labeler.stop(0);
    time.advance(0);
    await stopped;
  }
  for (const stop of wakers.splice(0)) stop();
  api.allowAll();
  api.clearFailures();
});
after(() => api.close());

interface Rig {
  store: Store;
  /** The clock of the store and the labeler; its timers run only when the test advances it. */
  time: FakeTime;
  /** The labeler's timers (the wake-up timer has its own on the same clock). */
  timers: FakeTimers;
  pod: string;
  cluster: string;
  labeler: PodLabeler;
  role: (r: 'leader' | 'standby' | 'unknown') => void;
  /** Requests made from now on, as `VERB pod`. */
  since: () => () => string[];
}

function rig(
  opts: { labels?: Record<string, string>; timeoutMs?: number; client?: KubeClient; labeler?: Partial<PodLabelerOptions> } = {},
): Rig {
  seq += 1;
  const pod = `jm-${seq}`;
  const cluster = `c${seq}`;
  api.addPod(pod, opts.labels ?? { [CLUSTER]: cluster });
  const time = new FakeTime();
  const clock = time.now;
  const timers = time.timers();
  const store = new Store(
    initialState(
      'auto',
      identity,
      clock(),
      testCoreSettings({ routingMode: 'label', labelFailureReadinessTimeoutMs: opts.timeoutMs ?? 30_000 }),
    ),
  );
  store.dispatch({ type: 'zookeeperConnected', atMs: clock(), sessionId: 'ccc' });
  store.dispatch({ type: 'restCheckSucceeded', atMs: clock(), durationMs: 1, httpStatus: 200 });
  // As the sidecar wires it: the label's readiness timeout passes with no event but the clock.
  wakers.push(wakeOnDeadlines(store, clock, time.timers()));
  const labeler = new PodLabeler({
    client: opts.client ?? kubeClientFor(api, { requestTimeoutMs: 1000 }),
    store,
    settings: { podName: pod, roleLabel: ROLE, leaderValue: 'leader', standbyValue: 'standby', clusterLabel: CLUSTER },
    clock,
    timers,
    logger: createLogger('silent'),
    initialBackoffMs: 20,
    maxBackoffMs: 100,
    random: () => 0.5,
    ...opts.labeler,
  });
  running.push({ labeler, time });
  const role = (r: 'leader' | 'standby' | 'unknown'): void => {
    const event: SidecarEvent =
      r === 'unknown'
        ? { type: 'electionObserved', atMs: clock(), observations: [] }
        : {
            type: 'electionObserved',
            atMs: clock(),
            observations: r === 'leader' ? currentRestServerLeader(ME, OWNER_ME) : currentRestServerLeader(OTHER, OWNER_OTHER),
          };
    store.dispatch(event);
  };
  const since = () => {
    const from = api.requests.length;
    return () =>
      api.requests
        .slice(from)
        .map(
          (r) =>
            `${r.method} ${r.pod ?? `pods?${decodeURIComponent(r.query.replace(/^\?labelSelector=/, ''))}`}${r.status === 200 ? '' : ` ${r.status}`}`,
        );
  };
  return { store, time, timers, pod, cluster, labeler, role, since };
}

/**
 * Resolves once the labeler is asleep again (it has a timer set: a backoff or its resync), that is
 * once what it started over real I/O has ended.
 */
async function settled(r: Rig): Promise<void> {
  if (r.timers.pending().length === 0) await r.timers.nextArmed();
}

/** Lets the labeler work, running its timers one by one as it settles, until `predicate` holds. */
async function advanceUntil(r: Rig, what: string, predicate: () => boolean, maxTimers = 20): Promise<void> {
  for (let fired = 0; ; fired++) {
    await settled(r);
    if (predicate()) return;
    if (fired === maxTimers)
      throw new Error(`not ${what} after ${maxTimers} of the labeler's timers: ${JSON.stringify(r.store.state.podLabel)}`);
    r.time.advance(r.timers.pending()[0]!);
  }
}

const labelOf = (pod: string): string | undefined => api.pod(pod)?.labels[ROLE];
const waitLabel = (pod: string, value: string | undefined) =>
  api.waitFor(`${pod} labelled ${value ?? '(none)'}`, () => labelOf(pod) === value, 5000);

function waitState(store: Store, what: string, predicate: (s: Store['state']) => boolean, timeoutMs = 5000): Promise<void> {
  if (predicate(store.state)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out waiting for ${what}: ${JSON.stringify(store.state.podLabel)}`));
    }, timeoutMs);
    const unsubscribe = store.subscribe((next) => {
      if (!predicate(next)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve();
    });
  });
}

describe('PodLabeler', { timeout: 20_000 }, () => {
  it('becoming leader: takes the stale leader label off the other pod of its cluster first, then labels itself', async () => {
    const r = rig();
    api.addPod(`${r.pod}-old`, { [ROLE]: 'leader', [CLUSTER]: r.cluster });
    api.addPod(`${r.pod}-foreign`, { [ROLE]: 'leader', [CLUSTER]: 'some-other-cluster' });
    r.labeler.start();
    await waitState(r.store, 'first read', (s) => s.podLabel.applied === 'absent');
    const calls = r.since();
    r.role('leader');
    await waitLabel(r.pod, 'leader');
    assert.deepEqual(calls(), [`GET pods?${ROLE}=leader,${CLUSTER}=${r.cluster}`, `PATCH ${r.pod}-old`, `PATCH ${r.pod}`]);
    assert.equal(labelOf(`${r.pod}-old`), undefined);
    assert.equal(labelOf(`${r.pod}-foreign`), 'leader', "another cluster's leader is left alone");
    const removal = api.requests.find((q) => q.method === 'PATCH' && q.pod === `${r.pod}-old`)!;
    assert.ok(JSON.parse(removal.body).metadata.resourceVersion, 'the removal is conditional on the listed resourceVersion');
    await waitState(r.store, 'applied leader', (s) => s.podLabel.applied === 'leader');
    assert.equal(r.store.state.podLabel.staleLeaderLabelsRemoved, 1);
  });

  it('losing leadership: its own label is the first call, then nothing else', async () => {
    const r = rig();
    r.labeler.start();
    r.role('leader');
    await waitState(r.store, 'applied leader', (s) => s.podLabel.applied === 'leader');
    const calls = r.since();
    r.role('standby');
    await waitLabel(r.pod, 'standby');
    await waitState(r.store, 'applied standby', (s) => s.podLabel.applied === 'standby');
    assert.deepEqual(calls(), [`PATCH ${r.pod}`]);
    r.role('unknown');
    await waitLabel(r.pod, undefined);
  });

  it('a stale pod that changes between list and patch (409) is listed again at once, not counted as a failure', async () => {
    const base = kubeClientFor(api, { requestTimeoutMs: 1000 });
    let bumped = false;
    const r = rig({
      client: {
        ...base,
        listPods: async (selector) => {
          const pods = await base.listPods(selector);
          if (!bumped && pods.length > 0) {
            bumped = true;
            // Its own sidecar relabels it in the meantime (say, from leader to leader with a note).
            await base.patchPodLabels(pods[0]!.name, { note: 'changed' });
          }
          return pods;
        },
      },
    });
    api.addPod(`${r.pod}-old`, { [ROLE]: 'leader', [CLUSTER]: r.cluster });
    r.labeler.start();
    await waitState(r.store, 'first read', (s) => s.podLabel.applied === 'absent');
    const calls = r.since();
    r.role('leader');
    await waitLabel(r.pod, 'leader');
    assert.deepEqual(calls(), [
      `GET pods?${ROLE}=leader,${CLUSTER}=${r.cluster}`,
      `PATCH ${r.pod}-old`, // the test's own change, between list and patch
      `PATCH ${r.pod}-old 409`,
      `GET pods?${ROLE}=leader,${CLUSTER}=${r.cluster}`,
      `PATCH ${r.pod}-old`,
      `PATCH ${r.pod}`,
    ]);
    assert.equal(labelOf(`${r.pod}-old`), undefined);
    assert.equal(r.store.state.podLabel.failureCount, 0);
  });

  it('5xx answers are retried with backoff, counted, and end the failing spell when the patch goes through', async () => {
    const r = rig();
    r.labeler.start();
    await waitState(r.store, 'first read', (s) => s.podLabel.applied === 'absent');
    api.inject({ verb: 'patch', pod: r.pod, status: 503, times: 3 });
    // When each attempt ended, on the labeler's clock.
    const attempts: number[] = [];
    r.store.subscribe((_next, _previous, e) => {
      if (e.type === 'podLabelPatchFailed' || e.type === 'podLabelApplied') attempts.push(e.atMs);
    });
    const calls = r.since();
    r.role('standby');
    await advanceUntil(r, 'applied standby', () => r.store.state.podLabel.applied === 'standby');
    assert.equal(labelOf(r.pod), 'standby');
    assert.deepEqual(calls(), [`PATCH ${r.pod} 503`, `PATCH ${r.pod} 503`, `PATCH ${r.pod} 503`, `PATCH ${r.pod}`]);
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    // Backoff 20 ms doubling, equal jitter at 0.5: 15, 30, 60 ms.
    assert.deepEqual(gaps, [15, 30, 60]);
    const label = r.store.state.podLabel;
    assert.equal(label.failureCount, 3);
    assert.equal(label.failingSinceMs, null);
    assert.equal(label.lastError?.reason, 'http-5xx');
    assert.equal(label.lastError?.httpStatus, 503);
    assert.equal(label.lastError?.operation, 'label-own-pod');
  });

  it('403 without RBAC: keeps retrying, and readiness fails after the timeout with no other event', async () => {
    const r = rig({ timeoutMs: 1000 });
    r.labeler.start();
    await waitState(r.store, 'first read', (s) => s.podLabel.applied === 'absent');
    api.deny('patch');
    r.role('standby');
    await waitState(r.store, 'failing', (s) => s.podLabel.failingSinceMs !== null);
    assert.equal(readiness(r.store.state).ok, true, 'tolerated at first');
    const failingSinceMs = r.store.state.podLabel.failingSinceMs!;
    await advanceUntil(r, 'three failures', () => r.store.state.podLabel.failureCount >= 3);
    assert.equal(readiness(r.store.state).ok, true, 'still tolerated');
    // From here on the labeler reports nothing synchronously: whatever turns readiness is the clock.
    let turnedBy: string | null = null;
    r.store.subscribe((next, previous, e) => {
      if (readiness(previous).ok && !readiness(next).ok) turnedBy = e.type;
    });
    r.time.advance(failingSinceMs + 999 - r.time.now());
    assert.equal(readiness(r.store.state).ok, true, 'tolerated within the timeout');
    r.time.advance(2);
    assert.equal(turnedBy, 'clockTicked');
    const s = r.store.state;
    assert.ok(s.nowMs - failingSinceMs > 1000);
    const check = s.verdict.checks.find((c) => c.name === 'label')!;
    assert.equal(check.reason, 'label-update-failing');
    assert.match(check.detail ?? '', /label-own-pod jm-\d+: forbidden: PATCH pod flink\/jm-\d+: HTTP 403: pods "jm-\d+" is forbidden/);
    assert.ok(s.podLabel.failureCount >= 3, `failures ${s.podLabel.failureCount}`);
    // The attempt that the time just passed started ends first, refused like the others.
    await settled(r);
    api.allowAll();
    await advanceUntil(r, 'ready again', () => readiness(r.store.state).ok);
    assert.equal(labelOf(r.pod), 'standby');
  });

  it('a change of the desired label cuts a long backoff short', async () => {
    const r = rig({ labeler: { initialBackoffMs: 10_000, maxBackoffMs: 10_000 } });
    r.labeler.start();
    await waitState(r.store, 'first read', (s) => s.podLabel.applied === 'absent');
    api.inject({ verb: 'list', status: 500, times: Infinity });
    r.role('leader');
    await waitState(r.store, 'failing', (s) => s.podLabel.failureCount === 1);
    assert.ok(r.timers.pending()[0]! >= 5000, `backoff ${r.timers.pending()[0]} ms`);
    const t0 = r.time.now();
    r.role('standby');
    await waitLabel(r.pod, 'standby');
    assert.equal(r.time.now() - t0, 0, 'labelled without any time passing');
  });

  it('a pod without the cluster label neither lists nor labels itself leader, says why, and goes ahead once it has one', async () => {
    const r = rig({ labels: {} });
    r.labeler.start();
    await waitState(r.store, 'first read', (s) => s.podLabel.applied === 'absent');
    const calls = r.since();
    r.role('leader');
    await advanceUntil(r, 'two failures', () => r.store.state.podLabel.failureCount >= 2);
    const error = r.store.state.podLabel.lastError!;
    assert.equal(error.reason, 'cluster-label-missing');
    assert.equal(error.operation, 'list-leader-pods');
    assert.match(error.detail, /has no label app\.kubernetes\.io\/instance/);
    assert.ok(
      calls().every((c) => c === `GET ${r.pod}`),
      `only reads of its own pod: ${calls().join(', ')}`,
    );
    assert.equal(labelOf(r.pod), undefined);
    // Once the pod has the label, the next attempt reads it and goes ahead.
    await kubeClientFor(api).patchPodLabels(r.pod, { [CLUSTER]: 'late' });
    await advanceUntil(r, 'labelled leader', () => labelOf(r.pod) === 'leader');
  });

  it('resync: the leader sweeps again, so a leader label that appears on another pod later goes too; a standby re-reads and repairs', async () => {
    const leader = rig({ labeler: { resyncIntervalMs: 150 } });
    leader.labeler.start();
    leader.role('leader');
    await waitLabel(leader.pod, 'leader');
    // An old leader's patch that landed after the sweep, from a sidecar that has since lost the API.
    api.addPod(`${leader.pod}-late`, { [ROLE]: 'leader', [CLUSTER]: leader.cluster });
    await settled(leader);
    assert.deepEqual(leader.timers.pending(), [150], 'the next sweep is a resync interval away');
    await advanceUntil(leader, 'the late label removed', () => labelOf(`${leader.pod}-late`) === undefined, 1);
    assert.equal(labelOf(leader.pod), 'leader');

    const standby = rig({ labeler: { resyncIntervalMs: 150 } });
    standby.labeler.start();
    standby.role('standby');
    await waitLabel(standby.pod, 'standby');
    await kubeClientFor(api).patchPodLabels(standby.pod, { [ROLE]: 'leader' });
    await advanceUntil(standby, 'repaired', () => labelOf(standby.pod) === 'standby', 1);
  });

  it('reads its own label at start and patches only what differs', async () => {
    const r = rig({ labels: { [CLUSTER]: 'x', [ROLE]: 'standby' } });
    const calls = r.since();
    r.labeler.start();
    r.role('standby');
    await waitState(r.store, 'read standby', (s) => s.podLabel.applied === 'standby');
    // Asleep until its resync: it has done all it means to.
    await settled(r);
    assert.deepEqual(calls(), [`GET ${r.pod}`]);
  });

  it('stop() after shutdownStarted waits until its label is gone', async () => {
    const r = rig();
    r.labeler.start();
    r.role('leader');
    await waitLabel(r.pod, 'leader');
    // The removal is on its way to the API when stop() is called; no time passes meanwhile.
    r.store.dispatch({ type: 'shutdownStarted', atMs: r.time.now() });
    await r.labeler.stop(3000);
    assert.equal(labelOf(r.pod), undefined);
    assert.equal(r.store.state.podLabel.applied, 'absent');
  });

  it('stop() gives up after its timeout when the API does not answer', async () => {
    const r = rig();
    r.labeler.start();
    r.role('leader');
    await waitLabel(r.pod, 'leader');
    api.deny('patch');
    r.store.dispatch({ type: 'shutdownStarted', atMs: r.time.now() });
    const t0 = r.time.now();
    let stoppedAtMs: number | null = null;
    const stopped = r.labeler.stop(300).then(() => (stoppedAtMs = r.time.now()));
    r.time.advance(299);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stoppedAtMs, null, 'still waiting within its timeout');
    r.time.advance(1);
    await stopped;
    assert.equal(stoppedAtMs! - t0, 300);
    assert.equal(labelOf(r.pod), 'leader');
  });
});

/**
 * Label routing in the pure core, with fixed times: the desired label from the role (tolerated
 * suspensions and shutdown included), the label state under its events, the `label` readiness
 * check and its timeout, readiness of a healthy standby in label mode, and that readiness mode is
 * untouched.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LocalIdentity } from '../../src/core/identity.js';
import type { CoreSettings, PodLabelError, SidecarEvent, SidecarState } from '../../src/core/model.js';
import { desiredPodLabel, podLabelRecheckAtMs } from '../../src/core/pod-label.js';
import { initialState, reduce } from '../../src/core/reduce.js';
import { testCoreSettings } from '../support/core-settings.js';
import { leadership, readiness, readinessStandbyOk } from '../../src/core/verdicts.js';
import { currentRestServerLeader } from '../support/leader-target.js';

const ME = '10.0.0.5';
const OTHER = '10.0.0.6';
const OWNER_ME = '0000000000000aaa';
const OWNER_OTHER = '0000000000000bbb';
const identity: LocalIdentity = { explicitHosts: null, interfaceAddresses: ['127.0.0.1', ME], restPort: 8081 };
const TIMEOUT_MS = 30_000;
const LABEL: Partial<CoreSettings> = { routingMode: 'label', labelFailureReadinessTimeoutMs: TIMEOUT_MS };

const connected: SidecarEvent = { type: 'zookeeperConnected', atMs: 1010, sessionId: 'ccc' };
const healthy: SidecarEvent = { type: 'restCheckSucceeded', atMs: 1020, durationMs: 3, httpStatus: 200 };
const leads = (atMs = 1030): SidecarEvent => ({ type: 'electionObserved', atMs, observations: currentRestServerLeader(ME, OWNER_ME) });
const standsBy = (atMs = 1030): SidecarEvent => ({
  type: 'electionObserved',
  atMs,
  observations: currentRestServerLeader(OTHER, OWNER_OTHER),
});
const failed = (atMs: number, over: Partial<PodLabelError> = {}): SidecarEvent => ({
  type: 'podLabelPatchFailed',
  atMs,
  operation: 'label-own-pod',
  podName: 'jm-0',
  httpStatus: 503,
  reason: 'http-5xx',
  detail: 'PATCH pod flink/jm-0: HTTP 503',
  ...over,
});

function run(events: SidecarEvent[], settings: Partial<CoreSettings> = LABEL): SidecarState {
  return events.reduce(reduce, initialState('auto', identity, 1000, testCoreSettings(settings)));
}

const labelCheck = (s: SidecarState) => s.verdict.checks.find((c) => c.name === 'label');

describe('the desired label follows the role', () => {
  const cases: { role: 'leader' | 'standby' | 'unknown'; isShuttingDown: boolean; desired: string }[] = [
    { role: 'leader', isShuttingDown: false, desired: 'leader' },
    { role: 'standby', isShuttingDown: false, desired: 'standby' },
    { role: 'unknown', isShuttingDown: false, desired: 'absent' },
    { role: 'leader', isShuttingDown: true, desired: 'absent' },
    { role: 'standby', isShuttingDown: true, desired: 'absent' },
  ];
  for (const c of cases) {
    it(`${c.role}${c.isShuttingDown ? ', shutting down' : ''}: ${c.desired}`, () => {
      assert.equal(desiredPodLabel(c.role, c.isShuttingDown), c.desired);
    });
  }

  it('is kept in the state by reduce', () => {
    assert.equal(run([]).podLabel.desired, 'absent');
    assert.equal(run([connected, healthy, leads()]).podLabel.desired, 'leader');
    assert.equal(run([connected, healthy, standsBy()]).podLabel.desired, 'standby');
    assert.equal(run([connected, healthy, leads(), { type: 'shutdownStarted', atMs: 1040 }]).podLabel.desired, 'absent');
  });

  it('holds through a tolerated ZooKeeper suspension and goes when the hold expires', () => {
    const settings = { ...LABEL, tolerateSuspendedMs: 10_000 };
    const measured: SidecarEvent = { type: 'flinkSessionTimeoutMeasured', atMs: 1001, grantedMs: 10_000 };
    const held = run([connected, measured, healthy, leads(), { type: 'zookeeperDisconnected', atMs: 2000, detail: 'lost' }], settings);
    assert.equal(held.verdict.role, 'leader');
    assert.equal(held.podLabel.desired, 'leader');
    const expired = reduce(held, { type: 'clockTicked', atMs: 12_001 });
    assert.equal(expired.verdict.role, 'unknown');
    assert.equal(expired.podLabel.desired, 'absent');
  });

  it('goes at once on a lost connection that is not tolerated', () => {
    const s = run([connected, healthy, leads(), { type: 'zookeeperDisconnected', atMs: 2000, detail: 'lost' }]);
    assert.equal(s.podLabel.desired, 'absent');
  });
});

describe('readiness in label mode', () => {
  const cases: { name: string; events: SidecarEvent[]; ready: boolean; reason: string; isLeader: boolean }[] = [
    {
      name: 'healthy leader with its label',
      events: [connected, healthy, leads(), { type: 'podLabelApplied', atMs: 1040, value: 'leader' }],
      ready: true,
      reason: 'label-current',
      isLeader: true,
    },
    {
      name: 'healthy standby with its label (ready: the label routes, readiness means healthy)',
      events: [connected, healthy, standsBy(), { type: 'podLabelApplied', atMs: 1040, value: 'standby' }],
      ready: true,
      reason: 'label-current',
      isLeader: false,
    },
    {
      name: 'leader whose label is still being applied',
      events: [connected, healthy, leads(), { type: 'podLabelRead', atMs: 1035, value: 'standby' }],
      ready: true,
      reason: 'label-updating',
      isLeader: true,
    },
    {
      name: 'standby whose JM is unhealthy',
      events: [
        connected,
        standsBy(),
        { type: 'restCheckFailed', atMs: 1040, durationMs: 1, reason: 'refused', detail: 'ECONNREFUSED', httpStatus: null },
      ],
      ready: false,
      reason: 'label-updating',
      isLeader: false,
    },
    {
      name: 'unknown role',
      events: [connected, healthy, { type: 'podLabelApplied', atMs: 1040, value: 'absent' }],
      ready: false,
      reason: 'label-current',
      isLeader: false,
    },
    {
      name: 'leader whose updates have failed for exactly the timeout (still tolerated)',
      events: [connected, healthy, leads(), failed(2000), { type: 'clockTicked', atMs: 2000 + TIMEOUT_MS }],
      ready: true,
      reason: 'label-update-retrying',
      isLeader: true,
    },
    {
      name: 'leader whose updates have failed for longer than the timeout',
      events: [connected, healthy, leads(), failed(2000), { type: 'clockTicked', atMs: 2001 + TIMEOUT_MS }],
      ready: false,
      reason: 'label-update-failing',
      isLeader: true,
    },
    {
      name: 'standby whose updates have failed for longer than the timeout',
      events: [
        connected,
        healthy,
        standsBy(),
        failed(2000, { reason: 'forbidden', httpStatus: 403 }),
        { type: 'clockTicked', atMs: 2001 + TIMEOUT_MS },
      ],
      ready: false,
      reason: 'label-update-failing',
      isLeader: false,
    },
    {
      name: 'failures end with our own label patched',
      events: [
        connected,
        healthy,
        leads(),
        failed(2000),
        failed(3000),
        { type: 'podLabelApplied', atMs: 3500, value: 'leader' },
        { type: 'clockTicked', atMs: 2001 + TIMEOUT_MS },
      ],
      ready: true,
      reason: 'label-current',
      isLeader: true,
    },
  ];
  it("a standby whose label updates fail logs the label's reason, not its role's", () => {
    const s = run([
      connected,
      healthy,
      standsBy(),
      failed(2000, { reason: 'forbidden', httpStatus: 403 }),
      { type: 'clockTicked', atMs: 2001 + TIMEOUT_MS },
    ]);
    const last = s.transitions.at(-1);
    assert.equal(last?.toReady, false);
    assert.equal(last?.reason, 'label-update-failing');
    assert.equal(leadership(s).ok, false, '/leader still fails on a standby');
  });

  for (const c of cases) {
    it(c.name, () => {
      const s = run(c.events);
      assert.equal(readiness(s).ok, c.ready, JSON.stringify(s.verdict.checks));
      assert.equal(s.verdict.ready, c.ready, 'the verdict (logs, metrics, transitions) agrees with /readyz');
      assert.equal(readinessStandbyOk(s).ok, c.ready);
      assert.equal(labelCheck(s)?.reason, c.reason);
      assert.equal(leadership(s).ok, c.isLeader, '/leader still answers for the leader alone');
    });
  }

  it('a failing label names the step and the error in its detail', () => {
    const s = run([
      connected,
      healthy,
      leads(),
      failed(2000, {
        operation: 'unlabel-stale-leader',
        podName: 'jm-old',
        reason: 'forbidden',
        httpStatus: 403,
        detail: 'HTTP 403: forbidden',
      }),
      { type: 'clockTicked', atMs: 40_000 },
    ]);
    const check = labelCheck(s)!;
    assert.equal(check.ok, false);
    assert.match(check.detail ?? '', /standby|not read yet/);
    assert.match(check.detail ?? '', /unlabel-stale-leader jm-old: forbidden: HTTP 403: forbidden/);
    assert.match(check.detail ?? '', /has failed for 38000 ms \(limit 30000 ms\)/);
  });
});

describe('label state under its events', () => {
  it('counts failures, keeps the first failure time and the last error', () => {
    const s = run([connected, healthy, leads(), failed(2000, { reason: 'timeout' }), failed(2500, { reason: 'http-5xx' })]);
    assert.equal(s.podLabel.failureCount, 2);
    assert.equal(s.podLabel.failingSinceMs, 2000);
    assert.equal(s.podLabel.lastError?.reason, 'http-5xx');
    assert.equal(s.podLabel.lastError?.atMs, 2500);
  });

  it('a success clears the failing time but keeps the count and the last error (for people)', () => {
    const s = run([connected, healthy, leads(), failed(2000), { type: 'podLabelApplied', atMs: 2100, value: 'leader' }]);
    assert.equal(s.podLabel.failingSinceMs, null);
    assert.equal(s.podLabel.failureCount, 1);
    assert.equal(s.podLabel.applied, 'leader');
    assert.equal(s.podLabel.appliedAtMs, 2100);
    assert.notEqual(s.podLabel.lastError, null);
  });

  it('a role that comes back to the label the pod kept ends the failing spell', () => {
    // Standby labelled; becomes leader; the updates fail; goes back to standby, which the pod still carries.
    const s = run([
      connected,
      healthy,
      standsBy(),
      { type: 'podLabelApplied', atMs: 1040, value: 'standby' },
      leads(1050),
      failed(2000),
      standsBy(2100),
      { type: 'clockTicked', atMs: 2001 + TIMEOUT_MS },
    ]);
    assert.equal(s.podLabel.failingSinceMs, null);
    assert.equal(readiness(s).ok, true);
  });

  it('a read does not end a failing spell (the patch still has to go through)', () => {
    const s = run([connected, healthy, leads(), failed(2000), { type: 'podLabelRead', atMs: 2100, value: 'standby' }]);
    assert.equal(s.podLabel.failingSinceMs, 2000);
    assert.equal(s.podLabel.applied, 'standby');
  });

  it('counts stale leader labels removed from other pods', () => {
    const s = run([
      connected,
      healthy,
      leads(),
      { type: 'staleLeaderLabelRemoved', atMs: 1040, podName: 'jm-old-1' },
      { type: 'staleLeaderLabelRemoved', atMs: 1041, podName: 'jm-old-2' },
    ]);
    assert.equal(s.podLabel.staleLeaderLabelsRemoved, 2);
  });

  it('an unrecognized value on the pod is not the desired label', () => {
    const s = run([connected, healthy, standsBy(), { type: 'podLabelRead', atMs: 1040, value: 'unrecognized' }]);
    assert.equal(labelCheck(s)?.reason, 'label-updating');
  });
});

describe('when the label check must be looked at again (podLabelRecheckAtMs)', () => {
  const cases: { name: string; events: SidecarEvent[]; settings?: Partial<CoreSettings>; atMs: number | null }[] = [
    { name: 'nothing failing', events: [connected, healthy, leads()], atMs: null },
    { name: 'failing: just after the timeout', events: [connected, healthy, leads(), failed(2000)], atMs: 2001 + TIMEOUT_MS },
    {
      name: 'failing, timeout already past',
      events: [connected, healthy, leads(), failed(2000), { type: 'clockTicked', atMs: 2001 + TIMEOUT_MS }],
      atMs: null,
    },
    {
      name: 'failing but the pod carries the desired label',
      events: [connected, healthy, leads(), { type: 'podLabelApplied', atMs: 1040, value: 'leader' }, failed(2000)],
      atMs: null,
    },
    { name: 'readiness mode', events: [connected, healthy, leads(), failed(2000)], settings: {}, atMs: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = run(c.events, c.settings ?? LABEL);
      assert.equal(podLabelRecheckAtMs(s), c.atMs);
      assert.equal(s.verdict.wakeAtMs, c.atMs, 'the verdict names it as its next wake-up');
    });
  }
});

describe('readiness mode is untouched', () => {
  it('no label check; a healthy standby is not ready; label events change no verdict', () => {
    const s = run([connected, healthy, standsBy(), failed(2000), { type: 'clockTicked', atMs: 99_000 }], {});
    assert.deepEqual(
      s.verdict.checks.map((c) => c.name),
      ['shutdown', 'zookeeper', 'leadership', 'jobmanager'],
    );
    assert.equal(readiness(s).ok, false);
    assert.equal(readinessStandbyOk(s).ok, true);
    const leader = run([connected, healthy, leads(), failed(2000), { type: 'clockTicked', atMs: 99_000 }], {});
    assert.equal(readiness(leader).ok, true);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LocalIdentity } from '../../src/core/identity.js';
import type { LayoutObservation, LeaderInfoObservation, SidecarEvent, SidecarState } from '../../src/core/model.js';
import { MAX_TRANSITIONS } from '../../src/core/model.js';
import { initialState, reduce } from '../../src/core/reduce.js';
import { testCoreSettings } from '../support/core-settings.js';
import { jobmanagerLiveness, leadership, liveness, readiness, readinessStandbyOk, standby } from '../../src/core/verdicts.js';
import { targetOf } from '../support/leader-target.js';

const ME = '10.0.0.5';
const OTHER = '10.0.0.6';
const identity: LocalIdentity = { explicitHosts: null, interfaceAddresses: ['127.0.0.1', ME], restPort: 8081 };
const S_ME = '0000000000000aaa';
const S_OTHER = '0000000000000bbb';

function published(host: string, owner: string): LeaderInfoObservation {
  return {
    kind: 'published',
    owner,
    address: `http://${host}:8081`,
    sessionId: '6d1f0d7c-0000-4000-8000-000000000001',
    target: targetOf(`http://${host}:8081`),
  };
}

function obs(layout: LayoutObservation['layout'], holders: string[], leaderInfo: LeaderInfoObservation): LayoutObservation {
  return {
    layout,
    component: 'rest_server',
    latchPath: `/flink/default/${layout}/latch`,
    leaderInfoPath: `/flink/default/${layout}/connection_info`,
    latchExists: holders.length > 0,
    participants: holders.map((owner, i) => ({ node: `_c_x-latch-000000000${i}`, sequence: i, owner })),
    leaderInfo,
  };
}

const nothing = (layout: LayoutObservation['layout']) => obs(layout, [], { kind: 'absent' });

/** A sidecar at t=1000 with ZooKeeper connected at t=1010 and a healthy JM at t=1020. */
function connectedHealthy(): SidecarState {
  return run(initialState('auto', identity, 1000, testCoreSettings()), [
    { type: 'zookeeperConnected', atMs: 1010, sessionId: 'ccc' },
    { type: 'restCheckSucceeded', atMs: 1020, durationMs: 3, httpStatus: 200 },
  ]);
}

function run(state: SidecarState, events: SidecarEvent[]): SidecarState {
  return events.reduce(reduce, state);
}

function observed(state: SidecarState, observations: LayoutObservation[], atMs = 1030): SidecarState {
  return reduce(state, { type: 'electionObserved', atMs, observations });
}

describe('role decisions (auto layout, connected, healthy JM)', () => {
  const cases: { name: string; observations: LayoutObservation[]; role: string; reason: string; ready: boolean }[] = [
    {
      name: 'our URL, published by the latch holder',
      observations: [obs('1.15', [S_ME, S_OTHER], published(ME, S_ME)), nothing('1.14'), nothing('1.13')],
      role: 'leader',
      reason: 'is-leader',
      ready: true,
    },
    {
      name: "another JM's URL, published by the latch holder",
      observations: [obs('1.15', [S_OTHER, S_ME], published(OTHER, S_OTHER)), nothing('1.14'), nothing('1.13')],
      role: 'standby',
      reason: 'other-jm-leads',
      ready: false,
    },
    {
      name: 'our URL, but its publisher no longer holds the latch (stale)',
      observations: [obs('1.15', [S_OTHER], published(ME, S_ME)), nothing('1.14'), nothing('1.13')],
      role: 'unknown',
      reason: 'leader-info-stale',
      ready: false,
    },
    {
      name: 'latch held, leader information not written yet',
      observations: [obs('1.15', [S_ME], { kind: 'absent' }), nothing('1.14'), nothing('1.13')],
      role: 'unknown',
      reason: 'no-leader-published',
      ready: false,
    },
    {
      name: 'leader information emptied on revocation (Flink 1.15 to 1.17)',
      observations: [obs('1.15', [S_ME], { kind: 'empty', owner: S_ME }), nothing('1.14'), nothing('1.13')],
      role: 'unknown',
      reason: 'no-leader-published',
      ready: false,
    },
    {
      name: 'undecodable leader information',
      observations: [
        obs('1.15', [S_ME], { kind: 'undecodable', owner: S_ME, error: 'expected stream magic' }),
        nothing('1.14'),
        nothing('1.13'),
      ],
      role: 'unknown',
      reason: 'leader-info-undecodable',
      ready: false,
    },
    {
      name: 'no contenders left, leader information lingering',
      observations: [obs('1.15', [], published(ME, S_ME)), nothing('1.14'), nothing('1.13')],
      role: 'unknown',
      reason: 'no-contenders',
      ready: false,
    },
    {
      name: 'no znodes at all (cluster not started)',
      observations: [nothing('1.15'), nothing('1.14'), nothing('1.13')],
      role: 'unknown',
      reason: 'cluster-not-started',
      ready: false,
    },
    {
      name: 'the 1.13 layout is found when it is the only one with contenders',
      observations: [nothing('1.15'), nothing('1.14'), obs('1.13', [S_ME], published(ME, S_ME))],
      role: 'leader',
      reason: 'is-leader',
      ready: true,
    },
    {
      name: 'the newest layout with contenders wins over an older one left behind',
      observations: [obs('1.15', [S_OTHER], published(OTHER, S_OTHER)), nothing('1.14'), obs('1.13', [S_ME], published(ME, S_ME))],
      role: 'standby',
      reason: 'other-jm-leads',
      ready: false,
    },
    {
      name: 'a leader URL on localhost identifies nobody',
      observations: [obs('1.15', [S_ME], published('localhost', S_ME)), nothing('1.14'), nothing('1.13')],
      role: 'unknown',
      reason: 'identity-ambiguous',
      ready: false,
    },
    {
      name: 'a leader host that does not resolve',
      observations: [
        obs('1.15', [S_ME], {
          ...published(ME, S_ME),
          address: 'http://jm-0.nowhere:8081',
          target: targetOf('http://jm-0.nowhere:8081', null, 'ENOTFOUND'),
        } as LeaderInfoObservation),
        nothing('1.14'),
        nothing('1.13'),
      ],
      role: 'unknown',
      reason: 'leader-host-unresolvable',
      ready: false,
    },
    {
      name: 'a leader address that is not a URL',
      observations: [
        obs('1.15', [S_ME], {
          ...published(ME, S_ME),
          address: 'pekko.tcp://flink@10.0.0.5:6123/user/rpc/dispatcher_1',
          target: targetOf('pekko.tcp://flink@10.0.0.5:6123/user/rpc/dispatcher_1'),
        } as LeaderInfoObservation),
        nothing('1.14'),
        nothing('1.13'),
      ],
      role: 'unknown',
      reason: 'leader-address-invalid',
      ready: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = observed(connectedHealthy(), c.observations);
      assert.equal(s.verdict.role, c.role);
      assert.equal(s.verdict.roleReason, c.reason);
      assert.equal(readiness(s).ok, c.ready);
      assert.equal(leadership(s).ok, c.role === 'leader');
      assert.equal(standby(s).ok, c.role === 'standby');
    });
  }
});

describe('components', () => {
  it('only rest_server decides: a dispatcher led by this JM does not make it the leader', () => {
    const dispatcher = { ...obs('1.15', [S_ME], published(ME, S_ME)), component: 'dispatcher' };
    const s = observed(connectedHealthy(), [
      dispatcher,
      obs('1.15', [S_OTHER], published(OTHER, S_OTHER)),
      nothing('1.14'),
      nothing('1.13'),
    ]);
    assert.equal(s.verdict.role, 'standby');
  });
});

describe('fixed layout setting', () => {
  it('reads only the configured layout', () => {
    const base = run(initialState('1.14', identity, 1000, testCoreSettings()), [
      { type: 'zookeeperConnected', atMs: 1010, sessionId: 'ccc' },
      { type: 'restCheckSucceeded', atMs: 1020, durationMs: 3, httpStatus: 200 },
    ]);
    const s = observed(base, [obs('1.15', [S_ME], published(ME, S_ME)), obs('1.14', [S_OTHER], published(OTHER, S_OTHER))]);
    assert.equal(s.verdict.role, 'standby');
    assert.equal(s.verdict.layout, '1.14');
  });
});

describe('ZooKeeper connection', () => {
  const leading = () => observed(connectedHealthy(), [obs('1.15', [S_ME], published(ME, S_ME)), nothing('1.14'), nothing('1.13')]);
  const cases: { event: SidecarEvent; reason: string }[] = [
    { event: { type: 'zookeeperDisconnected', atMs: 2000, detail: 'lost' }, reason: 'zookeeper-disconnected' },
    { event: { type: 'zookeeperSessionExpired', atMs: 2000 }, reason: 'zookeeper-expired' },
    { event: { type: 'zookeeperUnresponsive', atMs: 2000, detail: 'no ping answer' }, reason: 'zookeeper-unresponsive' },
    { event: { type: 'zookeeperConnected', atMs: 2000, sessionId: 'ccc', readOnly: true }, reason: 'zookeeper-read-only' },
    { event: { type: 'zookeeperClosed', atMs: 2000 }, reason: 'zookeeper-closed' },
  ];
  for (const c of cases) {
    it(`${c.event.type} makes the leader unknown at once (${c.reason})`, () => {
      const s = reduce(leading(), c.event);
      assert.equal(s.verdict.role, 'unknown');
      assert.equal(s.verdict.roleReason, c.reason);
      assert.equal(readiness(s).ok, false);
      const t = s.transitions.at(-1);
      assert.deepEqual(
        t && { from: t.fromRole, to: t.toRole, fromReady: t.fromReady, toReady: t.toReady, reason: t.reason, atMs: t.atMs },
        { from: 'leader', to: 'unknown', fromReady: true, toReady: false, reason: c.reason, atMs: 2000 },
      );
    });
  }

  it('after a reconnect, observations from before it do not count until read again', () => {
    let s = reduce(leading(), { type: 'zookeeperDisconnected', atMs: 2000, detail: 'lost' });
    s = reduce(s, { type: 'zookeeperConnected', atMs: 3000, sessionId: 'ddd' });
    assert.equal(s.verdict.roleReason, 'election-not-read-yet');
    s = observed(s, [obs('1.15', [S_ME], published(ME, S_ME)), nothing('1.14'), nothing('1.13')], 3005);
    assert.equal(s.verdict.role, 'leader');
  });

  it('NOAUTH says the znodes need SASL', () => {
    const s = reduce(connectedHealthy(), {
      type: 'electionReadFailed',
      atMs: 1500,
      code: 'NO_AUTH',
      path: '/flink/default/leader/latch',
      message: 'Exception: NO_AUTH[-102]',
    });
    assert.equal(s.verdict.roleReason, 'zookeeper-noauth');
    assert.match(s.verdict.roleDetail ?? '', /SASL/);
  });

  it('a read error is cleared by a new connection', () => {
    let s = reduce(connectedHealthy(), { type: 'electionReadFailed', atMs: 1500, code: 'NO_AUTH', path: '/x', message: 'm' });
    s = reduce(s, { type: 'zookeeperConnected', atMs: 1600, sessionId: 'eee' });
    s = observed(s, [obs('1.15', [S_ME], published(ME, S_ME)), nothing('1.14'), nothing('1.13')], 1700);
    assert.equal(s.verdict.role, 'leader');
  });
});

describe('local JobManager health', () => {
  const leadingWith = (event: SidecarEvent) =>
    reduce(observed(connectedHealthy(), [obs('1.15', [S_ME], published(ME, S_ME)), nothing('1.14'), nothing('1.13')]), event);
  const cases: { event: SidecarEvent; ready: boolean; reason: string }[] = [
    { event: { type: 'restCheckSucceeded', atMs: 2000, durationMs: 2, httpStatus: 200 }, ready: true, reason: 'jm-healthy' },
    { event: { type: 'restCheckSucceeded', atMs: 2000, durationMs: 2, httpStatus: 307 }, ready: true, reason: 'jm-healthy' },
    {
      event: { type: 'restCheckFailed', atMs: 2000, durationMs: 2, reason: 'jm-reports-no-leader', detail: 'd', httpStatus: 503 },
      ready: false,
      reason: 'jm-reports-no-leader',
    },
    {
      event: { type: 'restCheckFailed', atMs: 2000, durationMs: 1000, reason: 'timeout', detail: 'd', httpStatus: null },
      ready: false,
      reason: 'timeout',
    },
    {
      event: { type: 'restCheckFailed', atMs: 2000, durationMs: 1, reason: 'refused', detail: 'd', httpStatus: null },
      ready: false,
      reason: 'refused',
    },
  ];
  for (const c of cases) {
    it(`leader with ${c.event.type} (${c.reason}) is ${c.ready ? '' : 'not '}ready`, () => {
      const s = leadingWith(c.event);
      assert.equal(readiness(s).ok, c.ready);
      assert.equal(s.verdict.role, 'leader', 'the role does not depend on the JM health');
      assert.equal(s.verdict.checks.find((x) => x.name === 'jobmanager')?.reason, c.reason);
    });
  }
  it('a JM not checked yet keeps the leader not ready', () => {
    const base = reduce(initialState('auto', identity, 1000, testCoreSettings()), {
      type: 'zookeeperConnected',
      atMs: 1010,
      sessionId: 'ccc',
    });
    const s = observed(base, [obs('1.15', [S_ME], published(ME, S_ME)), nothing('1.14'), nothing('1.13')]);
    assert.equal(s.verdict.role, 'leader');
    assert.equal(readiness(s).ok, false);
    assert.equal(readiness(s).checks.find((c) => !c.ok)?.reason, 'jm-not-checked-yet');
  });
  it('a standby needs a healthy JM to pass /standby', () => {
    const s0 = observed(connectedHealthy(), [obs('1.15', [S_OTHER], published(OTHER, S_OTHER)), nothing('1.14'), nothing('1.13')]);
    assert.equal(standby(s0).ok, true);
    const s1 = reduce(s0, { type: 'restCheckFailed', atMs: 2000, durationMs: 1, reason: 'refused', detail: 'd', httpStatus: null });
    assert.equal(standby(s1).ok, false);
  });
});

describe('shutdown', () => {
  it('fails readiness at once and keeps the role', () => {
    const s0 = observed(connectedHealthy(), [obs('1.15', [S_ME], published(ME, S_ME)), nothing('1.14'), nothing('1.13')]);
    const s = reduce(s0, { type: 'shutdownStarted', atMs: 2000 });
    assert.equal(readiness(s).ok, false);
    assert.equal(s.verdict.role, 'leader');
    assert.equal(s.transitions.at(-1)?.reason, 'shutting-down');
  });
});

describe('liveness', () => {
  it('passes while every loop ticks within its limit and fails when one goes silent', () => {
    let s = reduce(initialState('auto', identity, 0, testCoreSettings()), { type: 'loopTicked', atMs: 1000, loop: 'a', maxSilenceMs: 500 });
    s = reduce(s, { type: 'loopTicked', atMs: 1200, loop: 'b', maxSilenceMs: 5000 });
    assert.equal(liveness(s, 1400).ok, true);
    const late = liveness(s, 1600);
    assert.equal(late.ok, false);
    assert.deepEqual(
      late.checks.filter((c) => !c.ok).map((c) => c.reason),
      ['a-stuck'],
    );
  });
  it('does not depend on ZooKeeper or the JM', () => {
    let s = reduce(initialState('auto', identity, 0, testCoreSettings()), { type: 'loopTicked', atMs: 1000, loop: 'a', maxSilenceMs: 500 });
    s = reduce(s, { type: 'zookeeperSessionExpired', atMs: 1001 });
    s = reduce(s, { type: 'restCheckFailed', atMs: 1002, durationMs: 1, reason: 'refused', detail: 'd', httpStatus: null });
    assert.equal(liveness(s, 1100).ok, true);
  });
});

describe('transitions', () => {
  it('records a change once and nothing for a repeat', () => {
    const s0 = connectedHealthy();
    const o = [obs('1.15', [S_ME], published(ME, S_ME)), nothing('1.14'), nothing('1.13')];
    const s1 = observed(s0, o, 1100);
    const s2 = observed(s1, o, 1200);
    assert.equal(s1.transitions.length, s0.transitions.length + 1);
    assert.equal(s2.transitions.length, s1.transitions.length);
  });
  it(`keeps only the last ${MAX_TRANSITIONS}`, () => {
    let s = connectedHealthy();
    for (let i = 0; i < 150; i++) {
      s = reduce(s, { type: 'zookeeperDisconnected', atMs: 2000 + 2 * i, detail: 'x' });
      s = reduce(s, { type: 'zookeeperConnected', atMs: 2001 + 2 * i, sessionId: 'ccc' });
    }
    assert.equal(s.transitions.length, MAX_TRANSITIONS);
    assert.equal(s.transitions.at(-1)?.atMs, 2001 + 2 * 149);
  });
  it('a loop tick changes no verdict and records no transition', () => {
    const s0 = connectedHealthy();
    const s1 = reduce(s0, { type: 'loopTicked', atMs: 5000, loop: 'x', maxSilenceMs: 1 });
    assert.deepEqual(s1.verdict, s0.verdict);
    assert.equal(s1.transitions, s0.transitions);
  });
});

describe('tolerate-suspended-connections', () => {
  const leadingWith = (tolerateSuspendedMs: number | null, grantedMs: number | null = 60_000) =>
    observed(
      run(initialState('auto', identity, 1000, testCoreSettings({ tolerateSuspendedMs })), [
        { type: 'zookeeperConnected', atMs: 1010, sessionId: 'ccc' },
        ...(grantedMs === null ? [] : [{ type: 'flinkSessionTimeoutMeasured' as const, atMs: 1015, grantedMs }]),
        { type: 'restCheckSucceeded', atMs: 1020, durationMs: 3, httpStatus: 200 },
      ]),
      [obs('1.15', [S_ME], published(ME, S_ME)), nothing('1.14'), nothing('1.13')],
    );
  const table: { name: string; tolerate: number | null; events: SidecarEvent[]; ready: boolean; zkReason: string }[] = [
    {
      name: 'off: a lost connection fails at once',
      tolerate: null,
      events: [{ type: 'zookeeperDisconnected', atMs: 2000, detail: 'x' }],
      ready: false,
      zkReason: 'zookeeper-disconnected',
    },
    {
      name: 'on: the leader stays ready within the timeout',
      tolerate: 60_000,
      events: [
        { type: 'zookeeperDisconnected', atMs: 2000, detail: 'x' },
        { type: 'clockTicked', atMs: 61_999 },
      ],
      ready: true,
      zkReason: 'zookeeper-suspended-tolerated',
    },
    {
      name: 'on: through a reconnect attempt and our own expiry',
      tolerate: 60_000,
      events: [
        { type: 'zookeeperDisconnected', atMs: 2000, detail: 'x' },
        { type: 'zookeeperSessionExpired', atMs: 12_000 },
        { type: 'zookeeperConnecting', atMs: 13_000 },
      ],
      ready: true,
      zkReason: 'zookeeper-suspended-tolerated',
    },
    {
      name: 'on: gives up once the timeout has passed',
      tolerate: 60_000,
      events: [
        { type: 'zookeeperDisconnected', atMs: 2000, detail: 'x' },
        { type: 'clockTicked', atMs: 62_000 },
      ],
      ready: false,
      zkReason: 'zookeeper-disconnected',
    },
    {
      name: 'on: closing is never tolerated',
      tolerate: 60_000,
      events: [{ type: 'zookeeperClosed', atMs: 2000 }],
      ready: false,
      zkReason: 'zookeeper-closed',
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const s = run(leadingWith(row.tolerate), row.events);
      assert.equal(s.verdict.ready, row.ready);
      assert.equal(s.verdict.checks.find((c) => c.name === 'zookeeper')?.reason, row.zkReason);
      assert.equal(s.verdict.role, row.ready ? 'leader' : 'unknown');
    });
  }
  it('tells the wiring when the held verdict expires', () => {
    const s = reduce(leadingWith(60_000), { type: 'zookeeperDisconnected', atMs: 2000, detail: 'x' });
    assert.equal(s.verdict.holdUntilMs, 62_000);
    const back = reduce(s, { type: 'zookeeperConnected', atMs: 3000, sessionId: 'ccc' });
    assert.equal(back.verdict.holdUntilMs, null);
    assert.equal(back.zookeeper.lostSinceMs, null);
  });
  it("never holds longer than the servers grant Flink's session (maxSessionTimeout caps a 60 s request)", () => {
    const s = reduce(leadingWith(60_000, 40_000), { type: 'zookeeperDisconnected', atMs: 2000, detail: 'x' });
    assert.equal(s.verdict.holdUntilMs, 42_000);
    assert.equal(reduce(s, { type: 'clockTicked', atMs: 42_000 }).verdict.ready, false);
    assert.equal(reduce(s, { type: 'clockTicked', atMs: 41_999 }).verdict.ready, true);
  });
  it('holds nothing while the granted session timeout is not known', () => {
    const s = reduce(leadingWith(60_000, null), { type: 'zookeeperDisconnected', atMs: 2000, detail: 'x' });
    assert.equal(s.verdict.holdUntilMs, null);
    assert.equal(s.verdict.ready, false);
  });
  it('a sidecar that never connected has nothing to hold', () => {
    const s = reduce(initialState('auto', identity, 0, testCoreSettings({ tolerateSuspendedMs: 60_000 })), {
      type: 'zookeeperDisconnected',
      atMs: 10,
      detail: 'x',
    });
    assert.equal(s.verdict.holdUntilMs, null);
    assert.equal(s.verdict.ready, false);
  });
});

describe('JobManager liveness (/jobmanager/livez)', () => {
  const settings = { jobmanagerLivenessGraceMs: 60_000, jobmanagerStartupAllowanceMs: 180_000 };
  const base = (events: SidecarEvent[]) => run(initialState('auto', identity, 0, testCoreSettings(settings)), events);
  const connectedWith = (leaderOwner: string | null): SidecarEvent[] => [
    { type: 'zookeeperConnected', atMs: 1, sessionId: 'ccc' },
    {
      type: 'electionObserved',
      atMs: 2,
      observations: leaderOwner ? [obs('1.15', [leaderOwner], published(OTHER, leaderOwner))] : [obs('1.15', [], { kind: 'absent' })],
    },
  ];
  const healthy: SidecarEvent = { type: 'restCheckSucceeded', atMs: 10, durationMs: 1, httpStatus: 200 };
  const refusedAt = (atMs: number): SidecarEvent => ({
    type: 'restCheckFailed',
    atMs,
    durationMs: 1,
    reason: 'refused',
    detail: 'refused',
    httpStatus: null,
  });
  const noLeaderAt = (atMs: number): SidecarEvent => ({
    type: 'restCheckFailed',
    atMs,
    durationMs: 1,
    reason: 'jm-reports-no-leader',
    detail: '503',
    httpStatus: 503,
  });
  const table: { name: string; events: SidecarEvent[]; nowMs: number; ok: boolean; reason: string }[] = [
    { name: 'not checked yet', events: [], nowMs: 5, ok: true, reason: 'jm-not-checked-yet' },
    { name: 'healthy', events: [healthy], nowMs: 100_000, ok: true, reason: 'jm-alive' },
    {
      name: 'refused within the grace',
      events: [healthy, refusedAt(1000), refusedAt(50_000)],
      nowMs: 61_000,
      ok: true,
      reason: 'jm-within-grace',
    },
    {
      name: 'refused beyond the grace',
      events: [healthy, refusedAt(1000), refusedAt(50_000)],
      nowMs: 61_001,
      ok: false,
      reason: 'refused',
    },
    {
      name: 'recovered resets the grace',
      events: [healthy, refusedAt(1000), { ...healthy, atMs: 40_000 }, refusedAt(50_000)],
      nowMs: 100_000,
      ok: true,
      reason: 'jm-within-grace',
    },
    { name: 'never healthy within the start-up allowance', events: [refusedAt(1000)], nowMs: 179_000, ok: true, reason: 'jm-starting' },
    {
      name: 'never healthy after the start-up allowance',
      events: [refusedAt(1000)],
      nowMs: 180_001,
      ok: false,
      reason: 'jm-never-healthy',
    },
    {
      name: '"no leader" while ZooKeeper has none is alive',
      events: [...connectedWith(null), healthy, noLeaderAt(1000)],
      nowMs: 500_000,
      ok: true,
      reason: 'jm-alive',
    },
    {
      name: '"no leader" while ZooKeeper has one is stuck',
      events: [...connectedWith(S_OTHER), healthy, noLeaderAt(1000)],
      nowMs: 61_001,
      ok: false,
      reason: 'jm-stuck-without-leader',
    },
  ];
  for (const row of table) {
    it(`${row.name}: ${row.ok ? 200 : 503} (${row.reason})`, () => {
      const r = jobmanagerLiveness(base(row.events), row.nowMs);
      assert.equal(r.ok, row.ok);
      assert.equal(r.checks[0]?.reason, row.reason);
    });
  }
});

describe('readiness with standbyok', () => {
  it('passes on a healthy standby and on the healthy leader, not on unknown', () => {
    const standbyState = observed(connectedHealthy(), [
      obs('1.15', [S_OTHER], published(OTHER, S_OTHER)),
      nothing('1.14'),
      nothing('1.13'),
    ]);
    const leaderState = observed(connectedHealthy(), [obs('1.15', [S_ME], published(ME, S_ME)), nothing('1.14'), nothing('1.13')]);
    const unknownState = observed(connectedHealthy(), [nothing('1.15'), nothing('1.14'), nothing('1.13')]);
    assert.equal(readinessStandbyOk(standbyState).ok, true);
    assert.equal(readinessStandbyOk(leaderState).ok, true);
    assert.equal(readinessStandbyOk(unknownState).ok, false);
    assert.equal(readinessStandbyOk(reduce(standbyState, { type: 'shutdownStarted', atMs: 5000 })).ok, false);
  });
});

describe('leader handover wait (readiness routing)', () => {
  const otherLeads = [obs('1.15', [S_OTHER, S_ME], published(OTHER, S_OTHER)), nothing('1.14'), nothing('1.13')];
  const weLead = [obs('1.15', [S_ME], published(ME, S_ME)), nothing('1.14'), nothing('1.13')];
  const withSettings = (settings: Parameters<typeof testCoreSettings>[0]) =>
    run(initialState('auto', identity, 1000, testCoreSettings(settings)), [
      { type: 'zookeeperConnected', atMs: 1010, sessionId: 'ccc' },
      { type: 'restCheckSucceeded', atMs: 1020, durationMs: 3, httpStatus: 200 },
    ]);

  it('a JM that takes over from another is ready only the delay after the other was last seen leading', () => {
    const standbyState = observed(withSettings({ leaderHandoverDelayMs: 3000 }), otherLeads, 1030);
    assert.equal(standbyState.verdict.role, 'standby');
    const taken = observed(standbyState, weLead, 2000);
    assert.equal(taken.verdict.role, 'leader');
    assert.equal(taken.verdict.ready, false);
    assert.equal(taken.verdict.checks.find((c) => c.name === 'handover')?.reason, 'leader-handover-wait');
    assert.equal(taken.verdict.wakeAtMs, 5000, 'the wiring is woken when the wait ends');
    assert.equal(reduce(taken, { type: 'clockTicked', atMs: 4999 }).verdict.ready, false);
    const after = reduce(taken, { type: 'clockTicked', atMs: 5000 });
    assert.equal(after.verdict.ready, true);
    assert.equal(after.verdict.wakeAtMs, null);
    assert.equal(
      after.verdict.checks.some((c) => c.name === 'handover'),
      false,
    );
  });

  it('the wait is timed from the last moment another JM led, through unknown moments in between', () => {
    const standbyState = observed(withSettings({ leaderHandoverDelayMs: 3000 }), otherLeads, 1030);
    const noLeader = observed(standbyState, [obs('1.15', [S_ME], { kind: 'absent' }), nothing('1.14'), nothing('1.13')], 1500);
    assert.equal(noLeader.verdict.role, 'unknown');
    const taken = observed(noLeader, weLead, 2000);
    assert.equal(taken.verdict.wakeAtMs, 4500);
  });

  it('a first leader (no other seen), a zero delay, and label routing are ready at once', () => {
    assert.equal(observed(withSettings({ leaderHandoverDelayMs: 3000 }), weLead, 2000).verdict.ready, true);
    assert.equal(observed(observed(withSettings({ leaderHandoverDelayMs: 0 }), otherLeads, 1030), weLead, 2000).verdict.ready, true);
    const label = observed(
      observed(
        withSettings({ leaderHandoverDelayMs: 3000, routingMode: 'label', labelFailureReadinessTimeoutMs: 30_000 }),
        otherLeads,
        1030,
      ),
      weLead,
      2000,
    );
    assert.equal(
      label.verdict.checks.some((c) => c.name === 'handover'),
      false,
    );
  });
});

/**
 * The Kubernetes source's pure core: writer binding, lease timing by the sidecar's clock, the
 * first-sight rule, and every reason a ConfigMap gives for naming no leader.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LocalIdentity } from '../../src/core/identity.js';
import type { ConfigMapVersion, LockObservation, SidecarEvent, SidecarState } from '../../src/core/model.js';
import { haConfigMapName, watchedConfigMaps } from '../../src/core/kubernetes-reading.js';
import { describeLeaderSource } from '../../src/core/leader-source.js';
import { initialState, reduce } from '../../src/core/reduce.js';
import { testCoreSettings } from '../support/core-settings.js';
import { targetOf } from '../support/leader-target.js';

const ME = 'http://10.0.0.5:8081';
const OTHER = 'http://10.0.0.6:8081';
const identity: LocalIdentity = { explicitHosts: null, interfaceAddresses: ['10.0.0.5'], restPort: 8081 };
const CM = 'flink-a-cluster-config-map';
const OLD_CM = 'flink-a-restserver-leader';
const LEASE_MS = 15_000;
const SESSION_A = '6d1f0d7c-0000-4000-8000-00000000000a';
const SESSION_B = '6d1f0d7c-0000-4000-8000-00000000000b';

let rv = 100;
function lock(holder: string | null, renewTime: string): LockObservation {
  return { kind: 'record', holder, leaseDurationMs: LEASE_MS, acquireTime: '2026-12-07T10:00:00.000000Z', renewTime, leaderTransitions: 1 };
}
function version(l: LockObservation, leader: { address: string; sessionId: string } | null): ConfigMapVersion {
  rv += 1;
  return {
    resourceVersion: String(rv),
    lock: l,
    leaderInfo: leader === null ? { kind: 'absent' } : { kind: 'published', ...leader, target: targetOf(leader.address) },
  };
}
const seen = (atMs: number, v: ConfigMapVersion | null, continuous = true, name = CM): SidecarEvent => ({
  type: 'configMapObserved',
  atMs,
  name,
  version: v,
  continuous,
});

function start(layout: 'auto' | '1.15' = '1.15'): SidecarState {
  const s = initialState(layout, identity, 1000, testCoreSettings({ leaderSource: 'kubernetes', kubernetesClusterId: 'flink-a' }));
  return reduce(s, { type: 'restCheckSucceeded', atMs: 1000, durationMs: 1, httpStatus: 200 });
}
const run = (s: SidecarState, events: SidecarEvent[]) => events.reduce(reduce, s);
const role = (s: SidecarState) => [s.verdict.role, s.verdict.roleReason, s.verdict.ready] as const;
const tick = (s: SidecarState, atMs: number) => reduce(s, { type: 'clockTicked', atMs });

/** A sidecar that watched holder A acquire and then publish this JM's address. */
function watchedLeaderA(address = ME): SidecarState {
  return run(start(), [
    seen(1100, null, false),
    seen(1200, version(lock('A', 't1'), null)),
    seen(1300, version(lock('A', 't1'), { address, sessionId: SESSION_A })),
  ]);
}

describe('Kubernetes source: names', () => {
  it("names the ConfigMaps as Flink's KubernetesUtils does, newest layout first", () => {
    assert.equal(haConfigMapName('flink-a', '1.15'), CM);
    assert.equal(haConfigMapName('flink-a', '1.14'), OLD_CM);
    assert.deepEqual(watchedConfigMaps('flink-a', 'auto'), [
      { name: CM, layout: '1.15' },
      { name: OLD_CM, layout: '1.14' },
    ]);
  });
});

describe('Kubernetes source: connection', () => {
  it('is unknown and not ready until the first list answers, then reads the ConfigMap', () => {
    const s = start();
    assert.deepEqual(role(s), ['unknown', 'kubernetes-connecting', false]);
    assert.deepEqual(s.verdict.checks.find((c) => c.name === 'kubernetes')?.ok, false);
    assert.deepEqual(role(reduce(s, seen(1100, null, false))), ['unknown', 'leader-configmap-absent', false]);
  });

  it('is unknown at once when a watch fails, and says forbidden for 401/403', () => {
    const s = watchedLeaderA();
    assert.deepEqual(role(s), ['leader', 'is-leader', true]);
    const failed = reduce(s, { type: 'configMapWatchFailed', atMs: 1400, name: CM, forbidden: false, detail: 'connect ECONNREFUSED' });
    assert.deepEqual(role(failed), ['unknown', 'kubernetes-unreachable', false]);
    assert.equal(failed.verdict.roleDetail, 'connect ECONNREFUSED');
    const denied = reduce(s, { type: 'configMapWatchFailed', atMs: 1400, name: CM, forbidden: true, detail: 'HTTP 403' });
    assert.deepEqual(role(denied), ['unknown', 'kubernetes-forbidden', false]);
  });

  it('with the layout auto, waits for both ConfigMaps and takes the newest layout whose lock is held', () => {
    const s = run(start('auto'), [seen(1100, version(lock('A', 't1'), { address: ME, sessionId: SESSION_A }), false)]);
    assert.deepEqual(role(s), ['unknown', 'kubernetes-connecting', false], 'the 1.14 ConfigMap is not listed yet');
    const listed = run(s, [seen(1110, version(lock('B', 't9'), { address: OTHER, sessionId: SESSION_B }), false, OLD_CM)]);
    assert.equal(listed.verdict.layout, '1.15');
  });
});

describe('Kubernetes source: who wrote the leader information', () => {
  it('binds a value to the holder of the version in which it changed: leader, and standby for another JM', () => {
    assert.deepEqual(role(watchedLeaderA()), ['leader', 'is-leader', true]);
    assert.deepEqual(role(watchedLeaderA(OTHER)), ['standby', 'other-jm-leads', false]);
    assert.deepEqual(watchedLeaderA().verdict.currentLeader, { address: ME, sessionId: SESSION_A, owner: 'A' });
  });

  it('takes the old value as stale the moment another holder acquires, and the new one once it writes', () => {
    const a = watchedLeaderA();
    const acquired = reduce(a, seen(2000, version(lock('B', 'u1'), { address: ME, sessionId: SESSION_A })));
    assert.deepEqual(role(acquired), ['unknown', 'leader-info-stale', false]);
    const published = reduce(acquired, seen(2100, version(lock('B', 'u1'), { address: OTHER, sessionId: SESSION_B })));
    assert.deepEqual(role(published), ['standby', 'other-jm-leads', false]);
  });

  it('never takes a value first seen after a gap as current before its holder held and renewed for a whole lease', () => {
    const s = run(start(), [seen(1100, version(lock('A', 't1'), { address: ME, sessionId: SESSION_A }), false)]);
    assert.deepEqual(role(s), ['unknown', 'leader-writer-unknown', false]);
    // Held but never seen renewing: its lease runs out before the value could count.
    assert.deepEqual(role(tick(s, 1100 + LEASE_MS)), ['unknown', 'lease-expired', false]);
    const renewed = reduce(s, seen(6000, version(lock('A', 't2'), { address: ME, sessionId: SESSION_A })));
    assert.deepEqual(role(renewed), ['unknown', 'leader-writer-unknown', false]);
    assert.equal(renewed.verdict.wakeAtMs, 1100 + LEASE_MS);
    assert.deepEqual(role(tick(renewed, 1100 + LEASE_MS - 1)), ['unknown', 'leader-writer-unknown', false]);
    const trusted = reduce(renewed, seen(1100 + LEASE_MS, version(lock('A', 't3'), { address: ME, sessionId: SESSION_A })));
    assert.deepEqual(role(trusted), ['leader', 'is-leader', true]);
  });

  it('trusts a value first seen after a gap at once when it then changes under the holder', () => {
    const s = run(start(), [seen(1100, version(lock('A', 't1'), { address: OTHER, sessionId: SESSION_A }), false)]);
    const changed = reduce(s, seen(1200, version(lock('A', 't1'), { address: ME, sessionId: SESSION_B })));
    assert.deepEqual(role(changed), ['leader', 'is-leader', true]);
  });

  it('keeps the writer it knew across a relist that finds the same value, and forgets it when the value differs', () => {
    const a = watchedLeaderA();
    const same = reduce(a, seen(5000, version(lock('A', 't5'), { address: ME, sessionId: SESSION_A }), false));
    assert.deepEqual(role(same), ['leader', 'is-leader', true]);
    const other = reduce(a, seen(5000, version(lock('A', 't5'), { address: ME, sessionId: SESSION_B }), false));
    assert.deepEqual(role(other), ['unknown', 'leader-writer-unknown', false]);
  });

  it('does not take a value that came with the ConfigMap itself as written by the holder', () => {
    const s = run(start(), [seen(1100, null, false), seen(1200, version(lock('A', 't1'), { address: ME, sessionId: SESSION_A }))]);
    assert.deepEqual(role(s), ['unknown', 'leader-writer-unknown', false]);
  });
});

describe('Kubernetes source: the lease, by the sidecar clock', () => {
  it('expires a lease not renewed for leaseDuration since the sidecar last saw it renewed, and wakes then', () => {
    const a = watchedLeaderA();
    assert.equal(a.verdict.wakeAtMs, 1200 + LEASE_MS, 'the lease runs from the version where A was first seen');
    const renewed = reduce(a, seen(9000, version(lock('A', 't2'), { address: ME, sessionId: SESSION_A })));
    assert.equal(renewed.verdict.wakeAtMs, 9000 + LEASE_MS);
    assert.deepEqual(role(tick(renewed, 9000 + LEASE_MS - 1)), ['leader', 'is-leader', true]);
    assert.deepEqual(role(tick(renewed, 9000 + LEASE_MS)), ['unknown', 'lease-expired', false]);
  });

  it('does not count a version that changes nothing but other data as a renewal', () => {
    const a = watchedLeaderA();
    const other = reduce(a, seen(9000, version(lock('A', 't1'), { address: ME, sessionId: SESSION_A })));
    assert.deepEqual(role(tick(other, 1200 + LEASE_MS)), ['unknown', 'lease-expired', false]);
  });

  it('keeps the lease clock across a relist that finds the lock unrenewed', () => {
    const a = watchedLeaderA();
    const relisted = reduce(a, seen(10_000, version(lock('A', 't1'), { address: ME, sessionId: SESSION_A }), false));
    assert.deepEqual(role(tick(relisted, 1200 + LEASE_MS)), ['unknown', 'lease-expired', false]);
  });
});

describe('Kubernetes source: no leader', () => {
  const cases: [string, ConfigMapVersion | null, string][] = [
    ['a released lock', version(lock(null, 't2'), { address: ME, sessionId: SESSION_A }), 'lock-released'],
    [
      'a lock annotation that is not what Flink writes',
      version({ kind: 'undecodable', error: 'not JSON' }, { address: ME, sessionId: SESSION_A }),
      'lock-undecodable',
    ],
    ['no lock annotation', version({ kind: 'absent' }, { address: ME, sessionId: SESSION_A }), 'no-contenders'],
    ['a deleted ConfigMap', null, 'leader-configmap-absent'],
    ['no rest_server entry (removed on a graceful stop)', version(lock('A', 't2'), null), 'no-leader-published'],
  ];
  for (const [title, v, reason] of cases) {
    it(`is unknown for ${title}: ${reason}`, () => {
      assert.deepEqual(role(reduce(watchedLeaderA(), seen(2000, v))), ['unknown', reason, false]);
    });
  }

  it('is unknown for undecodable leader information', () => {
    const v: ConfigMapVersion = { resourceVersion: '9', lock: lock('A', 't2'), leaderInfo: { kind: 'undecodable', error: 'no comma' } };
    assert.deepEqual(role(reduce(watchedLeaderA(), seen(2000, v))), ['unknown', 'leader-info-undecodable', false]);
  });
});

describe('Kubernetes source: /debug/state', () => {
  it('shows each ConfigMap with its lock, lease age and the writer of its leader information', () => {
    const s = tick(watchedLeaderA(), 2200);
    const described = describeLeaderSource(s) as { source: string; layout: unknown; kubernetes: Record<string, unknown>[] };
    assert.equal(described.source, 'kubernetes');
    assert.deepEqual(described.layout, { setting: '1.15', inUse: '1.15' });
    const [cm] = described.kubernetes;
    assert.equal(cm!.configMap, CM);
    assert.equal(cm!.exists, true);
    assert.equal(cm!.writer, 'A');
    assert.equal(cm!.leaseAgeMs, 1000);
    assert.equal(cm!.leaseExpiresInMs, LEASE_MS - 1000);
    assert.deepEqual((cm!.connection as { status: string }).status, 'connected');
    assert.equal((cm!.lock as { holder: string }).holder, 'A');
  });
});

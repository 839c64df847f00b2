/**
 * The ConfigMap-lock contender of test/support/configmap-lock-contender.ts against a real
 * kube-apiserver (test/support/control-plane.ts): the annotation and data exactly as Flink's
 * KubernetesLeaderElector (fabric8 LeaderElector + ConfigMapLock) and leader election driver write
 * them, for the 1.14 and 1.15+ layouts and across the behaviours that changed between releases;
 * one leader among two contenders; takeover after a kill only once the lease ran out; release and
 * quick takeover on a graceful stop; a frozen holder that wakes up after losing the lock; guarded
 * writes refused on a stale resourceVersion and retried as Flink retries them; and the faults a
 * test may inject (garbage annotation, garbage data, a deleted ConfigMap).
 *
 * Timings are short (lease 3 s, retry period 0.3-0.4 s) so that the file runs in well under a
 * minute; bounds on waits only catch hangs, except where a bound is the point (no takeover before
 * the lease ran out; a released lock taken over before it could have expired).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { ensureControlPlaneBinaries, startControlPlane, type ControlPlane } from '../support/control-plane.js';
import {
  ConfigMapLockContender,
  formatJavaDuration,
  formatLeaderElectionRecord,
  flinkHaProfile,
  LEADER_ANNOTATION_KEY,
  parseLeaderElectionRecord,
  REST_SERVER_LEADER_KEY,
  type ConfigMap,
  type ConfigMapLockContenderOptions,
  type LeaderElectionRecord,
} from '../support/configmap-lock-contender.js';

const FIXTURES = resolve(__dirname, '..', 'fixtures', 'kubernetes-ha');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
/** Hang detection only. */
const WAIT_MS = 30_000;
const LEASE_MS = 3000;
const RENEW_DEADLINE_MS = 2000;
const RETRY_MS = 400;

let cp: ControlPlane;
let namespace: string;
const contenders: ConfigMapLockContender[] = [];
let clusters = 0;

before(async () => {
  await ensureControlPlaneBinaries();
  cp = await startControlPlane();
  namespace = await cp.createNamespace('cm-lock');
});

after(async () => {
  for (const c of contenders) c.kill();
  await cp?.stop();
});

/** A fresh cluster id per test, so that tests never share a lock. */
function clusterId(): string {
  return `flink-${++clusters}`;
}

function contender(opts: Partial<ConfigMapLockContenderOptions> & { clusterId: string }): ConfigMapLockContender {
  const c = new ConfigMapLockContender({
    kubeconfigPath: cp.kubeconfigPath,
    namespace,
    leaseDurationMs: LEASE_MS,
    renewDeadlineMs: RENEW_DEADLINE_MS,
    retryPeriodMs: RETRY_MS,
    restAddress: `http://10.244.1.${contenders.length + 10}:8081`,
    ...opts,
  });
  contenders.push(c);
  return c;
}

async function readConfigMap(name: string): Promise<ConfigMap | undefined> {
  const res = await cp.request('GET', `/api/v1/namespaces/${namespace}/configmaps/${name}`);
  if (res.status === 404) return undefined;
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body) as ConfigMap;
}

function annotationOf(cm: ConfigMap | undefined): string | undefined {
  return cm?.metadata.annotations?.[LEADER_ANNOTATION_KEY];
}

/** The annotation as JSON, field order kept (JSON.parse keeps insertion order). */
function recordJson(cm: ConfigMap | undefined): Record<string, unknown> {
  const text = annotationOf(cm);
  assert.ok(text !== undefined, `no leader annotation on ${JSON.stringify(cm?.metadata)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Resolves with the first version of the ConfigMap that satisfies `predicate` (list, then watch). */
function waitForConfigMap(name: string, predicate: (cm: ConfigMap) => boolean, timeoutMs = WAIT_MS): Promise<ConfigMap> {
  return cp.waitFor<ConfigMap>(`/api/v1/namespaces/${namespace}/configmaps?fieldSelector=metadata.name%3D${name}`, predicate, {
    timeoutMs,
  });
}

const holderOf = (cm: ConfigMap): unknown => {
  try {
    return recordJson(cm)['holderIdentity'];
  } catch {
    return undefined;
  }
};

async function eventually(condition: () => boolean, explain: () => string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) assert.fail(`not within ${timeoutMs} ms:\n${explain()}`);
    await delay(20);
  }
}

/** A clock a test moves by hand: epoch ms, starting where Flink's javadoc example starts. */
function manualClock(startMs = Date.UTC(2020, 9, 20, 4, 6, 31) + 431.123): { now: () => number; advance: (ms: number) => void } {
  let t = startMs;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('the annotation, as fabric8 serialises a LeaderElectionRecord', () => {
  it('formats durations and microsecond times as Jackson does, and parses them back', () => {
    const record: LeaderElectionRecord = {
      holderIdentity: '623e39fb-70c3-44f1-811f-561ec4a28d75',
      leaseDurationMs: 15_000,
      acquireTimeMicros: Date.UTC(2020, 9, 20, 4, 6, 31, 431) * 1000,
      renewTimeMicros: Date.UTC(2020, 9, 22, 8, 51, 36, 843) * 1000,
      leaderTransitions: 37981,
    };
    // The example in KubernetesLeaderElector's javadoc, byte for byte (fabric8 before 6.13).
    const old = flinkHaProfile('1.20');
    assert.equal(
      formatLeaderElectionRecord(record, old),
      '{"holderIdentity":"623e39fb-70c3-44f1-811f-561ec4a28d75","leaseDuration":15.000000000,' +
        '"acquireTime":"2020-10-20T04:06:31.431000Z","renewTime":"2020-10-22T08:51:36.843000Z","leaderTransitions":37981}',
    );
    // fabric8 6.13+ (Flink 2.0+) writes the Duration as an ISO-8601 string.
    const current = flinkHaProfile('2.3');
    assert.match(formatLeaderElectionRecord(record, current), /"leaseDuration":"PT15S"/);
    assert.deepEqual(
      ['PT0S', 'PT1S', 'PT0.5S', 'PT1M30S', 'PT1H', 'PT2.25S'],
      [0, 1000, 500, 90_000, 3_600_000, 2250].map(formatJavaDuration),
    );
    for (const profile of [old, current]) {
      assert.deepEqual(parseLeaderElectionRecord(formatLeaderElectionRecord(record, profile), profile), record);
    }
    // What Jackson would refuse is no record at all: the elector then treats the lock as absent.
    assert.equal(parseLeaderElectionRecord('garbage', current), undefined);
    assert.equal(
      parseLeaderElectionRecord(
        '{"holderIdentity":"x","leaseDuration":15,"acquireTime":"2020-10-20T04:06:31.431Z",' +
          '"renewTime":"2020-10-20T04:06:31.431000Z","leaderTransitions":1}',
        current,
      ),
      undefined,
      'three fraction digits do not match the pattern',
    );
    // A released record (holderIdentity "") parses as free; a missing holder only from fabric8 6.x on.
    const released =
      '{"leaseDuration":"PT1S","acquireTime":"2020-10-20T04:06:31.431000Z","renewTime":"2020-10-20T04:06:31.431000Z","leaderTransitions":3}';
    assert.equal(parseLeaderElectionRecord(released, current)?.holderIdentity, null);
    assert.equal(parseLeaderElectionRecord(released, flinkHaProfile('1.14')), undefined);
  });
});

describe('one contender against the API server', () => {
  for (const version of ['1.14', '1.17', '1.20', '2.3'] as const) {
    it(`Flink ${version}: creates the lock, then renews it keeping acquireTime; leaderTransitions as that fabric8 counts`, async () => {
      const profile = flinkHaProfile(version);
      const clock = manualClock();
      const id = clusterId();
      const c = contender({ clusterId: id, flinkVersion: version, clock: clock.now, retryPeriodMs: 200 });
      c.start();
      const sessionId = await c.waitForLeadership(WAIT_MS);
      assert.match(sessionId, UUID);
      assert.match(c.identity, UUID);
      const name = profile.layout === '1.15' ? `${id}-cluster-config-map` : `${id}-restserver-leader`;
      assert.equal(c.configMapName, name);

      const first = await waitForConfigMap(name, (cm) => holderOf(cm) === c.identity);
      const json = recordJson(first);
      assert.deepEqual(Object.keys(json), ['holderIdentity', 'leaseDuration', 'acquireTime', 'renewTime', 'leaderTransitions']);
      const lease = profile.leaseDurationFormat === 'iso-8601' ? '"PT3S"' : '3.000000000';
      // Exactly this text: the JSON is written by hand, so compare it whole, not parsed.
      assert.match(
        annotationOf(first)!,
        new RegExp(
          `^\\{"holderIdentity":"${c.identity}","leaseDuration":${lease.replace(/\./g, '\\.')},` +
            `"acquireTime":"2020-10-20T04:06:31\\.431123Z","renewTime":"2020-10-20T04:06:31\\.431123Z","leaderTransitions":\\d+\\}$`,
        ),
      );

      // Every renewal with the clock moved on: renewTime follows it, acquireTime stays. (A jump past
      // the renew deadline would make fabric8 6.x give up leading, as it measures that deadline with
      // the same clock.)
      clock.advance(1500.5);
      const renewed = await waitForConfigMap(name, (cm) => recordJson(cm)['renewTime'] === '2020-10-20T04:06:32.931623Z');
      const r = recordJson(renewed);
      assert.equal(r['acquireTime'], '2020-10-20T04:06:31.431123Z');
      assert.match(String(r['renewTime']), MICRO_TIME);
      if (profile.leaderTransitions === 'counts-renewals') {
        // fabric8 before 6.1: every renewal by the same holder adds one (hence 37981 in Flink's javadoc).
        assert.ok((r['leaderTransitions'] as number) > (json['leaderTransitions'] as number), JSON.stringify(r));
      } else {
        assert.equal(r['leaderTransitions'], 0);
      }
      c.kill();
    });
  }

  it('publishes leader information: 1.15+ one key "<session>,<address>" in <cluster-id>-cluster-config-map, with the version\'s labels', async () => {
    for (const version of ['1.18', '1.20', '2.3'] as const) {
      const id = clusterId();
      const c = contender({ clusterId: id, flinkVersion: version, restAddress: 'http://10.244.7.3:8081' });
      c.start();
      const sessionId = await c.waitForLeadership(WAIT_MS);
      const cm = await waitForConfigMap(`${id}-cluster-config-map`, (o) => o.data?.[REST_SERVER_LEADER_KEY] !== undefined);
      assert.deepEqual(cm.data, { [REST_SERVER_LEADER_KEY]: `${sessionId},http://10.244.7.3:8081` });
      assert.deepEqual(ConfigMapLockContender.leaderInfoOf(cm, '1.15'), { sessionId, address: 'http://10.244.7.3:8081' });
      const labels = { app: id, type: 'flink-native-kubernetes', ...(version === '2.3' ? {} : { 'configmap-type': 'high-availability' }) };
      assert.deepEqual(cm.metadata.labels, labels, `Flink ${version}`);
      c.kill();
    }
  });

  it('publishes leader information: 1.14 "address" and "sessionId" in <cluster-id>-restserver-leader; the lock itself has no labels until then', async () => {
    const id = clusterId();
    let lockLabels: unknown = 'not read';
    const c = contender({
      clusterId: id,
      layout: '1.14',
      restAddress: 'http://10.244.7.4:8081',
      interpose: async (step) => {
        if (step.op === 'data-update' && step.attempt === 1 && lockLabels === 'not read') {
          lockLabels = (await readConfigMap(`${id}-restserver-leader`))?.metadata.labels;
        }
      },
    });
    assert.equal(c.profile.flinkVersion, '1.14');
    c.start();
    const sessionId = await c.waitForLeadership(WAIT_MS);
    const cm = await waitForConfigMap(`${id}-restserver-leader`, (o) => o.data?.['sessionId'] !== undefined);
    assert.deepEqual(cm.data, { address: 'http://10.244.7.4:8081', sessionId });
    assert.deepEqual(cm.metadata.labels, { app: id, type: 'flink-native-kubernetes', 'configmap-type': 'high-availability' });
    assert.equal(lockLabels, undefined, 'fabric8 5.x creates the lock with the annotation only');
    c.kill();
  });
});

describe('two contenders', () => {
  it('one leads; killed, the other takes over only after the lease has run out, and leaderTransitions counts the change', async () => {
    const id = clusterId();
    const a = contender({ clusterId: id });
    const b = contender({ clusterId: id });
    a.start();
    b.start();
    const first = await Promise.race([a.waitForLeadership(WAIT_MS).then(() => a), b.waitForLeadership(WAIT_MS).then(() => b)]);
    const second = first === a ? b : a;
    // Several retry periods later the other one still waits, and the ConfigMap names the first.
    await delay(RETRY_MS * 4);
    assert.equal(first.isLeader, true);
    assert.equal(second.isLeader, false);
    const name = first.configMapName;
    const led = await waitForConfigMap(name, (cm) => cm.data?.[REST_SERVER_LEADER_KEY] !== undefined);
    assert.equal(holderOf(led), first.identity);
    assert.equal(ConfigMapLockContender.leaderInfoOf(led, '1.15')?.sessionId, first.sessionId);
    const before = recordJson(led);

    first.kill();
    const killedAt = performance.now();
    // A renewal in flight at the kill may still land: read once its connection is surely gone.
    await delay(200);
    const lastRenewal = Date.parse(String(recordJson(await readConfigMap(name))['renewTime']));
    assert.ok(lastRenewal >= Date.parse(String(before['renewTime'])));
    // Half a second before the lease runs out the other one must still be waiting (checked only
    // when this process got to look in time: a loaded machine may wake it late).
    await delay(lastRenewal + LEASE_MS - 500 - Date.now());
    const lookedEarly = Date.now() < lastRenewal + LEASE_MS - 100;
    const ledEarly = second.isLeader;
    await second.waitForLeadership(WAIT_MS);
    if (lookedEarly) assert.equal(ledEarly, false, 'took over before the lease ran out');
    const takeoverMs = performance.now() - killedAt;
    process.stderr.write(`takeover ${Math.round(takeoverMs)} ms after the kill (lease ${LEASE_MS} ms, retry period ${RETRY_MS} ms)\n`);
    const taken = await waitForConfigMap(name, (cm) => ConfigMapLockContender.leaderInfoOf(cm, '1.15')?.sessionId === second.sessionId);
    const r = recordJson(taken);
    assert.equal(r['holderIdentity'], second.identity);
    assert.equal(r['leaderTransitions'], (before['leaderTransitions'] as number) + 1);
    // Taken only once the lease had run out after the holder's last renewal, by the contender's clock.
    assert.ok(
      Date.parse(String(r['acquireTime'])) >= lastRenewal + LEASE_MS,
      `acquired ${String(r['acquireTime'])}, last renewal ${new Date(lastRenewal).toISOString()}`,
    );
    second.kill();
  });

  it('Flink 2.x graceful stop: the data key goes, then the lock is released ("", PT1S), and the standby takes over before the lease could expire', async () => {
    const id = clusterId();
    const lease = 10_000;
    const a = contender({ clusterId: id, leaseDurationMs: lease, renewDeadlineMs: 8000 });
    a.start();
    await a.waitForLeadership(WAIT_MS);
    const name = a.configMapName;
    const led = await waitForConfigMap(name, (cm) => cm.data?.[REST_SERVER_LEADER_KEY] !== undefined);
    await a.stop();
    const released = await readConfigMap(name);
    const r = recordJson(released);
    assert.deepEqual(r['holderIdentity'], '');
    assert.equal(r['leaseDuration'], 'PT1S');
    assert.equal(r['acquireTime'], r['renewTime']);
    assert.equal(r['leaderTransitions'], recordJson(led)['leaderTransitions']);
    assert.equal(released?.data?.[REST_SERVER_LEADER_KEY], undefined, 'the leader information was removed before the release');
    assert.equal(annotationOf(released), a.lastAnnotation);

    // With a standby running: it takes the released lock at its next attempt, long before the lease.
    const b = contender({ clusterId: id, leaseDurationMs: lease, renewDeadlineMs: 8000 });
    const c = contender({ clusterId: id, leaseDurationMs: lease, renewDeadlineMs: 8000 });
    b.start();
    await b.waitForLeadership(WAIT_MS);
    c.start();
    await delay(RETRY_MS * 3);
    assert.equal(c.isLeader, false);
    const stoppedAt = performance.now();
    await b.stop();
    await c.waitForLeadership(WAIT_MS);
    const takeoverMs = performance.now() - stoppedAt;
    assert.ok(takeoverMs < lease, `took over ${Math.round(takeoverMs)} ms after the stop (lease ${lease} ms)`);
    const cm = await waitForConfigMap(name, (o) => ConfigMapLockContender.leaderInfoOf(o, '1.15')?.sessionId === c.sessionId);
    assert.equal(recordJson(cm)['leaderTransitions'], (r['leaderTransitions'] as number) + 2, 'a → "" → b counted once, b → "" → c once');
    c.kill();
  });

  it('graceful stop in older releases: 1.18 removes the data but keeps the lock; 1.14 leaves both', async () => {
    for (const [version, dataKept] of [
      ['1.18', false],
      ['1.14', true],
    ] as const) {
      const id = clusterId();
      const a = contender({ clusterId: id, flinkVersion: version });
      a.start();
      const sessionId = await a.waitForLeadership(WAIT_MS);
      await waitForConfigMap(a.configMapName, (cm) => ConfigMapLockContender.leaderInfoOf(cm, a.profile.layout)?.sessionId === sessionId);
      await a.stop();
      const cm = await readConfigMap(a.configMapName);
      assert.equal(holderOf(cm!), a.identity, `Flink ${version}: the lock is not released`);
      assert.equal(
        ConfigMapLockContender.leaderInfoOf(cm, a.profile.layout) !== undefined,
        dataKept,
        `Flink ${version}: ${JSON.stringify(cm?.data)}`,
      );
    }
  });

  it('a frozen leader loses the lock while paused; resumed, it finds the other holder, gives up and writes nothing', async () => {
    const id = clusterId();
    const a = contender({ clusterId: id });
    a.start();
    await a.waitForLeadership(WAIT_MS);
    const b = contender({ clusterId: id });
    b.start();
    await delay(RETRY_MS * 2);
    a.pause();
    const bSession = await b.waitForLeadership(WAIT_MS);
    assert.equal(a.isLeader, true, 'a frozen process has not noticed anything yet');
    const taken = await waitForConfigMap(a.configMapName, (cm) => ConfigMapLockContender.leaderInfoOf(cm, '1.15')?.sessionId === bSession);
    a.resume();
    await a.waitForRevocation(WAIT_MS);
    // It contends again as a standby; the ConfigMap still names b and carries b's session only.
    await delay(RETRY_MS * 3);
    const cm = await readConfigMap(a.configMapName);
    assert.equal(holderOf(cm!), b.identity);
    assert.equal(ConfigMapLockContender.leaderInfoOf(cm, '1.15')?.sessionId, bSession);
    assert.equal(a.isLeader, false);
    assert.equal(taken.data?.[REST_SERVER_LEADER_KEY], cm!.data?.[REST_SERVER_LEADER_KEY]);
    a.kill();
    b.kill();
  });
});

describe('guarded writes', () => {
  it('a write guarded by a stale resourceVersion is refused with 409', async () => {
    const id = clusterId();
    const a = contender({ clusterId: id });
    a.start();
    await a.waitForLeadership(WAIT_MS);
    const stale = (await waitForConfigMap(a.configMapName, (cm) => cm.data?.[REST_SERVER_LEADER_KEY] !== undefined)).metadata
      .resourceVersion;
    // The next renewal moves the resourceVersion on.
    await waitForConfigMap(a.configMapName, (cm) => cm.metadata.resourceVersion !== stale);
    const refused = await a.writeRaw({ data: { [REST_SERVER_LEADER_KEY]: 'x' }, resourceVersion: stale! });
    assert.equal(refused.status, 409, refused.body);
    const cm = await readConfigMap(a.configMapName);
    assert.equal(ConfigMapLockContender.leaderInfoOf(cm, '1.15')?.sessionId, a.sessionId);
    a.kill();
  });

  it('a data write that meets 409 is read and written again, as checkAndUpdateConfigMap retries; a lock renewal that meets 409 fails until the next period', async () => {
    const id = clusterId();
    let slipped = 0;
    const a: ConfigMapLockContender = contender({
      clusterId: id,
      interpose: async (step) => {
        // Once each: something else writes between the read and the write.
        if (
          (step.op === 'data-update' || step.op === 'lock-update') &&
          step.attempt === 1 &&
          slipped < 2 &&
          (step.op === 'data-update' ? slipped === 0 : slipped === 1)
        ) {
          slipped++;
          const res = await a.writeRaw({ data: { [`other-${slipped}`]: 'written in between' } });
          assert.equal(res.status, 200, res.body);
        }
      },
    });
    a.start();
    const sessionId = await a.waitForLeadership(WAIT_MS);
    const cm = await waitForConfigMap(
      a.configMapName,
      (o) => ConfigMapLockContender.leaderInfoOf(o, '1.15')?.sessionId === sessionId && o.data?.['other-2'] !== undefined,
    );
    assert.equal(cm.data?.['other-1'], 'written in between', 'the retry read the ConfigMap again and kept the other write');
    // The contender reads the answers a moment after the API server has the writes.
    // (The attempt that lands may be a later one: the grant's write, the watch's corrections and the
    // renewals also race each other, as they do in Flink.)
    await eventually(
      () => a.log.some((l) => /leader information .* written \(attempt ([2-9]|\d\d)\)/.test(l)),
      () => a.log.join('\n'),
    );
    await eventually(
      () => a.log.some((l) => /renew: update lock: HTTP 409/.test(l)),
      () => a.log.join('\n'),
    );
    // And the lock is renewed at the following period.
    const rv = cm.metadata.resourceVersion;
    const renewed = await waitForConfigMap(a.configMapName, (o) => o.metadata.resourceVersion !== rv && holderOf(o) === a.identity);
    assert.equal(holderOf(renewed), a.identity);
    assert.equal(a.isLeader, true);
    a.kill();
  });
});

describe('faults', () => {
  it("garbage leader information: the leader writes its own back (the watch's correction)", async () => {
    const id = clusterId();
    const a = contender({ clusterId: id });
    a.start();
    const sessionId = await a.waitForLeadership(WAIT_MS);
    await waitForConfigMap(a.configMapName, (cm) => ConfigMapLockContender.leaderInfoOf(cm, '1.15')?.sessionId === sessionId);
    const res = await a.writeRaw({ data: { [REST_SERVER_LEADER_KEY]: 'not,a leader' } });
    assert.equal(res.status, 200);
    await waitForConfigMap(a.configMapName, (cm) => cm.data?.[REST_SERVER_LEADER_KEY] === `${sessionId},${a.restAddress}`);
    assert.ok(
      a.log.some((l) => l.includes('not@a leader') && l.includes('correcting')),
      a.log.join('\n'),
    );
    a.kill();
  });

  it('a garbage annotation: the leader cannot renew and is revoked after the renew deadline; nobody acquires until the ConfigMap is deleted', async () => {
    const id = clusterId();
    const a = contender({ clusterId: id });
    a.start();
    await a.waitForLeadership(WAIT_MS);
    const b = contender({ clusterId: id });
    b.start();
    const res = await a.writeRaw({ annotation: 'not json' });
    assert.equal(res.status, 200);
    await a.waitForRevocation(WAIT_MS);
    // Both keep trying to create a lock that exists: 409 AlreadyExists, and nobody leads.
    await delay(LEASE_MS + RETRY_MS * 3);
    assert.equal(a.isLeader || b.isLeader, false);
    assert.equal(annotationOf(await readConfigMap(a.configMapName)), 'not json');
    assert.ok(
      b.log.some((l) => /create lock: HTTP 409/.test(l)),
      b.log.join('\n'),
    );
    assert.equal(await a.deleteConfigMap(), 200);
    const next = await Promise.race([a.waitForLeadership(WAIT_MS).then(() => a), b.waitForLeadership(WAIT_MS).then(() => b)]);
    const cm = await waitForConfigMap(
      next.configMapName,
      (o) => ConfigMapLockContender.leaderInfoOf(o, '1.15')?.sessionId === next.sessionId,
    );
    assert.equal(recordJson(cm)['leaderTransitions'], 0, 'a new lock starts counting again');
    a.kill();
    b.kill();
  });

  it('the ConfigMap deleted under the leader: its watch sees it and the JobManager dies (fatal error); the standby creates a new lock', async () => {
    const id = clusterId();
    const a = contender({ clusterId: id });
    a.start();
    await a.waitForLeadership(WAIT_MS);
    const b = contender({ clusterId: id });
    b.start();
    await delay(RETRY_MS * 2);
    const died = new Promise<Error>((resolveDied) => a.once('fatal', resolveDied));
    assert.equal(await b.deleteConfigMap(), 200);
    const timeout = new AbortController();
    const error = await Promise.race([died, delay(WAIT_MS, undefined, { signal: timeout.signal }).then(() => new Error('no fatal error'))]);
    timeout.abort();
    assert.match(error.message, /deleted externally|does not exist/);
    assert.equal(a.running, false);
    await b.waitForLeadership(WAIT_MS);
    const cm = await waitForConfigMap(b.configMapName, (o) => ConfigMapLockContender.leaderInfoOf(o, '1.15')?.sessionId === b.sessionId);
    assert.equal(holderOf(cm), b.identity);
    b.kill();
  });
});

/**
 * The same three moments as test/fixtures/kubernetes-ha/ holds from real JobManagers (see its
 * README): a leader that has published, the first version after a SIGKILL in which the other holds
 * the lock, and a graceful stop's release. Both sides are reduced to their shape: identities and
 * session ids become numbered placeholders (so that which are equal still shows), times and
 * host:port pairs placeholders, the cluster id a placeholder; everything else must be equal.
 */
describe('compared with what real Flink JobManagers wrote (test/fixtures/kubernetes-ha)', () => {
  for (const version of ['1.20.1', '2.3.0']) {
    const fixture = (moment: string) => join(FIXTURES, `${version}-cluster-config-map${moment}.json`);
    it(`Flink ${version}: leader, taken over after a kill, released on a graceful stop`, async () => {
      const id = clusterId();
      // The fixtures' settings: lease 3 s, renew deadline 3 s, retry period 0.5 s.
      const jm = (n: number): ConfigMapLockContender =>
        contender({
          clusterId: id,
          flinkVersion: version,
          leaseDurationMs: 3000,
          renewDeadlineMs: 3000,
          retryPeriodMs: 500,
          restAddress: `http://10.244.3.${n}:8081`,
          otherComponents: {
            dispatcher: `pekko.tcp://flink@10.244.3.${n}:6123/user/rpc/dispatcher_1`,
            resourcemanager: `pekko.tcp://flink@10.244.3.${n}:6123/user/rpc/resourcemanager_0`,
          },
        });
      const a = jm(1);
      a.start();
      const session = await a.waitForLeadership(WAIT_MS);
      const name = a.configMapName;
      const led = await waitForConfigMap(name, (cm) => Object.values(cm.data ?? {}).filter((v) => v.startsWith(session)).length === 3);
      assert.deepEqual(shapeOf(led), shapeOf(readFixture(fixture(''))));

      const b = jm(2);
      b.start();
      await delay(1000);
      a.kill();
      const taken = await waitForConfigMap(name, (cm) => holderOf(cm) === b.identity);
      assert.deepEqual(shapeOf(taken), shapeOf(readFixture(fixture('-taken-over'))));
      const bSession = await b.waitForLeadership(WAIT_MS);
      await waitForConfigMap(name, (cm) => Object.values(cm.data ?? {}).filter((v) => v.startsWith(bSession)).length === 3);
      await b.stop();
      assert.deepEqual(shapeOf((await readConfigMap(name))!), shapeOf(readFixture(fixture('-released'))));
    });
  }
});

function readFixture(path: string): ConfigMap {
  return JSON.parse(readFileSync(path, 'utf8')) as ConfigMap;
}

function shapeOf(cm: ConfigMap): unknown {
  const { uid: _uid, managedFields: _managed, ...metadata } = cm.metadata;
  const clusterId = metadata.labels?.['app'] ?? '';
  const uuids = new Map<string, string>();
  const normalise = (text: string) =>
    text
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (u) => {
        if (!uuids.has(u)) uuids.set(u, `<uuid-${uuids.size + 1}>`);
        return uuids.get(u)!;
      })
      .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z/g, '<time>')
      .replace(/\d+\.\d+\.\d+\.\d+:\d+/g, '<host:port>');
  const mapValues = (m: Record<string, string> | undefined, f: (v: string) => string) =>
    m === undefined
      ? undefined
      : Object.fromEntries(
          Object.entries(m)
            .sort(([x], [y]) => x.localeCompare(y))
            .map(([k, v]) => [k, f(v)]),
        );
  // kind and apiVersion are left out: the API server puts them on a GET and a watch event but not
  // on the items of a list, and they say nothing about what Flink wrote.
  return {
    metadataKeys: Object.keys(metadata).sort(),
    name: metadata.name.replace(clusterId, '<cluster-id>'),
    labels: mapValues(metadata.labels, (v) => (v === clusterId ? '<cluster-id>' : v)),
    annotations: mapValues(metadata.annotations, normalise),
    data: mapValues(cm.data, normalise),
  };
}

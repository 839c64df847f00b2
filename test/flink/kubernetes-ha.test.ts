/**
 * Real Flink JobManagers with Kubernetes high availability on the real test control plane: what
 * they write to `<cluster-id>-cluster-config-map` and how leadership moves, for each version in
 * KUBERNETES_HA_VERSIONS (two JobManagers, a ServiceAccount token limited to configmaps in their
 * namespace, lease 3 s, renew deadline 3 s, retry period 0.5 s). Who leads is read from the
 * JobManagers' logs, every version of the ConfigMap from a watch.
 *
 * - A JobManager whose ServiceAccount may do everything on configmaps but patch creates the lock,
 *   cannot renew it (403) and gives up leadership: Flink's lock updates are PATCH requests.
 * - Exactly one leads; the ConfigMap carries Flink's labels, the lock annotation in fabric8's
 *   format (holderIdentity is the leader's lock identity) and `<session ID>,<REST URL>` of the
 *   leader under org.apache.flink.k8s.leader.restserver; the leader renews the lock.
 * - kill -9 of the leader: nobody takes the lock before the dead leader's lease has run out; the
 *   taker's first version still carries the dead leader's leader information; then the new
 *   leader's is written.
 * - SIGTERM of the leader: it removes its leader information, then releases the lock
 *   (holderIdentity "", lease 1 s), and the other takes over: at once, or, when the departing
 *   JobManager re-acquired the released lock before it exited, once that lease has run out.
 *   1.18 does not release: the other takes over once the lease has run out.
 * - The fixtures in test/fixtures/kubernetes-ha/ have the shape of what the JobManagers write
 *   (KUBERNETES_HA_CAPTURE=1 writes them anew from this run).
 *
 * Run alone (JVMs and a control plane; fetches Flink on first use):
 *   node --import tsx --test --test-concurrency=1 test/flink/kubernetes-ha.test.ts
 * FLINK_KUBERNETES_HA_VERSIONS=1.18.1,1.19.1 (comma-separated) runs other versions instead.
 * Takeover times are printed as test diagnostics.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test, type TestContext } from 'node:test';
import { startControlPlane, type ControlPlane } from '../support/control-plane.js';
import { fetchFlink, flinkAtLeast, LOST_LEADERSHIP } from '../support/flink-jobmanager.js';
import {
  clusterConfigMapName,
  createFlinkHaAccount,
  FLINK_HA_CONFIGMAP_VERBS,
  fixturePath,
  KUBERNETES_HA_VERSIONS,
  KubernetesHaCluster,
  LEADER_ANNOTATION_KEY,
  leaderRecord,
  leaseDurationMs,
  REST_SERVER_LEADER_KEY,
  restServerLeader,
  type FlinkHaAccount,
  type HaConfigMap,
  type LeaderElectionRecord,
  type SettledKubernetesLeader,
} from '../support/flink-kubernetes-ha.js';
import type { SeenEvent } from '../support/kubelet-standin.js';

const LEASE_MS = 3000;
const RENEW_DEADLINE_MS = 3000;
const RETRY_MS = 500;
// Generous bounds: they exist to catch hangs, not to measure (2 cores, shared).
const FETCH_TIMEOUT_MS = 15 * 60_000;
const TEST_TIMEOUT_MS = 3 * 60_000;
const WAIT_MS = 60_000;
const CAPTURE = process.env['KUBERNETES_HA_CAPTURE'] === '1';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** fabric8's @JsonFormat(pattern = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'", timezone = "UTC"). */
const TIME = '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{6}Z';

/** leaseDuration as the annotation spells it: decimal seconds (fabric8 6, Flink 1.x), ISO-8601 (fabric8 7, Flink 2.x). */
function leaseJson(version: string, seconds: number): string {
  return flinkAtLeast(version, 2, 0) ? `"PT${seconds}S"` : `${seconds}.000000000`;
}

/** The whole annotation, field order included, with a given holder pattern and lease. */
function annotationPattern(version: string, holder: string, leaseSeconds: number): RegExp {
  return new RegExp(
    `^\\{"holderIdentity":"${holder}","leaseDuration":${leaseJson(version, leaseSeconds).replaceAll('.', '\\.')},` +
      `"acquireTime":"${TIME}","renewTime":"${TIME}","leaderTransitions":\\d+\\}$`,
  );
}

/** Epoch ms with the microseconds as a fraction. */
function timeMs(time: string): number {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{6})Z$/.exec(time);
  assert.ok(match, `not fabric8's time format: ${time}`);
  return Date.parse(`${match[1]}Z`) + Number(match[2]) / 1000;
}

/** Flink's labels on its HA ConfigMaps: 2.x dropped configmap-type. */
function expectedLabels(version: string, clusterId: string): Record<string, string> {
  return {
    app: clusterId,
    ...(flinkAtLeast(version, 2, 0) ? {} : { 'configmap-type': 'high-availability' }),
    type: 'flink-native-kubernetes',
  };
}

/**
 * What stays the same from run to run: every cluster-id, namespace, identity, session ID, time,
 * port and counter (leader transitions, the number in an RPC endpoint's name) replaced by a
 * placeholder, server-managed metadata dropped (and kind and apiVersion, which list items lack).
 * Fixtures and live ConfigMaps are compared through it.
 */
function shape(configMap: HaConfigMap): unknown {
  const { clusterId, namespace } = { clusterId: configMap.metadata.labels?.['app'] ?? '', namespace: configMap.metadata.namespace ?? '' };
  const text = JSON.stringify({
    metadata: {
      name: configMap.metadata.name,
      namespace: configMap.metadata.namespace,
      labels: configMap.metadata.labels,
      annotations: configMap.metadata.annotations,
    },
    data: configMap.data,
  });
  return JSON.parse(
    text
      .replaceAll(clusterId, '<cluster-id>')
      .replaceAll(namespace, '<namespace>')
      .replace(new RegExp(UUID, 'g'), '<uuid>')
      .replace(new RegExp(TIME, 'g'), '<time>')
      .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>')
      // The RPC endpoints' names count up in the order they start (dispatcher_0 or dispatcher_1).
      .replace(/\/user\/rpc\/([a-z]+)_\d+/g, '/user/rpc/$1_<n>')
      .replace(/\\"leaderTransitions\\":\d+/g, '\\"leaderTransitions\\":<n>'),
  );
}

async function checkFixture(t: TestContext, cluster: KubernetesHaCluster, version: string, name: string, live: HaConfigMap): Promise<void> {
  const file = fixturePath(version, name);
  if (CAPTURE) {
    await cluster.captureConfigMap(file, live);
    t.diagnostic(`wrote ${file}`);
    return;
  }
  const fixture = JSON.parse(await readFile(file, 'utf8')) as HaConfigMap;
  assert.deepEqual(shape(live), shape(fixture), `${file} no longer has the shape of what Flink ${version} writes`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** The versions of the ConfigMap seen since index `from`, in order. */
function versionsSince(events: readonly SeenEvent<HaConfigMap>[], from: number): { cm: HaConfigMap; atMs: number }[] {
  return events
    .slice(from)
    .filter((e) => e.type !== 'DELETED')
    .map((e) => ({ cm: e.object, atMs: e.atMs }));
}

function holder(cm: HaConfigMap): LeaderElectionRecord {
  const record = leaderRecord(cm);
  assert.ok(record, `no ${LEADER_ANNOTATION_KEY} annotation in ${JSON.stringify(cm.metadata)}`);
  return record;
}

/** FLINK_KUBERNETES_HA_VERSIONS=1.18.1,1.19.1 runs other versions than KUBERNETES_HA_VERSIONS. */
const VERSIONS: readonly string[] =
  process.env['FLINK_KUBERNETES_HA_VERSIONS']?.split(',').filter((v) => v !== '') ?? KUBERNETES_HA_VERSIONS;

let cp: ControlPlane;
let account: FlinkHaAccount;
/** Everything a JobManager needs on configmaps but patch, in a namespace of its own. */
let withoutPatch: FlinkHaAccount;
const clusters: KubernetesHaCluster[] = [];

before(
  async () => {
    // Fetched up front so that a cold cache does not eat into a test's own bound.
    for (const version of VERSIONS) await fetchFlink(version, { kubernetes: true });
    cp = await startControlPlane();
    account = await createFlinkHaAccount(cp);
    withoutPatch = await createFlinkHaAccount(cp, {
      namespacePrefix: 'flink-ha-no-patch',
      verbs: FLINK_HA_CONFIGMAP_VERBS.filter((verb) => verb !== 'patch'),
    });
  },
  { timeout: FETCH_TIMEOUT_MS },
);

after(async () => {
  await Promise.all(clusters.map((c) => c.stop()));
  await cp?.stop();
});

for (const version of VERSIONS) {
  describe(`Flink ${version}`, () => {
    let cluster: KubernetesHaCluster;
    let unpatched: KubernetesHaCluster;
    let settled: SettledKubernetesLeader;

    before(
      async () => {
        const timings = { leaseDurationMs: LEASE_MS, renewDeadlineMs: RENEW_DEADLINE_MS, retryPeriodMs: RETRY_MS };
        // Started together: three JVMs start in less time than two and one after them.
        [cluster, unpatched] = await Promise.all([
          KubernetesHaCluster.start({ version, controlPlane: cp, account, ...timings }),
          KubernetesHaCluster.start({ version, controlPlane: cp, account: withoutPatch, jobManagers: 1, ...timings }),
        ]);
        clusters.push(cluster, unpatched);
      },
      { timeout: TEST_TIMEOUT_MS },
    );

    // JVMs of one version do not share the 2 cores with the next version's.
    after(async () => {
      await unpatched?.stop();
      await cluster?.stop();
    });

    test(
      'without patch on configmaps a JobManager takes the new lock but cannot renew it, and gives up leadership',
      { timeout: TEST_TIMEOUT_MS },
      async (t) => {
        const [jm] = unpatched.jobManagers;
        const identity = await unpatched.lockIdentity(jm!);
        // Creating the ConfigMap with its lock needs only create; every later lock update is a PATCH.
        const created = await unpatched.waitForConfigMap((cm) => leaderRecord(cm)?.holderIdentity === identity, WAIT_MS);
        // The renew deadline passes without a renewal (the PATCH is refused; fabric8 logs that at
        // debug level while renewing). Afterwards 1.19 on see their own identity in the stale lock,
        // take leadership again and fail to renew again; 1.18 stays a follower.
        await jm!.waitForLog(LOST_LEADERSHIP, RENEW_DEADLINE_MS + WAIT_MS);
        const now = (await unpatched.readConfigMap())!;
        assert.equal(holder(now).holderIdentity, identity);
        assert.equal(holder(now).renewTime, holder(created).renewTime, 'the lock was never renewed');
        const refused = (await jm!.logLines()).find((line) => /Failure executing: PATCH .* forbidden/.test(line));
        if (refused !== undefined)
          t.diagnostic(`${version}: ${refused.slice(refused.indexOf('Failure executing'), refused.indexOf('Failure executing') + 200)}`);
        await unpatched.stop();
      },
    );

    test('exactly one of two JobManagers leads, and the cluster ConfigMap names it', { timeout: TEST_TIMEOUT_MS }, async (t) => {
      settled = await cluster.settledLeader(WAIT_MS);
      const { leader, standbys, sessionId, lockIdentity } = settled;
      assert.deepEqual(await cluster.whoLeads(), [leader.jm]);
      assert.equal(standbys.length, 1);
      const standbyIdentity = await cluster.lockIdentity(standbys[0]!.jm);
      assert.notEqual(standbyIdentity, lockIdentity, 'each JobManager has a lock identity of its own');

      // Every component's leader information is written under the same session ID once the leader
      // has confirmed them all (REST endpoint, dispatcher, resource manager; no jobs).
      const rpc = `pekko\\.tcp://flink@127\\.0\\.0\\.1:${leader.conf.rpcPort}/user/rpc`;
      const cm = await cluster.waitForConfigMap((c) => Object.keys(c.data ?? {}).length === 3, WAIT_MS);
      assert.equal(cm.metadata.name, clusterConfigMapName(cluster.clusterId));
      assert.deepEqual(cm.metadata.labels, expectedLabels(version, cluster.clusterId));
      assert.deepEqual(Object.keys(cm.metadata.annotations ?? {}), [LEADER_ANNOTATION_KEY]);
      assert.match(cm.metadata.annotations![LEADER_ANNOTATION_KEY]!, annotationPattern(version, lockIdentity, LEASE_MS / 1000));
      assert.equal(leaseDurationMs(holder(cm)), LEASE_MS);
      assert.deepEqual(Object.keys(cm.data!).sort(), [
        'org.apache.flink.k8s.leader.dispatcher',
        'org.apache.flink.k8s.leader.resourcemanager',
        REST_SERVER_LEADER_KEY,
      ]);
      assert.equal(cm.data![REST_SERVER_LEADER_KEY], `${sessionId},${leader.jm.restUrl}`);
      assert.deepEqual(restServerLeader(cm), { sessionId, address: `http://127.0.0.1:${leader.conf.restPort}` });
      assert.match(cm.data!['org.apache.flink.k8s.leader.dispatcher']!, new RegExp(`^${sessionId},${rpc}/dispatcher_\\d+$`));
      assert.match(cm.data!['org.apache.flink.k8s.leader.resourcemanager']!, new RegExp(`^${sessionId},${rpc}/resourcemanager_\\d+$`));
      // The address is the leader's own REST endpoint, which answers there.
      assert.equal((await fetch(`${restServerLeader(cm)!.address}/config`)).status, 200);
      await checkFixture(t, cluster, version, 'cluster-config-map', cm);
    });

    test('the leader renews: renewTime advances, holder, acquireTime and data stay', { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const informer = await cluster.watchConfigMap();
      const start = informer.events.length;
      await informer.waitUntil('three renewals', () => versionsSince(informer.events, start).length >= 4, WAIT_MS);
      informer.stop();
      const seen = versionsSince(informer.events, start).slice(0, 4);
      const first = holder(seen[0]!.cm);
      for (const [i, { cm }] of seen.entries()) {
        const record = holder(cm);
        assert.equal(record.holderIdentity, settled.lockIdentity);
        assert.equal(record.acquireTime, first.acquireTime);
        assert.equal(record.leaderTransitions, first.leaderTransitions);
        assert.deepEqual(cm.data, seen[0]!.cm.data);
        if (i > 0) assert.ok(timeMs(record.renewTime) > timeMs(holder(seen[i - 1]!.cm).renewTime));
      }
      // fabric8 schedules renewals at a fixed rate of one per retry period: one that ran late is
      // followed by one sooner, so single steps say little.
      const steps = seen.slice(1).map(({ cm }, i) => Math.round(timeMs(holder(cm).renewTime) - timeMs(holder(seen[i]!.cm).renewTime)));
      t.diagnostic(`${version} renewTime steps: ${steps.join(', ')} ms (retry period ${RETRY_MS} ms)`);
    });

    test(
      'kill -9 of the leader: the other takes the lock once the dead lease has run out, then replaces the dead leader information',
      { timeout: TEST_TIMEOUT_MS },
      async (t) => {
        const { leader, standbys } = settled;
        const standby = standbys[0]!;
        const standbyIdentity = await cluster.lockIdentity(standby.jm);
        const oldValue = `${settled.sessionId},${leader.jm.restUrl}`;
        // A new watch: its first version is the ConfigMap as it was before the kill.
        const informer = await cluster.watchConfigMap();

        const since = await cluster.logPositions();
        const killedAt = performance.now();
        await cluster.kill(leader.jm, 'SIGKILL');
        const next = await cluster.nextLeader(leader.jm, since, WAIT_MS);
        const grantedMs = performance.now() - killedAt;
        assert.equal(next.jm, standby.jm);
        const newValue = `${next.sessionId},${standby.jm.restUrl}`;
        await informer.waitUntil(
          'the new leader information',
          (objects) => {
            const cm = objects.get(cluster.configMapName);
            return cm !== undefined && cm.data?.[REST_SERVER_LEADER_KEY] === newValue;
          },
          WAIT_MS,
        );
        informer.stop();
        assert.deepEqual(await cluster.whoLeads(), [standby.jm]);

        const seen = versionsSince(informer.events, 0);
        const taken = seen.findIndex(({ cm }) => holder(cm).holderIdentity === standbyIdentity);
        assert.ok(taken > 0, 'the standby took the lock after the kill');
        const lastRenewal = holder(seen[taken - 1]!.cm);
        const acquired = holder(seen[taken]!.cm);
        assert.equal(lastRenewal.holderIdentity, settled.lockIdentity, 'nobody else held the lock in between');
        // The lease is measured from the dead leader's last renewTime, by the taker's own lease setting.
        assert.ok(
          timeMs(acquired.acquireTime) >= timeMs(lastRenewal.renewTime) + LEASE_MS,
          `acquired at ${acquired.acquireTime}, before ${lastRenewal.renewTime} + ${LEASE_MS} ms`,
        );
        assert.equal(acquired.acquireTime, acquired.renewTime);
        assert.equal(acquired.leaderTransitions, lastRenewal.leaderTransitions + 1);
        assert.match(
          seen[taken]!.cm.metadata.annotations![LEADER_ANNOTATION_KEY]!,
          annotationPattern(version, standbyIdentity, LEASE_MS / 1000),
        );
        // Taking the lock rewrites the annotation only: the dead leader's information is still there,
        // in a version whose annotation names the new holder.
        assert.equal(seen[taken]!.cm.data?.[REST_SERVER_LEADER_KEY], oldValue);
        // Only the new holder writes data from then on, and the restserver key goes from the dead
        // leader's value (or nothing) straight to the new leader's.
        for (const { cm } of seen.slice(taken)) {
          assert.equal(holder(cm).holderIdentity, standbyIdentity);
          assert.ok([oldValue, undefined, newValue].includes(cm.data?.[REST_SERVER_LEADER_KEY]), JSON.stringify(cm.data));
        }
        await checkFixture(t, cluster, version, 'cluster-config-map-taken-over', seen[taken]!.cm);
        const writtenAt = seen.find(({ cm }) => cm.data?.[REST_SERVER_LEADER_KEY] === newValue)!.atMs;
        t.diagnostic(
          `${version} kill -9: lock taken ${seconds(seen[taken]!.atMs - killedAt)}, grant logged ${seconds(grantedMs)}, ` +
            `restserver rewritten ${seconds(writtenAt - killedAt)} after the kill (lease ${seconds(LEASE_MS)}, retry ${seconds(RETRY_MS)})`,
        );
        assert.ok(grantedMs < LEASE_MS + 30_000, 'took over within the lease and a generous margin');
      },
    );

    test(
      flinkAtLeast(version, 1, 19)
        ? 'SIGTERM of the leader: it removes its leader information and releases the lock before it exits; the other takes over'
        : 'SIGTERM of the leader: it removes its leader information and exits holding the lock; the other takes over once the lease has run out',
      { timeout: TEST_TIMEOUT_MS },
      async (t) => {
        // Two JobManagers again: the one killed above comes back, as its container would.
        const killed = settled.leader;
        await cluster.restart(killed);
        const current = await cluster.settledLeader(WAIT_MS);
        const departing = current.leader;
        const successor = current.standbys[0]!;
        assert.equal(successor, killed, 'the restarted JobManager waits as standby');
        const successorIdentity = await cluster.lockIdentity(successor.jm);
        const informer = await cluster.watchConfigMap();

        const since = await cluster.logPositions();
        const signalledAt = performance.now();
        await cluster.kill(departing.jm, 'SIGTERM');
        const exitedMs = performance.now() - signalledAt;
        const exit = await departing.jm.exited;
        const next = await cluster.nextLeader(departing.jm, since, WAIT_MS);
        const grantedMs = performance.now() - signalledAt;
        assert.equal(next.jm, successor.jm);
        const newValue = `${next.sessionId},${successor.jm.restUrl}`;
        await informer.waitUntil(
          'the new leader information',
          (objects) => objects.get(cluster.configMapName)?.data?.[REST_SERVER_LEADER_KEY] === newValue,
          WAIT_MS,
        );
        informer.stop();
        assert.deepEqual(await cluster.whoLeads(), [successor.jm]);

        const seen = versionsSince(informer.events, 0);
        // First the departing leader removes its leader information, all of it, while it still holds
        // the lock: the restserver key goes first.
        const removed = seen.findIndex(({ cm }) => cm.data?.[REST_SERVER_LEADER_KEY] === undefined);
        assert.ok(removed > 0, 'the restserver leader information was removed');
        const emptied = seen.findIndex(({ cm }) => Object.keys(cm.data ?? {}).length === 0);
        for (const { cm } of seen.slice(removed, emptied + 1)) assert.equal(holder(cm).holderIdentity, current.lockIdentity);
        const successorTook = seen.findIndex(({ cm }) => holder(cm).holderIdentity === successorIdentity);
        assert.ok(successorTook > emptied);
        const acquired = holder(seen[successorTook]!.cm);
        assert.equal(acquired.leaderTransitions, holder(seen[successorTook - 1]!.cm).leaderTransitions + 1);
        let outcome: string;
        let releasedCm: HaConfigMap | undefined;
        if (flinkAtLeast(version, 1, 19)) {
          // Then it releases the lock (fabric8's releaseOnCancel), maybe after one more renewal: no
          // holder, a 1 s lease from now, the transition count unchanged.
          const released = seen.findIndex(({ cm }, i) => i > emptied && holder(cm).holderIdentity === '');
          assert.ok(released > emptied, 'the lock was released');
          for (const { cm } of seen.slice(emptied, released)) {
            assert.equal(holder(cm).holderIdentity, current.lockIdentity);
            assert.deepEqual(cm.data ?? {}, {});
          }
          releasedCm = seen[released]!.cm;
          const releaseRecord = holder(releasedCm);
          assert.match(releasedCm.metadata.annotations![LEADER_ANNOTATION_KEY]!, annotationPattern(version, '', 1));
          assert.equal(releaseRecord.acquireTime, releaseRecord.renewTime);
          assert.equal(releaseRecord.leaderTransitions, holder(seen[released - 1]!.cm).leaderTransitions);
          assert.deepEqual(releasedCm.data ?? {}, {});
          // Who takes the released lock first: the successor, or the departing JobManager itself
          // (its elector starts a new round when its leadership ends, even while it shuts down); the
          // successor then only once that lease has run out.
          const firstTaker = holder(seen[released + 1]!.cm);
          if (firstTaker.holderIdentity === current.lockIdentity) {
            assert.equal(firstTaker.leaderTransitions, releaseRecord.leaderTransitions + 1);
            assert.ok(
              timeMs(acquired.acquireTime) >= timeMs(holder(seen[successorTook - 1]!.cm).renewTime) + LEASE_MS,
              'the successor waited for the re-acquired lease to run out',
            );
            outcome = 'the departing JobManager re-acquired the released lock, the successor took it when that lease ran out';
          } else {
            assert.equal(firstTaker.holderIdentity, successorIdentity);
            outcome = 'the successor took the released lock';
          }
        } else {
          // 1.18 stops its elector without releasing: the lock stays with the departed JobManager
          // until its lease has run out.
          assert.ok(
            seen.every(({ cm }) => holder(cm).holderIdentity !== ''),
            'no release',
          );
          for (const { cm } of seen.slice(emptied, successorTook)) {
            assert.equal(holder(cm).holderIdentity, current.lockIdentity);
            assert.deepEqual(cm.data ?? {}, {});
          }
          const lastHeld = holder(seen[successorTook - 1]!.cm);
          assert.ok(
            timeMs(acquired.acquireTime) >= timeMs(lastHeld.renewTime) + LEASE_MS,
            `acquired at ${acquired.acquireTime}, before ${lastHeld.renewTime} + ${LEASE_MS} ms`,
          );
          outcome = 'no release, the successor took the lock when the lease ran out';
        }
        t.diagnostic(
          `${version} SIGTERM: leader information removed ${seconds(seen[emptied]!.atMs - signalledAt)} after the signal, ` +
            `JVM exited (${exit.code ?? exit.signal}) after ${seconds(exitedMs)}; ${outcome}; ` +
            `successor granted ${seconds(grantedMs)} after the signal`,
        );
        assert.ok(grantedMs < LEASE_MS + 30_000, 'took over within the lease and a generous margin');
        if (releasedCm !== undefined) await checkFixture(t, cluster, version, 'cluster-config-map-released', releasedCm);
      },
    );
  });
}

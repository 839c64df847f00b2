/**
 * Sidecars beside real Flink JobManagers with Kubernetes high availability, on the real test control
 * plane: each sidecar reads its JobManager's own conf dir (high-availability.type, kubernetes.cluster-id,
 * kubernetes.namespace and kubernetes.config.file, as in a pod), for each version in
 * KUBERNETES_HA_VERSIONS. Lease 3 s, renew deadline 3 s, retry period 0.5 s. Who leads is read from
 * Flink (its logs and the ConfigMap it writes).
 *
 * - Exactly one sidecar is ready: the one beside the JobManager Flink made leader.
 * - kill -9 of the leader: the other sidecar is ready within the lease + 2 s.
 * - SIGTERM of the leader: the other sidecar is ready within 1 s of the new leader publishing, and
 *   within the lease + 2 s of the signal (Flink itself may re-take the released lock on its way out,
 *   and then nobody leads until that lease runs out).
 * - Throughout, /readyz of both sidecars sampled every 5 ms: never two ready.
 *
 *   node --import tsx --test --test-concurrency=1 test/flink/kubernetes-ha-sidecar.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { startControlPlane, type ControlPlane } from '../support/control-plane.js';
import { fetchFlink } from '../support/flink-jobmanager.js';
import {
  createFlinkHaAccount,
  KUBERNETES_HA_VERSIONS,
  KubernetesHaCluster,
  REST_SERVER_LEADER_KEY,
  type FlinkHaAccount,
  type KubernetesHaMember,
} from '../support/flink-kubernetes-ha.js';
import { monotonicNow, SidecarProcess } from '../support/sidecar-process.js';
import { longestOverlap, ReadinessSampler } from '../reliability/lib/readiness.js';

const LEASE_MS = 3000;
const FETCH_TIMEOUT_MS = 15 * 60_000;
const TEST_TIMEOUT_MS = 3 * 60_000;
const WAIT_MS = 60_000;
const OVERLAP_BOUND_MS = 50;

let cp: ControlPlane;
let account: FlinkHaAccount;

before(
  async () => {
    for (const version of KUBERNETES_HA_VERSIONS) await fetchFlink(version, { kubernetes: true });
    cp = await startControlPlane();
    account = await createFlinkHaAccount(cp);
  },
  { timeout: FETCH_TIMEOUT_MS },
);

after(async () => {
  await cp?.stop();
});

const ms = (value: number): string => `${Math.round(value)} ms`;

for (const version of KUBERNETES_HA_VERSIONS) {
  describe(`Flink ${version} with Kubernetes HA: two JobManagers, two sidecars`, () => {
    let cluster: KubernetesHaCluster;
    const sidecars = new Map<KubernetesHaMember, SidecarProcess>();
    let sampler: ReadinessSampler;
    const sidecarOf = (m: KubernetesHaMember): SidecarProcess => sidecars.get(m)!;

    before(
      async () => {
        cluster = await KubernetesHaCluster.start({ version, controlPlane: cp, account, leaseDurationMs: LEASE_MS });
        for (const member of cluster.members) {
          sidecars.set(member, await SidecarProcess.start({ confDir: member.conf.dir, checkIntervalMs: 500, checkTimeoutMs: 400 }));
        }
        sampler = new ReadinessSampler(cluster.members.map((m, i) => ({ name: `sidecar-${i}`, url: sidecarOf(m).url })));
        sampler.start();
      },
      { timeout: TEST_TIMEOUT_MS },
    );

    after(async () => {
      await sampler?.stop();
      await Promise.all([...sidecars.values()].map((s) => s.stop()));
      await cluster?.stop();
    });

    /** The settled leader, once its sidecar is ready and the standby's says standby. */
    async function settled() {
      const s = await cluster.settledLeader(WAIT_MS);
      await sidecarOf(s.leader).waitUntilReady(WAIT_MS);
      for (const standby of s.standbys) await sidecarOf(standby).waitForCurrent('standby', (t) => t.to === 'standby', WAIT_MS);
      return s;
    }

    test('exactly one sidecar is ready: the one beside the JobManager Flink made leader', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { leader, standbys } = await settled();
      assert.equal(sidecarOf(leader).isReady, true);
      for (const standby of standbys) assert.equal(sidecarOf(standby).isReady, false);
      const ready = await (await fetch(`${sidecarOf(leader).url}/readyz?verbose`)).text();
      assert.match(ready, /\[\+\]kubernetes ok/);
      assert.match(ready, /\[\+\]leadership ok/);
    });

    test(
      `kill -9 of the leader: the other sidecar is ready within the lease + 2 s`,
      { timeout: TEST_TIMEOUT_MS },
      async (t: TestContext) => {
        const { leader, standbys } = await settled();
        const next = standbys[0]!;
        const since = sidecarOf(next).lines.length;
        const killedAt = monotonicNow();
        await cluster.kill(leader.jm, 'SIGKILL');
        const ready = await sidecarOf(next).waitForTransition('ready', (tr) => tr.ready, WAIT_MS, since);
        t.diagnostic(`${version}: kill -9 -> the other sidecar ready ${ms(ready.atMs - killedAt)}`);
        assert.ok(ready.atMs - killedAt <= LEASE_MS + 2000, `ready ${ms(ready.atMs - killedAt)} after the kill`);
        assert.equal(sidecarOf(leader).isReady, false);
        await cluster.restart(leader);
      },
    );

    test(
      'SIGTERM of the leader: the other sidecar is ready within 1 s of the new leader publishing',
      { timeout: TEST_TIMEOUT_MS },
      async (t: TestContext) => {
        const { leader, standbys, configMap } = await settled();
        const next = standbys[0]!;
        const informer = await cluster.watchConfigMap();
        const oldValue = configMap.data?.[REST_SERVER_LEADER_KEY];
        const since = sidecarOf(next).lines.length;
        const stoppedAt = monotonicNow();
        await cluster.kill(leader.jm, 'SIGTERM');
        const ready = await sidecarOf(next).waitForTransition('ready', (tr) => tr.ready, WAIT_MS, since);
        const published = informer.events.find((e) => {
          const value = e.object.data?.[REST_SERVER_LEADER_KEY];
          return value !== undefined && value !== oldValue;
        });
        assert.ok(published !== undefined, 'the watch saw the new leader publish');
        const publishedAt = performance.timeOrigin + published.atMs;
        t.diagnostic(
          `${version}: SIGTERM -> new leader published ${ms(publishedAt - stoppedAt)}, -> its sidecar ready ${ms(ready.atMs - stoppedAt)}`,
        );
        assert.ok(ready.atMs - publishedAt <= 1000, `ready ${ms(ready.atMs - publishedAt)} after the new leader published`);
        assert.ok(ready.atMs - stoppedAt <= LEASE_MS + 2000, `ready ${ms(ready.atMs - stoppedAt)} after SIGTERM`);
        await cluster.restart(leader);
      },
    );

    test('never two sidecars ready at once (sampled every 5 ms)', { timeout: TEST_TIMEOUT_MS }, async (t: TestContext) => {
      await settled();
      await sampler.stop();
      const names = cluster.members.map((_m, i) => `sidecar-${i}`);
      const samples = names.map((n) => sampler.samples.get(n)?.length ?? 0);
      const overlap = longestOverlap(new Map(names.map((n) => [n, sampler.readyIntervals(n)])));
      t.diagnostic(`${version}: ${samples.join(' + ')} samples; longest overlap ${overlap?.ms ?? 0} ms`);
      assert.ok(
        samples.every((n) => n > 1000),
        'the sampler ran',
      );
      assert.ok((overlap?.ms ?? 0) <= OVERLAP_BOUND_MS, `overlap ${JSON.stringify(overlap)}`);
    });
  });
}

/**
 * Covers: the leader Service follows the leader end to end on a real control plane, in both routing
 * modes. Two JobManager pods from the rendered Deployment's pod template on a registered Node
 * (status.podIP 10.244.x.11 and .12, addresses only the API knows), the rendered leader Service
 * (readiness mode: manifests/base's, selecting every JobManager; label mode: manifests/label-mode's,
 * selecting the role label, with its RBAC), Curator stand-in JobManagers, real sidecar processes,
 * and the kubelet stand-in (test/support/kubelet-standin.ts) probing each sidecar with the rendered
 * probe settings and writing each pod's Ready condition through the status subresource. The real
 * EndpointSlice controller fills the Service's EndpointSlices; a watch records the ready addresses
 * at every version it publishes.
 *
 * - Through 5 failovers by SIGKILL of the leader JobManager (restarted in its pod afterwards), the
 *   ready endpoints never hold two addresses and settle on the new leader's, in both modes.
 * - Through 5 clean handovers (the leader resigns, as on a graceful stop): never two ready
 *   addresses either. In label mode the label moves by one patch, the old one first. In readiness
 *   mode each pod's readiness changes only at its own next probe, so the old leader's pod stays
 *   Ready up to a probe period after its sidecar turned 503; the new leader's sidecar waits out
 *   --leader-handover-delay-ms (default: the shipped probe's period x failureThreshold + timeout +
 *   0.5 s) before it turns ready, so the kubelet has marked the old pod not Ready first.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_LEADER_HANDOVER_DELAY_MS } from '../../src/config/index.js';
import { ensureControlPlaneBinaries, startControlPlane, type ControlPlane } from '../support/control-plane.js';
import { isPodReady, ServiceScenario, type JobManagerPod, type RoutingMode } from '../support/kubelet-standin.js';
import { sharedZooKeeper, type ZooKeeperServer } from '../support/zookeeper-server.js';
import { LEADER_DELETION_COST, POD_DELETION_COST } from '../../src/sources/kubernetes/pod-labeler.js';

/**
 * Flink's ZooKeeper session timeout for the stand-ins: after a SIGKILL the new leader is elected
 * once it expires. It must exceed what the old leader's pod needs to become not Ready (the sidecar's
 * check interval, 1 s, plus one probe period, 2 s): both are far apart in production (30 s).
 */
const JM_SESSION_TIMEOUT_MS = 6000;
const FAILOVERS = 5;
/** Hang detection: generous bounds on every wait. */
const SETTLE_MS = 30_000;
const ELECTION_MS = JM_SESSION_TIMEOUT_MS * 5;

let cp: ControlPlane;
let zk: ZooKeeperServer;

before(async () => {
  await ensureControlPlaneBinaries();
  [cp, zk] = await Promise.all([startControlPlane(), sharedZooKeeper()]);
});

after(async () => {
  await cp?.stop();
  await zk?.destroy();
});

const IPS: Record<RoutingMode, [string, string]> = {
  readiness: ['10.244.1.11', '10.244.1.12'],
  label: ['10.244.2.11', '10.244.2.12'],
};

for (const mode of ['readiness', 'label'] as const) {
  describe(`${mode} mode: the Service follows the leader`, () => {
    let s: ServiceScenario;

    before(async () => {
      s = await ServiceScenario.start({
        cp,
        zookeeper: zk.connectString,
        mode,
        podIps: IPS[mode],
        jmSessionTimeoutMs: JM_SESSION_TIMEOUT_MS,
      });
    });

    after(async () => {
      await s?.stop();
    });

    /** The pod whose JobManager leads now, and the other. */
    const roles = (): [JobManagerPod, JobManagerPod] => {
      const [a, b] = s.pods;
      return a.jm.isLeader() ? [a, b] : [b, a];
    };

    /** After a failover: the pods' state in the API as the mode wants it. */
    const checkPods = async (leader: JobManagerPod, standby: JobManagerPod): Promise<void> => {
      await s.podInformer.waitUntil(
        `${leader.name} Ready${mode === 'readiness' ? `, ${standby.name} not Ready` : ''}`,
        (o) => {
          const l = o.get(leader.name);
          const st = o.get(standby.name);
          if (l === undefined || st === undefined || !isPodReady(l)) return false;
          if (mode === 'readiness') return !isPodReady(st);
          // The leader's pod also costs more to delete, so a rollout removes the standby first.
          const cost = (pod: typeof l) => (pod.metadata as { annotations?: Record<string, string> }).annotations?.[POD_DELETION_COST];
          return l.metadata.labels?.['flink-ha-sidecar/role'] === 'leader' && cost(l) === LEADER_DELETION_COST && cost(st) === undefined;
        },
        SETTLE_MS,
      );
    };

    it('probes with the rendered readiness probe, and the Service selects as the mode says', async () => {
      assert.deepEqual(s.probe, {
        path: '/readyz',
        containerPort: 8090,
        initialDelaySeconds: 0,
        periodSeconds: 1,
        timeoutSeconds: 1,
        successThreshold: 1,
        failureThreshold: 2,
      });
      const svc = JSON.parse(await cp.kubectlOk(['get', 'service', 'flink-jobmanager', '-n', s.namespace, '-o', 'json'])) as {
        spec: { selector: Record<string, string> };
      };
      assert.equal(svc.spec.selector['flink-ha-sidecar/role'], mode === 'label' ? 'leader' : undefined);
      const [leader, standby] = roles();
      await checkPods(leader, standby);
      if (mode === 'label') {
        // Readiness means healthy: the standby's pod is Ready too; the label keeps it out.
        assert.ok(isPodReady(s.podInformer.objects.get(standby.name)!));
      }
      assert.deepEqual(s.readySets.at(-1)?.ready, [leader.ip]);
    });

    it(`follows ${FAILOVERS} failovers by SIGKILL of the leader JobManager: never two ready addresses, and settles on the new leader`, async () => {
      const from = s.readySets.length;
      const settleMs: number[] = [];
      for (let i = 0; i < FAILOVERS; i++) {
        const [leader, standby] = roles();
        const since = standby.jm.events.length;
        leader.killJobManager();
        await standby.jm.waitFor(/^leader rest_server /, ELECTION_MS, since);
        const electedAtMs = standby.jm.events.slice(since).find((e) => e.line.startsWith('leader rest_server '))!.atMs;
        const onlyAtMs = await s.waitForOnlyReady(standby, SETTLE_MS);
        settleMs.push(onlyAtMs - electedAtMs);
        await checkPods(standby, leader);
        // The kubelet restarts the killed JobManager in its pod: a standby again.
        await leader.startJobManager();
        await s.waitForHealthyStandby(leader, SETTLE_MS);
        assert.deepEqual(s.readySets.at(-1)?.ready, [standby.ip]);
      }
      const seen = s.readySets.slice(from);
      console.log(
        `${mode} mode: ${FAILOVERS} SIGKILL failovers; new leader elected -> the Service lists it alone: ` +
          `${settleMs.map((ms) => `${Math.round(ms)} ms`).join(', ')}; ready sets seen: ${seen.map((r) => `[${r.ready.join(' ')}]`).join(' ')}`,
      );
      assert.deepEqual(s.doubles, [], `two ready addresses: ${JSON.stringify(s.doubles)}`);
      // The slices did move: every failover went through the other address.
      assert.ok(seen.filter((r) => r.ready.length === 1).length >= FAILOVERS, JSON.stringify(seen));
    });

    it(`follows ${FAILOVERS} clean handovers (the leader resigns): never two ready addresses`, async () => {
      const from = s.readySets.length;
      const doublesBefore = s.doubles.length;
      const settleMs: number[] = [];
      for (let i = 0; i < FAILOVERS; i++) {
        const [leader, standby] = roles();
        const since = standby.jm.events.length;
        await leader.jm.send('resign');
        await standby.jm.waitFor(/^leader rest_server /, ELECTION_MS, since);
        const electedAtMs = standby.jm.events.slice(since).find((e) => e.line.startsWith('leader rest_server '))!.atMs;
        settleMs.push((await s.waitForOnlyReady(standby, SETTLE_MS)) - electedAtMs);
        await checkPods(standby, leader);
        await leader.jm.send('join');
        await s.waitForHealthyStandby(leader, SETTLE_MS);
      }
      const seen = s.readySets.slice(from);
      const doubles = s.doubles.slice(doublesBefore);
      const overlapMs = doubles.map((d) => {
        const next = seen.find((r) => r.atMs > d.atMs && r.ready.length <= 1);
        return (next?.atMs ?? Number.POSITIVE_INFINITY) - d.atMs;
      });
      console.log(
        `${mode} mode: ${FAILOVERS} clean handovers; new leader elected -> the Service lists it alone: ` +
          `${settleMs.map((ms) => `${Math.round(ms)} ms`).join(', ')}; ${doubles.length} with two ready addresses` +
          (doubles.length > 0 ? ` (for ${overlapMs.map((ms) => `${Math.round(ms)} ms`).join(', ')})` : ''),
      );
      assert.deepEqual(doubles, [], `two ready addresses for ${overlapMs.join(',')} ms`);
      // Readiness mode: the handover wait, then the new pod's next probe; label mode: no kubelet. Plus slack.
      const probeMs = (s.probe.periodSeconds * s.probe.failureThreshold + s.probe.timeoutSeconds) * 1000;
      assert.ok(DEFAULT_LEADER_HANDOVER_DELAY_MS >= probeMs + 500, 'the default handover wait covers the shipped probe');
      const settleBoundMs = mode === 'label' ? 2000 : DEFAULT_LEADER_HANDOVER_DELAY_MS + s.probe.periodSeconds * 1000 + 1000;
      assert.ok(
        settleMs.every((ms) => ms <= settleBoundMs),
        `settled after ${settleMs.join(',')} ms (bound ${settleBoundMs} ms)`,
      );
    });
  });
}

/**
 * The Kubernetes source against a real API server: sidecar processes read the HA ConfigMap that
 * contenders write as Flink's leader elector does (test/support/configmap-lock-contender.ts), with
 * only the RBAC the docs give them (get, list, watch on configmaps). Every safety scenario of the
 * ZooKeeper suite that applies, with /readyz of both sidecars sampled every 5 ms throughout: never
 * two ready at once (beyond the 50 ms two samplers' skew allows, as in the other suites).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { ConfigMapLockContender } from '../support/configmap-lock-contender.js';
import { startControlPlane, type ControlPlane } from '../support/control-plane.js';
import { monotonicNow, SIDECAR_MAIN, SidecarProcess } from '../support/sidecar-process.js';
import { longestOverlap, ReadinessSampler } from '../reliability/lib/readiness.js';

/** Short Flink timings, so that expiries happen within a test: lease 3 s, renew deadline 2 s, retry 0.5 s. */
const LEASE_MS = 3000;
const TIMINGS = { leaseDurationMs: LEASE_MS, renewDeadlineMs: 2000, retryPeriodMs: 500 };
/** Two samplers' requests are not simultaneous: an overlap shorter than this is their skew. */
const OVERLAP_BOUND_MS = 50;
const SETTLE_MS = 30_000;

let cp: ControlPlane;
let namespace: string;
/** A kubeconfig with the token of a ServiceAccount allowed get, list and watch on configmaps only. */
let readerKubeconfig: string;
/** A kubeconfig with the token of a ServiceAccount allowed nothing. */
let deniedKubeconfig: string;
const jobManagers: Server[] = [];
const running: { stop(): unknown }[] = [];

/** A JobManager's REST API as far as the sidecar checks it: GET /config answers a JSON object. */
async function restStandIn(): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end('{"flink-version":"2.3.0"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jobManagers.push(server);
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function serviceAccountKubeconfig(name: string, rules: unknown[]): Promise<string> {
  const ok = async (method: string, path: string, body: unknown) => {
    const res = await cp.request(method, path, { body });
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${res.body}`);
    return JSON.parse(res.body) as Record<string, unknown>;
  };
  await ok('POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, { metadata: { name } });
  if (rules.length > 0) {
    await ok('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, { metadata: { name }, rules });
    await ok('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    });
  }
  const token = await ok('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600 },
  });
  return cp.writeTokenKubeconfig((token.status as { token: string }).token);
}

interface Member {
  contender: ConfigMapLockContender;
  sidecar: SidecarProcess;
  name: string;
}

/** Two JobManagers of one cluster: a contender and a sidecar each; the sidecars start first. */
async function cluster(
  opts: { startContenders?: boolean; kubeconfig?: string; secondPublishesAfterMs?: number } = {},
): Promise<{ members: Member[]; clusterId: string; sampler: ReadinessSampler }> {
  const clusterId = `c-${Math.random().toString(36).slice(2, 8)}`;
  const members: Member[] = [];
  for (const name of ['jm-0', 'jm-1']) {
    const jm = await restStandIn();
    const publishDelayMs = name === 'jm-1' ? opts.secondPublishesAfterMs : undefined;
    const contender = new ConfigMapLockContender({
      kubeconfigPath: cp.kubeconfigPath,
      namespace,
      clusterId,
      restAddress: jm.url,
      ...TIMINGS,
      // A new leader that is slow to publish: the lock names it while the data is still the old leader's.
      ...(publishDelayMs === undefined
        ? {}
        : {
            interpose: async (step) => {
              if (step.op === 'data-update' && step.attempt === 1) await delay(publishDelayMs);
            },
          }),
    });
    const sidecar = await SidecarProcess.start({
      restUrl: jm.url,
      env: {
        LEADER_SOURCE: 'kubernetes',
        KUBERNETES_CLUSTER_ID: clusterId,
        KUBERNETES_NAMESPACE: namespace,
        KUBECONFIG: opts.kubeconfig ?? readerKubeconfig,
        JOBMANAGER_CHECK_INTERVAL_MS: '500',
        JOBMANAGER_CHECK_TIMEOUT_MS: '400',
      },
    });
    running.push(sidecar, { stop: () => contender.kill() });
    members.push({ contender, sidecar, name });
  }
  const sampler = new ReadinessSampler(members.map((m) => ({ name: m.name, url: m.sidecar.url })));
  sampler.start();
  if (opts.startContenders ?? true) {
    members[0]!.contender.start();
    await members[0]!.contender.waitForPublished(SETTLE_MS);
    members[1]!.contender.start();
  }
  return { members, clusterId, sampler };
}

/** Stops the sampler (once it has enough samples of each) and asserts that the two sidecars were never ready at once. */
async function neverTwoReady(sampler: ReadinessSampler, members: readonly Member[]): Promise<void> {
  const until = monotonicNow() + 5000;
  while (members.some((m) => (sampler.samples.get(m.name)?.length ?? 0) <= 20) && monotonicNow() < until) await delay(20);
  await sampler.stop();
  const counts = members.map((m) => sampler.samples.get(m.name)?.length ?? 0);
  assert.ok(
    counts.every((n) => n > 20),
    `the sampler ran (${counts.join(', ')} samples)`,
  );
  const overlap = longestOverlap(new Map(members.map((m) => [m.name, sampler.readyIntervals(m.name)])));
  assert.ok((overlap?.ms ?? 0) <= OVERLAP_BOUND_MS, `two sidecars ready at once: ${JSON.stringify(overlap)}`);
}

before(async () => {
  cp = await startControlPlane();
  namespace = await cp.createNamespace('k8s-ha');
  readerKubeconfig = await serviceAccountKubeconfig('ha-reader', [
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] },
  ]);
  deniedKubeconfig = await serviceAccountKubeconfig('nobody', []);
});

after(async () => {
  await Promise.all(running.map((r) => r.stop()));
  for (const s of jobManagers) s.close();
  await cp?.stop();
});

describe('Kubernetes source: sidecars beside contenders that elect as Flink does', () => {
  it('makes only the leader ready, with read-only RBAC, and the standby a standby', async () => {
    const { members, sampler } = await cluster();
    const [leader, standby] = members as [Member, Member];
    await leader.sidecar.waitUntilReady(SETTLE_MS);
    await standby.sidecar.waitForCurrent('standby', (t) => t.to === 'standby', SETTLE_MS);
    // The sidecars watched the holder acquire and publish: no wait for a whole lease.
    const readyAt = leader.sidecar.transitions.find((t) => t.ready)!.atMs;
    assert.ok(readyAt - leader.sidecar.spawnedAtMs < SETTLE_MS);
    await delay(LEASE_MS + 500);
    assert.equal(leader.sidecar.isReady, true, 'renewals keep the lease fresh');
    await neverTwoReady(sampler, members);

    // `status` reads the ConfigMap once, with the sidecar's settings.
    const status = spawnSync(process.execPath, [SIDECAR_MAIN, 'status', '--json'], {
      env: { PATH: process.env.PATH ?? '', ...leader.sidecar.env },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(status.status, 0, status.stderr);
    const shown = JSON.parse(status.stdout) as { configMaps: { configMap: string; version: { lock: { holder: string } } }[] };
    assert.equal(shown.configMaps[0]!.configMap, leader.contender.configMapName);
    assert.equal(shown.configMaps[0]!.version.lock.holder, leader.contender.identity);
  });

  it('moves readiness to the new leader on a graceful stop (release) at once, never both', async () => {
    const { members, sampler } = await cluster();
    const [leader, standby] = members as [Member, Member];
    await leader.sidecar.waitUntilReady(SETTLE_MS);
    await standby.sidecar.waitForCurrent('standby', (t) => t.to === 'standby', SETTLE_MS);
    const stoppedAt = monotonicNow();
    await leader.contender.stop({ release: true, removeLeaderInfo: true });
    await leader.sidecar.waitUntilNotReady(5000);
    const ready = await standby.sidecar.waitUntilReady(10_000);
    assert.ok(
      ready !== null && ready.atMs - stoppedAt < 5000,
      `the standby took ${ready === null ? '?' : Math.round(ready.atMs - stoppedAt)} ms`,
    );
    await neverTwoReady(sampler, members);
  });

  it('on kill -9 of the leader: its sidecar fails once the new holder takes the lock, the other is ready within lease + 2 s', async () => {
    const { members, sampler } = await cluster();
    const [leader, standby] = members as [Member, Member];
    await leader.sidecar.waitUntilReady(SETTLE_MS);
    await standby.sidecar.waitForCurrent('standby', (t) => t.to === 'standby', SETTLE_MS);
    const killedAt = monotonicNow();
    leader.contender.kill();
    const down = await leader.sidecar.waitUntilNotReady(LEASE_MS + 5000);
    assert.ok(down !== null);
    const ready = await standby.sidecar.waitUntilReady(LEASE_MS + 10_000);
    assert.ok(
      ready !== null && ready.atMs - killedAt <= LEASE_MS + 2000,
      `ready ${ready === null ? '?' : Math.round(ready.atMs - killedAt)} ms after the kill`,
    );
    await neverTwoReady(sampler, members);
  });

  it('a lone leader that stops renewing (frozen) turns not ready when its lease runs out by the sidecar clock', async () => {
    const { members, sampler } = await cluster({ startContenders: false });
    const [leader] = members as [Member, Member];
    leader.contender.start();
    await leader.sidecar.waitUntilReady(SETTLE_MS);
    const pausedAt = monotonicNow();
    leader.contender.pause();
    const down = await leader.sidecar.waitForTransition('lease-expired', (t) => t.roleReason === 'lease-expired', LEASE_MS + 5000);
    assert.ok(
      down.atMs - pausedAt >= LEASE_MS - 600,
      `expired ${Math.round(down.atMs - pausedAt)} ms after the last renewal could have happened`,
    );
    leader.contender.resume();
    await leader.sidecar.waitUntilReady(SETTLE_MS);
    await neverTwoReady(sampler, members);
  });

  it('treats the old leader information as stale the moment another holder has the lock', async () => {
    const { members, sampler } = await cluster({ startContenders: false, secondPublishesAfterMs: 1500 });
    const [old, next] = members as [Member, Member];
    old.contender.start();
    await old.contender.waitForPublished(SETTLE_MS);
    await old.sidecar.waitUntilReady(SETTLE_MS);
    await old.contender.stop({ release: true, removeLeaderInfo: false });
    // The new holder takes the released lock at once and publishes 1.5 s later: meanwhile only the
    // old leader's address is there, under the new holder's lock.
    next.contender.start();
    const stale = await old.sidecar.waitForTransition('leader-info-stale', (t) => t.roleReason === 'leader-info-stale', 10_000);
    assert.equal(stale.ready, false);
    const ready = await next.sidecar.waitUntilReady(SETTLE_MS);
    assert.ok(ready !== null && ready.atMs - stale.atMs >= 1000, 'the new leader is ready only once it has published');
    assert.equal(old.sidecar.isReady, false);
    await neverTwoReady(sampler, members);
  });

  it('a lock released with nobody to take it: no sidecar ready (lock-released)', async () => {
    const { members, sampler } = await cluster({ startContenders: false });
    const [leader] = members as [Member, Member];
    leader.contender.start();
    await leader.sidecar.waitUntilReady(SETTLE_MS);
    await leader.contender.stop({ release: true, removeLeaderInfo: false });
    await leader.sidecar.waitForTransition('lock-released', (t) => t.roleReason === 'lock-released' && !t.ready, 5000);
    await neverTwoReady(sampler, members);
  });

  it('a deleted ConfigMap, then a garbage lock annotation: not ready, each with its reason', async () => {
    const { members, sampler } = await cluster({ startContenders: false });
    const [leader] = members as [Member, Member];
    leader.contender.start();
    await leader.sidecar.waitUntilReady(SETTLE_MS);
    leader.contender.kill();
    const path = `/api/v1/namespaces/${namespace}/configmaps/${leader.contender.configMapName}`;
    assert.equal((await cp.request('DELETE', path)).status, 200);
    await leader.sidecar.waitForTransition('leader-configmap-absent', (t) => t.roleReason === 'leader-configmap-absent' && !t.ready, 5000);

    const other = members[1]!;
    other.contender.start();
    await other.sidecar.waitUntilReady(SETTLE_MS);
    other.contender.kill();
    const patched = await cp.request('PATCH', path, {
      body: { metadata: { annotations: { 'control-plane.alpha.kubernetes.io/leader': '{"holderIdentity": 42' } } },
      contentType: 'application/merge-patch+json',
    });
    assert.equal(patched.status, 200, patched.body);
    await other.sidecar.waitForTransition('lock-undecodable', (t) => t.roleReason === 'lock-undecodable' && !t.ready, 5000);
    await neverTwoReady(sampler, members);
  });

  it('API server restart: not ready while it is down, the leader ready again after, never two', async () => {
    const { members, sampler } = await cluster();
    const [leader, standby] = members as [Member, Member];
    await leader.sidecar.waitUntilReady(SETTLE_MS);
    await standby.sidecar.waitForCurrent('standby', (t) => t.to === 'standby', SETTLE_MS);
    const restart = cp.restartApiServer({ kill: true, downMs: 1000 });
    const down = await leader.sidecar.waitForTransition('unreachable', (t) => t.roleReason === 'kubernetes-unreachable', 10_000);
    assert.equal(down.ready, false);
    await restart;
    // Whoever holds the lock after the restart (the contenders ride it out as Flink's electors do).
    await Promise.race([leader.sidecar.waitUntilReady(60_000), standby.sidecar.waitUntilReady(60_000)]);
    await neverTwoReady(sampler, members);
  });

  it('a sidecar started beside a steady leader waits one lease for a value it did not see written', async () => {
    const { members, clusterId, sampler } = await cluster({ startContenders: false });
    await sampler.stop();
    const [leader] = members as [Member, Member];
    leader.contender.start();
    await leader.sidecar.waitUntilReady(SETTLE_MS);
    const late = await SidecarProcess.start({
      restUrl: leader.contender.restAddress,
      env: {
        LEADER_SOURCE: 'kubernetes',
        KUBERNETES_CLUSTER_ID: clusterId,
        KUBERNETES_NAMESPACE: namespace,
        KUBECONFIG: readerKubeconfig,
        JOBMANAGER_CHECK_INTERVAL_MS: '500',
        JOBMANAGER_CHECK_TIMEOUT_MS: '400',
      },
    });
    running.push(late);
    await late.waitForTransition('leader-writer-unknown', (t) => t.roleReason === 'leader-writer-unknown', 10_000);
    const ready = await late.waitUntilReady(LEASE_MS + 10_000);
    assert.ok(
      ready !== null && ready.atMs - late.spawnedAtMs >= LEASE_MS,
      `ready ${ready === null ? '?' : Math.round(ready.atMs - late.spawnedAtMs)} ms after start`,
    );
  });

  it('without RBAC on configmaps: not ready, kubernetes-forbidden', async () => {
    const { members, sampler } = await cluster({ kubeconfig: deniedKubeconfig });
    await members[0]!.sidecar.waitForCurrent('forbidden', (t) => t.roleReason === 'kubernetes-forbidden', 10_000);
    await members[1]!.sidecar.waitForCurrent('forbidden', (t) => t.roleReason === 'kubernetes-forbidden', 10_000);
    await neverTwoReady(sampler, members);
  });
});

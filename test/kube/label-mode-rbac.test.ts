/**
 * Covers: label mode against a real kube-apiserver with the RBAC that manifests/label-mode ships.
 * Its ServiceAccount, Role and RoleBinding are applied exactly as rendered (`kubectl kustomize`,
 * moved into a fresh namespace), and the JobManager pods are created from the rendered Deployment's
 * pod template on a registered Node, with status.podIP set through the status subresource. The
 * sidecars are real processes (`node dist/main.js`) "in" those pods (test/support/kubelet-standin.ts):
 * the manifest's environment (ROUTING_MODE=label, POD_NAME, POD_NAMESPACE and POD_IP from the
 * downward API) and the manifest's projected volume (a TokenRequest token bound to the pod, the CA,
 * the namespace) mounted where the manifest mounts it, in a mount namespace of the sidecar alone,
 * so the sidecar loads its in-cluster credentials as in a pod. The JobManagers are Curator stand-ins.
 *
 * - The Role as shipped grants get, list and patch on pods in the namespace and nothing else: every
 *   other verb, subresource, resource and namespace is refused with 403 for the same token.
 * - The role label follows repeated failovers (the leader JobManager killed with SIGKILL, then
 *   restarted in its pod); a ghost leader label (a pod whose sidecar never came back) is removed
 *   before the new leader labels itself; another Flink cluster's leader label is left alone; labels
 *   set by others survive the sidecars' JSON merge patches; no version of the pods the API server
 *   published (a watch sees each) ever has two leader labels in the cluster.
 * - A leader whose sidecar is frozen (SIGSTOP, as on a lost node) and whose JobManager is killed
 *   keeps its label until the new leader takes it off (before labelling itself); thawed, its sidecar
 *   labels its pod standby.
 * - A conditional patch (resourceVersion) of a pod that changed since the list is refused with a real
 *   409; the labeler lists again and succeeds. A merge patch with null removes exactly one label;
 *   reads and patches of a deleted pod get 404.
 * - RBAC withdrawn (RoleBinding deleted): 403s, `forbidden` in /debug/state, /readyz failing after
 *   LABEL_FAILURE_READINESS_TIMEOUT_MS; the RoleBinding re-applied: labels and readiness heal.
 * - A pod deleted gracefully: its sidecar takes its label off before it exits (the pod still exists
 *   with a deletionTimestamp), the other pod is labelled leader. A pod force-deleted while its sidecar
 *   runs: its pod-bound token stops authenticating (401), the sidecar reports `unauthorized` and
 *   fails /readyz after the timeout, and no pod is labelled leader.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IPodTemplateSpec } from 'kubernetes-models/v1';
import { createKubeClient, FIELD_MANAGER, loadInClusterKubeConfig, type KubeClient } from '../../src/sources/kubernetes/kube-client.js';
import { KubernetesError } from '../../src/sources/kubernetes/kubernetes-error.js';
import { SERVICE_ACCOUNT_DIR } from '../../src/config/index.js';
import { DEFAULT_LABEL_ROUTING } from '../../src/sources/kubernetes/settings.js';
import { ensureControlPlaneBinaries, startControlPlane, type ControlPlane, type KubeObject } from '../support/control-plane.js';
import { FakeJobManager } from '../support/fake-jobmanager.js';
import {
  createPodFromTemplate,
  Informer,
  jobManagerTemplate,
  JobManagerPod,
  MANIFESTS_DIR,
  registerNode,
  renderOverlay,
  requestToken,
  toYaml,
  type PodObject,
} from '../support/kubelet-standin.js';
import { startTestSidecar } from '../support/sidecar-harness.js';
import { sharedZooKeeper, type ZooKeeperServer } from '../support/zookeeper-server.js';

const ROLE = DEFAULT_LABEL_ROUTING.roleLabel;
const CLUSTER = DEFAULT_LABEL_ROUTING.clusterLabel;
const SERVICE_ACCOUNT = 'flink-ha-sidecar';
const NODE = 'node-label-mode';
const JM_SESSION_TIMEOUT_MS = 4000;
const FAILOVERS = 4;
/** Hang detection: generous bounds on every wait. */
const LABELS_MS = 20_000;
const ELECTION_MS = JM_SESSION_TIMEOUT_MS * 5;
const RBAC_PROPAGATION_MS = 30_000;

let cp: ControlPlane;
let zk: ZooKeeperServer;
let ns: string;
let otherNs: string;
let template: IPodTemplateSpec;
let rbacObjects: KubeObject[];
let pods: Informer<PodObject>;
const running: JobManagerPod[] = [];

const labelOf = (name: string): string | undefined => pods.objects.get(name)?.metadata.labels?.[ROLE];
const describePods = (objects: ReadonlyMap<string, PodObject>): string =>
  JSON.stringify([...objects.values()].map((p) => [p.metadata.name, p.metadata.labels?.[ROLE] ?? null]));

async function startPod(
  name: string,
  podIp: string,
  clusterId: string,
  o: { cluster?: string; env?: Record<string, string>; extraLabels?: Record<string, string> } = {},
): Promise<JobManagerPod> {
  const pod = await JobManagerPod.start({
    cp,
    namespace: ns,
    name,
    nodeName: NODE,
    template,
    podIp,
    zookeeper: zk.connectString,
    clusterId,
    jmSessionTimeoutMs: JM_SESSION_TIMEOUT_MS,
    extraLabels: { ...(o.cluster ? { [CLUSTER]: o.cluster } : {}), ...o.extraLabels },
    sidecarEnv: { JOBMANAGER_CHECK_INTERVAL_MS: '1000', JOBMANAGER_CHECK_TIMEOUT_MS: '500', ...o.env },
  });
  running.push(pod);
  return pod;
}

/** Waits until `leader` alone carries the leader label among `members`, and `standbys` the standby label. */
function expectLabels(leader: JobManagerPod, standbys: JobManagerPod[], timeoutMs = LABELS_MS): Promise<void> {
  return pods.waitUntil(
    `${leader.name} labelled leader, ${standbys.map((s) => s.name).join(', ')} standby`,
    () => labelOf(leader.name) === 'leader' && standbys.every((s) => labelOf(s.name) === 'standby'),
    timeoutMs,
    describePods,
  );
}

/** Records every published version of the pods in which two pods of `cluster` carry the leader label. */
function watchDoubleLeaders(cluster: string) {
  const doubles: { atMs: number; pods: string[] }[] = [];
  let versions = 0;
  const off = pods.onChange((informer) => {
    versions += 1;
    const leaders = [...informer.objects.values()]
      .filter((p) => p.metadata.labels?.[CLUSTER] === cluster && p.metadata.labels?.[ROLE] === 'leader')
      .map((p) => p.metadata.name);
    if (leaders.length > 1) doubles.push({ atMs: performance.now(), pods: leaders });
  });
  return { stop: () => (off(), { versions, doubles }) };
}

async function debugState(
  pod: JobManagerPod,
): Promise<{ labelRouting: Record<string, unknown> & { lastError: Record<string, unknown> | null } }> {
  const res = await fetch(`http://127.0.0.1:${pod.debugPort}/debug/state`);
  assert.equal(res.status, 200);
  return (await res.json()) as { labelRouting: Record<string, unknown> & { lastError: Record<string, unknown> | null } };
}

async function readyz(pod: JobManagerPod): Promise<{ status: number; reason: string }> {
  const res = await fetch(`${pod.sidecarUrl}/readyz`);
  return { status: res.status, reason: ((await res.json()) as { reason: string }).reason };
}

/** Retries a request the RBAC authorizer may not allow yet: it learns of bindings from an informer. */
async function untilStatus(
  what: string,
  attempt: () => Promise<{ status: number; body: string }>,
  status: number,
  timeoutMs = RBAC_PROPAGATION_MS,
) {
  const deadline = performance.now() + timeoutMs;
  let last: { status: number; body: string } | undefined;
  while (performance.now() < deadline) {
    last = await attempt();
    if (last.status === status) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not HTTP ${status} within ${timeoutMs} ms; last ${last?.status} ${last?.body}`);
}

async function applyRbac(): Promise<void> {
  await cp.kubectlOk(['apply', '--server-side', '--field-manager=flink-ha-sidecar-test', '-f', '-'], { input: toYaml(rbacObjects) });
}

before(async () => {
  await ensureControlPlaneBinaries();
  [cp, zk] = await Promise.all([startControlPlane(), sharedZooKeeper()]);
  await registerNode(cp, NODE);
  ns = await cp.createNamespace('label');
  otherNs = await cp.createNamespace('other');
  const rendered = await renderOverlay(cp, { resources: [join(MANIFESTS_DIR, 'label-mode')], namespace: ns });
  rbacObjects = rendered.objects.filter((o) => ['ServiceAccount', 'Role', 'RoleBinding'].includes(o.kind ?? ''));
  assert.deepEqual(rbacObjects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
    'Role/flink-ha-sidecar',
    'RoleBinding/flink-ha-sidecar',
    'ServiceAccount/flink-ha-sidecar',
  ]);
  await applyRbac();
  template = jobManagerTemplate(rendered.objects);
  assert.equal(template.spec?.serviceAccountName, SERVICE_ACCOUNT);
  pods = await Informer.start<PodObject>(cp, `/api/v1/namespaces/${ns}/pods`);
});

after(async () => {
  await Promise.all(running.map((p) => p.stop().catch(() => undefined)));
  pods?.stop();
  await cp?.stop();
  await zk?.destroy();
});

describe('label mode with the RBAC of manifests/label-mode on a real API server', () => {
  it('the shipped Role lets the service account get, list and patch pods in its namespace, and refuses everything else with 403', async () => {
    const target = (await createPodFromTemplate(cp, { namespace: ns, name: 'rbac-target', nodeName: NODE, template })).metadata.name;
    // A JobManager pod of another namespace (whose own service account is the default one).
    await createPodFromTemplate(cp, {
      namespace: otherNs,
      name: 'elsewhere',
      nodeName: NODE,
      template: { ...template, spec: { ...template.spec!, serviceAccountName: 'default' } },
    });
    const token = await requestToken(cp, ns, SERVICE_ACCOUNT, { expirationSeconds: 3607 });
    const as = (method: string, path: string, body?: unknown, contentType?: string) =>
      cp.request(method, path, { token, ...(body === undefined ? {} : { body }), ...(contentType ? { contentType } : {}) });
    const pods = `/api/v1/namespaces/${ns}/pods`;

    // Allowed: exactly the calls of src/sources/kubernetes/kube-client.ts.
    await untilStatus('get own namespace pod', () => as('GET', `${pods}/${target}`), 200);
    assert.equal((await as('GET', `${pods}?labelSelector=${encodeURIComponent(`${CLUSTER}=flink-cluster`)}`)).status, 200);
    const patched = await as('PATCH', `${pods}/${target}`, { metadata: { labels: { [ROLE]: 'standby' } } }, 'application/merge-patch+json');
    assert.equal(patched.status, 200, patched.body);

    const user = `system:serviceaccount:${ns}:${SERVICE_ACCOUNT}`;
    const refused: [string, string, string, unknown?, string?][] = [
      ['delete a pod', 'DELETE', `${pods}/${target}`],
      ['create a pod', 'POST', pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: template.spec }],
      ['update (PUT) a pod', 'PUT', `${pods}/${target}`, JSON.parse(patched.body)],
      ['watch pods', 'GET', `${pods}?watch=1&timeoutSeconds=1`],
      ["patch a pod's status", 'PATCH', `${pods}/${target}/status`, { status: { phase: 'Failed' } }, 'application/merge-patch+json'],
      ['evict a pod', 'POST', `${pods}/${target}/eviction`, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: target } }],
      ['exec into a pod', 'POST', `${pods}/${target}/exec?command=true&container=ha-sidecar&stdout=true`],
      ['list secrets', 'GET', `/api/v1/namespaces/${ns}/secrets`],
      ['read a configmap', 'GET', `/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`],
      ['list services', 'GET', `/api/v1/namespaces/${ns}/services`],
      ['list pods of another namespace', 'GET', `/api/v1/namespaces/${otherNs}/pods`],
      [
        'patch a pod of another namespace',
        'PATCH',
        `/api/v1/namespaces/${otherNs}/pods/elsewhere`,
        { metadata: { labels: { [ROLE]: 'leader' } } },
        'application/merge-patch+json',
      ],
      ['list pods cluster-wide', 'GET', '/api/v1/pods'],
      ['list nodes', 'GET', '/api/v1/nodes'],
      [
        'patch its own Role',
        'PATCH',
        `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles/flink-ha-sidecar`,
        { rules: [] },
        'application/merge-patch+json',
      ],
    ];
    for (const [what, method, path, body, contentType] of refused) {
      const res = await as(method, path, body, contentType);
      assert.equal(res.status, 403, `${what}: ${res.status} ${res.body}`);
      assert.match(res.body, new RegExp(`User \\\\"${user}\\\\" cannot`), `${what}: ${res.body}`);
    }

    // What the server says the token may do on pods, from the Role and nothing else.
    const review = await as('POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectRulesReview',
      spec: { namespace: ns },
    });
    assert.equal(review.status, 201, review.body);
    const rules = (
      JSON.parse(review.body) as { status: { resourceRules: { verbs: string[]; apiGroups?: string[]; resources?: string[] }[] } }
    ).status.resourceRules.filter((r) => r.resources?.some((x) => x.startsWith('pods') || x === '*'));
    assert.deepEqual(rules, [{ verbs: ['get', 'list', 'patch'], apiGroups: [''], resources: ['pods'] }]);
  });

  it(`the role label follows ${FAILOVERS} failovers (leader JobManager killed with SIGKILL, restarted in its pod); a ghost's label goes first; another cluster's label and others' labels stay; never two leader labels in any published version`, async () => {
    const clusterId = `/kube-label-${Date.now()}`;
    // The leader before a crash, whose sidecar never came back.
    await createPodFromTemplate(cp, { namespace: ns, name: 'jm-ghost', nodeName: NODE, template, extraLabels: { [ROLE]: 'leader' } });
    // Another Flink cluster's leader in the same namespace.
    await createPodFromTemplate(cp, {
      namespace: ns,
      name: 'other-jm-0',
      nodeName: NODE,
      template,
      extraLabels: { [CLUSTER]: 'other-cluster', [ROLE]: 'leader' },
    });
    await pods.waitUntil('ghost and foreign pods seen', (o) => o.has('jm-ghost') && o.has('other-jm-0'), LABELS_MS);
    const foreignVersions: (string | undefined)[] = [];
    const ownerVersions: (string | undefined)[] = [];
    const offForeign = pods.onChange((_i, e) => {
      if (e.object.metadata.name === 'other-jm-0' && e.type !== 'DELETED') foreignVersions.push(e.object.metadata.labels?.[ROLE]);
      if (/^jm-[ab]$/.test(e.object.metadata.name) && e.type !== 'DELETED')
        ownerVersions.push(e.object.metadata.labels?.['example.com/owner']);
    });
    const doubles = watchDoubleLeaders('flink-cluster');
    const eventsFrom = pods.events.length;

    const owner = { 'example.com/owner': 'someone-else' };
    const a = await startPod('jm-a', '10.244.1.10', clusterId, { extraLabels: owner });
    await a.jm.waitFor(/^leader rest_server /, ELECTION_MS);
    const b = await startPod('jm-b', '10.244.1.11', clusterId, { extraLabels: owner });
    await expectLabels(a, [b]);
    assert.equal(labelOf('jm-ghost'), undefined);
    const seen = pods.events.slice(eventsFrom);
    const ghostCleared = seen.findIndex((e) => e.object.metadata.name === 'jm-ghost' && e.object.metadata.labels?.[ROLE] === undefined);
    const aLabelled = seen.findIndex((e) => e.object.metadata.name === 'jm-a' && e.object.metadata.labels?.[ROLE] === 'leader');
    assert.ok(ghostCleared >= 0 && ghostCleared < aLabelled, `ghost cleared at ${ghostCleared}, a labelled at ${aLabelled}`);

    const latencies: number[] = [];
    let [leader, standby] = [a, b];
    for (let i = 0; i < FAILOVERS; i++) {
      const since = standby.jm.events.length;
      leader.killJobManager();
      await standby.jm.waitFor(/^leader rest_server /, ELECTION_MS, since);
      const electedAtMs = standby.jm.events.slice(since).find((e) => e.line.startsWith('leader rest_server '))!.atMs;
      await expectLabels(standby, [leader]);
      const labelledAtMs = pods.events.find(
        (e) => e.atMs >= electedAtMs && e.object.metadata.name === standby.name && e.object.metadata.labels?.[ROLE] === 'leader',
      )?.atMs;
      latencies.push((labelledAtMs ?? Number.NaN) - electedAtMs);
      // The kubelet restarts the killed container: the JobManager comes back as a standby.
      await leader.startJobManager();
      [leader, standby] = [standby, leader];
    }
    const { versions, doubles: seenDoubles } = doubles.stop();
    offForeign();
    console.log(
      `label mode, real API server: ${FAILOVERS} kill -9 failovers; new leader elected -> its pod labelled leader: ` +
        `${latencies.map((ms) => `${ms.toFixed(0)} ms`).join(', ')}; ${versions} pod versions watched, ${seenDoubles.length} with two leader labels`,
    );
    assert.deepEqual(seenDoubles, []);
    assert.ok(
      latencies.every((ms) => ms >= 0 && ms < 5000),
      `latencies ${latencies.join(',')}`,
    );
    assert.ok(
      foreignVersions.every((v) => v === 'leader'),
      `the other cluster's leader label changed: ${foreignVersions.join(',')}`,
    );
    assert.equal(labelOf('other-jm-0'), 'leader');
    assert.ok(
      ownerVersions.length > 0 && ownerVersions.every((v) => v === 'someone-else'),
      `a label set by others was lost: ${ownerVersions.join(',')}`,
    );

    // The server records who wrote the role label: the sidecar, by name (FIELD_MANAGER), as an Update.
    const got = JSON.parse((await cp.request('GET', `/api/v1/namespaces/${ns}/pods/${leader.name}`)).body) as PodObject & {
      metadata: {
        managedFields: { manager: string; operation: string; fieldsV1?: { 'f:metadata'?: { 'f:labels'?: Record<string, unknown> } } }[];
      };
    };
    const owners = got.metadata.managedFields.filter((f) => f.fieldsV1?.['f:metadata']?.['f:labels']?.[`f:${ROLE}`] !== undefined);
    console.log(`the role label's field manager on the server: ${JSON.stringify(owners.map((f) => [f.manager, f.operation]))}`);
    assert.deepEqual(
      owners.map((f) => [f.manager, f.operation]),
      [[FIELD_MANAGER, 'Update']],
    );

    await Promise.all([a.stop(), b.stop()]);
  });

  it('a conditional patch of a pod that changed since the list gets a real 409; the labeler lists again and proceeds. Merge patches remove exactly one label; a deleted pod is 404', async () => {
    // The product's own client, on in-cluster credentials read from a directory laid out like a pod's.
    const prefix = mkdtempSync(join(tmpdir(), 'in-cluster-'));
    try {
      const saDir = join(prefix, SERVICE_ACCOUNT_DIR);
      mkdirSync(saDir, { recursive: true });
      writeFileSync(join(saDir, 'token'), await requestToken(cp, ns, SERVICE_ACCOUNT, { expirationSeconds: 3607 }));
      writeFileSync(join(saDir, 'ca.crt'), cp.caPem);
      const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
      process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
      process.env.KUBERNETES_SERVICE_PORT = new URL(cp.server).port;
      let client: KubeClient;
      try {
        client = createKubeClient(loadInClusterKubeConfig(prefix), ns, { requestTimeoutMs: 5000 });
      } finally {
        for (const [k, v] of [
          ['KUBERNETES_SERVICE_HOST', saved.host],
          ['KUBERNETES_SERVICE_PORT', saved.port],
        ] as const) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }

      const cluster = 'conflict-cluster';
      await createPodFromTemplate(cp, {
        namespace: ns,
        name: 'c-ghost',
        nodeName: NODE,
        template,
        extraLabels: { [CLUSTER]: cluster, [ROLE]: 'leader', 'example.com/keep': 'yes' },
      });
      await createPodFromTemplate(cp, { namespace: ns, name: 'c-0', nodeName: NODE, template, extraLabels: { [CLUSTER]: cluster } });

      // The client alone: merge patches and preconditions as the server applies them.
      const ghost = await client.getPod('c-ghost');
      const touched = await client.patchPodLabels('c-ghost', { 'example.com/touched': 'by-test' });
      assert.notEqual(touched.resourceVersion, ghost.resourceVersion);
      const stale = await client.patchPodLabels('c-ghost', { [ROLE]: null }, { resourceVersion: ghost.resourceVersion }).then(
        () => assert.fail('a patch on a stale resourceVersion was applied'),
        (err: unknown) => err as KubernetesError,
      );
      assert.ok(stale instanceof KubernetesError);
      assert.equal(stale.reason, 'conflict');
      assert.equal(stale.httpStatus, 409);
      assert.match(stale.message, /the object has been modified/);
      const removed = await client.patchPodLabels('c-ghost', { 'example.com/touched': null });
      assert.deepEqual(
        Object.keys(removed.labels).filter((k) => k.startsWith('example.com/')),
        ['example.com/keep'],
      );
      assert.equal(removed.labels[ROLE], 'leader');
      for (const call of [() => client.getPod('never-was'), () => client.patchPodLabels('never-was', { [ROLE]: 'leader' })]) {
        const err = await call().then(
          () => assert.fail('a missing pod was found'),
          (e: unknown) => e as KubernetesError,
        );
        assert.equal(err.reason, 'not-found');
        assert.equal(err.httpStatus, 404);
      }

      // The labeler: another writer changes the ghost between the new leader's list and its patch.
      const conflicts: KubernetesError[] = [];
      let interfered = 0;
      const interfering: KubeClient = {
        getPod: (n) => client.getPod(n),
        listPods: async (selector) => {
          const listed = await client.listPods(selector);
          if (interfered < 2) {
            for (const p of listed.filter((x) => x.name !== 'c-0')) {
              interfered += 1;
              const res = await cp.request('PATCH', `/api/v1/namespaces/${ns}/pods/${p.name}`, {
                body: { metadata: { annotations: { 'example.com/writes': String(interfered) } } },
                contentType: 'application/merge-patch+json',
              });
              assert.equal(res.status, 200, res.body);
            }
          }
          return listed;
        },
        patchPodLabels: async (n, labels, opts) => {
          try {
            return await client.patchPodLabels(n, labels, opts);
          } catch (err) {
            if (err instanceof KubernetesError && err.reason === 'conflict') conflicts.push(err);
            throw err;
          }
        },
      };
      const clusterId = `/kube-conflict-${Date.now()}`;
      const jm = await FakeJobManager.start({
        zookeeper: zk.connectString,
        layout: '1.15',
        clusterId,
        sessionTimeoutMs: JM_SESSION_TIMEOUT_MS,
      });
      try {
        await jm.waitFor(/^leader rest_server /, ELECTION_MS);
        const sidecar = await startTestSidecar({
          zookeeper: zk.connectString,
          clusterId,
          restUrl: jm.restUrl,
          advertised: ['127.0.0.1'],
          layout: '1.15',
          labelRouting: {
            settings: { ...DEFAULT_LABEL_ROUTING, mode: 'label', podName: 'c-0', podNamespace: ns },
            kubeClient: interfering,
          },
        });
        try {
          await pods.waitUntil(
            'c-0 labelled leader, c-ghost unlabelled',
            (o) => o.get('c-0')?.metadata.labels?.[ROLE] === 'leader' && o.get('c-ghost')?.metadata.labels?.[ROLE] === undefined,
            LABELS_MS,
            describePods,
          );
          // Two lists were answered by a write to the ghost before the labeler's conditional patch:
          // the server refused both patches (409), and the third list's patch went through.
          assert.equal(interfered, 2);
          assert.equal(conflicts.length, 2, conflicts.map((c) => c.message).join('; '));
          assert.ok(conflicts.every((c) => c.httpStatus === 409));
          assert.equal(sidecar.running.store.state.podLabel.staleLeaderLabelsRemoved, 1);
          // The other writer's changes are kept: the merge patch touched the role label alone.
          const ghostNow = pods.objects.get('c-ghost')!;
          assert.equal(ghostNow.metadata.annotations?.['example.com/writes'], '2');
          assert.equal(ghostNow.metadata.labels?.['example.com/keep'], 'yes');
        } finally {
          await sidecar.stop();
        }
        // SIGTERM's path in-process: the label is gone once shutdown has finished.
        assert.equal((await client.getPod('c-0')).labels[ROLE], undefined);
      } finally {
        await jm.stop();
      }
    } finally {
      rmSync(prefix, { recursive: true, force: true });
    }
  });
  it('a leader whose sidecar cannot act (frozen, as on a lost node) keeps its label until the new leader takes it off; thawed, its sidecar labels its pod standby', async () => {
    const clusterId = `/kube-frozen-${Date.now()}`;
    const cluster = 'frozen-cluster';
    const a = await startPod('z-a', '10.244.5.10', clusterId, { cluster });
    await a.jm.waitFor(/^leader rest_server /, ELECTION_MS);
    const b = await startPod('z-b', '10.244.5.11', clusterId, { cluster });
    await expectLabels(a, [b]);
    const doubles = watchDoubleLeaders(cluster);
    const fromEvent = pods.events.length;
    a.sidecar.kill('SIGSTOP');
    try {
      const since = b.jm.events.length;
      a.killJobManager();
      await b.jm.waitFor(/^leader rest_server /, ELECTION_MS, since);
      await pods.waitUntil(
        'z-b leader, z-a unlabelled by z-b',
        (o) => o.get('z-b')?.metadata.labels?.[ROLE] === 'leader' && o.get('z-a')?.metadata.labels?.[ROLE] === undefined,
        LABELS_MS,
        describePods,
      );
      const seen = pods.events.slice(fromEvent);
      const cleared = seen.findIndex((e) => e.object.metadata.name === 'z-a' && e.object.metadata.labels?.[ROLE] === undefined);
      const labelled = seen.findIndex((e) => e.object.metadata.name === 'z-b' && e.object.metadata.labels?.[ROLE] === 'leader');
      assert.ok(cleared >= 0 && cleared < labelled, `z-a cleared at ${cleared}, z-b labelled at ${labelled}`);
      assert.ok(
        b.sidecar.lines.some((l) => l.msg === 'removed a stale leader label from another pod of the cluster' && l.pod === 'z-a'),
        b.sidecar.describe(),
      );
    } finally {
      a.sidecar.kill('SIGCONT');
    }
    // Thawed after its own ZooKeeper session expired: unknown (no label) until a new session reads the
    // election (reconnects back off from 1 s), then standby.
    await pods.waitUntil('z-a standby once thawed', (o) => o.get('z-a')?.metadata.labels?.[ROLE] === 'standby', 45_000, describePods);
    const { doubles: seenDoubles } = doubles.stop();
    assert.deepEqual(seenDoubles, []);
    assert.equal(labelOf('z-b'), 'leader');
    await Promise.all([a.stop(), b.stop()]);
  });

  it('RBAC withdrawn (RoleBinding deleted): 403, forbidden in /debug/state, /readyz failing after the timeout and the pods leaving readiness; RoleBinding re-applied: labels and readiness heal', async () => {
    const clusterId = `/kube-rbac-${Date.now()}`;
    const cluster = 'rbac-cluster';
    const env = { LABEL_FAILURE_READINESS_TIMEOUT_MS: '2000' };
    const a = await startPod('r-a', '10.244.2.10', clusterId, { cluster, env });
    await a.jm.waitFor(/^leader rest_server /, ELECTION_MS);
    const b = await startPod('r-b', '10.244.2.11', clusterId, { cluster, env });
    await expectLabels(a, [b]);
    // Label mode: readiness means healthy, so the kubelet stand-in marks both pods Ready.
    const podReady = (name: string, ready: boolean) =>
      pods.waitUntil(
        `${name} Ready=${ready}`,
        (o) => (o.get(name)?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false) === ready,
        LABELS_MS,
        describePods,
      );
    await Promise.all([podReady('r-a', true), podReady('r-b', true)]);

    const token = readFile(a.tokenFile!, 'utf8');
    const asSidecar = async () => cp.request('GET', `/api/v1/namespaces/${ns}/pods/r-a`, { token: await token });
    try {
      const deleted = await cp.request('DELETE', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings/flink-ha-sidecar`);
      assert.equal(deleted.status, 200, deleted.body);
      await untilStatus("the sidecar's token refused", asSidecar, 403);

      const linesA = a.sidecar.lines.length;
      const linesB = b.sidecar.lines.length;
      const since = b.jm.events.length;
      await a.jm.send('resign');
      await b.jm.waitFor(/^leader rest_server /, ELECTION_MS, since);
      const failed = await b.sidecar.waitForLine('a failed label update', (l) => l.reason === 'forbidden', LABELS_MS, linesB);
      assert.equal(failed.httpStatus, 403);
      await b.sidecar.waitForLine(
        'readiness failing on the label',
        (l) => l.ready === false && l.reason === 'label-update-failing',
        LABELS_MS,
        linesB,
      );
      // The standby's log says `reason: other-jm-leads` here (its transition takes the first failing
      // check of the verdict, where a standby's leadership check comes before the label's); /readyz
      // names the label.
      await a.sidecar.waitForLine('readiness failing', (l) => l.ready === false, LABELS_MS, linesA);
      assert.deepEqual(await readyz(a), { status: 503, reason: 'label-update-failing' });
      assert.deepEqual(await readyz(b), { status: 503, reason: 'label-update-failing' });
      const state = await debugState(b);
      assert.equal(state.labelRouting.desired, 'leader');
      assert.equal(state.labelRouting.applied, 'standby');
      assert.equal(state.labelRouting.lastError?.reason, 'forbidden');
      assert.equal(state.labelRouting.lastError?.httpStatus, 403);
      assert.equal(typeof state.labelRouting.failingSince, 'string');
      // Nothing moved on the server; the pod still labelled leader leaves readiness (and so the Service).
      assert.equal(labelOf('r-a'), 'leader');
      assert.equal(labelOf('r-b'), 'standby');
      await Promise.all([podReady('r-a', false), podReady('r-b', false)]);
    } finally {
      await applyRbac();
    }
    // Backoff (at most 5 s) and the authorizer's informer: labels and readiness heal.
    await expectLabels(b, [a], 30_000);
    await Promise.all([podReady('r-a', true), podReady('r-b', true)]);
    assert.equal((await readyz(b)).status, 200);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('pod deleted gracefully: the sidecar takes its label off before it exits and the other pod is labelled leader; pod force-deleted under a running sidecar: its pod-bound token gets 401, the sidecar reports unauthorized and fails /readyz, and no pod is labelled leader', async () => {
    // Graceful: `kubectl delete pod` sets a deletionTimestamp (the template's 60 s grace period);
    // the kubelet stops the JobManager, then the native sidecar, then removes the pod.
    const graceful = 'delete-cluster';
    const gId = `/kube-delete-${Date.now()}`;
    const a = await startPod('d-a', '10.244.3.10', gId, { cluster: graceful });
    await a.jm.waitFor(/^leader rest_server /, ELECTION_MS);
    const b = await startPod('d-b', '10.244.3.11', gId, { cluster: graceful });
    await expectLabels(a, [b]);
    const deletion = await cp.kubectl(['delete', 'pod', 'd-a', '-n', ns, '--wait=false']);
    assert.equal(deletion.code, 0, deletion.stderr);
    await pods.waitUntil('d-a terminating', (o) => o.get('d-a')?.metadata.deletionTimestamp !== undefined, LABELS_MS);
    const fromEvent = pods.events.length;
    await a.terminate();
    assert.equal(a.sidecar.exitCode, 0, a.sidecar.describe());
    assert.ok(
      a.sidecar.lines.some((l) => l.msg === 'role label removed'),
      a.sidecar.describe(),
    );
    await pods.waitUntil(
      'd-a removed, d-b leader',
      (o) => !o.has('d-a') && o.get('d-b')?.metadata.labels?.[ROLE] === 'leader',
      LABELS_MS,
      describePods,
    );
    const lastOfA = pods.events
      .slice(fromEvent)
      .filter((e) => e.object.metadata.name === 'd-a')
      .at(-1);
    assert.equal(lastOfA?.type, 'DELETED');
    assert.equal(lastOfA?.object.metadata.labels?.[ROLE], undefined, 'the pod went away still labelled');
    await b.stop();

    // Forced: the pod object is gone at once while its containers still run (a lost node, `kubectl
    // delete --force`). The token the kubelet requested is bound to that pod, so it dies with it.
    const forced = 'force-cluster';
    const fId = `/kube-force-${Date.now()}`;
    const env = { LABEL_FAILURE_READINESS_TIMEOUT_MS: '2000' };
    const x = await startPod('f-a', '10.244.4.10', fId, { cluster: forced, env });
    await x.jm.waitFor(/^leader rest_server /, ELECTION_MS);
    const y = await startPod('f-b', '10.244.4.11', fId, { cluster: forced, env });
    await expectLabels(x, [y]);
    y.stopProbing();
    const force = await cp.kubectl(['delete', 'pod', 'f-b', '-n', ns, '--grace-period=0', '--force']);
    assert.equal(force.code, 0, force.stderr);
    const yToken = await readFile(y.tokenFile!, 'utf8');
    // The apiserver caches a token's authentication for up to 10 s.
    await untilStatus("the deleted pod's token refused", () => cp.request('GET', `/api/v1/namespaces/${ns}/pods`, { token: yToken }), 401);

    const linesY = y.sidecar.lines.length;
    const since = y.jm.events.length;
    await x.jm.send('resign');
    await y.jm.waitFor(/^leader rest_server /, ELECTION_MS, since);
    const failed = await y.sidecar.waitForLine('a failed label update', (l) => l.reason === 'unauthorized', LABELS_MS, linesY);
    assert.equal(failed.httpStatus, 401);
    await y.sidecar.waitForLine(
      'readiness failing on the label',
      (l) => l.ready === false && l.reason === 'label-update-failing',
      LABELS_MS,
      linesY,
    );
    assert.deepEqual(await readyz(y), { status: 503, reason: 'label-update-failing' });
    // The old leader's sidecar labels its pod standby; nobody is labelled leader: the Service has
    // no endpoint while the leading JobManager runs in a pod that no longer exists.
    await pods.waitUntil('f-a standby', (o) => o.get('f-a')?.metadata.labels?.[ROLE] === 'standby', LABELS_MS, describePods);
    assert.deepEqual(
      [...pods.objects.values()]
        .filter((p) => p.metadata.labels?.[CLUSTER] === forced)
        .map((p) => [p.metadata.name, p.metadata.labels?.[ROLE]]),
      [['f-a', 'standby']],
    );
    await Promise.all([x.stop(), y.stop()]);
  });
});

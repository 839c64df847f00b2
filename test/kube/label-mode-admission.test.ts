/**
 * Covers: manifests/label-mode/admission-policy.yaml, the ValidatingAdmissionPolicy and binding that
 * narrow what label mode's ServiceAccount may do with its Role's `patch` on pods, on a real
 * kube-apiserver (admissionregistration.k8s.io/v1, on by default), with the validatingadmissionpolicy
 * status controller type-checking the policy. Everything label mode renders for its account
 * (ServiceAccount, Role, RoleBinding, the policy and its binding) is applied as rendered, moved into
 * a fresh namespace; the pods are made from the rendered JobManager and TaskManager templates,
 * bound to a registered Node (no kubelet, no scheduler).
 *
 * - Without the policy, the Role alone lets the account patch a pod's image (what the policy is for).
 * - The policy type-checks without warnings.
 * - As the ServiceAccount, with a token kubeconfig (kubectl) and with the sidecar's own client
 *   (src/sources/kubernetes/kube-client.ts): setting, changing and removing the role label, a
 *   conditional patch of it, and setting the pod-deletion-cost annotation on a JobManager pod are
 *   allowed.
 * - As the ServiceAccount: patching the image, another label (added, changed, removed), another
 *   annotation, a finalizer, or the role label of a TaskManager pod or of a pod that is not Flink's,
 *   is refused with the policy's message; none of these changes reaches the pod.
 * - The cluster admin, and another account bound to the same Role, are not affected.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IPodTemplateSpec } from 'kubernetes-models/v1';
import { createKubeClient, loadKubeConfigFile } from '../../src/sources/kubernetes/kube-client.js';
import { KubernetesError } from '../../src/sources/kubernetes/kubernetes-error.js';
import {
  DEFAULT_CONTROLLERS,
  ensureControlPlaneBinaries,
  startControlPlane,
  type ControlPlane,
  type KubeObject,
} from '../support/control-plane.js';
import {
  createPodFromTemplate,
  findObject,
  jobManagerTemplate,
  MANIFESTS_DIR,
  registerNode,
  renderOverlay,
  requestToken,
  toYaml,
  type PodObject,
} from '../support/kubelet-standin.js';

const SERVICE_ACCOUNT = 'flink-ha-sidecar';
const ROLE_LABEL = 'flink-ha-sidecar/role';
const DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';
const POLICY = 'flink-ha-sidecar-pod-patches';
const NODE = 'node-admission';
const FIELD_MANAGER = 'flink-ha-sidecar-test';
/** The RBAC authorizer and the admission plugin learn of new objects from informers. */
const PROPAGATION_MS = 30_000;
const DENIED = new RegExp(`ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}' denied request`);

let cp: ControlPlane;
let ns: string;
let rendered: KubeObject[];
let jmTemplate: IPodTemplateSpec;
let tmTemplate: IPodTemplateSpec;
/** A kubeconfig that authenticates as the sidecar's ServiceAccount, with a token of it. */
let asSidecar: string;
let sidecarToken: string;

const MERGE = 'application/merge-patch+json';

/** kubectl patch of a pod, as `kubeconfig` (admin when undefined). */
function kubectlPatch(pod: string, type: 'merge' | 'strategic' | 'json', patch: unknown, kubeconfig?: string) {
  return cp.kubectl(
    ['patch', 'pod', pod, '-n', ns, `--type=${type}`, '-p', JSON.stringify(patch)],
    kubeconfig === undefined ? {} : { kubeconfig },
  );
}

async function getPod(name: string): Promise<PodObject> {
  const res = await cp.request('GET', `/api/v1/namespaces/${ns}/pods/${name}`);
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body) as PodObject;
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = PROPAGATION_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

let podCount = 0;
async function jobManagerPod(labels: Record<string, string> = {}): Promise<string> {
  const name = `jm-${++podCount}`;
  await createPodFromTemplate(cp, { namespace: ns, name, nodeName: NODE, template: jmTemplate, extraLabels: labels });
  return name;
}

before(async () => {
  await ensureControlPlaneBinaries();
  // The status controller type-checks each policy and writes what it found to its status.
  cp = await startControlPlane({ controllers: [...DEFAULT_CONTROLLERS, 'validatingadmissionpolicy-status-controller'] });
  await registerNode(cp, NODE);
  ns = await cp.createNamespace('admission');
  rendered = (await renderOverlay(cp, { resources: [join(MANIFESTS_DIR, 'label-mode')], namespace: ns })).objects;
  jmTemplate = jobManagerTemplate(rendered);
  tmTemplate = (findObject(rendered, 'Deployment', 'flink-taskmanager') as unknown as { spec: { template: IPodTemplateSpec } }).spec
    .template;
  assert.equal(jmTemplate.spec?.serviceAccountName, SERVICE_ACCOUNT);
  const rbac = rendered.filter((o) => ['ServiceAccount', 'Role', 'RoleBinding'].includes(o.kind ?? ''));
  await cp.kubectlOk(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], { input: toYaml(rbac) });
  sidecarToken = await requestToken(cp, ns, SERVICE_ACCOUNT, { expirationSeconds: 3607 });
  asSidecar = await cp.writeTokenKubeconfig(sidecarToken);
});

after(async () => {
  await cp?.stop();
});

describe("label mode's ValidatingAdmissionPolicy on a real API server", () => {
  it("without the policy, the Role alone lets the sidecar's account patch any pod, its image included", async () => {
    const pod = await jobManagerPod();
    await eventually(
      'the RoleBinding lets the account patch pods',
      async () => (await kubectlPatch(pod, 'merge', { metadata: { labels: { [ROLE_LABEL]: 'standby' } } }, asSidecar)).code === 0,
    );
    const image = await kubectlPatch(
      pod,
      'strategic',
      { spec: { containers: [{ name: 'jobmanager', image: 'example.com/not-flink:1' }] } },
      asSidecar,
    );
    assert.equal(image.code, 0, image.stderr);
    assert.equal((await getPod(pod)).spec.containers.find((c) => c.name === 'jobmanager')?.image, 'example.com/not-flink:1');
  });

  it('label mode ships the policy and its binding; the API server accepts them and type-checks the policy without warnings', async () => {
    const admission = rendered.filter((o) => o.apiVersion === 'admissionregistration.k8s.io/v1');
    assert.deepEqual(admission.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      `ValidatingAdmissionPolicy/${POLICY}`,
      `ValidatingAdmissionPolicyBinding/${POLICY}`,
    ]);
    const applied = await cp.kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], {
      input: toYaml(admission),
    });
    assert.equal(applied.code, 0, applied.stderr);
    assert.doesNotMatch(applied.stderr, /Warning/i, applied.stderr);
    // Cluster-scoped: stored without the namespace Kustomize wrote into them.
    const got = JSON.parse(await cp.kubectlOk(['get', 'validatingadmissionpolicies,validatingadmissionpolicybindings', '-o', 'json'])) as {
      items: KubeObject[];
    };
    assert.deepEqual(got.items.map((o) => [o.kind, o.metadata.name, o.metadata.namespace]).sort(), [
      ['ValidatingAdmissionPolicy', POLICY, undefined],
      ['ValidatingAdmissionPolicyBinding', POLICY, undefined],
    ]);
    const checked = await cp.waitFor<
      KubeObject & {
        metadata: { generation?: number };
        status?: { observedGeneration?: number; typeChecking?: { expressionWarnings?: unknown[] } };
      }
    >(
      `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies?fieldSelector=${encodeURIComponent(`metadata.name=${POLICY}`)}`,
      (p) => p.status?.observedGeneration === p.metadata.generation && p.status?.typeChecking !== undefined,
      { timeoutMs: PROPAGATION_MS },
    );
    assert.deepEqual(checked.status?.typeChecking?.expressionWarnings ?? [], [], JSON.stringify(checked.status));
    // The admission plugin learns of the binding from an informer: wait until it refuses.
    // (A new image each time: a patch that changes nothing passes the policy, as it should.)
    const probe = await jobManagerPod();
    let attempt = 0;
    await eventually('the policy refuses an image patch', async () => {
      const image = `example.com/not-flink:${++attempt}`;
      const res = await kubectlPatch(probe, 'strategic', { spec: { containers: [{ name: 'jobmanager', image }] } }, asSidecar);
      return res.code !== 0 && DENIED.test(res.stderr);
    });
  });

  it('as the ServiceAccount (token kubeconfig): the role label set, changed and removed, and the pod-deletion-cost annotation, on a JobManager pod', async () => {
    const pod = await jobManagerPod({ 'example.com/owner': 'someone-else' });
    const steps: [string, 'merge' | 'strategic' | 'json', unknown][] = [
      ['set the role label', 'merge', { metadata: { labels: { [ROLE_LABEL]: 'standby' } } }],
      ['change the role label', 'strategic', { metadata: { labels: { [ROLE_LABEL]: 'leader' } } }],
      ['set the deletion cost', 'merge', { metadata: { annotations: { [DELETION_COST]: '100' } } }],
      ['both at once', 'merge', { metadata: { labels: { [ROLE_LABEL]: 'standby' }, annotations: { [DELETION_COST]: '-100' } } }],
      ['a JSON patch of the label', 'json', [{ op: 'replace', path: '/metadata/labels/flink-ha-sidecar~1role', value: 'leader' }]],
      ['remove the deletion cost', 'merge', { metadata: { annotations: { [DELETION_COST]: null } } }],
      ['remove the role label', 'merge', { metadata: { labels: { [ROLE_LABEL]: null } } }],
    ];
    for (const [what, type, patch] of steps) {
      const res = await kubectlPatch(pod, type, patch, asSidecar);
      assert.equal(res.code, 0, `${what}: ${res.stderr}`);
    }
    const now = await getPod(pod);
    assert.equal(now.metadata.labels?.[ROLE_LABEL], undefined);
    assert.equal(now.metadata.labels?.['example.com/owner'], 'someone-else');
    assert.equal(now.metadata.annotations?.[DELETION_COST], undefined);
  });

  it("as the ServiceAccount, with the sidecar's own client: its label patches, conditional ones included, pass", async () => {
    const [a, b] = [await jobManagerPod(), await jobManagerPod({ [ROLE_LABEL]: 'leader' })];
    const client = createKubeClient(loadKubeConfigFile(asSidecar), ns, { requestTimeoutMs: 5000 });
    const listed = await client.listPods(`${ROLE_LABEL}=leader,app.kubernetes.io/instance=flink-cluster`);
    const stale = listed.find((p) => p.name === b);
    assert.ok(stale, JSON.stringify(listed));
    // The sweep: the stale leader label off another JobManager, conditional on what was listed.
    await client.patchPodLabels(b, { [ROLE_LABEL]: null }, { resourceVersion: stale.resourceVersion });
    const own = await client.patchPodLabels(a, { [ROLE_LABEL]: 'leader' });
    assert.equal(own.labels[ROLE_LABEL], 'leader');
    assert.equal((await client.getPod(b)).labels[ROLE_LABEL], undefined);
  });

  it("as the ServiceAccount: the image, another label or annotation, a finalizer, or a pod that is not a JobManager are refused with the policy's message", async (t) => {
    const pod = await jobManagerPod({ 'example.com/owner': 'someone-else' });
    const tm = 'tm-1';
    await createPodFromTemplate(cp, { namespace: ns, name: tm, nodeName: NODE, template: tmTemplate });
    const plain = 'not-flink';
    const created = await cp.request('POST', `/api/v1/namespaces/${ns}/pods`, {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: plain, labels: { app: 'web' } },
        spec: { nodeName: NODE, containers: [{ name: 'web', image: 'example.com/web:1' }] },
      },
    });
    assert.equal(created.status, 201, created.body);
    const before = new Map(await Promise.all([pod, tm, plain].map(async (p) => [p, await getPod(p)] as const)));

    const refused: [string, string, 'merge' | 'strategic' | 'json', unknown, RegExp][] = [
      [
        'the image',
        pod,
        'strategic',
        { spec: { containers: [{ name: 'jobmanager', image: 'example.com/not-flink:1' }] } },
        /may not change a pod's spec/,
      ],
      [
        'the image, with the role label',
        pod,
        'strategic',
        {
          metadata: { labels: { [ROLE_LABEL]: 'leader' } },
          spec: { containers: [{ name: 'jobmanager', image: 'example.com/not-flink:1' }] },
        },
        /may not change a pod's spec/,
      ],
      [
        "the sidecar's image, by JSON patch",
        pod,
        'json',
        [{ op: 'replace', path: '/spec/initContainers/0/image', value: 'example.com/not-flink:1' }],
        /may not change a pod's spec/,
      ],
      [
        'another label added',
        pod,
        'merge',
        { metadata: { labels: { 'app.kubernetes.io/version': 'x' } } },
        /may change only the label flink-ha-sidecar\/role/,
      ],
      [
        'another label changed',
        pod,
        'merge',
        { metadata: { labels: { 'example.com/owner': 'me' } } },
        /may change only the label flink-ha-sidecar\/role/,
      ],
      [
        'another label removed',
        pod,
        'merge',
        { metadata: { labels: { 'example.com/owner': null } } },
        /may change only the label flink-ha-sidecar\/role/,
      ],
      [
        'the cluster label changed',
        pod,
        'merge',
        { metadata: { labels: { 'app.kubernetes.io/instance': 'other-cluster' } } },
        /may change only the label flink-ha-sidecar\/role/,
      ],
      [
        'another annotation',
        pod,
        'merge',
        { metadata: { annotations: { 'example.com/note': 'x' } } },
        /may change only the annotation controller\.kubernetes\.io\/pod-deletion-cost/,
      ],
      [
        'a finalizer',
        pod,
        'merge',
        { metadata: { finalizers: ['example.com/hold'] } },
        /may not change a pod's spec, owners or finalizers/,
      ],
      [
        'the role label of a TaskManager pod',
        tm,
        'merge',
        { metadata: { labels: { [ROLE_LABEL]: 'leader' } } },
        /may change only JobManager pods/,
      ],
      [
        'the deletion cost of a TaskManager pod',
        tm,
        'merge',
        { metadata: { annotations: { [DELETION_COST]: '1' } } },
        /may change only JobManager pods/,
      ],
      [
        "the role label of a pod that is not Flink's",
        plain,
        'merge',
        { metadata: { labels: { [ROLE_LABEL]: 'leader' } } },
        /may change only JobManager pods/,
      ],
      [
        'making a pod a JobManager',
        plain,
        'merge',
        { metadata: { labels: { 'app.kubernetes.io/component': 'jobmanager' } } },
        /may change only JobManager pods/,
      ],
    ];
    for (const [what, target, type, patch, message] of refused) {
      const res = await kubectlPatch(target, type, patch, asSidecar);
      assert.notEqual(res.code, 0, `${what}: allowed`);
      assert.match(res.stderr, DENIED, `${what}: ${res.stderr}`);
      assert.match(res.stderr, message, `${what}: ${res.stderr}`);
      assert.match(res.stderr, /Forbidden/, `${what}: ${res.stderr}`);
      t.diagnostic(`${what}: ${res.stderr.trim()}`);
    }
    // Over HTTP: 403 with the policy's message in the Status.
    const direct = await cp.request('PATCH', `/api/v1/namespaces/${ns}/pods/${tm}`, {
      token: sidecarToken,
      body: { metadata: { labels: { [ROLE_LABEL]: 'leader' } } },
      contentType: MERGE,
    });
    assert.equal(direct.status, 403, direct.body);
    const status = JSON.parse(direct.body) as { reason: string; message: string };
    assert.equal(status.reason, 'Forbidden');
    assert.match(status.message, DENIED);
    // The sidecar's client sees a KubernetesError "forbidden", as for missing RBAC.
    const client = createKubeClient(loadKubeConfigFile(asSidecar), ns, { requestTimeoutMs: 5000 });
    await assert.rejects(
      client.patchPodLabels(tm, { [ROLE_LABEL]: 'leader' }),
      (err: unknown) => err instanceof KubernetesError && err.reason === 'forbidden' && err.httpStatus === 403,
    );

    // Nothing changed.
    for (const [name, was] of before) {
      const now = await getPod(name);
      assert.equal(now.metadata.resourceVersion, was.metadata.resourceVersion, name);
    }
  });

  it('the cluster admin, and another account bound to the same Role, are not affected', async () => {
    const pod = await jobManagerPod();
    const admin: [string, 'merge' | 'strategic', unknown][] = [
      ['the image', 'strategic', { spec: { containers: [{ name: 'jobmanager', image: 'example.com/flink:2' }] } }],
      ['another label', 'merge', { metadata: { labels: { 'example.com/owner': 'admin' } } }],
      ['another annotation', 'merge', { metadata: { annotations: { 'example.com/note': 'x' } } }],
    ];
    for (const [what, type, patch] of admin) {
      const res = await kubectlPatch(pod, type, patch);
      assert.equal(res.code, 0, `admin, ${what}: ${res.stderr}`);
    }
    await createPodFromTemplate(cp, { namespace: ns, name: 'tm-2', nodeName: NODE, template: tmTemplate });
    const tm = await kubectlPatch('tm-2', 'merge', { metadata: { labels: { [ROLE_LABEL]: 'leader' } } });
    assert.equal(tm.code, 0, `admin, a TaskManager pod: ${tm.stderr}`);

    await cp.kubectlOk(['create', 'serviceaccount', 'someone-else', '-n', ns]);
    await cp.kubectlOk([
      'create',
      'rolebinding',
      'someone-else',
      '-n',
      ns,
      '--role=flink-ha-sidecar',
      `--serviceaccount=${ns}:someone-else`,
    ]);
    const other = await cp.writeTokenKubeconfig(await requestToken(cp, ns, 'someone-else', { expirationSeconds: 3607 }));
    await eventually(
      'the other account may patch pods',
      async () => (await kubectlPatch(pod, 'merge', { metadata: { labels: { 'example.com/owner': 'other' } } }, other)).code === 0,
    );
    const image = await kubectlPatch(
      pod,
      'strategic',
      { spec: { containers: [{ name: 'jobmanager', image: 'example.com/flink:3' }] } },
      other,
    );
    assert.equal(image.code, 0, image.stderr);
  });
});

/**
 * Covers: manifests/kubernetes-ha (Flink's Kubernetes HA) and manifests/operator (the Flink
 * Kubernetes Operator's FlinkDeployment) against a real kube-apiserver and controller manager
 * (test/support/control-plane.ts), with the operator's own CRD.
 *
 * - The operator's FlinkDeployment CRD, taken from its api jar on Maven Central
 *   (scripts/fetch-operator-crd.sh, cached under ~/.cache/flink-ha-sidecar/), is installed and
 *   Established; the example is accepted by server-side apply with strict field validation and
 *   stored as written (nothing pruned: the native sidecar's restartPolicy and probes survive),
 *   while misspelt fields and wrong types under spec.jobManager are refused.
 * - manifests/operator's ServiceAccount flink (the operator chart's Role) may read ConfigMaps.
 * - manifests/kubernetes-ha is accepted in a namespace that enforces the "restricted" Pod Security
 *   Standard; the Deployment controllers create its pods, and admission mounts the ServiceAccount's
 *   token into every container of them, the native sidecar included. `kubectl auth can-i` as the
 *   ServiceAccount: the ConfigMap verbs real JobManagers use (test/support/flink-kubernetes-ha.ts:
 *   patch among them) and delete, in its namespace, nothing else; and
 *   with the ServiceAccount's own token the sidecar's ConfigMap client (the list and watch of
 *   src/sources/kubernetes-ha/configmap-api.ts) reads and follows the leader ConfigMap.
 * - A never-Ready standby, as the real Deployment controller sees it: with one of two JobManager
 *   pods Ready, the Deployment has 1 available replica and Available=False both for the shipped
 *   Recreate and for the rolling update that Flink's native integration leaves at Kubernetes'
 *   defaults (25 %: nothing may be unavailable with 2 replicas); maxUnavailable 1 makes it True;
 *   `kubectl rollout status` never completes, and after progressDeadlineSeconds the Deployment
 *   reports ProgressDeadlineExceeded. docs/deploying.md relies on each of these.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { SERVICE_ACCOUNT_DIR } from '../../src/config/index.js';
import { createConfigMapApi, type WatchEvent } from '../../src/sources/kubernetes-ha/configmap-api.js';
import {
  DEFAULT_CONTROLLERS,
  ensureControlPlaneBinaries,
  startControlPlane,
  type ControlPlane,
  type KubeObject,
} from '../support/control-plane.js';
import { FLINK_HA_CONFIGMAP_VERBS } from '../support/flink-kubernetes-ha.js';
import {
  MANIFESTS_DIR,
  parseObjects,
  patchPodStatus,
  registerNode,
  renderOverlay,
  toYaml,
  type PodObject,
} from '../support/kubelet-standin.js';
import { prometheusOperatorCrds } from '../support/prometheus-operator-crds.js';

const PROJECT_ROOT = resolve(__dirname, '..', '..');
const FETCH_CRD_SCRIPT = join(PROJECT_ROOT, 'scripts', 'fetch-operator-crd.sh');
const OPERATOR_DIR = join(MANIFESTS_DIR, 'operator');
const KUBERNETES_HA_DIR = join(MANIFESTS_DIR, 'kubernetes-ha');
const FIELD_MANAGER = 'flink-ha-sidecar-test';
const WAIT_MS = 60_000;
const CRD_NAME = 'flinkdeployments.flink.apache.org';

/** The FlinkDeployment CRD file, fetched (once, into the cache) by scripts/fetch-operator-crd.sh. */
async function operatorCrdFile(): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [FETCH_CRD_SCRIPT], { timeout: 600_000 }).catch((err: unknown) => {
    const failed = err as { stderr?: string; message: string };
    throw new Error(`scripts/fetch-operator-crd.sh failed: ${failed.stderr || failed.message}`);
  });
  return stdout.trim();
}

interface Crd extends KubeObject {
  spec: { versions: { name: string; served: boolean; storage: boolean }[] };
  status?: { conditions?: { type: string; status: string }[] };
}

interface FlinkDeployment extends KubeObject {
  spec: Record<string, unknown> & {
    jobManager: Record<string, unknown> & {
      replicas: unknown;
      podTemplate: { spec: { initContainers: Record<string, unknown>[] } };
    };
    flinkConfiguration: Record<string, unknown>;
  };
}

interface DeploymentObject extends KubeObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    strategy?: unknown;
    progressDeadlineSeconds?: number;
    template: { metadata: { labels: Record<string, string> }; spec: Record<string, unknown> };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    updatedReplicas?: number;
    conditions?: { type: string; status: string; reason?: string }[];
  };
}

function operatorFiles(): string {
  return readdirSync(OPERATOR_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => readFileSync(join(OPERATOR_DIR, f), 'utf8'))
    .join('\n---\n');
}

function shippedFlinkDeployment(): FlinkDeployment {
  const found = parseObjects(operatorFiles()).filter((o) => o.kind === 'FlinkDeployment');
  assert.equal(found.length, 1);
  return found[0] as FlinkDeployment;
}

const established = (crd: Crd): boolean => crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true;

describe('manifests/kubernetes-ha and manifests/operator against a real API server', () => {
  let cp: ControlPlane;
  let crdFile: string;
  /** The namespace manifests/kubernetes-ha was applied to, and what was applied. */
  let haNamespace: string;
  let haObjects: KubeObject[];

  before(async () => {
    await ensureControlPlaneBinaries();
    let prometheusCrds: Awaited<ReturnType<typeof prometheusOperatorCrds>>;
    [cp, crdFile, prometheusCrds] = await Promise.all([
      startControlPlane({ controllers: [...DEFAULT_CONTROLLERS, 'deployment-controller', 'replicaset-controller'] }),
      operatorCrdFile(),
      // manifests/kubernetes-ha includes the base's ../monitoring (PodMonitor, PrometheusRule).
      prometheusOperatorCrds(),
    ]);
    const crds = [crdFile, ...Object.values(prometheusCrds.files)].map((f) => readFileSync(f, 'utf8')).join('\n---\n');
    await cp.kubectlOk(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], { input: crds });
    for (const name of [CRD_NAME, 'podmonitors.monitoring.coreos.com', 'prometheusrules.monitoring.coreos.com']) {
      await cp.waitFor<Crd>(
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions?fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`,
        established,
        { timeoutMs: WAIT_MS },
      );
    }
  });

  after(async () => {
    await cp?.stop();
  });

  // ---- The operator's example --------------------------------------------------------------------

  it("the operator's FlinkDeployment CRD, from its api jar, is Established and serves flink.apache.org/v1beta1", async (t) => {
    t.diagnostic(`CRD: ${crdFile}`);
    const crd = JSON.parse(await cp.kubectlOk(['get', 'crd', CRD_NAME, '-o', 'json'])) as Crd;
    assert.ok(established(crd));
    assert.deepEqual(
      crd.spec.versions.filter((v) => v.served).map((v) => v.name),
      ['v1beta1'],
    );
    const resources = await cp.kubectlOk(['api-resources', '--api-group=flink.apache.org', '-o', 'name']);
    assert.ok(resources.split('\n').includes(CRD_NAME), resources);
  });

  let operatorNamespace: string;

  it('accepts manifests/operator with server-side apply and strict validation, and stores the FlinkDeployment as written', async () => {
    operatorNamespace = await cp.createNamespace('operator');
    const applied = await cp.kubectl([
      'apply',
      '--server-side',
      '--validate=strict',
      `--field-manager=${FIELD_MANAGER}`,
      '-n',
      operatorNamespace,
      '-f',
      OPERATOR_DIR,
    ]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.doesNotMatch(applied.stderr, /Warning/i, applied.stderr);
    assert.deepEqual(
      applied.stdout
        .trim()
        .split('\n')
        .map((l) => l.replace(/ serverside-applied$/, ''))
        .sort(),
      [
        'flinkdeployment.flink.apache.org/flink-cluster',
        'persistentvolumeclaim/flink-cluster-ha-storage',
        'role.rbac.authorization.k8s.io/flink',
        'rolebinding.rbac.authorization.k8s.io/flink-role-binding',
        'serviceaccount/flink',
      ],
    );
    const stored = JSON.parse(
      await cp.kubectlOk(['get', 'flinkdeployment', 'flink-cluster', '-n', operatorNamespace, '-o', 'json']),
    ) as FlinkDeployment;
    // Nothing pruned, nothing defaulted: the schema knows every field, the native sidecar's
    // restartPolicy and probes included.
    assert.deepEqual(stored.spec, shippedFlinkDeployment().spec);
    assert.equal(stored.spec.jobManager.podTemplate.spec.initContainers[0]?.['restartPolicy'], 'Always');
  });

  it('refuses a misspelt field under spec.jobManager or the sidecar, and values of the wrong type', async () => {
    const apply = (object: unknown) =>
      cp.kubectl(['apply', '--server-side', '--validate=strict', `--field-manager=${FIELD_MANAGER}`, '-n', operatorNamespace, '-f', '-'], {
        input: toYaml([object]),
      });
    const variant = (name: string, change: (fd: FlinkDeployment) => void): FlinkDeployment => {
      const fd = structuredClone(shippedFlinkDeployment());
      fd.metadata.name = name;
      change(fd);
      return fd;
    };

    // The control case: the shipped object under another name.
    assert.equal((await apply(variant('control', () => {}))).code, 0);

    const typo = await apply(
      variant('typo', (fd) => {
        delete fd.spec.jobManager['replicas'];
        fd.spec.jobManager['replica'] = 2;
      }),
    );
    assert.notEqual(typo.code, 0);
    assert.match(typo.stderr, /\.spec\.jobManager\.replica: field not declared in schema/, typo.stderr);

    const sidecarTypo = await apply(
      variant('sidecar-typo', (fd) => {
        const sidecar = fd.spec.jobManager.podTemplate.spec.initContainers[0]!;
        delete sidecar['restartPolicy'];
        sidecar['restartpolicy'] = 'Always';
      }),
    );
    assert.notEqual(sidecarTypo.code, 0);
    assert.match(
      sidecarTypo.stderr,
      /initContainers\[name="ha-sidecar"\]\.restartpolicy: field not declared in schema|restartpolicy: field not declared in schema/,
      sidecarTypo.stderr,
    );

    const wrongType = await apply(
      variant('wrong-type', (fd) => {
        fd.spec.jobManager['replicas'] = 'two';
      }),
    );
    assert.notEqual(wrongType.code, 0);
    assert.match(wrongType.stderr, /\.spec\.jobManager\.replicas: expected numeric \(int or float\), got string/, wrongType.stderr);

    // Before operator 1.13 flinkConfiguration is a map of strings: the example quotes its numbers.
    const unquoted = await apply(
      variant('unquoted', (fd) => {
        fd.spec.flinkConfiguration['taskmanager.numberOfTaskSlots'] = 2;
      }),
    );
    assert.notEqual(unquoted.code, 0);
    assert.match(unquoted.stderr, /\.spec\.flinkConfiguration\.taskmanager\.numberOfTaskSlots: expected string/, unquoted.stderr);

    const names = (await cp.kubectlOk(['get', 'flinkdeployments', '-n', operatorNamespace, '-o', 'name'])).trim().split('\n').sort();
    assert.deepEqual(names, ['flinkdeployment.flink.apache.org/control', 'flinkdeployment.flink.apache.org/flink-cluster']);
  });

  it("manifests/operator's ServiceAccount flink may get, list and watch ConfigMaps in its namespace (the sidecar's needs), and not elsewhere", async () => {
    const as = `system:serviceaccount:${operatorNamespace}:flink`;
    for (const verb of ['get', 'list', 'watch']) {
      assert.equal(await canI(cp, as, verb, 'configmaps', operatorNamespace), true, verb);
      assert.equal(await canI(cp, as, verb, 'configmaps', 'default'), false, `${verb} in another namespace`);
    }
  });

  // ---- manifests/kubernetes-ha -------------------------------------------------------------------

  it('manifests/kubernetes-ha: accepted in a "restricted" namespace; admission mounts the token into every container of its pods, the sidecar included', async () => {
    haNamespace = await cp.createNamespace('kubernetes-ha');
    await cp.kubectlOk([
      'label',
      'namespace',
      haNamespace,
      'pod-security.kubernetes.io/enforce=restricted',
      'pod-security.kubernetes.io/warn=restricted',
    ]);
    const placed = await renderOverlay(cp, { resources: [KUBERNETES_HA_DIR], namespace: haNamespace });
    haObjects = placed.objects;
    const applied = await cp.kubectl(['apply', '--server-side', '--validate=strict', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], {
      input: placed.yaml,
    });
    assert.equal(applied.code, 0, applied.stderr);
    assert.doesNotMatch(applied.stderr, /Warning/i, applied.stderr);
    assert.equal(applied.stdout.trim().split('\n').length, placed.objects.length, applied.stdout);

    const workloads = placed.objects.filter((o) => o.kind === 'Deployment') as DeploymentObject[];
    assert.deepEqual(workloads.map((w) => w.metadata.name).sort(), ['flink-jobmanager', 'flink-taskmanager']);
    for (const w of workloads) {
      const pods = await podsOf(cp, haNamespace, w);
      assert.equal(pods.length, w.spec.replicas);
      for (const pod of pods) {
        assert.equal(pod.spec.serviceAccountName, 'flink', pod.metadata.name);
        for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
          const mount = (c.volumeMounts ?? []).find((m) => m.mountPath === SERVICE_ACCOUNT_DIR);
          assert.ok(mount, `${pod.metadata.name}: ${c.name} has no service account token`);
          assert.match(mount.name, /^kube-api-access-/, `${pod.metadata.name}: ${c.name}`);
        }
      }
      if (w.metadata.name === 'flink-jobmanager') {
        const [pod] = pods;
        assert.equal(pod?.spec.initContainers?.[0]?.name, 'ha-sidecar');
        assert.equal(pod?.spec.initContainers?.[0]?.restartPolicy, 'Always');
      }
    }
  });

  it('manifests/kubernetes-ha: the ServiceAccount may do on ConfigMaps what real JobManagers ask for (and delete, for clean-ups), in its namespace only, and nothing else', async () => {
    const as = `system:serviceaccount:${haNamespace}:flink`;
    // What real JobManagers were seen to call (test/support/flink-kubernetes-ha.ts), patch among them.
    assert.ok(FLINK_HA_CONFIGMAP_VERBS.includes('patch'));
    for (const verb of new Set([...FLINK_HA_CONFIGMAP_VERBS, 'delete'])) {
      assert.equal(await canI(cp, as, verb, 'configmaps', haNamespace), true, `${verb} configmaps`);
      assert.equal(await canI(cp, as, verb, 'configmaps', 'default'), false, `${verb} configmaps in another namespace`);
    }
    for (const [verb, resource] of [
      ['deletecollection', 'configmaps'],
      ['get', 'pods'],
      ['get', 'secrets'],
      ['create', 'leases.coordination.k8s.io'],
      ['list', 'events'],
    ] as const) {
      assert.equal(await canI(cp, as, verb, resource, haNamespace), false, `${verb} ${resource}`);
    }
  });

  it("manifests/kubernetes-ha: with the ServiceAccount's own token, the sidecar's ConfigMap client lists and watches the leader ConfigMap as Flink writes it", async () => {
    const config = haObjects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('flink-config-kubernetes-ha-'),
    ) as KubeObject & { data: Record<string, string> };
    const conf = parseYaml(config.data['config.yaml'] ?? '') as { kubernetes: { 'cluster-id': string } };
    const name = `${conf.kubernetes['cluster-id']}-cluster-config-map`;

    const token = (await cp.kubectlOk(['create', 'token', 'flink', '-n', haNamespace, '--duration=10m'])).trim();
    const kubeconfigPath = await cp.writeTokenKubeconfig(token);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    const api = createConfigMapApi(kubeConfig, { namespace: haNamespace, requestTimeoutMs: 10_000, watchTimeoutSeconds: 30 });

    const before = await api.list(name);
    assert.equal(before.configMap, null);
    const events: WatchEvent[] = [];
    let seen: (() => void) | undefined;
    const added = new Promise<void>((resolveAdded) => (seen = resolveAdded));
    const ended: (Error | null)[] = [];
    let endedBeforeStop: (Error | null)[];
    const stop = await api.watch(
      name,
      before.resourceVersion,
      (e) => {
        events.push(e);
        if (e.type === 'ADDED') seen?.();
      },
      (err) => ended.push(err),
    );
    try {
      // Flink's write, with the same account: the leader's lock on a new ConfigMap.
      const lock = JSON.stringify({
        holderIdentity: 'jm-1',
        leaseDuration: 15,
        acquireTime: new Date().toISOString(),
        renewTime: new Date().toISOString(),
        leaderTransitions: 0,
      });
      await cp.kubectlOk(['create', '-f', '-', '-n', haNamespace], {
        kubeconfig: kubeconfigPath,
        input: toYaml([
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, annotations: { 'control-plane.alpha.kubernetes.io/leader': lock } } },
        ]),
      });
      await Promise.race([
        added,
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no ADDED event: ${JSON.stringify(events)}`)), 10_000)),
      ]);
    } finally {
      // (Ending it ourselves reports the abort through onEnd; only what came before counts.)
      endedBeforeStop = [...ended];
      stop();
    }
    assert.deepEqual(endedBeforeStop, [], 'the watch ended by itself');
    assert.ok(
      events.some((e) => e.type === 'ADDED' && e.object.metadata?.name === name),
      JSON.stringify(events),
    );
    const after = await api.list(name);
    assert.equal(after.configMap?.metadata?.name, name);
    // The same token reaches nothing else.
    const pods = await cp.request('GET', `/api/v1/namespaces/${haNamespace}/pods`, { token });
    assert.equal(pods.status, 403, pods.body);
  });

  // ---- A never-Ready standby ---------------------------------------------------------------------

  it("a never-Ready standby: 1 of 2 available, Available=False with Recreate or the native integration's default rolling update, True with maxUnavailable 1; rollout status never completes; the progress deadline passes", async () => {
    await registerNode(cp, 'node-1');
    const shipped = haObjects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'flink-jobmanager') as DeploymentObject;
    const variant = (name: string, change: (d: DeploymentObject) => void): DeploymentObject => {
      const d = structuredClone(shipped);
      d.metadata.name = name;
      // Selects its own pods only.
      d.spec.selector.matchLabels['variant'] = name;
      d.spec.template.metadata.labels['variant'] = name;
      change(d);
      return d;
    };
    const variants = [
      // Flink's native integration (the operator) sets no strategy: RollingUpdate, 25 % each way,
      // which for 2 replicas rounds to maxUnavailable 0 and maxSurge 1.
      variant('native-default', (d) => delete d.spec.strategy),
      variant('max-unavailable-1', (d) => (d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } })),
      variant('short-deadline', (d) => (d.spec.progressDeadlineSeconds = 3)),
    ];
    await cp.kubectlOk(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], { input: toYaml(variants) });

    const settle = async (d: DeploymentObject): Promise<DeploymentObject> => {
      const pods = await podsOf(cp, haNamespace, d);
      assert.equal(pods.length, 2, d.metadata.name);
      for (const [i, pod] of pods.entries()) {
        await bind(cp, haNamespace, pod.metadata.name, 'node-1');
        // The first is the leader, its sidecar Ready; the second a standby whose sidecar never is.
        const ready = i === 0 ? 'True' : 'False';
        const now = new Date().toISOString();
        await patchPodStatus(cp, haNamespace, pod.metadata.name, {
          phase: 'Running',
          podIP: `10.1.0.${i + 10}`,
          conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({
            type,
            status: type === 'Ready' || type === 'ContainersReady' ? ready : 'True',
            lastTransitionTime: now,
          })),
        });
      }
      return cp.waitFor<DeploymentObject>(
        `/apis/apps/v1/namespaces/${haNamespace}/deployments?fieldSelector=${encodeURIComponent(`metadata.name=${d.metadata.name}`)}`,
        (x) => x.status?.readyReplicas === 1 && x.status.availableReplicas === 1 && x.status.replicas === 2,
        { timeoutMs: WAIT_MS },
      );
    };
    const condition = (d: DeploymentObject, type: string) => d.status?.conditions?.find((c) => c.type === type);

    const recreate = await settle(shipped);
    assert.deepEqual((recreate.spec.strategy as { type: string }).type, 'Recreate');
    assert.equal(recreate.status?.updatedReplicas, 2);
    assert.deepEqual(
      [condition(recreate, 'Available')?.status, condition(recreate, 'Available')?.reason],
      ['False', 'MinimumReplicasUnavailable'],
    );

    const nativeDefault = await settle(variants[0]!);
    assert.deepEqual(nativeDefault.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } });
    assert.deepEqual(
      [condition(nativeDefault, 'Available')?.status, condition(nativeDefault, 'Available')?.reason],
      ['False', 'MinimumReplicasUnavailable'],
    );

    const tolerant = await settle(variants[1]!);
    assert.deepEqual(
      [condition(tolerant, 'Available')?.status, condition(tolerant, 'Available')?.reason],
      ['True', 'MinimumReplicasAvailable'],
    );

    // kubectl rollout status waits for every updated replica to be available: never, here.
    for (const d of [recreate, nativeDefault, tolerant]) {
      const status = await cp.kubectl(['rollout', 'status', `deployment/${d.metadata.name}`, '-n', haNamespace, '--timeout=2s']);
      assert.notEqual(status.code, 0, d.metadata.name);
      assert.match(status.stdout, /Waiting for deployment ".*" rollout to finish: 1 of 2 updated replicas are available/, status.stdout);
    }

    const shortDeadline = await settle(variants[2]!);
    const stuck = await cp.waitFor<DeploymentObject>(
      `/apis/apps/v1/namespaces/${haNamespace}/deployments?fieldSelector=${encodeURIComponent(`metadata.name=${shortDeadline.metadata.name}`)}`,
      (x) => condition(x, 'Progressing')?.reason === 'ProgressDeadlineExceeded',
      { timeoutMs: WAIT_MS },
    );
    assert.equal(condition(stuck, 'Progressing')?.status, 'False');
    const failed = await cp.kubectl(['rollout', 'status', `deployment/${stuck.metadata.name}`, '-n', haNamespace, '--timeout=10s']);
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /exceeded its progress deadline/, failed.stderr);
  });
});

/** `kubectl auth can-i VERB RESOURCE -n NS --as USER`: yes or no (exit 0 or 1). */
async function canI(cp: ControlPlane, as: string, verb: string, resource: string, namespace: string): Promise<boolean> {
  const result = await cp.kubectl(['auth', 'can-i', verb, resource, '-n', namespace, `--as=${as}`]);
  const answer = result.stdout.trim();
  assert.ok(answer === 'yes' || answer === 'no', `can-i ${verb} ${resource}: ${result.stdout}${result.stderr}`);
  return answer === 'yes';
}

/** The pods of a Deployment once its controllers have created them all. */
async function podsOf(cp: ControlPlane, namespace: string, d: DeploymentObject): Promise<PodObject[]> {
  await cp.waitFor<DeploymentObject>(
    `/apis/apps/v1/namespaces/${namespace}/deployments?fieldSelector=${encodeURIComponent(`metadata.name=${d.metadata.name}`)}`,
    (x) => x.status?.replicas === (d.spec.replicas ?? 1),
    { timeoutMs: WAIT_MS },
  );
  // The variants below add a `variant` label to the shipped selector: the shipped one's pods have none.
  const labels = d.spec.selector.matchLabels;
  const selector = [...Object.entries(labels).map(([k, v]) => `${k}=${v}`), ...('variant' in labels ? [] : ['!variant'])].join(',');
  const listed = JSON.parse(await cp.kubectlOk(['get', 'pods', '-n', namespace, '-l', selector, '-o', 'json'])) as { items: PodObject[] };
  return listed.items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/** What the scheduler would do: binds the pod to a node. */
async function bind(cp: ControlPlane, namespace: string, pod: string, node: string): Promise<void> {
  const res = await cp.request('POST', `/api/v1/namespaces/${namespace}/pods/${pod}/binding`, {
    body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: pod }, target: { apiVersion: 'v1', kind: 'Node', name: node } },
  });
  assert.equal(res.status, 201, res.body);
}

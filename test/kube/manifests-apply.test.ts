/**
 * Covers: every kustomization under manifests/ (readiness mode's base, the label-mode and
 * kubernetes-ha overlays, zookeeper, monitoring) and each component (jobmanager-livez,
 * flink-conf-legacy) on each Flink kustomization, rendered
 * by the built kubectl's Kustomize and applied with `kubectl apply --server-side` to a real
 * kube-apiserver, each into a fresh namespace that enforces the Pod Security Standards'
 * `restricted` profile. The API server's validation (with strict field validation) and admission
 * accept every object, every object exists afterwards (`kubectl get -f`), a second apply changes
 * nothing, and the Deployment, ReplicaSet and StatefulSet controllers get every pod of every
 * workload through admission (so the pod templates meet `restricted`, and the native sidecar's
 * `restartPolicy: Always` survives). The monitoring objects are validated against the Prometheus
 * Operator's own CRDs (v0.85.0, from its Go module, test/support/prometheus-operator-crds.ts).
 * Invalid objects are refused, so these checks can fail: a PrometheusRule with a malformed
 * duration or an unknown field, a PodMonitor with a malformed interval, a Deployment with an
 * init container restart policy Kubernetes does not know, a Pod that breaks `restricted`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import {
  DEFAULT_CONTROLLERS,
  ensureControlPlaneBinaries,
  startControlPlane,
  type ControlPlane,
  type KubeObject,
} from '../support/control-plane.js';
import { MANIFESTS_DIR, parseObjects, renderDirectory, renderOverlay, toYaml, type Rendered } from '../support/kubelet-standin.js';
import { PROMETHEUS_OPERATOR_VERSION, prometheusOperatorCrds, type PrometheusOperatorCrds } from '../support/prometheus-operator-crds.js';

const FIELD_MANAGER = 'flink-ha-sidecar-test';
const WAIT_MS = 60_000;

/** Kustomizations and components under manifests/, found by their kustomization.yaml. */
function discover(dir = MANIFESTS_DIR, found = { kustomizations: [] as string[], components: [] as string[] }) {
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (!statSync(path).isDirectory()) continue;
    try {
      const kind = (parseYaml(readFileSync(join(path, 'kustomization.yaml'), 'utf8')) as { kind?: string }).kind ?? 'Kustomization';
      if (kind === 'Component') found.components.push(relative(MANIFESTS_DIR, path));
      else found.kustomizations.push(relative(MANIFESTS_DIR, path));
    } catch {
      // no kustomization.yaml here
    }
    discover(path, found);
  }
  return found;
}

const FOUND = discover();
/** Whether a kustomization is manifests/base or builds on it (its resources, followed). */
function hasJobManager(dir: string): boolean {
  if (dir === 'base') return true;
  const k = parseYaml(readFileSync(join(MANIFESTS_DIR, dir, 'kustomization.yaml'), 'utf8')) as { resources?: string[] };
  return (k.resources ?? []).some((r) => {
    const target = relative(MANIFESTS_DIR, join(MANIFESTS_DIR, dir, r));
    return FOUND.kustomizations.includes(target) && hasJobManager(target);
  });
}

interface Case {
  name: string;
  resources: string[];
  components: string[];
}

const CASES: Case[] = [
  ...FOUND.kustomizations.map((k) => ({ name: k, resources: [join(MANIFESTS_DIR, k)], components: [] })),
  ...FOUND.kustomizations
    .filter(hasJobManager)
    .flatMap((k) =>
      FOUND.components.map((c) => ({ name: `${k}+${c}`, resources: [join(MANIFESTS_DIR, k)], components: [join(MANIFESTS_DIR, c)] })),
    ),
];

const key = (o: KubeObject): string => `${o.kind}/${o.metadata.name}`;

/** The object as rendered, without the namespace Kustomize put it in (also on ServiceAccount subjects). */
function withoutNamespace(o: KubeObject): unknown {
  const copy = structuredClone(o) as KubeObject & { subjects?: { kind: string; namespace?: string }[] };
  delete copy.metadata.namespace;
  for (const s of copy.subjects ?? []) delete s.namespace;
  return copy;
}

/**
 * An object as read back, without what its controllers write meanwhile (status, the Deployment's
 * revision annotation, resourceVersion, managedFields); a change of its spec shows in
 * metadata.generation, which stays.
 */
function comparable(o: KubeObject): unknown {
  const copy = structuredClone(o) as KubeObject & {
    status?: unknown;
    metadata: { managedFields?: unknown; annotations?: Record<string, string> };
  };
  delete copy.status;
  delete copy.metadata.resourceVersion;
  delete copy.metadata.managedFields;
  delete copy.metadata.annotations?.['deployment.kubernetes.io/revision'];
  return copy;
}

/** Kinds whose objects controllers here write (status), or that the API server rewrites on a no-op apply. */
const WRITTEN_BY_OTHERS = new Set(['Deployment', 'StatefulSet', 'PersistentVolumeClaim']);

interface Workload extends KubeObject {
  spec: { replicas?: number; selector: { matchLabels: Record<string, string> } };
  status?: { replicas?: number; observedGeneration?: number };
}

interface ListedPod extends KubeObject {
  spec: { initContainers?: { name: string; restartPolicy?: string }[]; containers: { name: string }[] };
}

describe('manifests/ applied server-side to a real API server', () => {
  let cp: ControlPlane;
  let crds: PrometheusOperatorCrds;

  before(async () => {
    await ensureControlPlaneBinaries();
    [cp, crds] = await Promise.all([
      startControlPlane({
        // The workload controllers too: they create each workload's pods, which admission must accept.
        controllers: [...DEFAULT_CONTROLLERS, 'deployment-controller', 'replicaset-controller', 'statefulset-controller'],
      }),
      prometheusOperatorCrds(),
    ]);
    // Before anything that holds a PodMonitor or PrometheusRule (manifests/base includes ../monitoring).
    const input = Object.values(crds.files)
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n---\n');
    await cp.kubectlOk(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], { input });
    for (const name of ['podmonitors.monitoring.coreos.com', 'prometheusrules.monitoring.coreos.com']) {
      await cp.waitFor<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions?fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`,
        (crd) => crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true,
        { timeoutMs: WAIT_MS },
      );
    }
  });

  after(async () => {
    await cp?.stop();
  });

  it(`the Prometheus Operator's PodMonitor and PrometheusRule CRDs (${PROMETHEUS_OPERATOR_VERSION}) from its Go module are established`, async () => {
    // Discovery knows the kinds (kubectl resolves them through it).
    const resources = await cp.kubectlOk(['api-resources', '--api-group=monitoring.coreos.com', '-o', 'name']);
    assert.deepEqual(resources.trim().split('\n').sort(), ['podmonitors.monitoring.coreos.com', 'prometheusrules.monitoring.coreos.com']);
  });

  it('finds the kustomizations and components it applies', () => {
    assert.deepEqual(FOUND.kustomizations, ['base', 'kubernetes-ha', 'label-mode', 'monitoring', 'zookeeper']);
    assert.deepEqual(FOUND.components, ['components/flink-conf-legacy', 'components/jobmanager-livez']);
    assert.deepEqual(
      CASES.map((c) => c.name),
      [
        'base',
        'kubernetes-ha',
        'label-mode',
        'monitoring',
        'zookeeper',
        'base+components/flink-conf-legacy',
        'base+components/jobmanager-livez',
        'kubernetes-ha+components/flink-conf-legacy',
        'kubernetes-ha+components/jobmanager-livez',
        'label-mode+components/flink-conf-legacy',
        'label-mode+components/jobmanager-livez',
      ],
    );
  });

  for (const c of CASES) {
    it(`${c.name}: validation and admission accept every object; each exists afterwards; a second apply changes nothing; every workload's pods are admitted under "restricted"`, async () => {
      const shipped: Rendered =
        c.components.length === 0
          ? await renderDirectory(cp, c.resources[0]!)
          : await renderOverlay(cp, { resources: c.resources, components: c.components });
      assert.ok(shipped.objects.length > 0);

      const ns = await cp.createNamespace(c.name.replace(/[^a-z0-9]+/g, '-').slice(0, 40));
      await cp.kubectlOk([
        'label',
        'namespace',
        ns,
        'pod-security.kubernetes.io/enforce=restricted',
        'pod-security.kubernetes.io/warn=restricted',
        'pod-security.kubernetes.io/audit=restricted',
      ]);
      const placed = await renderOverlay(cp, { resources: c.resources, components: c.components, namespace: ns });
      // What is applied is what ships, moved into the namespace and nothing else.
      assert.deepEqual(
        new Map(placed.objects.map((o) => [key(o), withoutNamespace(o)])),
        new Map(shipped.objects.map((o) => [key(o), withoutNamespace(o)])),
      );
      assert.ok(
        placed.objects.every((o) => o.metadata.namespace === ns),
        'every object is namespaced and moved',
      );

      const applied = await cp.kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], { input: placed.yaml });
      assert.equal(applied.code, 0, `kubectl apply refused ${c.name}:\n${applied.stderr}`);
      // Pod Security "warn" flags workload templates that break "restricted"; deprecations warn too.
      assert.doesNotMatch(applied.stderr, /Warning/i, applied.stderr);
      assert.equal(applied.stdout.trim().split('\n').length, placed.objects.length, applied.stdout);

      const got = JSON.parse(await cp.kubectlOk(['get', '-f', '-', '-o', 'json'], { input: placed.yaml })) as { items: KubeObject[] };
      assert.deepEqual(got.items.map(key).sort(), placed.objects.map(key).sort());
      const versions = new Map(got.items.map((o) => [key(o), o.metadata.resourceVersion]));

      const again = await cp.kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], { input: placed.yaml });
      assert.equal(again.code, 0, again.stderr);
      const regot = JSON.parse(await cp.kubectlOk(['get', '-f', '-', '-o', 'json'], { input: placed.yaml })) as { items: KubeObject[] };
      // Unchanged: every field but what controllers write, and the resourceVersion of every object
      // no controller writes, except the PersistentVolumeClaim's (the API server stores a no-op
      // apply of a claim anew, bumping its resourceVersion with nothing changed).
      assert.deepEqual(new Map(regot.items.map((o) => [key(o), comparable(o)])), new Map(got.items.map((o) => [key(o), comparable(o)])));
      for (const o of regot.items) {
        if (WRITTEN_BY_OTHERS.has(o.kind ?? '')) continue;
        assert.equal(o.metadata.resourceVersion, versions.get(key(o)), `a second apply changed ${key(o)}`);
      }

      // The controllers create each workload's pods; admission (Pod Security "restricted" enforced)
      // accepts every one, and the server keeps the native sidecar's restartPolicy.
      const workloads = got.items.filter((o): o is Workload => o.kind === 'Deployment' || o.kind === 'StatefulSet');
      for (const w of workloads) {
        const resource = w.kind === 'Deployment' ? 'deployments' : 'statefulsets';
        const wanted = w.spec.replicas ?? 1;
        await cp
          .waitFor<Workload>(
            `/apis/apps/v1/namespaces/${ns}/${resource}?fieldSelector=${encodeURIComponent(`metadata.name=${w.metadata.name}`)}`,
            (x) => x.status?.replicas === wanted,
            { timeoutMs: WAIT_MS },
          )
          .catch(async (err: unknown) => {
            const events = await cp.kubectl([
              'get',
              'events',
              '-n',
              ns,
              '--field-selector=type=Warning',
              '-o',
              'custom-columns=OBJ:.involvedObject.name,MSG:.message',
            ]);
            throw new Error(
              `${w.kind} ${w.metadata.name}: its pods were not all created: ${(err as Error).message}\nwarnings:\n${events.stdout}`,
            );
          });
        const selector = Object.entries(w.spec.selector.matchLabels)
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
        const pods = JSON.parse(await cp.kubectlOk(['get', 'pods', '-n', ns, '-l', selector, '-o', 'json'])) as { items: ListedPod[] };
        assert.equal(pods.items.length, wanted, `${w.kind} ${w.metadata.name}: ${pods.items.length} pods`);
        for (const pod of pods.items) {
          for (const init of pod.spec.initContainers ?? []) {
            assert.equal(
              init.restartPolicy,
              'Always',
              `${pod.metadata.name}: init container ${init.name} is not a native sidecar on the server`,
            );
          }
        }
      }
      if (c.name.startsWith('base') || c.name.startsWith('label-mode')) {
        assert.deepEqual(workloads.map(key).sort(), ['Deployment/flink-jobmanager', 'Deployment/flink-taskmanager']);
      }
    });
  }

  it('refuses invalid objects (so the checks above can fail): bad durations, unknown fields, an unknown restart policy, a pod breaking "restricted"', async () => {
    const ns = await cp.createNamespace('invalid');
    await cp.kubectlOk([
      'label',
      'namespace',
      ns,
      'pod-security.kubernetes.io/enforce=restricted',
      'pod-security.kubernetes.io/warn=restricted',
    ]);
    const monitoring = await renderOverlay(cp, { resources: [join(MANIFESTS_DIR, 'monitoring')], namespace: ns });
    const rule = structuredClone(monitoring.objects.find((o) => o.kind === 'PrometheusRule')!) as KubeObject & {
      spec: { groups: { rules: Record<string, unknown>[] }[] };
    };
    const monitor = structuredClone(monitoring.objects.find((o) => o.kind === 'PodMonitor')!) as KubeObject & {
      spec: { podMetricsEndpoints: Record<string, unknown>[] };
    };
    const apply = (object: unknown) =>
      cp.kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], { input: toYaml([object]) });

    // The shipped objects as they are: accepted (the control case).
    assert.equal((await apply(rule)).code, 0);
    assert.equal((await apply(monitor)).code, 0);

    const badFor = structuredClone(rule);
    badFor.spec.groups[0]!.rules[0]!['for'] = '1 minute';
    const refusedFor = await apply(badFor);
    assert.notEqual(refusedFor.code, 0);
    assert.match(refusedFor.stderr, /spec\.groups\[0\]\.rules\[0\]\.for: Invalid value: "1 minute"/, refusedFor.stderr);

    const unknownField = structuredClone(rule);
    unknownField.spec.groups[0]!.rules[0]!['severity'] = 'critical';
    const refusedField = await apply(unknownField);
    assert.notEqual(refusedField.code, 0);
    // Server-side apply builds a typed object from the CRD's schema, which has no such field.
    assert.match(refusedField.stderr, /\.rules\[0\]\.severity: field not declared in schema/, refusedField.stderr);

    const badInterval = structuredClone(monitor);
    badInterval.spec.podMetricsEndpoints[0]!['interval'] = '15 seconds';
    const refusedInterval = await apply(badInterval);
    assert.notEqual(refusedInterval.code, 0);
    assert.match(refusedInterval.stderr, /podMetricsEndpoints\[0\]\.interval: Invalid value: "15 seconds"/, refusedInterval.stderr);

    const base = await renderOverlay(cp, { resources: [join(MANIFESTS_DIR, 'base')], namespace: ns });
    const jm = structuredClone(
      base.objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'flink-jobmanager')!,
    ) as KubeObject & {
      spec: {
        template: {
          spec: {
            initContainers: Record<string, unknown>[];
            containers: Record<string, unknown>[];
            securityContext: Record<string, unknown>;
          };
        };
      };
    };
    const badPolicy = structuredClone(jm);
    badPolicy.spec.template.spec.initContainers[0]!['restartPolicy'] = 'Sometimes';
    const refusedPolicy = await apply(badPolicy);
    assert.notEqual(refusedPolicy.code, 0);
    assert.match(refusedPolicy.stderr, /initContainers\[0\]\.restartPolicy: Unsupported value: "Sometimes"/, refusedPolicy.stderr);

    // A template that breaks "restricted" is accepted in a Deployment, with the warning the manifests
    // above never get.
    const rootTemplate = structuredClone(jm);
    rootTemplate.metadata.name = 'runs-as-root';
    rootTemplate.spec.template.spec.securityContext = { runAsNonRoot: false };
    const warned = await cp.kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--dry-run=server', '-f', '-'], {
      input: toYaml([rootTemplate]),
    });
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /Warning: would violate PodSecurity "restricted:latest"/, warned.stderr);

    // The JobManager's pod spec without its pod-level seccomp profile and running as root: refused
    // by Pod Security admission in a namespace that enforces "restricted".
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'not-restricted', namespace: ns },
      spec: {
        ...jm.spec.template.spec,
        securityContext: { runAsNonRoot: false },
        containers: jm.spec.template.spec.containers.map((ctr) => ({ ...ctr, securityContext: { runAsUser: 0 } })),
      },
    };
    const refusedPod = await cp.kubectl(['create', '-f', '-'], { input: toYaml([pod]) });
    assert.notEqual(refusedPod.code, 0);
    assert.match(refusedPod.stderr, /violates PodSecurity "restricted:latest"/, refusedPod.stderr);

    // None of the refused objects exists.
    const listed = parseObjects(await cp.kubectlOk(['get', 'prometheusrules,podmonitors,deployments,pods', '-n', ns, '-o', 'yaml']));
    const items = (listed[0] as unknown as { items: KubeObject[] }).items;
    assert.deepEqual(items.map(key).sort(), ['PodMonitor/flink-ha-sidecar', 'PrometheusRule/flink-ha-sidecar']);
  });
});

/**
 * manifests/: every kustomization (and each component on top of each Flink kustomization) renders,
 * validates against the Kubernetes API schema, and agrees with itself, with Flink's configuration
 * and with the sidecar's own code: the probe paths come from the app's route table (PROBES), the
 * sidecar's settings from its own loadConfig reading the mounted ConfigMap, the Role's verbs from
 * the API calls in kube-client.ts. Nothing here keeps a second list of what the code does.
 *
 * Rendering: `kubectl kustomize` where kubectl (or kustomize) is installed, else the small renderer
 * in test/support/kustomize.ts, which refuses anything it does not handle; with kubectl present, a
 * test checks that both give the same objects.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, posix, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import type { IValidatingAdmissionPolicy, IValidatingAdmissionPolicyBinding } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import type { IDeployment, IStatefulSet } from 'kubernetes-models/apps/v1';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IRole, IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import type {
  IConfigMap,
  IContainer,
  IPersistentVolumeClaim,
  IPodSpec,
  IPodTemplateSpec,
  IProbe,
  IService,
  IServiceAccount,
  IVolume,
} from 'kubernetes-models/v1';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { loadConfig, SERVICE_ACCOUNT_DIR, type Config } from '../../src/config/index.js';
import { parseLegacyFlinkConf } from '../../src/flink-conf/parse-legacy.js';
import { parseStandardFlinkConf } from '../../src/flink-conf/parse-yaml.js';
import { confWarnings, parseFlinkVersion } from '../../src/flink-conf/version-rules.js';
import { createApp, PROBES } from '../../src/http/create-app.js';
import { schemaProblems, unknownFieldProblems } from '../support/kustomize-schema.js';
import {
  findKustomize,
  MANIFESTS_DIR,
  render,
  renderComposition,
  renderWithFallback,
  renderWithKustomize,
  type KubeObject,
  type Rendering,
} from '../support/kustomize.js';

const REPO_DIR = join(MANIFESTS_DIR, '..');
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(REPO_DIR, 'package.json'), 'utf8')) as { version: string }).version;

// ---------------------------------------------------------------------------------------------
// What there is to render

interface Kustomizations {
  /** Relative to manifests/, e.g. 'base'. */
  kustomizations: string[];
  components: string[];
}

function discover(dir = MANIFESTS_DIR, found: Kustomizations = { kustomizations: [], components: [] }): Kustomizations {
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (!statSync(path).isDirectory()) continue;
    const file = join(path, 'kustomization.yaml');
    let kind: unknown;
    try {
      kind = (parseYaml(readFileSync(file, 'utf8')) as { kind?: unknown }).kind ?? 'Kustomization';
    } catch {
      kind = null;
    }
    if (kind === 'Component') found.components.push(relative(MANIFESTS_DIR, path));
    else if (kind === 'Kustomization') found.kustomizations.push(relative(MANIFESTS_DIR, path));
    discover(path, found);
  }
  return found;
}

const FOUND = discover();
const renderings = new Map<string, Rendering>();

/** Every rendering whose objects include the Flink JobManager Deployment. */
function flinkRenderings(): [string, KubeObject[]][] {
  return [...renderings].filter(([, r]) => r.objects.some(isJobManagerDeployment)).map(([name, r]) => [name, r.objects]);
}

/** The Flink renderings whose sidecar reads the leader election from `source`, as its own loader decides from config.yaml. */
function renderingsWithSource(source: 'zookeeper' | 'kubernetes'): [string, KubeObject[]][] {
  const found = flinkRenderings().filter(([, objects]) => sidecarConfig(objects).leaderSource === source);
  assert.ok(found.length > 0, `no rendering with the ${source} leader source`);
  return found;
}

function rendering(name: string): KubeObject[] {
  const r = renderings.get(name);
  assert.ok(r, `no rendering named ${name}`);
  return r.objects;
}

before(() => {
  for (const dir of FOUND.kustomizations) renderings.set(dir, render(join(MANIFESTS_DIR, dir)));
  // Components only make sense on top of something: each on each Flink kustomization.
  for (const base of FOUND.kustomizations.filter((d) => renderings.get(d)?.objects.some(isJobManagerDeployment))) {
    for (const component of FOUND.components) {
      const parts = { resources: [join(MANIFESTS_DIR, base)], components: [join(MANIFESTS_DIR, component)] };
      renderings.set(`${base}+${component}`, renderComposition(parts));
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Reading objects (after the schema tests, these casts rest on validated shapes)

function ofKind<T>(objects: readonly KubeObject[], kind: string): (T & KubeObject)[] {
  return objects.filter((o) => o.kind === kind) as (T & KubeObject)[];
}

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- T names the kind's type for the caller
function named<T>(objects: readonly KubeObject[], kind: string, name: string): T & KubeObject {
  const found = ofKind<T>(objects, kind).filter((o) => o.metadata.name === name);
  assert.equal(found.length, 1, `${kind} ${name}: ${found.length} found`);
  return found[0] as T & KubeObject;
}

interface PodTemplate {
  owner: KubeObject;
  labels: Record<string, string>;
  spec: IPodSpec;
}

function podTemplates(objects: readonly KubeObject[]): PodTemplate[] {
  return objects.flatMap((o) => {
    if (o.kind !== 'Deployment' && o.kind !== 'StatefulSet') return [];
    const template = (o as unknown as IDeployment | IStatefulSet).spec?.template;
    assert.ok(template?.spec, `${o.kind} ${o.metadata.name} has no pod template`);
    return [{ owner: o, labels: { ...(template.metadata?.labels ?? {}) }, spec: template.spec }];
  });
}

function component(labels: Record<string, string>): string | undefined {
  return labels['app.kubernetes.io/component'];
}

/**
 * The labels a pod of the template carries once running: in label mode the sidecar adds the role
 * label, and the leader's pod is the one a leader Service must find.
 */
function leaderPodLabels(objects: readonly KubeObject[], t: PodTemplate): Record<string, string> {
  if (!isJobManagerDeployment(t.owner)) return t.labels;
  const config = sidecarConfig(objects);
  return config.routingMode === 'label' ? { ...t.labels, [config.roleLabel]: config.roleLabelLeaderValue } : t.labels;
}

function isJobManagerDeployment(o: KubeObject): boolean {
  return o.kind === 'Deployment' && component((o as unknown as IDeployment).spec?.template.metadata?.labels ?? {}) === 'jobmanager';
}

function templateOf(objects: readonly KubeObject[], role: 'jobmanager' | 'taskmanager'): PodTemplate {
  const found = podTemplates(objects).filter((t) => t.owner.kind === 'Deployment' && component(t.labels) === role);
  assert.equal(found.length, 1, `one ${role} Deployment expected, found ${found.length}`);
  return found[0] as PodTemplate;
}

function containersOf(spec: IPodSpec): IContainer[] {
  return [...(spec.initContainers ?? []), ...spec.containers];
}

function containerNamed(spec: IPodSpec, name: string): IContainer {
  const found = containersOf(spec).filter((c) => c.name === name);
  assert.equal(found.length, 1, `container ${name}: ${found.length} found`);
  return found[0] as IContainer;
}

function sidecarOf(spec: IPodSpec): IContainer {
  const found = containersOf(spec).filter((c) => (c.image ?? '').startsWith('flink-ha-sidecar:'));
  assert.equal(found.length, 1, `one flink-ha-sidecar container expected, found ${found.length}`);
  return found[0] as IContainer;
}

/** A probe's or Service's port (number or name) as the number on `container`. */
function portOf(container: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function namedPort(container: IContainer, name: string): number {
  const port = container.ports?.find((p) => p.name === name)?.containerPort;
  assert.ok(port !== undefined, `container ${container.name} has no port named ${name}`);
  return port;
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

function probesOf(c: IContainer): [string, IProbe][] {
  return (['startupProbe', 'readinessProbe', 'livenessProbe'] as const).flatMap((k) => (c[k] ? [[k, c[k]] as [string, IProbe]] : []));
}

function volumeNamed(spec: IPodSpec, name: string): IVolume {
  const volume = spec.volumes?.find((v) => v.name === name);
  assert.ok(volume, `no volume ${name}`);
  return volume;
}

// ---------------------------------------------------------------------------------------------
// NetworkPolicy, as the network plugin reads it

/** The namespace label that gives a namespace access to Flink's REST port (manifests/base/network-policy.yaml, docs/deploying.md). */
const REST_ACCESS_LABEL = 'flink-ha-sidecar/flink-rest';
const REST_ACCESS_VALUE = 'allowed';

/** A pod that connects: its namespace (whose name label Kubernetes sets), that namespace's other labels, its own labels. */
interface PeerPod {
  namespace: string;
  namespaceLabels: Record<string, string>;
  labels: Record<string, string>;
}

type LabelSelector = NonNullable<INetworkPolicy['spec']>['podSelector'];

function labelSelectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  if (!Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v)) return false;
  return (selector.matchExpressions ?? []).every((e) => {
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        return value !== undefined && (e.values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(e.values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      default:
        return assert.fail(`unknown selector operator ${e.operator}`);
    }
  });
}

/**
 * Whether `policy` (in `namespace`) lets `source` connect to `port` (a number). `portNumber` resolves
 * a rule's port (a name or a number) among the selected pod's ports. Only policies with ingress rules
 * here: a peer is a podSelector in the policy's namespace, a namespaceSelector (with a podSelector,
 * both must match), or an ipBlock, which admits pods of any namespace.
 */
function admittedBy(
  policy: INetworkPolicy,
  namespace: string,
  port: number,
  source: PeerPod,
  portNumber: (p: number | string | undefined) => number | undefined,
): boolean {
  const namespaceLabels = { ...source.namespaceLabels, 'kubernetes.io/metadata.name': source.namespace };
  return (policy.spec?.ingress ?? []).some((rule) => {
    const ports = rule.ports ?? [];
    if (ports.length > 0 && !ports.some((p) => portNumber(p.port) === port)) return false;
    if (!rule.from || rule.from.length === 0) return true;
    return rule.from.some((peer) => {
      if (peer.ipBlock) return true;
      const inNamespace = peer.namespaceSelector
        ? labelSelectorMatches(peer.namespaceSelector, namespaceLabels)
        : source.namespace === namespace;
      return inNamespace && (peer.podSelector === undefined || labelSelectorMatches(peer.podSelector, source.labels));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Files as a container sees them

/** Values the downward API would give, for the fields the manifests use. */
const FIELD_VALUES: Readonly<Record<string, string>> = {
  'status.podIP': '10.1.2.3',
  'metadata.name': 'flink-jobmanager-5d8f7c9b4-x2x7q',
  'metadata.namespace': 'flink',
};

/** The container's environment as the kubelet sets it (service links are off in every pod here). */
function containerEnv(c: IContainer): Record<string, string> {
  const env: Record<string, string> = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else {
      const field = e.valueFrom?.fieldRef?.fieldPath;
      const value = field === undefined ? undefined : FIELD_VALUES[field];
      assert.ok(value !== undefined, `${c.name}: env ${e.name} comes from something this test cannot supply`);
      env[e.name] = value;
    }
  }
  return env;
}

/** Every file the container's volume mounts show, by absolute path (token contents are stand-ins). */
function mountedFiles(objects: readonly KubeObject[], spec: IPodSpec, c: IContainer): Map<string, string> {
  const files = new Map<string, string>();
  const configMapData = (name: string): Record<string, string> => named<IConfigMap>(objects, 'ConfigMap', name).data ?? {};
  for (const mount of c.volumeMounts ?? []) {
    // Absent from the pod's volumes: a StatefulSet's volume claim template, a disk of its own.
    const volume = spec.volumes?.find((v) => v.name === mount.name);
    if (volume === undefined) continue;
    const inVolume = new Map<string, string>();
    if (volume.configMap) {
      const data = configMapData(volume.configMap.name ?? '');
      const items = volume.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const item of items) inVolume.set(item.path, data[item.key] ?? '');
    }
    for (const source of volume.projected?.sources ?? []) {
      if (source.serviceAccountToken) inVolume.set(source.serviceAccountToken.path, 'token');
      for (const item of source.configMap?.items ?? []) inVolume.set(item.path, 'certificate');
      for (const item of source.downwardAPI?.items ?? []) inVolume.set(item.path, FIELD_VALUES[item.fieldRef?.fieldPath ?? ''] ?? '');
    }
    if (mount.subPath !== undefined) {
      const content = inVolume.get(mount.subPath);
      if (content !== undefined) files.set(mount.mountPath, content);
    } else {
      for (const [path, content] of inVolume) files.set(posix.join(mount.mountPath, path), content);
    }
  }
  // What the ServiceAccount admission plugin adds to every container of a pod that automounts its
  // account's token (the pod's setting, else the account's, else true), unless one mounts something there.
  if (automountsToken(objects, spec) && !(c.volumeMounts ?? []).some((m) => m.mountPath === SERVICE_ACCOUNT_DIR)) {
    files.set(posix.join(SERVICE_ACCOUNT_DIR, 'token'), 'token');
    files.set(posix.join(SERVICE_ACCOUNT_DIR, 'ca.crt'), 'certificate');
    files.set(posix.join(SERVICE_ACCOUNT_DIR, 'namespace'), FIELD_VALUES['metadata.namespace'] ?? '');
  }
  return files;
}

/** Whether Kubernetes mounts the service account token into the pod's containers. */
function automountsToken(objects: readonly KubeObject[], spec: IPodSpec): boolean {
  if (spec.automountServiceAccountToken !== undefined) return spec.automountServiceAccountToken;
  const account = ofKind<IServiceAccount>(objects, 'ServiceAccount').find(
    (a) => a.metadata.name === (spec.serviceAccountName ?? 'default'),
  );
  return account?.automountServiceAccountToken ?? true;
}

/** The JobManager image's Flink version, e.g. [1, 20] for flink:1.20-java17. */
function flinkImageVersion(objects: readonly KubeObject[]): [number, number] {
  const image = containerNamed(templateOf(objects, 'jobmanager').spec, 'jobmanager').image ?? '';
  const m = /^flink:(\d+)\.(\d+)(?:[.-]|$)/.exec(image);
  assert.ok(m, `not a Flink image with a version: ${image}`);
  return [Number(m[1]), Number(m[2])];
}

/** The file Flink reads in /opt/flink/conf: flink-conf.yaml up to 1.18, config.yaml from 1.19 on. */
function flinkConfFileName(objects: readonly KubeObject[]): 'config.yaml' | 'flink-conf.yaml' {
  const [major, minor] = flinkImageVersion(objects);
  return major === 1 && minor <= 18 ? 'flink-conf.yaml' : 'config.yaml';
}

/** Flink's configuration as the JobManager reads it: the one file of its version in its /opt/flink/conf. */
function flinkConf(objects: readonly KubeObject[]): Map<string, string> {
  const jm = templateOf(objects, 'jobmanager');
  const files = mountedFiles(objects, jm.spec, containerNamed(jm.spec, 'jobmanager'));
  const name = flinkConfFileName(objects);
  const text = files.get(`/opt/flink/conf/${name}`);
  assert.ok(text !== undefined, `the JobManager has no /opt/flink/conf/${name}`);
  // The other file, mounted too, would be read instead (flink-conf.yaml by 1.19 and 1.20) or be
  // ignored while someone edits it.
  const other = name === 'config.yaml' ? 'flink-conf.yaml' : 'config.yaml';
  assert.equal(files.has(`/opt/flink/conf/${other}`), false, `${other} is mounted beside ${name}`);
  const parsed = name === 'config.yaml' ? parseStandardFlinkConf(text) : parseLegacyFlinkConf(text);
  assert.deepEqual(parsed.problems, [], `Flink would refuse ${name}`);
  return new Map([...parsed.entries].map(([k, e]) => [k, e.value]));
}

function flinkValue(conf: Map<string, string>, key: string): string {
  const value = conf.get(key);
  assert.ok(value !== undefined, `config.yaml does not set ${key}`);
  return value;
}

/** The sidecar's settings, from its own loader: its environment, its arguments and the files mounted in it. */
function sidecarConfig(objects: readonly KubeObject[]): Config {
  const jm = templateOf(objects, 'jobmanager');
  const sidecar = sidecarOf(jm.spec);
  return loadSidecarConfig(sidecar, mountedFiles(objects, jm.spec, sidecar));
}

/** The settings of a sidecar container that sees `files` (absolute path to content), from its own loader. */
function loadSidecarConfig(sidecar: IContainer, files: ReadonlyMap<string, string>): Config {
  const result = loadConfig([...(sidecar.args ?? [])], containerEnv(sidecar), PACKAGE_VERSION, {
    readFile: (path) => {
      const content = files.get(path);
      if (content === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return content;
    },
    isDirectory: (path) => [...files.keys()].some((f) => f.startsWith(`${path.replace(/\/$/, '')}/`)),
    isReadableFile: (path) => files.has(path),
  });
  assert.equal(result.kind, 'run');
  return result.config;
}

// Kubernetes quantities and Flink memory sizes, for the few forms used.
function cpuCores(q: string | number | undefined): number {
  if (typeof q === 'number') return q;
  assert.ok(q !== undefined, 'no CPU quantity');
  return q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q);
}

const BINARY: Readonly<Record<string, number>> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL: Readonly<Record<string, number>> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

function bytesOf(q: string | number | undefined): number {
  if (typeof q === 'number') return q;
  const m = /^([0-9.]+)([A-Za-z]*)$/.exec(q ?? '');
  assert.ok(m, `not a memory quantity: ${String(q)}`);
  const unit = m[2] ?? '';
  const factor = unit === '' ? 1 : (BINARY[unit] ?? DECIMAL[unit]);
  assert.ok(factor !== undefined, `unknown unit in ${String(q)}`);
  return Number(m[1]) * factor;
}

/** Flink's MemorySize: a number and a unit, binary multiples (1m is 1 MiB). */
function flinkBytes(text: string): number {
  const m = /^([0-9]+)\s*([a-z]*)$/i.exec(text.trim());
  assert.ok(m, `not a Flink memory size: ${text}`);
  const unit = (m[2] ?? '').toLowerCase();
  const powers: Record<string, number> = {
    '': 0,
    b: 0,
    bytes: 0,
    k: 1,
    kb: 1,
    kibibytes: 1,
    m: 2,
    mb: 2,
    mebibytes: 2,
    g: 3,
    gb: 3,
    gibibytes: 3,
    t: 4,
    tb: 4,
    tebibytes: 4,
  };
  const power = powers[unit];
  assert.ok(power !== undefined, `unknown unit in ${text}`);
  return Number(m[1]) * 1024 ** power;
}

// ---------------------------------------------------------------------------------------------

describe('manifests: rendering', () => {
  it('renders every kustomization, and each component on each Flink kustomization', (t) => {
    assert.deepEqual(FOUND.kustomizations, ['base', 'kubernetes-ha', 'label-mode', 'monitoring', 'zookeeper']);
    assert.deepEqual(FOUND.components, ['components/flink-conf-legacy', 'components/jobmanager-livez']);
    for (const [name, r] of renderings) {
      assert.ok(r.objects.length > 0, `${name} rendered nothing`);
      t.diagnostic(`${name}: ${r.objects.length} objects, rendered by ${r.renderer}`);
    }
    // Each component on each of the three Flink kustomizations (base, kubernetes-ha, label-mode).
    assert.equal(renderings.size, FOUND.kustomizations.length + 3 * FOUND.components.length);
  });

  const tool = findKustomize();
  it(
    'the fallback renderer gives exactly the objects kubectl kustomize gives',
    { skip: tool === null ? 'neither kubectl nor kustomize is installed: the other tests use the fallback renderer alone' : false },
    () => {
      const key = (o: KubeObject): string => `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      const compare = (name: string, real: Rendering, fallback: Rendering): void => {
        const byKey = new Map(fallback.objects.map((o) => [key(o), o]));
        assert.deepEqual(fallback.objects.map(key).sort(), real.objects.map(key).sort(), `${name}: different objects`);
        for (const o of real.objects) assert.ok(isDeepStrictEqual(byKey.get(key(o)), o), `${name}: ${key(o)} differs`);
      };
      for (const dir of FOUND.kustomizations) {
        const path = join(MANIFESTS_DIR, dir);
        compare(dir, renderWithKustomize(path), renderWithFallback(path));
      }
      for (const c of FOUND.components) {
        const parts = { resources: [join(MANIFESTS_DIR, 'label-mode')], components: [join(MANIFESTS_DIR, c)] };
        compare(`label-mode+${c}`, renderComposition(parts, renderWithKustomize), renderComposition(parts, renderWithFallback));
      }
    },
  );
});

describe('manifests: Kubernetes API schema', () => {
  /** Custom resources of the Prometheus Operator, whose schema kubernetes-models does not carry; test/monitoring checks their rules. */
  const isOperatorResource = (o: KubeObject): boolean => o.apiVersion === 'monitoring.coreos.com/v1';

  it('every object validates against its kubernetes-models schema', () => {
    const problems: string[] = [];
    for (const [name, r] of renderings) {
      for (const o of r.objects) {
        if (isOperatorResource(o)) {
          assert.ok(['PodMonitor', 'PrometheusRule'].includes(o.kind), `${name}: unexpected ${o.apiVersion} ${o.kind}`);
          continue;
        }
        problems.push(...schemaProblems(o).map((p) => `${name}: ${o.kind} ${o.metadata.name}: ${p}`));
      }
    }
    assert.deepEqual(problems, []);
  });

  it('no object has a field the Kubernetes API does not know', () => {
    const unique = new Map<string, KubeObject>();
    for (const r of renderings.values()) {
      for (const o of r.objects) if (!isOperatorResource(o)) unique.set(JSON.stringify(o), o);
    }
    assert.deepEqual(unknownFieldProblems([...unique.values()]), []);
  });
});

describe('manifests: Flink configuration', () => {
  it("JobManagers, TaskManagers and the sidecar read one ConfigMap, in the format of the image's Flink version", () => {
    for (const [name, objects] of flinkRenderings()) {
      const jm = templateOf(objects, 'jobmanager');
      const tm = templateOf(objects, 'taskmanager');
      const configMapAt = (t: PodTemplate, c: IContainer, dir: string): string | undefined => {
        const mount = c.volumeMounts?.find((m) => m.mountPath === dir && m.subPath === undefined);
        return mount && volumeNamed(t.spec, mount.name).configMap?.name;
      };
      const config = sidecarConfig(objects);
      const jmConfigMap = configMapAt(jm, containerNamed(jm.spec, 'jobmanager'), '/opt/flink/conf');
      assert.ok(jmConfigMap, `${name}: the JobManager does not mount a ConfigMap at /opt/flink/conf`);
      assert.equal(configMapAt(tm, containerNamed(tm.spec, 'taskmanager'), '/opt/flink/conf'), jmConfigMap, `${name}: TaskManager`);
      assert.equal(configMapAt(jm, sidecarOf(jm.spec), config.flinkConfDir), jmConfigMap, `${name}: sidecar at its FLINK_CONF_DIR`);
      assert.equal(
        config.flinkConfFile,
        posix.join(config.flinkConfDir, flinkConfFileName(objects)),
        `${name}: the sidecar reads another file`,
      );
      for (const c of [containerNamed(jm.spec, 'jobmanager'), containerNamed(tm.spec, 'taskmanager')]) {
        const env = (c.env ?? []).map((e) => e.name);
        assert.ok(!env.includes('FLINK_PROPERTIES') && !env.includes('FLINK_CONF_DIR'), `${name}: ${c.name} overrides the file`);
      }
    }
  });

  it('configures ZooKeeper (Kubernetes in kubernetes-ha) high availability with storage that every JobManager and TaskManager shares', () => {
    for (const [name, objects] of flinkRenderings()) {
      const conf = flinkConf(objects);
      assert.equal(flinkValue(conf, 'high-availability.type'), name.startsWith('kubernetes-ha') ? 'kubernetes' : 'zookeeper', name);
      for (const key of ['high-availability.storageDir', 'state.checkpoints.dir', 'state.savepoints.dir']) {
        const url = new URL(flinkValue(conf, key));
        if (url.protocol !== 'file:') {
          assert.ok(
            ['s3:', 's3a:', 's3p:', 'gs:', 'abfss:', 'hdfs:', 'oss:'].includes(url.protocol),
            `${name}: ${key} is on ${url.protocol}`,
          );
          continue;
        }
        for (const t of [templateOf(objects, 'jobmanager'), templateOf(objects, 'taskmanager')]) {
          const c = containerNamed(t.spec, component(t.labels) ?? '');
          const mount = c.volumeMounts?.find((m) => url.pathname.startsWith(`${m.mountPath}/`));
          assert.ok(mount, `${name}: ${key} (${url.pathname}) is not on a volume of ${c.name}`);
          const claim = volumeNamed(t.spec, mount.name).persistentVolumeClaim?.claimName;
          assert.ok(claim, `${name}: ${key} is on ${mount.name}, which is not a PersistentVolumeClaim`);
          const pvc = named<IPersistentVolumeClaim>(objects, 'PersistentVolumeClaim', claim);
          assert.ok(pvc.spec?.accessModes?.includes('ReadWriteMany'), `${name}: ${claim} is not ReadWriteMany`);
        }
      }
    }
  });

  /** Flink port keys, the containers that listen on them and the name of the containerPort. */
  const FLINK_PORTS: Readonly<Record<string, { containers: readonly string[]; port: string }>> = {
    'jobmanager.rpc.port': { containers: ['jobmanager'], port: 'rpc' },
    'blob.server.port': { containers: ['jobmanager'], port: 'blob' },
    'rest.port': { containers: ['jobmanager'], port: 'rest' },
    'taskmanager.rpc.port': { containers: ['taskmanager'], port: 'rpc' },
    'taskmanager.data.port': { containers: ['taskmanager'], port: 'data' },
    'metrics.internal.query-service.port': { containers: ['jobmanager', 'taskmanager'], port: 'query' },
    // Read by no current Flink; set to the query port, as Flink's image entrypoint writes it.
    'query.server.port': { containers: ['jobmanager', 'taskmanager'], port: 'query' },
    'metrics.reporter.prom.port': { containers: ['jobmanager', 'taskmanager'], port: 'metrics' },
  };

  it('fixes every port, each equal to the containerPort and Service port that carry it', () => {
    for (const [name, objects] of flinkRenderings()) {
      const conf = flinkConf(objects);
      const portKeys = [...conf.keys()].filter((k) => /\.ports?$/.test(k)).sort();
      assert.deepEqual(portKeys, Object.keys(FLINK_PORTS).sort(), `${name}: port keys in config.yaml`);
      const containers = new Map<string, IContainer>([
        ['jobmanager', containerNamed(templateOf(objects, 'jobmanager').spec, 'jobmanager')],
        ['taskmanager', containerNamed(templateOf(objects, 'taskmanager').spec, 'taskmanager')],
      ]);
      const carried = new Set<string>();
      for (const [key, spec] of Object.entries(FLINK_PORTS)) {
        const value = flinkValue(conf, key);
        assert.match(value, /^[1-9][0-9]*$/, `${name}: ${key} is not one fixed port`);
        for (const c of spec.containers) {
          assert.equal(namedPort(containers.get(c) as IContainer, spec.port), Number(value), `${name}: ${key} vs ${c} port ${spec.port}`);
          carried.add(`${c}/${spec.port}`);
        }
      }
      for (const [c, container] of containers) {
        for (const p of container.ports ?? [])
          assert.ok(carried.has(`${c}/${p.name ?? ''}`), `${name}: ${c} port ${p.name} is in no Flink key`);
      }
      const service = named<IService>(objects, 'Service', 'flink-jobmanager');
      const jm = containers.get('jobmanager') as IContainer;
      for (const p of service.spec?.ports ?? []) {
        assert.equal(p.port, Number(flinkValue(conf, 'rest.port')), `${name}: Service port ${p.name}`);
        assert.equal(portOf(jm, p.targetPort ?? p.port), p.port, `${name}: Service targetPort ${String(p.targetPort)}`);
      }
      assert.equal(service.spec?.ports?.length, 1, `${name}: the Service carries the REST API only`);
    }
  });

  it('starts each JobManager with its pod IP as its address and publishes no shared REST address', () => {
    for (const [name, objects] of flinkRenderings()) {
      const conf = flinkConf(objects);
      for (const key of ['rest.address', 'jobmanager.rpc.address'])
        assert.equal(conf.get(key), undefined, `${name}: ${key} is shared by every JobManager`);
      const jm = containerNamed(templateOf(objects, 'jobmanager').spec, 'jobmanager');
      assert.deepEqual(jm.args, ['jobmanager', '$(POD_IP)'], name);
      assert.equal(jm.env?.find((e) => e.name === 'POD_IP')?.valueFrom?.fieldRef?.fieldPath, 'status.podIP', name);
      const config = sidecarConfig(objects);
      assert.deepEqual(config.advertisedAddresses, [FIELD_VALUES['status.podIP']], `${name}: the sidecar's advertised address`);
    }
  });
});

describe('manifests: Services and selectors', () => {
  it('each Service selects the pods of one workload: the JobManagers for Flink, the servers for ZooKeeper', () => {
    for (const [name, r] of renderings) {
      const templates = podTemplates(r.objects);
      for (const service of ofKind<IService>(r.objects, 'Service')) {
        const owners = templates.filter((t) => selects(service.spec?.selector, leaderPodLabels(r.objects, t))).map((t) => t.owner);
        assert.equal(owners.length, 1, `${name}: Service ${service.metadata.name} selects ${owners.length} workloads`);
        const owner = owners[0] as KubeObject;
        if (service.metadata.name.startsWith('flink-')) assert.ok(isJobManagerDeployment(owner), `${name}: ${service.metadata.name}`);
        if (service.metadata.name.startsWith('zookeeper')) assert.equal(owner.kind, 'StatefulSet', `${name}: ${service.metadata.name}`);
        for (const p of service.spec?.ports ?? []) {
          const spec = templates.find((t) => t.owner === owner)?.spec as IPodSpec;
          assert.ok(
            containersOf(spec).some((c) => portOf(c, p.targetPort ?? p.port) !== undefined),
            `${name}: ${service.metadata.name} port ${p.name}`,
          );
        }
      }
    }
  });

  it('the PodMonitor scrapes /metrics on the sidecar port of the JobManager pods alone', async () => {
    for (const [name, objects] of flinkRenderings()) {
      const monitor = named<{
        spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { port: string; path: string }[] };
      }>(objects, 'PodMonitor', 'flink-ha-sidecar');
      const selected = podTemplates(objects).filter((t) => selects(monitor.spec.selector.matchLabels, t.labels));
      assert.deepEqual(
        selected.map((t) => component(t.labels)),
        ['jobmanager'],
        name,
      );
      const sidecar = sidecarOf(templateOf(objects, 'jobmanager').spec);
      for (const endpoint of monitor.spec.podMetricsEndpoints) {
        assert.equal(portOf(sidecar, endpoint.port), sidecarConfig(objects).port, `${name}: PodMonitor port ${endpoint.port}`);
        assert.equal(endpoint.path, '/metrics', name);
      }
    }
    // The app serves /metrics when it is given metrics, as main does.
    const app = createApp({
      getState: () => assert.fail('/metrics must not read the state'),
      clock: () => 0,
      metrics: { contentType: 'text/plain; version=0.0.4', render: () => Promise.resolve('up 1\n') },
    });
    const server: Server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const status = await new Promise<number | undefined>((resolve, reject) => {
        get(`http://127.0.0.1:${port}/metrics`, (res) => {
          res.resume();
          resolve(res.statusCode);
        }).on('error', reject);
      });
      assert.equal(status, 200);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('manifests: probes', () => {
  it('every HTTP probe asks the sidecar for a path it serves, on its port', () => {
    const served = Object.keys(PROBES);
    for (const [name, objects] of flinkRenderings()) {
      const port = sidecarConfig(objects).port;
      for (const t of podTemplates(objects)) {
        for (const c of containersOf(t.spec)) {
          for (const [kind, probe] of probesOf(c)) {
            if (!probe.httpGet) continue;
            const where = `${name}: ${c.name} ${kind}`;
            assert.ok(
              served.includes(new URL(probe.httpGet.path ?? '/', 'http://pod').pathname),
              `${where}: ${probe.httpGet.path} is not in PROBES`,
            );
            const isSidecar = c === sidecarOf(templateOf(objects, 'jobmanager').spec);
            // A named port is looked up among the probed container's own ports: only the sidecar has ha-probes.
            if (!isSidecar) assert.equal(typeof probe.httpGet.port, 'number', `${where}: a named port would not resolve`);
            assert.equal(portOf(c, probe.httpGet.port), port, `${where}: not the sidecar's port`);
          }
        }
      }
    }
  });

  it('runs the sidecar as a native sidecar with startup (/livez), readiness (/readyz) and liveness (/livez) probes', () => {
    for (const [name, objects] of flinkRenderings()) {
      const spec = templateOf(objects, 'jobmanager').spec;
      const sidecar = sidecarOf(spec);
      assert.ok(spec.initContainers?.includes(sidecar), `${name}: not an init container`);
      assert.equal(sidecar.restartPolicy, 'Always', name);
      // /readyz for startup would keep a standby's JobManager from ever starting.
      assert.equal(sidecar.startupProbe?.httpGet?.path, '/livez', name);
      assert.equal(sidecar.readinessProbe?.httpGet?.path, '/readyz', name);
      assert.equal(sidecar.livenessProbe?.httpGet?.path, '/livez', name);
      assert.equal(containerNamed(spec, 'jobmanager').readinessProbe, undefined, `${name}: the sidecar alone decides readiness`);
    }
  });

  it("times the probes from Flink's ZooKeeper session timeout", () => {
    for (const [name, objects] of renderingsWithSource('zookeeper')) {
      const config = sidecarConfig(objects);
      const sessionS = config.flinkSessionTimeoutMs / 1000;
      assert.equal(config.sources.flinkSessionTimeoutMs, 'flink-conf', name);
      const spec = templateOf(objects, 'jobmanager').spec;
      const sidecar = sidecarOf(spec);
      const window = (p: IProbe | undefined): number => (p?.periodSeconds ?? 10) * (p?.failureThreshold ?? 3);
      const readiness = sidecar.readinessProbe;
      // One slow probe must not take the leader's pod, the Service's only endpoint, out; a period
      // far below the session timeout.
      assert.ok((readiness?.failureThreshold ?? 3) >= 2, `${name}: one failed probe empties the Service`);
      assert.ok((readiness?.periodSeconds ?? 10) * 10 <= sessionS, `${name}: readiness period against S = ${sessionS} s`);
      assert.ok(window(sidecar.livenessProbe) >= sessionS, `${name}: the sidecar is restarted sooner than S`);
      const jm = containerNamed(spec, 'jobmanager');
      assert.ok(window(jm.livenessProbe) >= sessionS, `${name}: the JobManager is restarted sooner than S`);
      if (jm.livenessProbe?.httpGet?.path === '/jobmanager/livez') {
        assert.ok(
          config.jobmanagerLivenessGraceMs >= 2 * config.flinkSessionTimeoutMs,
          `${name}: the /jobmanager/livez grace is under 2 S`,
        );
      }
      assert.ok((spec.terminationGracePeriodSeconds ?? 30) * 1000 > config.shutdownTimeoutMs, `${name}: no time for the sidecar to stop`);
    }
  });

  it("keeps Flink's tcpSocket liveness on the JobManager's RPC port unless the jobmanager-livez component is added", () => {
    for (const [name, objects] of flinkRenderings()) {
      const conf = flinkConf(objects);
      const jm = containerNamed(templateOf(objects, 'jobmanager').spec, 'jobmanager');
      if (name.includes('components/jobmanager-livez')) {
        assert.equal(jm.livenessProbe?.httpGet?.path, '/jobmanager/livez', name);
        assert.equal(jm.livenessProbe?.tcpSocket, undefined, `${name}: two handlers`);
      } else {
        assert.equal(portOf(jm, jm.livenessProbe?.tcpSocket?.port), Number(flinkValue(conf, 'jobmanager.rpc.port')), name);
      }
      const tm = containerNamed(templateOf(objects, 'taskmanager').spec, 'taskmanager');
      assert.equal(portOf(tm, tm.livenessProbe?.tcpSocket?.port), Number(flinkValue(conf, 'taskmanager.rpc.port')), `${name}: TaskManager`);
    }
  });
});

describe('manifests: the leader handover in readiness mode', () => {
  it("waits, before a new leader turns Ready, the readiness probe's whole window plus half a second", () => {
    for (const [name, objects] of flinkRenderings()) {
      const config = sidecarConfig(objects);
      if (config.routingMode !== 'readiness') continue;
      const readiness = sidecarOf(templateOf(objects, 'jobmanager').spec).readinessProbe;
      // The kubelet marks the old leader's pod not ready within period x failures + timeout; only
      // then may the new one turn Ready, or the Service lists both (LEADER_HANDOVER_DELAY_MS's help).
      const windowMs = ((readiness?.periodSeconds ?? 10) * (readiness?.failureThreshold ?? 3) + (readiness?.timeoutSeconds ?? 1)) * 1000;
      assert.equal(config.leaderHandoverDelayMs, windowMs + 500, name);
      // Written out beside the probe, so that a change of either shows the other.
      assert.equal(config.sources.leaderHandoverDelayMs, 'environment', `${name}: LEADER_HANDOVER_DELAY_MS is not set in the manifest`);
    }
  });

  it("sets the same delay in label mode's sidecar, whose readiness probe is the same (the setting is unused there)", () => {
    const delays = new Set(flinkRenderings().map(([, objects]) => sidecarConfig(objects).leaderHandoverDelayMs));
    assert.equal(delays.size, 1, [...delays].join(', '));
  });
});

describe("manifests: the sidecar's settings", () => {
  it('takes the ZooKeeper settings and the REST port from the mounted Flink file, with nothing overriding them', () => {
    for (const [name, objects] of renderingsWithSource('zookeeper')) {
      const conf = flinkConf(objects);
      const config = sidecarConfig(objects);
      const sidecar = sidecarOf(templateOf(objects, 'jobmanager').spec);
      assert.equal(sidecar.args, undefined, `${name}: flags would override the file`);
      assert.equal(sidecar.command, undefined, name);
      for (const setting of ['zookeeperQuorum', 'zookeeperRoot', 'clusterId', 'flinkSessionTimeoutMs', 'flinkRestUrl'] as const) {
        assert.equal(config.sources[setting], 'flink-conf', `${name}: ${setting} comes from ${config.sources[setting]}`);
      }
      for (const [setting, source] of Object.entries(config.sources)) {
        if (source === 'flag') assert.fail(`${name}: ${setting} is a flag`);
      }
      assert.equal(config.zookeeperQuorum!.connectString, flinkValue(conf, 'high-availability.zookeeper.quorum'), name);
      assert.equal(config.zookeeperRoot, flinkValue(conf, 'high-availability.zookeeper.path.root'), name);
      assert.equal(config.clusterId, flinkValue(conf, 'high-availability.cluster-id'), name);
      assert.equal(config.flinkRestUrl.port, flinkValue(conf, 'rest.port'), name);
      assert.equal(config.flinkRestUrl.hostname, '127.0.0.1', `${name}: the sidecar checks its own JobManager`);
      // The debug endpoints stay on loopback, off the network.
      assert.ok(['127.0.0.1', '::1', 'localhost'].includes(config.debugHost), name);
      assert.ok(!(sidecar.ports ?? []).some((p) => p.containerPort === config.debugPort), `${name}: the debug port is a containerPort`);
    }
  });

  it('uses the ZooKeeper ensemble of manifests/zookeeper, whose servers grant both session timeouts', () => {
    const zk = rendering('zookeeper');
    const [sts] = ofKind<IStatefulSet>(zk, 'StatefulSet');
    assert.ok(sts?.spec);
    const headless = named<IService>(zk, 'Service', sts.spec.serviceName ?? '');
    assert.equal(headless.spec?.clusterIP, 'None');
    assert.equal(headless.spec?.publishNotReadyAddresses, true, 'servers must find each other before they are Ready');
    const server = containerNamed(sts.spec.template.spec as IPodSpec, 'zookeeper');
    const replicas = sts.spec.replicas ?? 1;
    assert.equal(replicas, 3);
    assert.equal(sts.spec.podManagementPolicy, 'Parallel', 'OrderedReady would wait for a quorum of one');
    assert.equal(ofKind<IPodDisruptionBudget>(zk, 'PodDisruptionBudget').length, 1);

    const mount = server.volumeMounts?.find((m) => m.subPath === 'zoo.cfg');
    assert.ok(mount);
    const zooCfg = mountedFiles(zk, sts.spec.template.spec as IPodSpec, server).get(mount.mountPath) ?? '';
    const cfg = new Map(
      zooCfg
        .split('\n')
        .filter((l) => /^[^#\s][^=]*=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()] as const),
    );
    // The servers find each other by their short names, within their namespace.
    const peers = Array.from({ length: replicas }, (_, i) => `${sts.metadata.name}-${i}.${headless.metadata.name}`);
    peers.forEach((host, i) => {
      const quorum = namedPort(server, 'quorum');
      const election = namedPort(server, 'election');
      assert.equal(cfg.get(`server.${i + 1}`), `${host}:${quorum}:${election};${namedPort(server, 'client')}`);
    });
    // Flink, in another namespace, by the names with the namespace.
    const zkNamespace = sts.metadata.namespace ?? '';
    const pods = peers.map((host) => `${host}.${zkNamespace}.svc`);
    const tick = Number(cfg.get('tickTime') ?? 3000);
    const minSession = Number(cfg.get('minSessionTimeout') ?? 2 * tick);
    const maxSession = Number(cfg.get('maxSessionTimeout') ?? 20 * tick);

    for (const [name, objects] of renderingsWithSource('zookeeper')) {
      const config = sidecarConfig(objects);
      assert.deepEqual(
        config.zookeeperQuorum!.servers,
        pods.map((host) => ({ host, port: namedPort(server, 'client') })),
        `${name}: the quorum names the StatefulSet's servers`,
      );
      for (const [what, ms] of [
        ["Flink's session timeout", config.flinkSessionTimeoutMs],
        ["the sidecar's own session timeout", config.zookeeperSessionTimeoutMs],
      ] as const) {
        assert.ok(ms >= minSession && ms <= maxSession, `${name}: ${what} (${ms} ms) outside ${minSession}..${maxSession}`);
      }
      assert.notEqual(objects[0]?.metadata.namespace, zkNamespace, `${name}: ZooKeeper shares Flink's namespace`);
    }
  });
});

describe('manifests: resources', () => {
  it("gives each TaskManager slot one CPU and at least 1 GiB, with Flink's process size within the limit", () => {
    const GiB = 2 ** 30;
    for (const [name, objects] of flinkRenderings()) {
      const conf = flinkConf(objects);
      const slots = Number(flinkValue(conf, 'taskmanager.numberOfTaskSlots'));
      const tm = containerNamed(templateOf(objects, 'taskmanager').spec, 'taskmanager');
      assert.equal(cpuCores(tm.resources?.requests?.cpu), slots, `${name}: CPU requests per slot`);
      assert.equal(cpuCores(tm.resources?.limits?.cpu), slots, `${name}: CPU limit per slot`);
      const memory = bytesOf(tm.resources?.limits?.memory);
      assert.ok(memory >= slots * GiB, `${name}: under 1 GiB per slot`);
      assert.equal(bytesOf(tm.resources?.requests?.memory), memory, `${name}: TaskManager memory request and limit differ`);
      assert.ok(flinkBytes(flinkValue(conf, 'taskmanager.memory.process.size')) <= memory, `${name}: TaskManager process size`);
      const jm = containerNamed(templateOf(objects, 'jobmanager').spec, 'jobmanager');
      assert.ok(
        flinkBytes(flinkValue(conf, 'jobmanager.memory.process.size')) <= bytesOf(jm.resources?.limits?.memory),
        `${name}: JobManager`,
      );
    }
  });
});

describe('manifests: security', () => {
  it('runs every container as non-root with a read-only root filesystem, no escalation, no capabilities, requests and limits', () => {
    for (const [name, r] of renderings) {
      for (const t of podTemplates(r.objects)) {
        assert.equal(t.spec.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${name}: ${t.owner.metadata.name}`);
        for (const c of containersOf(t.spec)) {
          const where = `${name}: ${t.owner.metadata.name}/${c.name}`;
          const sc = c.securityContext;
          assert.equal(sc?.runAsNonRoot ?? t.spec.securityContext?.runAsNonRoot, true, where);
          assert.ok((sc?.runAsUser ?? t.spec.securityContext?.runAsUser ?? 0) > 0, `${where}: no numeric non-root user`);
          assert.equal(sc?.readOnlyRootFilesystem, true, where);
          assert.equal(sc?.allowPrivilegeEscalation, false, where);
          assert.deepEqual(sc?.capabilities?.drop, ['ALL'], where);
          assert.equal(sc?.capabilities?.add, undefined, where);
          for (const kind of ['requests', 'limits'] as const) {
            for (const resource of ['cpu', 'memory'])
              assert.ok(c.resources?.[kind]?.[resource] !== undefined, `${where}: no ${kind}.${resource}`);
          }
        }
      }
    }
  });

  it('gives Flink writable emptyDirs for /tmp and its logs', () => {
    for (const [name, objects] of flinkRenderings()) {
      for (const t of [templateOf(objects, 'jobmanager'), templateOf(objects, 'taskmanager')]) {
        const c = containerNamed(t.spec, component(t.labels) ?? '');
        for (const dir of ['/tmp', '/opt/flink/log']) {
          const mount = c.volumeMounts?.find((m) => m.mountPath === dir);
          assert.ok(mount && volumeNamed(t.spec, mount.name).emptyDir, `${name}: ${c.name} has no emptyDir at ${dir}`);
          assert.notEqual(mount.readOnly, true, name);
        }
      }
    }
  });

  it("mounts no service account token where none is needed, and in label mode the sidecar's alone", () => {
    for (const [name, r] of renderings) {
      // With Kubernetes HA every Flink container calls the API: checked below.
      if (name.startsWith('kubernetes-ha')) continue;
      for (const t of podTemplates(r.objects)) {
        assert.equal(t.spec.automountServiceAccountToken, false, `${name}: ${t.owner.metadata.name}`);
        for (const c of containersOf(t.spec)) {
          const tokenMounts = (c.volumeMounts ?? []).filter((m) =>
            (t.spec.volumes?.find((v) => v.name === m.name)?.projected?.sources ?? []).some((s) => s.serviceAccountToken !== undefined),
          );
          const isLabelSidecar =
            isJobManagerDeployment(t.owner) && c === sidecarOf(t.spec) && sidecarConfig(r.objects).routingMode === 'label';
          if (!isLabelSidecar) {
            assert.deepEqual(tokenMounts, [], `${name}: ${c.name} gets a token`);
            continue;
          }
          assert.deepEqual(
            tokenMounts.map((m) => m.mountPath),
            [SERVICE_ACCOUNT_DIR],
            `${name}: where the sidecar's client looks`,
          );
          const account = named<IServiceAccount>(r.objects, 'ServiceAccount', t.spec.serviceAccountName ?? '');
          assert.equal(account.automountServiceAccountToken, false, `${name}: the account would mount its token into every container`);
        }
      }
    }
  });

  it("runs this package's version of the sidecar image", () => {
    for (const [name, objects] of flinkRenderings()) {
      assert.equal(sidecarOf(templateOf(objects, 'jobmanager').spec).image, `flink-ha-sidecar:${PACKAGE_VERSION}`, name);
    }
  });

  it("opens the REST port to its namespace and to labelled namespaces only, the sidecar's port to Prometheus, names every port, and never opens the debug port", () => {
    for (const [name, objects] of flinkRenderings()) {
      const config = sidecarConfig(objects);
      const jm = templateOf(objects, 'jobmanager');
      const namespace = jm.owner.metadata.namespace ?? '';
      const policies = ofKind<INetworkPolicy>(objects, 'NetworkPolicy');
      const jmPolicies = policies.filter((p) => selects(p.spec?.podSelector.matchLabels, jm.labels));
      assert.equal(jmPolicies.length, 1, `${name}: JobManager NetworkPolicies`);
      for (const t of podTemplates(objects)) {
        assert.ok(
          policies.some((p) => selects(p.spec?.podSelector.matchLabels, t.labels)),
          `${name}: ${t.owner.metadata.name} has no NetworkPolicy`,
        );
      }
      const policy = jmPolicies[0] as INetworkPolicy & KubeObject;
      for (const rule of policy.spec?.ingress ?? []) {
        assert.ok(rule.ports && rule.ports.length > 0, `${name}: a rule without ports opens every port`);
        for (const p of rule.ports) {
          const number = containersOf(jm.spec)
            .map((c) => portOf(c, p.port))
            .find((n) => n !== undefined);
          assert.ok(number !== undefined, `${name}: NetworkPolicy port ${String(p.port)} is no port of the JobManager pod`);
        }
      }
      const admits = (port: number, source: PeerPod): boolean =>
        admittedBy(policy, namespace, port, source, (p) =>
          containersOf(jm.spec)
            .map((c) => portOf(c, p))
            .find((n) => n !== undefined),
        );
      const rest = Number(flinkValue(flinkConf(objects), 'rest.port'));
      const anyone: PeerPod = { namespace: 'elsewhere', namespaceLabels: {}, labels: {} };
      const neighbour: PeerPod = { namespace, namespaceLabels: {}, labels: { app: 'anything' } };
      const ingress: PeerPod = {
        namespace: 'ingress-nginx',
        namespaceLabels: { [REST_ACCESS_LABEL]: REST_ACCESS_VALUE },
        labels: { 'app.kubernetes.io/name': 'ingress-nginx' },
      };
      const prometheus: PeerPod = { namespace: 'monitoring', namespaceLabels: {}, labels: { 'app.kubernetes.io/name': 'prometheus' } };
      // Jar upload is code execution: never from anywhere.
      assert.equal(admits(rest, anyone), false, `${name}: the REST port is open to every namespace`);
      assert.equal(admits(rest, neighbour), true, `${name}: the REST port from the cluster's own namespace`);
      assert.equal(
        admits(rest, ingress),
        true,
        `${name}: the REST port from a namespace labelled ${REST_ACCESS_LABEL}=${REST_ACCESS_VALUE}`,
      );
      assert.equal(admits(rest, { ...ingress, namespaceLabels: { [REST_ACCESS_LABEL]: 'no' } }), false, `${name}: another label value`);
      assert.equal(admits(rest, prometheus), false, `${name}: the REST port from Prometheus`);
      assert.equal(admits(config.port, prometheus), true, `${name}: the sidecar's port from Prometheus`);
      assert.equal(admits(config.port, anyone), false, `${name}: the sidecar's port from anywhere`);
      assert.equal(admits(config.port, neighbour), false, `${name}: the sidecar's port from any neighbour`);
      for (const source of [anyone, neighbour, ingress, prometheus]) {
        assert.equal(admits(config.debugPort, source), false, `${name}: debug port from ${source.namespace}`);
      }
    }
  });

  it("opens ZooKeeper's client port to the JobManagers and TaskManagers of the Flink cluster in its namespace only, its quorum ports to the servers", () => {
    const zk = rendering('zookeeper');
    const [sts] = ofKind<IStatefulSet>(zk, 'StatefulSet');
    assert.ok(sts?.spec?.template.metadata?.labels);
    const zkLabels = sts.spec.template.metadata.labels;
    const zkNamespace = sts.metadata.namespace ?? '';
    const server = containerNamed(sts.spec.template.spec as IPodSpec, 'zookeeper');
    const policies = ofKind<INetworkPolicy>(zk, 'NetworkPolicy').filter((p) => selects(p.spec?.podSelector.matchLabels, zkLabels));
    assert.equal(policies.length, 1);
    const policy = policies[0] as INetworkPolicy & KubeObject;
    assert.deepEqual(policy.spec?.policyTypes, ['Ingress']);
    const admits = (port: string, source: PeerPod): boolean =>
      admittedBy(policy, zkNamespace, namedPort(server, port), source, (p) => portOf(server, p));
    const peerServer: PeerPod = { namespace: zkNamespace, namespaceLabels: {}, labels: zkLabels };
    for (const port of ['quorum', 'election']) {
      assert.equal(admits(port, peerServer), true, port);
      assert.equal(admits(port, { namespace: zkNamespace, namespaceLabels: {}, labels: { app: 'zk-client' } }), false, `${port}: a client`);
    }
    for (const [name, objects] of renderingsWithSource('zookeeper')) {
      const flinkNamespace = objects[0]?.metadata.namespace ?? '';
      for (const role of ['jobmanager', 'taskmanager'] as const) {
        const labels = templateOf(objects, role).labels;
        const pod: PeerPod = { namespace: flinkNamespace, namespaceLabels: {}, labels };
        assert.equal(admits('client', pod), true, `${name}: ${role}`);
        assert.equal(admits('client', { ...pod, namespace: 'elsewhere' }), false, `${name}: ${role} pods of another namespace`);
        for (const port of ['quorum', 'election']) assert.equal(admits(port, pod), false, `${name}: ${role} on ${port}`);
      }
      assert.equal(
        admits('client', { namespace: flinkNamespace, namespaceLabels: {}, labels: { app: 'web' } }),
        false,
        `${name}: other pods of Flink's namespace`,
      );
      assert.equal(
        admits('client', { namespace: zkNamespace, namespaceLabels: {}, labels: { app: 'web' } }),
        false,
        `${name}: other pods of ZooKeeper's namespace`,
      );
    }
    assert.equal(admits('client', { namespace: 'elsewhere', namespaceLabels: {}, labels: {} }), false, 'anyone');
  });
});

describe('manifests: rollouts and drains', () => {
  /** Per routing mode, as the sidecar itself reads its settings. */
  function byMode(mode: 'readiness' | 'label'): [string, KubeObject[]][] {
    const found = flinkRenderings().filter(([, objects]) => sidecarConfig(objects).routingMode === mode);
    assert.ok(found.length > 0, `no rendering in ${mode} mode`);
    return found;
  }

  const jobManagerBudgets = (objects: readonly KubeObject[]): (IPodDisruptionBudget & KubeObject)[] => {
    const jm = templateOf(objects, 'jobmanager');
    return ofKind<IPodDisruptionBudget>(objects, 'PodDisruptionBudget').filter((b) => selects(b.spec?.selector?.matchLabels, jm.labels));
  };

  it('readiness mode: Recreate, no PodDisruptionBudget, and a Service that routes on readiness alone', () => {
    for (const [name, objects] of byMode('readiness')) {
      const shipped = [
        'base',
        'base+components/flink-conf-legacy',
        'base+components/jobmanager-livez',
        'kubernetes-ha',
        'kubernetes-ha+components/flink-conf-legacy',
        'kubernetes-ha+components/jobmanager-livez',
      ];
      assert.deepEqual(shipped.includes(name), true, name);
      assert.equal(templateOf(objects, 'jobmanager').owner.metadata.annotations?.['flink-ha-sidecar/routing-mode'], 'readiness', name);
      const deployment = named<IDeployment>(objects, 'Deployment', templateOf(objects, 'jobmanager').owner.metadata.name);
      assert.equal(deployment.spec?.strategy?.type, 'Recreate', `${name}: a rolling update deadlocks on standbys that are never Ready`);
      assert.deepEqual(jobManagerBudgets(objects), [], `${name}: a PDB would block every drain of the leader's node`);
      const config = sidecarConfig(objects);
      const service = named<IService>(objects, 'Service', 'flink-jobmanager');
      assert.equal(service.spec?.selector?.[config.roleLabel], undefined, `${name}: no sidecar sets the role label in readiness mode`);
      assert.notEqual(service.spec?.publishNotReadyAddresses, true, `${name}: would route to standbys`);
    }
  });

  it('label mode: rolling update, a PodDisruptionBudget of one that never blocks on unhealthy pods, a Service on the leader label', () => {
    for (const [name, objects] of byMode('label')) {
      const config = sidecarConfig(objects);
      const jm = templateOf(objects, 'jobmanager');
      const deployment = jm.owner as unknown as IDeployment;
      assert.equal(jm.owner.metadata.annotations?.['flink-ha-sidecar/routing-mode'], 'label', name);
      assert.equal(deployment.spec?.strategy?.type, 'RollingUpdate', name);
      assert.ok(Number(deployment.spec?.strategy?.rollingUpdate?.maxUnavailable ?? 1) <= 1, name);
      const budgets = jobManagerBudgets(objects);
      assert.equal(budgets.length, 1, name);
      assert.equal(budgets[0]?.spec?.minAvailable, 1, name);
      assert.equal(budgets[0]?.spec?.unhealthyPodEvictionPolicy, 'AlwaysAllow', name);

      const service = named<IService>(objects, 'Service', 'flink-jobmanager');
      assert.equal(
        service.spec?.selector?.[config.roleLabel],
        config.roleLabelLeaderValue,
        `${name}: the Service selects the leader label`,
      );
      assert.notEqual(service.spec?.publishNotReadyAddresses, true, `${name}: would route to a leader whose JobManager is down`);
      assert.equal(jm.labels[config.roleLabel], undefined, `${name}: new pods would be routed to before their sidecar decides`);
      assert.equal(deployment.spec?.selector.matchLabels?.[config.roleLabel], undefined, `${name}: relabelling would orphan pods`);
      assert.ok(jm.labels[config.podClusterLabel], `${name}: the pods lack ${config.podClusterLabel}`);
      for (const t of podTemplates(objects)) {
        assert.equal(t.labels[config.roleLabel], undefined, `${name}: ${t.owner.metadata.name} sets the label the sidecars own`);
      }
    }
  });

  it("label mode: the Role grants exactly the pod calls the sidecar makes (kube-client.ts), bound to the pods' account", () => {
    const source = readFileSync(join(REPO_DIR, 'src', 'sources', 'kubernetes', 'kube-client.ts'), 'utf8');
    assert.match(source, /makeApiClient\(k8s\.CoreV1Api\)/, 'the client no longer uses the core API group alone');
    const VERB: Readonly<Record<string, string>> = {
      read: 'get',
      list: 'list',
      patch: 'patch',
      create: 'create',
      replace: 'update',
      delete: 'delete',
    };
    const calls = [...source.matchAll(/\bapi\.(read|list|patch|create|replace|delete)Namespaced([A-Z][A-Za-z]*?)\(/g)];
    assert.ok(calls.length > 0, 'no API calls found in kube-client.ts');
    const needed = new Set(calls.map(([, op, kind]) => `/${(kind ?? '').toLowerCase()}s/${VERB[op ?? ''] ?? ''}`));
    for (const [name, objects] of byMode('label')) {
      const jm = templateOf(objects, 'jobmanager');
      const bindings = ofKind<IRoleBinding>(objects, 'RoleBinding').filter((b) =>
        (b.subjects ?? []).some(
          (s) => s.kind === 'ServiceAccount' && s.name === jm.spec.serviceAccountName && s.namespace === jm.owner.metadata.namespace,
        ),
      );
      assert.equal(bindings.length, 1, `${name}: RoleBindings of the JobManagers' account`);
      assert.equal(ofKind(objects, 'ClusterRoleBinding').length, 0, name);
      const role = named<IRole>(objects, 'Role', bindings[0]?.roleRef.name ?? '');
      assert.equal(bindings[0]?.roleRef.kind, 'Role', name);
      const granted = new Set<string>();
      for (const rule of role.rules ?? []) {
        assert.equal(rule.resourceNames, undefined, name);
        assert.equal(rule.nonResourceURLs, undefined, name);
        for (const group of rule.apiGroups ?? []) {
          for (const resource of rule.resources ?? []) for (const verb of rule.verbs) granted.add(`${group}/${resource}/${verb}`);
        }
      }
      assert.deepEqual([...granted].sort(), [...needed].sort(), name);
    }
    for (const [name, objects] of byMode('readiness').filter(([, objects]) => sidecarConfig(objects).leaderSource === 'zookeeper')) {
      for (const kind of ['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']) {
        assert.equal(ofKind(objects, kind).length, 0, `${name}: readiness mode needs no ${kind}`);
      }
    }
  });

  it("label mode: an admission policy narrows the Role's patch, for the sidecar's account, to the role label it sets and the deletion cost of JobManager pods", () => {
    for (const [name, objects] of byMode('label')) {
      const config = sidecarConfig(objects);
      const jm = templateOf(objects, 'jobmanager');
      const policies = ofKind<IValidatingAdmissionPolicy>(objects, 'ValidatingAdmissionPolicy');
      const bindings = ofKind<IValidatingAdmissionPolicyBinding>(objects, 'ValidatingAdmissionPolicyBinding');
      assert.equal(policies.length, 1, name);
      assert.equal(bindings.length, 1, name);
      const policy = policies[0] as IValidatingAdmissionPolicy & KubeObject;
      const spec = policy.spec ?? {};
      assert.equal(bindings[0]?.spec?.policyName, policy.metadata.name, name);
      assert.deepEqual(bindings[0]?.spec?.validationActions, ['Deny'], `${name}: a policy that only warns or audits`);
      assert.equal(bindings[0]?.spec?.matchResources, undefined, `${name}: the binding would leave namespaces out`);
      assert.equal(spec.failurePolicy, 'Fail', name);
      // Updates (patches are updates to admission) of pods themselves.
      const rules = spec.matchConstraints?.resourceRules ?? [];
      assert.ok(
        rules.some((r) => r.apiGroups?.includes('') && r.resources?.includes('pods') && r.operations?.includes('UPDATE')),
        `${name}: pod updates unmatched`,
      );
      // The account the JobManager pods run as, in any namespace, and no one else.
      const conditions = spec.matchConditions ?? [];
      assert.equal(conditions.length, 1, name);
      const pattern = /^request\.userInfo\.username\.matches\('(.+)'\)$/.exec(conditions[0]?.expression ?? '');
      assert.ok(pattern?.[1], `${name}: ${conditions[0]?.expression}`);
      const username = new RegExp(pattern[1]);
      assert.ok(
        username.test(`system:serviceaccount:${jm.owner.metadata.namespace}:${jm.spec.serviceAccountName}`),
        `${name}: not the sidecar's account`,
      );
      assert.ok(
        username.test(`system:serviceaccount:another-flink:${jm.spec.serviceAccountName}`),
        `${name}: the account in another namespace`,
      );
      for (const other of [
        'kubernetes-admin',
        `system:serviceaccount:${jm.owner.metadata.namespace}:default`,
        `system:serviceaccount:x:${jm.spec.serviceAccountName}-2`,
      ]) {
        assert.equal(username.test(other), false, `${name}: ${other}`);
      }
      // The label the sidecar keeps, the annotation, and the JobManagers' own label.
      const variable = (n: string): string | undefined => spec.variables?.find((v) => v.name === n)?.expression;
      assert.equal(variable('roleLabel'), `'${config.roleLabel}'`, `${name}: the sidecar's ROLE_LABEL`);
      assert.equal(variable('deletionCost'), "'controller.kubernetes.io/pod-deletion-cost'", name);
      assert.equal(jm.labels['app.kubernetes.io/component'], 'jobmanager');
      assert.ok(
        (spec.validations ?? []).some(
          (v) => v.expression.includes("'app.kubernetes.io/component'") && v.expression.includes("'jobmanager'"),
        ),
        name,
      );
      for (const v of spec.validations ?? []) assert.ok(v.message, `${name}: a refusal without a message`);
    }
    for (const [name, objects] of byMode('readiness')) {
      for (const kind of ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'])
        assert.equal(ofKind(objects, kind).length, 0, `${name}: ${kind}`);
    }
  });
});

describe('manifests: placement', () => {
  it('never schedules two JobManagers of a cluster, or two ZooKeeper servers, on one node: required anti-affinity on the hostname, among their own pods', () => {
    let checked = 0;
    for (const [name, r] of renderings) {
      const templates = podTemplates(r.objects);
      for (const t of templates) {
        if (!isJobManagerDeployment(t.owner) && t.owner.kind !== 'StatefulSet') continue;
        const where = `${name}: ${t.owner.metadata.name}`;
        const anti = t.spec.affinity?.podAntiAffinity;
        const terms = anti?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
        assert.equal(terms.length, 1, `${where}: required anti-affinity`);
        const term = terms[0]!;
        assert.equal(term.topologyKey, 'kubernetes.io/hostname', where);
        assert.equal(term.namespaces, undefined, where);
        assert.equal(term.namespaceSelector, undefined, `${where}: its own namespace`);
        assert.ok(term.labelSelector && labelSelectorMatches(term.labelSelector, t.labels), `${where}: the selector misses its own pods`);
        for (const other of templates) {
          if (other.owner === t.owner) continue;
          assert.equal(
            labelSelectorMatches(term.labelSelector, other.labels),
            false,
            `${where}: the selector matches ${other.owner.metadata.name}`,
          );
        }
        assert.equal(anti?.preferredDuringSchedulingIgnoredDuringExecution, undefined, where);
        checked += 1;
      }
    }
    // The JobManagers of every Flink rendering, and the ZooKeeper servers.
    assert.equal(checked, flinkRenderings().length + 1);
  });
});

// ---------------------------------------------------------------------------------------------
// Flink 1.17 and 1.18: components/flink-conf-legacy

describe('manifests: Flink 1.17 and 1.18 (components/flink-conf-legacy)', () => {
  const LEGACY = 'components/flink-conf-legacy';
  const legacyRenderings = (): [string, KubeObject[]][] => flinkRenderings().filter(([name]) => name.endsWith(`+${LEGACY}`));
  /** The sidecar's settings as plain data, without which file it read. */
  const settings = (config: Config): unknown => {
    const { flinkConfFile: _file, flinkConfFacts: _facts, sources, ...rest } = config;
    const { flinkConfFile: _source, ...otherSources } = sources as Record<string, unknown>;
    return JSON.parse(JSON.stringify({ ...rest, sources: otherSources })) as unknown;
  };

  it("each kustomization's flink-conf.yaml holds exactly its config.yaml's settings, in Flink's flat format", () => {
    for (const dir of ['base', 'kubernetes-ha']) {
      const read = (file: string): string => readFileSync(join(MANIFESTS_DIR, dir, 'flink-conf', file), 'utf8');
      const standard = parseStandardFlinkConf(read('config.yaml'));
      const legacy = parseLegacyFlinkConf(read('flink-conf.yaml'));
      assert.deepEqual(legacy.problems, [], dir);
      assert.deepEqual(legacy.skipped, [], `${dir}: lines Flink would skip`);
      const values = (parsed: typeof legacy) => Object.fromEntries([...parsed.entries].map(([k, e]) => [k, e.value]));
      assert.deepEqual(values(legacy), values(standard), dir);
      for (const e of standard.entries.values()) assert.equal(e.kind, 'text', `${dir}: ${e.key} is not one plain value in config.yaml`);
    }
  });

  it('renders on every Flink kustomization: Flink 1.18 images, and the JobManager, its sidecar and the TaskManager see flink-conf.yaml and no config.yaml', () => {
    assert.deepEqual(
      legacyRenderings().map(([name]) => name),
      ['base', 'kubernetes-ha', 'label-mode'].map((k) => `${k}+${LEGACY}`),
    );
    for (const [name, objects] of legacyRenderings()) {
      assert.deepEqual(flinkImageVersion(objects), [1, 18], name);
      for (const t of [templateOf(objects, 'jobmanager'), templateOf(objects, 'taskmanager')]) {
        const flink = containerNamed(t.spec, component(t.labels) ?? '');
        assert.match(flink.image ?? '', /^flink:1\.18[.-]/, `${name}: ${flink.name}`);
        const seeing = [flink, ...(isJobManagerDeployment(t.owner) ? [sidecarOf(t.spec)] : [])];
        for (const c of seeing) {
          const files = mountedFiles(objects, t.spec, c);
          const conf = [...files.keys()].filter((f) => f.startsWith('/opt/flink/conf/')).sort();
          assert.deepEqual(conf, ['/opt/flink/conf/flink-conf.yaml', '/opt/flink/conf/log4j-console.properties'], `${name}: ${c.name}`);
        }
      }
      // Without the component the same kustomization mounts config.yaml, which 1.18 never reads.
      const without = rendering(name.slice(0, -`+${LEGACY}`.length));
      assert.equal(flinkConfFileName(without), 'config.yaml', name);
    }
  });

  it("the sidecar's own loader reads that flink-conf.yaml, to the settings it reads from config.yaml without the component, and has nothing to warn a 1.18 JobManager about", () => {
    const flink118 = parseFlinkVersion('1.18.1');
    assert.ok(flink118);
    for (const [name, objects] of legacyRenderings()) {
      const config = sidecarConfig(objects);
      assert.equal(config.flinkConfFile, '/opt/flink/conf/flink-conf.yaml', name);
      assert.equal(config.flinkConfFacts.format, 'legacy', name);
      assert.deepEqual(confWarnings(flink118, config.flinkConfFacts), [], name);
      const base = name.slice(0, -`+${LEGACY}`.length);
      const standard = sidecarConfig(rendering(base));
      assert.deepEqual(settings(config), settings(standard), name);
      // What the component fixes: with config.yaml alone, a 1.18 JobManager reads no file of ours.
      assert.equal(confWarnings(flink118, standard.flinkConfFacts).length, 1, base);

      // And with FLINK_CONF_DIR pointing at a directory holding only the rendered flink-conf.yaml.
      const jm = templateOf(objects, 'jobmanager');
      const sidecar = sidecarOf(jm.spec);
      const text = mountedFiles(objects, jm.spec, sidecar).get('/opt/flink/conf/flink-conf.yaml');
      assert.ok(text !== undefined, name);
      const files = new Map([...mountedFiles(objects, jm.spec, sidecar)].filter(([f]) => !f.startsWith('/opt/flink/conf/')));
      files.set('/etc/flink-legacy/flink-conf.yaml', text);
      const elsewhere = loadSidecarConfig(
        { ...sidecar, env: [...(sidecar.env ?? []), { name: 'FLINK_CONF_DIR', value: '/etc/flink-legacy' }] },
        files,
      );
      assert.equal(elsewhere.flinkConfFile, '/etc/flink-legacy/flink-conf.yaml', name);
      assert.equal(elsewhere.flinkConfFacts.format, 'legacy', name);
      const { flinkConfDir: _dir, ...same } = settings(elsewhere) as Record<string, unknown>;
      const { flinkConfDir: _baseDir, ...expected } = settings(standard) as Record<string, unknown>;
      assert.deepEqual(
        same,
        { ...expected, sources: { ...(expected.sources as Record<string, unknown>), flinkConfDir: 'environment' } },
        name,
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Kubernetes HA: manifests/kubernetes-ha

/** Flink's durations as the manifests write them: `15 s`, `500 ms`, `1 min`. */
function flinkSeconds(text: string): number {
  const m = /^([0-9]+)\s*(ms|s|min|m|h)?$/.exec(text.trim());
  assert.ok(m, `not a Flink duration: ${text}`);
  const factor: Record<string, number> = { ms: 0.001, s: 1, min: 60, m: 60, h: 3600 };
  return Number(m[1]) * (factor[m[2] ?? 'ms'] ?? NaN);
}

/**
 * What Flink's JobManagers need on configmaps: what Flink's documentation ("Kubernetes HA Services")
 * lists (get, list, watch, create, update, delete) and patch, with which real JobManagers renew the
 * lock (test/flink/kubernetes-ha.test.ts: without it a leader never renews; test/kube checks these
 * verbs against test/support/flink-kubernetes-ha.ts's audited list).
 */
const FLINK_KUBERNETES_HA_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

/** `/<resource>/<verb>` for every call the sidecar's Kubernetes source makes (src/sources/kubernetes-ha/configmap-api.ts). */
function kubernetesSourceCalls(): Set<string> {
  const source = readFileSync(join(REPO_DIR, 'src', 'sources', 'kubernetes-ha', 'configmap-api.ts'), 'utf8');
  const VERB: Readonly<Record<string, string>> = {
    read: 'get',
    list: 'list',
    patch: 'patch',
    create: 'create',
    replace: 'update',
    delete: 'delete',
  };
  const calls = [...source.matchAll(/\bapi\.(read|list|patch|create|replace|delete)Namespaced([A-Z][A-Za-z]*?)\(/g)].map(
    ([, op, kind]) => `/${(kind ?? '').toLowerCase()}s/${VERB[op ?? ''] ?? ''}`,
  );
  const watches = [...source.matchAll(/\bwatcher\.watch\(\s*`[^`]*\/([a-z]+)`/g)].map(([, resource]) => `/${resource ?? ''}/watch`);
  assert.ok(calls.length > 0 && watches.length > 0, 'no list or watch found in configmap-api.ts');
  return new Set([...calls, ...watches]);
}

/** Every `group/resource/verb` the Role grants. */
function grants(role: IRole): Set<string> {
  const granted = new Set<string>();
  for (const rule of role.rules ?? []) {
    assert.equal(rule.resourceNames, undefined, `Role ${role.metadata?.name ?? ''} names resources`);
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) for (const verb of rule.verbs) granted.add(`${group}/${resource}/${verb}`);
    }
  }
  return granted;
}

describe('manifests: Kubernetes HA (manifests/kubernetes-ha)', () => {
  const KUBERNETES_HA = ['kubernetes-ha', 'kubernetes-ha+components/flink-conf-legacy', 'kubernetes-ha+components/jobmanager-livez'];

  it("is the only kustomization whose sidecar reads Kubernetes HA, and it reads it from Flink's file", () => {
    assert.deepEqual(
      renderingsWithSource('kubernetes').map(([name]) => name),
      KUBERNETES_HA,
    );
    for (const [name, objects] of renderingsWithSource('kubernetes')) {
      assert.equal(sidecarConfig(objects).sources.leaderSource, 'flink-conf', name);
    }
  });

  it("config.yaml is the base's but for the high-availability and kubernetes keys; log4j-console.properties is the base's", () => {
    const entries = (dir: string): Map<string, string> => {
      const parsed = parseStandardFlinkConf(readFileSync(join(MANIFESTS_DIR, dir, 'flink-conf', 'config.yaml'), 'utf8'));
      assert.deepEqual(parsed.problems, [], dir);
      return new Map([...parsed.entries].map(([k, e]) => [k, e.value]));
    };
    const others = (conf: Map<string, string>) => new Map([...conf].filter(([k]) => !/^(high-availability|kubernetes)\./.test(k)));
    const base = entries('base');
    const ha = entries('kubernetes-ha');
    assert.deepEqual(others(ha), others(base));
    assert.equal(ha.get('high-availability.type'), 'kubernetes');
    assert.equal(ha.get('high-availability.storageDir'), base.get('high-availability.storageDir'));
    for (const key of ha.keys()) assert.ok(!key.startsWith('high-availability.zookeeper.'), `a ZooKeeper key: ${key}`);
    const log4j = (dir: string) => readFileSync(join(MANIFESTS_DIR, dir, 'flink-conf', 'log4j-console.properties'), 'utf8');
    assert.equal(log4j('kubernetes-ha'), log4j('base'));
  });

  it("the sidecar takes the cluster-id, the namespace (the one every object is in) and the REST port from the mounted file, and the pod's service account", () => {
    for (const [name, objects] of renderingsWithSource('kubernetes')) {
      const conf = flinkConf(objects);
      const config = sidecarConfig(objects);
      const sidecar = sidecarOf(templateOf(objects, 'jobmanager').spec);
      assert.equal(sidecar.args, undefined, `${name}: flags would override the file`);
      for (const setting of ['kubernetesClusterId', 'kubernetesNamespace', 'flinkRestUrl'] as const) {
        assert.equal(config.sources[setting], 'flink-conf', `${name}: ${setting} comes from ${config.sources[setting]}`);
      }
      for (const [setting, source] of Object.entries(config.sources)) {
        if (source === 'flag') assert.fail(`${name}: ${setting} is a flag`);
      }
      assert.equal(config.kubernetesClusterId, flinkValue(conf, 'kubernetes.cluster-id'), name);
      assert.equal(config.kubernetesNamespace, flinkValue(conf, 'kubernetes.namespace'), name);
      // Flink writes its ConfigMaps there, the sidecar reads them there, and the Role grants them there.
      for (const o of objects) assert.equal(o.metadata.namespace, config.kubernetesNamespace, `${name}: ${o.kind} ${o.metadata.name}`);
      assert.equal(config.kubeconfig, null, `${name}: the pod's own service account`);
      assert.equal(config.zookeeperQuorum, null, name);
      assert.equal(config.flinkRestUrl.port, flinkValue(conf, 'rest.port'), name);
      assert.equal(config.flinkRestUrl.hostname, '127.0.0.1', name);
      assert.equal(config.routingMode, 'readiness', name);
    }
  });

  it("times the probes from Flink's lease: a readiness period of at most a tenth of a crash failover, no restart sooner than a lease", () => {
    for (const [name, objects] of renderingsWithSource('kubernetes')) {
      const conf = flinkConf(objects);
      const config = sidecarConfig(objects);
      const leaseS = flinkSeconds(flinkValue(conf, 'high-availability.kubernetes.leader-election.lease-duration'));
      const retryS = flinkSeconds(flinkValue(conf, 'high-availability.kubernetes.leader-election.retry-period'));
      assert.ok(flinkSeconds(flinkValue(conf, 'high-availability.kubernetes.leader-election.renew-deadline')) <= leaseS, name);
      const spec = templateOf(objects, 'jobmanager').spec;
      const sidecar = sidecarOf(spec);
      const window = (p: IProbe | undefined): number => (p?.periodSeconds ?? 10) * (p?.failureThreshold ?? 3);
      assert.ok((sidecar.readinessProbe?.failureThreshold ?? 3) >= 2, `${name}: one failed probe empties the Service`);
      assert.ok(
        (sidecar.readinessProbe?.periodSeconds ?? 10) * 10 <= leaseS + retryS,
        `${name}: readiness period against ${leaseS + retryS} s`,
      );
      assert.ok(window(sidecar.livenessProbe) >= leaseS, `${name}: the sidecar is restarted sooner than a lease`);
      assert.ok(
        window(containerNamed(spec, 'jobmanager').livenessProbe) >= leaseS,
        `${name}: the JobManager is restarted sooner than a lease`,
      );
      assert.ok((spec.terminationGracePeriodSeconds ?? 30) * 1000 > config.shutdownTimeoutMs, `${name}: no time for the sidecar to stop`);
    }
  });

  it("runs the JobManagers and TaskManagers as one ServiceAccount whose Role is what Flink's JobManagers need on ConfigMaps, which covers the sidecar's calls", () => {
    const needed = kubernetesSourceCalls();
    assert.deepEqual([...needed].sort(), ['/configmaps/list', '/configmaps/watch']);
    for (const [name, objects] of renderingsWithSource('kubernetes')) {
      const jm = templateOf(objects, 'jobmanager');
      const tm = templateOf(objects, 'taskmanager');
      const accountName = jm.spec.serviceAccountName ?? '';
      assert.equal(tm.spec.serviceAccountName, accountName, `${name}: the TaskManagers watch the leader's ConfigMap too`);
      const account = named<IServiceAccount>(objects, 'ServiceAccount', accountName);
      // The account mounts nothing by itself; the Flink pods ask for the token.
      assert.equal(account.automountServiceAccountToken, false, name);
      for (const t of [jm, tm]) assert.equal(t.spec.automountServiceAccountToken, true, `${name}: ${t.owner.metadata.name}`);

      const bindings = ofKind<IRoleBinding>(objects, 'RoleBinding').filter((b) =>
        (b.subjects ?? []).some(
          (s) => s.kind === 'ServiceAccount' && s.name === accountName && s.namespace === jm.owner.metadata.namespace,
        ),
      );
      assert.equal(bindings.length, 1, name);
      assert.equal(bindings[0]?.roleRef.kind, 'Role', name);
      for (const kind of ['ClusterRole', 'ClusterRoleBinding']) assert.equal(ofKind(objects, kind).length, 0, `${name}: ${kind}`);
      const granted = grants(named<IRole>(objects, 'Role', bindings[0]?.roleRef.name ?? ''));
      assert.deepEqual(
        [...granted].sort(),
        FLINK_KUBERNETES_HA_VERBS.map((v) => `/configmaps/${v}`),
        name,
      );
      for (const call of needed) assert.ok(granted.has(call), `${name}: the sidecar's ${call} is not granted`);
    }
  });

  it('mounts the token into every Flink container, the sidecar included, where its in-cluster client looks', () => {
    for (const [name, objects] of renderingsWithSource('kubernetes')) {
      for (const t of [templateOf(objects, 'jobmanager'), templateOf(objects, 'taskmanager')]) {
        for (const c of containersOf(t.spec)) {
          const files = mountedFiles(objects, t.spec, c);
          for (const file of ['token', 'ca.crt'])
            assert.ok(files.has(posix.join(SERVICE_ACCOUNT_DIR, file)), `${name}: ${c.name} has no ${file}`);
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The Flink Kubernetes Operator: manifests/operator

const OPERATOR_DIR = join(MANIFESTS_DIR, 'operator');

function operatorObjects(): KubeObject[] {
  return readdirSync(OPERATOR_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(OPERATOR_DIR, f), 'utf8'))
        .map((d) => d.toJS() as KubeObject)
        .filter((o) => o !== null),
    );
}

interface FlinkDeployment extends KubeObject {
  spec: {
    image?: string;
    flinkVersion?: string;
    mode?: string;
    serviceAccount?: string;
    flinkConfiguration?: Record<string, unknown>;
    podTemplate?: IPodTemplateSpec;
    jobManager?: { replicas?: number; podTemplate?: IPodTemplateSpec };
    taskManager?: { podTemplate?: IPodTemplateSpec };
  };
}

/** Flink's native Kubernetes integration: the volume it adds to each pod with Flink's configuration, and where. */
const FLINK_CONF_VOLUME = 'flink-config-volume';
const FLINK_CONF_DIR_IN_POD = '/opt/flink/conf';

describe('manifests: the Flink Kubernetes Operator example (manifests/operator)', () => {
  const objects = operatorObjects();
  const deployment = (): FlinkDeployment => {
    const found = objects.filter((o) => o.kind === 'FlinkDeployment') as FlinkDeployment[];
    assert.equal(found.length, 1);
    return found[0] as FlinkDeployment;
  };
  const sidecarIn = (template: IPodTemplateSpec | undefined): IContainer => {
    const found = (template?.spec?.initContainers ?? []).filter((c) => (c.image ?? '').startsWith('flink-ha-sidecar:'));
    assert.equal(found.length, 1, 'one sidecar among the init containers');
    return found[0] as IContainer;
  };

  it('is not a kustomization (plain files for kubectl apply -f), so the manifest tiers above do not render it', () => {
    assert.equal(FOUND.kustomizations.includes('operator'), false);
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'FlinkDeployment/flink-cluster',
      'PersistentVolumeClaim/flink-cluster-ha-storage',
      'Role/flink',
      'RoleBinding/flink-role-binding',
      'ServiceAccount/flink',
    ]);
    for (const o of objects) assert.equal(o.metadata.namespace, undefined, `${o.kind} ${o.metadata.name}: kubectl -n decides`);
  });

  it('a FlinkDeployment with two JobManagers in Kubernetes HA mode, on storage every JobManager and TaskManager mounts', () => {
    const fd = deployment();
    assert.equal(fd.apiVersion, 'flink.apache.org/v1beta1');
    assert.equal(fd.spec.mode, 'native');
    assert.equal(fd.spec.jobManager?.replicas, 2);
    assert.equal(fd.spec.serviceAccount, 'flink');
    const conf = fd.spec.flinkConfiguration ?? {};
    // The operator's schema before 1.13 takes strings only.
    for (const [key, value] of Object.entries(conf)) assert.equal(typeof value, 'string', key);
    assert.equal(conf['high-availability.type'], 'kubernetes');
    const main = (fd.spec.podTemplate?.spec?.containers ?? []).find((c) => c.name === 'flink-main-container');
    assert.ok(main, 'the common pod template names the main container as the operator requires');
    for (const key of ['high-availability.storageDir', 'state.checkpoints.dir', 'state.savepoints.dir']) {
      const url = new URL(String(conf[key]));
      assert.equal(url.protocol, 'file:', key);
      const mount = main.volumeMounts?.find((m) => url.pathname.startsWith(`${m.mountPath}/`));
      assert.ok(mount, `${key} is on no volume of Flink's container`);
      const claim = fd.spec.podTemplate?.spec?.volumes?.find((v) => v.name === mount.name)?.persistentVolumeClaim?.claimName;
      const pvc = named<IPersistentVolumeClaim>(objects, 'PersistentVolumeClaim', claim ?? '');
      assert.ok(pvc.spec?.accessModes?.includes('ReadWriteMany'), key);
    }
  });

  it("adds the base's sidecar, container and probes alike, as a native sidecar of the JobManager pods alone", () => {
    const fd = deployment();
    const sidecar = sidecarIn(fd.spec.jobManager?.podTemplate);
    const base = sidecarOf(templateOf(rendering('base'), 'jobmanager').spec);
    assert.equal(sidecar.restartPolicy, 'Always');
    for (const field of ['image', 'env', 'ports', 'startupProbe', 'readinessProbe', 'livenessProbe', 'resources'] as const) {
      assert.deepEqual(sidecar[field], base[field], field);
    }
    for (const [key, value] of Object.entries(base.securityContext ?? {})) {
      assert.deepEqual((sidecar.securityContext as Record<string, unknown> | undefined)?.[key], value, `securityContext.${key}`);
    }
    // Positional merging of the two templates would fold another init container into the sidecar.
    assert.equal(fd.spec.podTemplate?.spec?.initContainers, undefined);
    assert.equal(fd.spec.taskManager?.podTemplate, undefined, 'the TaskManagers need no sidecar');
    assert.equal(fd.spec.jobManager?.podTemplate?.spec?.enableServiceLinks, false);
    assert.ok((fd.spec.jobManager?.podTemplate?.spec?.terminationGracePeriodSeconds ?? 30) > 10);
  });

  it("mounts Flink's configuration volume where the sidecar reads it, and reads Kubernetes HA from the file the operator writes", () => {
    const fd = deployment();
    const sidecar = sidecarIn(fd.spec.jobManager?.podTemplate);
    assert.deepEqual(sidecar.volumeMounts, [{ name: FLINK_CONF_VOLUME, mountPath: FLINK_CONF_DIR_IN_POD, readOnly: true }]);
    // Flink adds that volume itself; one of the same name in a template would make the pod invalid.
    for (const t of [fd.spec.podTemplate, fd.spec.jobManager?.podTemplate]) {
      assert.ok(!(t?.spec?.volumes ?? []).some((v) => v.name === FLINK_CONF_VOLUME));
    }
    // config.yaml as Flink's native integration writes it for the JobManagers: the flinkConfiguration
    // and what the operator adds (kubernetes.cluster-id, kubernetes.namespace), one `key: value` a line.
    const written = {
      ...fd.spec.flinkConfiguration,
      'kubernetes.cluster-id': fd.metadata.name,
      'kubernetes.namespace': FIELD_VALUES['metadata.namespace'],
    };
    const files = new Map<string, string>([
      [
        posix.join(FLINK_CONF_DIR_IN_POD, 'config.yaml'),
        Object.entries(written)
          .map(([k, v]) => `${k}: ${String(v)}`)
          .join('\n') + '\n',
      ],
      [posix.join(SERVICE_ACCOUNT_DIR, 'token'), 'token'],
      [posix.join(SERVICE_ACCOUNT_DIR, 'ca.crt'), 'certificate'],
    ]);
    const config = loadSidecarConfig(sidecar, files);
    assert.equal(config.flinkConfDir, FLINK_CONF_DIR_IN_POD);
    assert.equal(config.leaderSource, 'kubernetes');
    assert.equal(config.sources.leaderSource, 'flink-conf');
    assert.equal(config.kubernetesClusterId, fd.metadata.name);
    assert.equal(config.kubernetesNamespace, FIELD_VALUES['metadata.namespace']);
    assert.equal(config.kubeconfig, null);
    assert.equal(config.flinkRestUrl.href, 'http://127.0.0.1:8081/');
    assert.deepEqual(config.advertisedAddresses, [FIELD_VALUES['status.podIP']]);
    assert.equal(config.routingMode, 'readiness');
  });

  it('both pod templates and every core object validate against the Kubernetes API schema, with no unknown field', () => {
    const fd = deployment();
    const asPodTemplate = (name: string, template: IPodTemplateSpec | undefined): KubeObject => ({
      apiVersion: 'v1',
      kind: 'PodTemplate',
      metadata: { name },
      template: template ?? {},
    });
    // The JobManager's template as the operator merges it onto the common one: no field is in both,
    // so the merge is their union.
    const common = fd.spec.podTemplate?.spec ?? { containers: [] };
    const jm = fd.spec.jobManager?.podTemplate?.spec ?? { containers: [] };
    assert.deepEqual(
      Object.keys(common).filter((k) => k in jm),
      [],
    );
    const core = [
      asPodTemplate('common', fd.spec.podTemplate),
      asPodTemplate('jobmanager', { spec: { ...common, ...jm } }),
      ...objects.filter((o) => o.kind !== 'FlinkDeployment'),
    ];
    const problems = core.flatMap((o) => schemaProblems(o).map((p) => `${o.kind} ${o.metadata.name}: ${p}`));
    assert.deepEqual(problems, []);
    assert.deepEqual(unknownFieldProblems(core), []);
  });

  it("flink-rbac.yaml is the operator chart's Role for the ServiceAccount flink, which covers the sidecar's calls", () => {
    const role = named<IRole>(objects, 'Role', 'flink');
    const binding = named<IRoleBinding>(objects, 'RoleBinding', 'flink-role-binding');
    assert.equal(binding.roleRef.name, 'flink');
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: deployment().spec.serviceAccount }]);
    const granted = grants(role);
    for (const call of kubernetesSourceCalls()) assert.ok(granted.has(call), `the sidecar's ${call} is not granted`);
    const chart = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
    assert.deepEqual(
      [...granted].sort(),
      [...['/configmaps', '/pods', 'apps/deployments', 'apps/deployments/finalizers'].flatMap((r) => chart.map((v) => `${r}/${v}`))].sort(),
    );
  });
});

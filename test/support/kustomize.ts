/**
 * Renders the kustomizations in manifests/ for the manifest tests, two ways:
 *
 * - `kubectl kustomize DIR` (or a standalone `kustomize build DIR`): the real thing, used whenever
 *   either is on PATH (CI's machine has kubectl 1.32 at /usr/bin/kubectl);
 * - a small renderer of our own for the subset of Kustomize that manifests/ uses (resources,
 *   components, strategic-merge patches from files, configMapGenerator from files with kustomize's
 *   name hash, namespace), for a fresh Debian machine where neither exists: Debian 12's only kubectl
 *   is the kubernetes-client package, which conflicts with other Kubernetes tooling and must not be
 *   installed by this project. It refuses every kustomization field outside that subset, naming what
 *   to install instead, so it can never render something differently without saying so.
 *
 * Where kubectl is present, the manifest tests also check that both renderers produce the same
 * objects, which keeps the fallback honest for the machines that depend on it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A rendered Kubernetes object, as plain JSON. */
export type KubeObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } & Record<
    string,
    unknown
  >;
};

export type RendererName = 'kubectl' | 'kustomize' | 'fallback';

export interface Rendering {
  objects: KubeObject[];
  renderer: RendererName;
}

const INSTALL_HINT =
  "install kubectl 1.27 or later (the upstream binary; not Debian's kubernetes-client package) or a standalone kustomize 5";

/** The first executable named `name` on PATH, or null. */
function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** kubectl, else kustomize, as found on PATH; null when neither is installed. */
export function findKustomize(): { renderer: 'kubectl' | 'kustomize'; command: string; args: string[] } | null {
  const kubectl = onPath('kubectl');
  if (kubectl !== null) return { renderer: 'kubectl', command: kubectl, args: ['kustomize'] };
  const kustomize = onPath('kustomize');
  if (kustomize !== null) return { renderer: 'kustomize', command: kustomize, args: ['build'] };
  return null;
}

function parseObjects(text: string, source: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isObject(value) || typeof value.kind !== 'string' || typeof value.apiVersion !== 'string' || !isObject(value.metadata)) {
      throw new Error(`${source}: a document that is not a Kubernetes object (apiVersion, kind, metadata)`);
    }
    objects.push(value as KubeObject);
  }
  return objects;
}

/** Renders `dir` with kubectl or kustomize; throws with their stderr when they fail. */
export function renderWithKustomize(dir: string): Rendering {
  const tool = findKustomize();
  if (tool === null) throw new Error(`neither kubectl nor kustomize is on PATH: ${INSTALL_HINT}`);
  let out: string;
  try {
    out = execFileSync(tool.command, [...tool.args, dir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 32 * 1024 * 1024,
    });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`${tool.command} ${[...tool.args, dir].join(' ')} failed: ${stderr.trim() || String(err)}`, { cause: err });
  }
  return { objects: parseObjects(out, `${tool.renderer} output for ${dir}`), renderer: tool.renderer };
}

/** kubectl or kustomize when installed, else the fallback renderer. */
export function render(dir: string): Rendering {
  return findKustomize() === null ? renderWithFallback(dir) : renderWithKustomize(dir);
}

/**
 * Renders a kustomization that does not exist on disk: `resources` and `components` are
 * directories (absolute paths), laid into a temporary kustomization (Kustomize takes only relative
 * paths) and rendered as `render` would.
 */
export function renderComposition(
  parts: { resources: string[]; components?: string[] },
  renderer: (dir: string) => Rendering = render,
): Rendering {
  const dir = mkdtempSync(join(tmpdir(), 'kustomization-'));
  try {
    const rel = (p: string): string => relative(dir, p);
    const lines = [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      ...parts.resources.map((p) => `  - ${rel(p)}`),
      ...(parts.components && parts.components.length > 0 ? ['components:', ...parts.components.map((p) => `  - ${rel(p)}`)] : []),
    ];
    writeFileSync(join(dir, 'kustomization.yaml'), `${lines.join('\n')}\n`);
    return renderer(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// -------------------------------------------------------------------------------------------------
// The fallback renderer

const KUSTOMIZATION_FIELDS = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'components', 'patches', 'configMapGenerator']);
const GENERATOR_FIELDS = new Set(['name', 'files']);

/** Kinds without a namespace among those a kustomization here could hold. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'StorageClass',
  'PersistentVolume',
  'PriorityClass',
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unsupported(where: string, what: string): Error {
  return new Error(`${where}: ${what} is beyond the fallback renderer (test/support/kustomize.ts); ${INSTALL_HINT}`);
}

function readKustomization(dir: string): Record<string, unknown> {
  const file = ['kustomization.yaml', 'kustomization.yml', 'Kustomization']
    .map((n) => join(dir, n))
    .find((f) => {
      try {
        return statSync(f).isFile();
      } catch {
        return false;
      }
    });
  if (file === undefined) throw new Error(`${dir}: no kustomization.yaml`);
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  const value: unknown = docs[0]?.toJS();
  if (docs.length !== 1 || !isObject(value)) throw new Error(`${file}: not one YAML mapping`);
  for (const key of Object.keys(value)) {
    if (!KUSTOMIZATION_FIELDS.has(key)) throw unsupported(file, `the field "${key}"`);
  }
  return value;
}

function stringList(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string'))
    throw new Error(`${where}: expected a list of strings`);
  return value;
}

/** A ConfigMap from a configMapGenerator entry: `files` are `path` or `key=path`, relative to `dir`. */
function generateConfigMap(dir: string, entry: unknown, where: string): { object: KubeObject; generatedName: string } {
  if (!isObject(entry)) throw new Error(`${where}: a configMapGenerator entry must be a mapping`);
  for (const key of Object.keys(entry)) {
    if (!GENERATOR_FIELDS.has(key)) throw unsupported(where, `configMapGenerator's "${key}"`);
  }
  if (typeof entry.name !== 'string') throw new Error(`${where}: configMapGenerator entry without a name`);
  const data: Record<string, string> = {};
  for (const spec of stringList(entry.files, where)) {
    const eq = spec.indexOf('=');
    const [key, path] = eq < 0 ? [spec.slice(spec.lastIndexOf('/') + 1), spec] : [spec.slice(0, eq), spec.slice(eq + 1)];
    const file = resolve(dir, path);
    if (relative(dir, file).startsWith('..')) throw new Error(`${where}: ${path} is outside the kustomization's directory`);
    data[key] = readFileSync(file, 'utf8');
  }
  const object: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${entry.name}-${configMapHash(data)}` }, data };
  return { object, generatedName: entry.name };
}

/**
 * Kustomize's name suffix (api/hasher): sha256 of Go's json.Marshal of {data, kind, name} (keys
 * sorted, no spaces, `<`, `>`, `&`, U+2028 and U+2029 escaped as Go does), the first 10 hex digits
 * with 0, 1, 3, a and e replaced so that no word is spelled. The name is always empty: kustomize
 * looks it up as one field called "metadata/name", which no ConfigMap has.
 */
export function configMapHash(data: Record<string, string>): string {
  const sorted = Object.fromEntries(
    Object.keys(data)
      .sort()
      .map((k) => [k, data[k]]),
  );
  const json = JSON.stringify({ data: sorted, kind: 'ConfigMap', name: '' })
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  const hex = createHash('sha256').update(json, 'utf8').digest('hex');
  const swap: Record<string, string> = { '0': 'g', '1': 'h', '3': 'k', a: 'm', e: 't' };
  return hex.slice(0, 10).replace(/./g, (c) => swap[c] ?? c);
}

/**
 * List fields merged element by element in a strategic merge patch, by their merge key (the
 * Kubernetes API's patchMergeKey); every other list is replaced whole, as SMP does. Lists whose
 * merge key depends on where they are (ports: containerPort in a container, port in a Service)
 * are refused rather than guessed.
 */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  imagePullSecrets: 'name',
};
const REFUSED_LISTS = new Set(['ports', 'topologySpreadConstraints', 'hostAliases', 'volumeDevices', 'resourceClaims', 'envFrom']);

function mergeValue(dest: unknown, patch: unknown, field: string, where: string): unknown {
  if (isObject(patch)) {
    if (patch.$patch === 'replace') {
      const { $patch: _, ...rest } = patch;
      return rest;
    }
    const base = isObject(dest) ? { ...dest } : {};
    for (const [key, value] of Object.entries(patch)) {
      if (key.startsWith('$')) throw unsupported(where, `the patch directive "${key}"`);
      if (value === null) delete base[key];
      else base[key] = mergeValue(base[key], value, key, where);
    }
    return base;
  }
  if (Array.isArray(patch)) {
    if (REFUSED_LISTS.has(field)) throw unsupported(where, `a patch of the list "${field}"`);
    const mergeKey = MERGE_KEYS[field];
    if (mergeKey === undefined || !Array.isArray(dest)) return patch;
    const items: unknown[] = patch;
    const existing: unknown[] = dest;
    // As kustomize orders them: the patch's elements first, in the patch's order (each merged with
    // the existing element of its key, if any), then the existing elements the patch does not name,
    // in their order.
    const keyOf = (e: unknown): unknown => (isObject(e) ? e[mergeKey] : undefined);
    const named = new Set(items.map(keyOf));
    const patched = items.flatMap((p) => {
      if (isObject(p) && p.$patch === 'delete') return [];
      const match = existing.find((e) => keyOf(e) === keyOf(p));
      return [match === undefined ? p : mergeValue(match, p, `${field}[]`, where)];
    });
    return [...patched, ...existing.filter((e) => !named.has(keyOf(e)))];
  }
  return patch;
}

function sameTarget(a: KubeObject, b: KubeObject): boolean {
  const group = (o: KubeObject): string => (o.apiVersion.includes('/') ? o.apiVersion.slice(0, o.apiVersion.indexOf('/')) : '');
  return a.kind === b.kind && group(a) === group(b) && a.metadata.name === b.metadata.name;
}

function applyPatches(objects: KubeObject[], dir: string, patches: unknown, where: string): KubeObject[] {
  if (patches === undefined) return objects;
  if (!Array.isArray(patches)) throw new Error(`${where}: patches must be a list`);
  let result = objects;
  for (const entry of patches) {
    if (!isObject(entry) || Object.keys(entry).some((k) => k !== 'path') || typeof entry.path !== 'string') {
      throw unsupported(where, 'a patch other than `- path: FILE` (a strategic merge patch naming its target)');
    }
    const file = resolve(dir, entry.path);
    for (const patch of parseObjects(readFileSync(file, 'utf8'), file)) {
      const matches = result.filter((o) => sameTarget(o, patch));
      if (matches.length !== 1)
        throw new Error(`${file}: the patch of ${patch.kind} ${patch.metadata.name} matches ${matches.length} objects`);
      result = result.map((o) => (o === matches[0] ? (mergeValue(o, patch, '', file) as KubeObject) : o));
    }
  }
  return result;
}

/** Points references to a generated ConfigMap at its hashed name, where pods name ConfigMaps. */
function renameConfigMapRefs(value: unknown, renames: ReadonlyMap<string, string>, parentKey: string): unknown {
  if (Array.isArray(value)) return value.map((v) => renameConfigMapRefs(v, renames, parentKey));
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = renameConfigMapRefs(v, renames, key);
  const isRef = parentKey === 'configMap' || parentKey === 'configMapRef' || parentKey === 'configMapKeyRef';
  if (isRef && typeof out.name === 'string') out.name = renames.get(out.name) ?? out.name;
  return out;
}

function setNamespace(object: KubeObject, namespace: string): KubeObject {
  if (CLUSTER_SCOPED.has(object.kind)) return object;
  const result: KubeObject = { ...object, metadata: { ...object.metadata, namespace } };
  if ((object.kind === 'RoleBinding' || object.kind === 'ClusterRoleBinding') && Array.isArray(object.subjects)) {
    result.subjects = object.subjects.map((s: unknown) =>
      isObject(s) && s.kind === 'ServiceAccount' && (s.namespace === undefined || s.namespace === 'default') ? { ...s, namespace } : s,
    );
  }
  return result;
}

function build(dir: string, expectedKind: 'Kustomization' | 'Component'): KubeObject[] {
  const k = readKustomization(dir);
  const where = join(dir, 'kustomization.yaml');
  const kind: unknown = k.kind ?? 'Kustomization';
  if (kind !== expectedKind) throw new Error(`${where}: a ${String(kind)} where a ${expectedKind} was expected`);

  let objects: KubeObject[] = [];
  for (const entry of stringList(k.resources, where)) {
    const path = resolve(dir, entry);
    objects.push(...(statSync(path).isDirectory() ? build(path, 'Kustomization') : parseObjects(readFileSync(path, 'utf8'), path)));
  }
  const generated = (Array.isArray(k.configMapGenerator) ? k.configMapGenerator : []).map((e: unknown) => generateConfigMap(dir, e, where));
  if (k.configMapGenerator !== undefined && !Array.isArray(k.configMapGenerator))
    throw new Error(`${where}: configMapGenerator must be a list`);
  objects.push(...generated.map((g) => g.object));
  for (const entry of stringList(k.components, where)) {
    objects = applyComponent(objects, resolve(dir, entry));
  }
  objects = applyPatches(objects, dir, k.patches, where);
  const renames = new Map(generated.map((g) => [g.generatedName, g.object.metadata.name]));
  objects = objects.map((o) => (o.kind === 'ConfigMap' ? o : (renameConfigMapRefs(o, renames, '') as KubeObject)));
  if (k.namespace !== undefined) {
    if (typeof k.namespace !== 'string') throw new Error(`${where}: namespace must be a string`);
    objects = objects.map((o) => setNamespace(o, k.namespace as string));
  }
  return objects;
}

function applyComponent(objects: KubeObject[], dir: string): KubeObject[] {
  const k = readKustomization(dir);
  const where = join(dir, 'kustomization.yaml');
  if (k.kind !== 'Component') throw new Error(`${where}: listed under components but not a Component`);
  for (const field of ['resources', 'components', 'configMapGenerator', 'namespace']) {
    if (k[field] !== undefined) throw unsupported(where, `a component's "${field}"`);
  }
  return applyPatches(objects, dir, k.patches, where);
}

/** Renders `dir` with the fallback renderer (see the file comment). */
export function renderWithFallback(dir: string): Rendering {
  return { objects: build(resolve(dir), 'Kustomization'), renderer: 'fallback' };
}

/** The directory of the repository's manifests. */
export const MANIFESTS_DIR = resolve(dirname(__filename), '..', '..', 'manifests');

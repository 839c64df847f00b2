/**
 * Covers the README's minimal JobManager pod: it is valid YAML, and every field it sets has the
 * same value in the tested Deployment, manifests/base/jobmanager.yaml (containers, ports, env,
 * volumes matched by name; a probe's named port resolved to its number), so the snippet a newcomer
 * copies cannot drift from what the manifest tests check.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

const PROJECT_ROOT = resolve(__dirname, '..', '..');

type Value = unknown;
type Container = { name: string; ports?: { name?: string; containerPort: number }[] } & Record<string, Value>;
interface PodSpec {
  initContainers: Container[];
  containers: Container[];
  volumes: { name: string }[];
}

/** The README's pod snippet: the one yaml block under "## A minimal JobManager pod". */
function readmePodSpec(): PodSpec {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## A minimal JobManager pod$/m)[1]?.split(/^## /m)[0] ?? '';
  const blocks = [...section.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  assert.equal(blocks.length, 1, 'one yaml block under "## A minimal JobManager pod"');
  return (parse(blocks[0]!) as { spec: PodSpec }).spec;
}

function manifestPodSpec(): PodSpec {
  const deployment = parse(readFileSync(join(PROJECT_ROOT, 'manifests', 'base', 'jobmanager.yaml'), 'utf8')) as {
    spec: { template: { spec: PodSpec } };
  };
  return deployment.spec.template.spec;
}

/** A container with each probe's named port replaced by its number, as the kubelet resolves it. */
function withNumberedProbePorts(container: Container): Container {
  const copy = structuredClone(container);
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    const p = copy[probe] as Record<string, { port?: string | number }> | undefined;
    for (const action of Object.values(p ?? {})) {
      if (typeof action !== 'object' || action === null || typeof action.port !== 'string') continue;
      const port = (container.ports ?? []).find((cp) => cp.name === action.port);
      assert.ok(port, `${container.name}: ${probe} names the port ${action.port}, which the container does not have`);
      action.port = port.containerPort;
    }
  }
  return copy;
}

const isObject = (v: Value): v is Record<string, Value> => typeof v === 'object' && v !== null && !Array.isArray(v);
const named = (v: Value): v is { name: string } => isObject(v) && typeof v['name'] === 'string';

/** Where `part` sets something that `whole` does not have with the same value; lists of named items match by name. */
function differences(part: Value, whole: Value, path = 'spec'): string[] {
  if (Array.isArray(part)) {
    if (!Array.isArray(whole)) return [`${path}: a list in the README, not in the manifest`];
    return part.flatMap((item, i) => {
      if (named(item)) {
        const match = whole.find((w) => named(w) && w.name === item.name);
        return match === undefined ? [`${path}: no "${item.name}" in the manifest`] : differences(item, match, `${path}[${item.name}]`);
      }
      return differences(item, whole[i], `${path}[${i}]`);
    });
  }
  if (isObject(part)) {
    if (!isObject(whole)) return [`${path}: a mapping in the README, not in the manifest`];
    return Object.entries(part).flatMap(([key, value]) => differences(value, whole[key], `${path}.${key}`));
  }
  return part === whole ? [] : [`${path}: ${JSON.stringify(part)} in the README, ${JSON.stringify(whole)} in the manifest`];
}

describe("the README's minimal JobManager pod", () => {
  it('sets nothing that manifests/base/jobmanager.yaml sets differently', () => {
    const readme = readmePodSpec();
    const manifest = manifestPodSpec();
    const numbered = (spec: PodSpec): PodSpec => ({
      ...spec,
      initContainers: spec.initContainers.map(withNumberedProbePorts),
      containers: spec.containers.map(withNumberedProbePorts),
    });
    assert.deepEqual(differences(numbered(readme), numbered(manifest)), []);
  });

  it('shows the sidecar as a native sidecar with its three probes, and the JobManager beside it', () => {
    const readme = readmePodSpec();
    assert.deepEqual(
      readme.initContainers.map((c) => [c.name, c['restartPolicy']]),
      [['ha-sidecar', 'Always']],
    );
    const sidecar = readme.initContainers[0]!;
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) assert.ok(sidecar[probe], probe);
    assert.deepEqual(
      readme.containers.map((c) => c.name),
      ['jobmanager'],
    );
    assert.deepEqual(
      readme.volumes.map((v) => v.name),
      ['flink-conf'],
    );
  });
});

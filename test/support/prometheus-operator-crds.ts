/**
 * The Prometheus Operator's CustomResourceDefinitions for PodMonitor and PrometheusRule, the two
 * kinds manifests/monitoring uses, taken from the operator's own Go module as the Go module proxy
 * serves it (`example/prometheus-operator-crd/`, the files its release bundle is made of), so that
 * a real kube-apiserver validates our objects against the operator's real OpenAPI schema.
 *
 * `go mod download` fetches the module zip through GOPROXY and checks it against the checksum
 * database (GOSUMDB); the sum is also pinned here. The two YAML files are copied into
 * `${FLINK_HA_SIDECAR_CACHE:-$HOME/.cache/flink-ha-sidecar}/prometheus-operator/<version>/`, keyed
 * by version, outside the clone; a warm cache needs neither Go nor the network.
 *
 * v0.85.0 is the version the proxy lists for the module (`/@v/list`) and carries both CRDs.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const PROMETHEUS_OPERATOR_MODULE = 'github.com/prometheus-operator/prometheus-operator';
export const PROMETHEUS_OPERATOR_VERSION = 'v0.85.0';
/** go.sum's h1: hash of the module zip of PROMETHEUS_OPERATOR_VERSION. */
const PINNED_SUMS: Readonly<Record<string, string>> = {
  'v0.85.0': 'h1:M5xLCLEoaW2IJfnuCwFzzpL+jSVQu3KGT84Pye+fW8s=',
};
const CRD_DIR_IN_MODULE = 'example/prometheus-operator-crd';
/** The CRDs manifests/monitoring needs, by kind. */
export const CRD_FILES = {
  PodMonitor: 'monitoring.coreos.com_podmonitors.yaml',
  PrometheusRule: 'monitoring.coreos.com_prometheusrules.yaml',
} as const;

export interface PrometheusOperatorCrds {
  version: string;
  /** The module zip's h1: hash, as go.sum would record it. */
  sum: string;
  /** Absolute paths of the CRD files, by kind. */
  files: Record<keyof typeof CRD_FILES, string>;
}

export function cacheRoot(): string {
  const configured = process.env['FLINK_HA_SIDECAR_CACHE'];
  return configured !== undefined && configured !== '' ? configured : join(homedir(), '.cache', 'flink-ha-sidecar');
}

/** The CRD files of `version`, from the cache or else downloaded (once) through the Go module proxy. */
export async function prometheusOperatorCrds(version = PROMETHEUS_OPERATOR_VERSION): Promise<PrometheusOperatorCrds> {
  const dir = join(cacheRoot(), 'prometheus-operator', version);
  const files = Object.fromEntries(
    Object.entries(CRD_FILES).map(([kind, file]) => [kind, join(dir, file)]),
  ) as PrometheusOperatorCrds['files'];
  const sumFile = join(dir, 'module.sum');
  if (Object.values(files).every((f) => existsSync(f)) && existsSync(sumFile)) {
    return { version, sum: (await readFile(sumFile, 'utf8')).trim(), files };
  }

  const downloaded = await goModDownload(version);
  const pinned = PINNED_SUMS[version];
  if (pinned !== undefined && downloaded.sum !== pinned) {
    throw new Error(`${PROMETHEUS_OPERATOR_MODULE}@${version}: the proxy served a zip with sum ${downloaded.sum}, expected ${pinned}`);
  }
  // Written beside the target and renamed into place: a concurrent run sees all files or none.
  await mkdir(join(cacheRoot(), 'prometheus-operator'), { recursive: true });
  const staging = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(staging);
  try {
    for (const file of Object.values(CRD_FILES)) {
      const source = join(downloaded.dir, CRD_DIR_IN_MODULE, file);
      if (!existsSync(source)) {
        throw new Error(
          `${PROMETHEUS_OPERATOR_MODULE}@${version} has no ${CRD_DIR_IN_MODULE}/${file}: pick a version whose module carries the CRDs`,
        );
      }
      await copyFile(source, join(staging, file));
    }
    await writeFile(join(staging, 'module.sum'), `${downloaded.sum}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { version, sum: downloaded.sum, files };
}

/** `go mod download -json module@version` outside any module; resolves with the extracted directory and the zip's sum. */
async function goModDownload(version: string): Promise<{ dir: string; sum: string }> {
  // An empty working directory: no go.mod above it can change what is resolved.
  const cwd = await mkdtemp(join(tmpdir(), 'prometheus-operator-crds-'));
  try {
    const { stdout } = await promisify(execFile)('go', ['mod', 'download', '-json', `${PROMETHEUS_OPERATOR_MODULE}@${version}`], {
      cwd,
      env: { ...process.env, GOFLAGS: '-mod=mod', GO111MODULE: 'on' },
      timeout: 300_000,
      maxBuffer: 4 * 1024 * 1024,
    }).catch((err: unknown) => {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`go mod download ${PROMETHEUS_OPERATOR_MODULE}@${version} failed: ${e.stderr || e.stdout || e.message}`);
    });
    const result = JSON.parse(stdout) as { Dir?: string; Sum?: string; Error?: string };
    if (result.Error !== undefined || result.Dir === undefined || result.Sum === undefined) {
      throw new Error(`go mod download ${PROMETHEUS_OPERATOR_MODULE}@${version}: ${result.Error ?? stdout}`);
    }
    return { dir: result.Dir, sum: result.Sum };
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}

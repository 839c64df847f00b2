/**
 * What a kubelet would do for the JobManager pods of manifests/, for tests against the real control
 * plane of test/support/control-plane.ts (which has no kubelet and no scheduler):
 *
 * - renders the manifests with the control plane's own kubectl (`kubectl kustomize`);
 * - registers a Node and creates Pods from a rendered Deployment's pod template, bound to it;
 * - "runs the containers" on this machine: the JobManager as a Curator stand-in
 *   (test/support/fake-jobmanager.ts, publishing `http://<pod IP>:<its REST port>` as a JM started
 *   with `jobmanager $(POD_IP)` does) and the sidecar as `node dist/main.js`, with the container's
 *   environment resolved from the manifest (values and downward-API fieldRefs), the
 *   KUBERNETES_SERVICE_HOST/PORT a kubelet sets, and, where the pod template projects a service
 *   account token into the sidecar, that projection: a TokenRequest bound to the pod, its CA and
 *   namespace, mounted at the template's mountPath inside a private mount namespace of the sidecar
 *   process alone (`unshare --user --map-root-user --mount`), so the sidecar loads its in-cluster
 *   credentials exactly as in a pod;
 * - probes the sidecar as the kubelet's prober does, with the rendered probe settings
 *   (initialDelaySeconds, periodSeconds, timeoutSeconds, successThreshold, failureThreshold; the
 *   startup probe before the readiness probe), and writes the Pod's Ready and ContainersReady
 *   conditions through the status subresource with a strategic merge patch, as the kubelet's status
 *   manager does, whenever readiness changes.
 *
 * Only the sidecar's probes are run: the JobManager container's own probes (tcpSocket on Flink's
 * RPC port, which the stand-in does not open) count as passing while its process runs, which is
 * also all the pod's Ready condition takes from it (it has no readiness probe).
 *
 * Also an informer (list + watch, every version kept with its arrival time), for checking a
 * property at every version of objects the API server publishes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { IContainer, IEnvVar, IPodSpec, IPodTemplateSpec, IProbe } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import type { ControlPlane, KubeObject } from './control-plane.js';
import { FakeJobManager } from './fake-jobmanager.js';
import { describeOutput } from './sidecar-process.js';
import { waitForItem } from './wait-for-item.js';
import { onWatchEvents } from './watch-events.js';
import { findFreePort, trackChild } from './zookeeper-server.js';

const PROJECT_ROOT = resolve(__dirname, '..', '..');
export const MANIFESTS_DIR = join(PROJECT_ROOT, 'manifests');
const SIDECAR_MAIN = join(PROJECT_ROOT, 'dist', 'main.js');
const STOP_TIMEOUT_MS = 10_000;
const STDERR_KEEP_CHARS = 16_384;

// ---- Manifests ------------------------------------------------------------------------------------

export interface Rendered {
  /** kubectl kustomize's output, as it came. */
  yaml: string;
  objects: KubeObject[];
}

/** Renders one directory exactly as shipped: `kubectl kustomize <dir>` with the control plane's kubectl. */
export async function renderDirectory(cp: ControlPlane, dir: string): Promise<Rendered> {
  const yaml = await cp.kubectlOk(['kustomize', dir]);
  return { yaml, objects: parseObjects(yaml) };
}

/**
 * Renders a kustomization made on the fly: `resources` and `components` (absolute directories),
 * optionally moved into `namespace` (Kustomize's namespace transformer, which also rewrites the
 * namespace of a RoleBinding's ServiceAccount subjects), as a user's overlay would.
 */
export async function renderOverlay(
  cp: ControlPlane,
  o: { resources: string[]; components?: string[]; namespace?: string },
): Promise<Rendered> {
  const dir = await mkdtemp(join(tmpdir(), 'kustomization-'));
  try {
    const rel = (p: string): string => relative(dir, p);
    const lines = [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      ...(o.namespace === undefined ? [] : [`namespace: ${o.namespace}`]),
      'resources:',
      ...o.resources.map((p) => `  - ${rel(p)}`),
      ...(o.components && o.components.length > 0 ? ['components:', ...o.components.map((p) => `  - ${rel(p)}`)] : []),
    ];
    await writeFile(join(dir, 'kustomization.yaml'), `${lines.join('\n')}\n`);
    return await renderDirectory(cp, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function parseObjects(text: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as KubeObject | null;
    if (value !== null && value !== undefined) objects.push(value);
  }
  return objects;
}

/** Objects as YAML documents for `kubectl ... -f -` (JSON is YAML). */
export function toYaml(objects: readonly unknown[]): string {
  return objects.map((o) => `---\n${JSON.stringify(o)}\n`).join('');
}

export function findObject(objects: readonly KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

/** The JobManager Deployment's pod template of a rendering of manifests/base or an overlay of it. */
export function jobManagerTemplate(objects: readonly KubeObject[]): IPodTemplateSpec {
  return (findObject(objects, 'Deployment', 'flink-jobmanager') as unknown as { spec: { template: IPodTemplateSpec } }).spec.template;
}

// ---- Informer: list, then watch, keeping every version ----------------------------------------------

export interface SeenEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'RELISTED';
  object: T;
  /** performance.now() when the event was parsed. */
  atMs: number;
}

interface AdminTls {
  ca: string;
  cert: string;
  key: string;
}

async function adminTls(cp: ControlPlane): Promise<AdminTls> {
  const config = JSON.parse(await readFile(cp.kubeconfigPath, 'utf8')) as {
    users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
  };
  const user = config.users[0]!.user;
  const decode = (b64: string): string => Buffer.from(b64, 'base64').toString('utf8');
  return { ca: cp.caPem, cert: decode(user['client-certificate-data']), key: decode(user['client-key-data']) };
}

/**
 * Follows a list path (e.g. `/api/v1/namespaces/x/pods`) as admin: `objects` is the current state,
 * `events` every change with its arrival time, and listeners run synchronously after each change
 * has been applied, so a check sees every version the server published.
 */
export class Informer<T extends KubeObject = KubeObject> {
  readonly objects = new Map<string, T>();
  readonly events: SeenEvent<T>[] = [];
  private readonly listeners = new Set<(informer: Informer<T>, event: SeenEvent<T>) => void>();
  private request: ReturnType<typeof httpsRequest> | null = null;
  private stopped = false;
  private failure: Error | null = null;
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly cp: ControlPlane,
    private readonly listPath: string,
    private readonly tls: AdminTls,
  ) {}

  static async start<T extends KubeObject>(cp: ControlPlane, listPath: string): Promise<Informer<T>> {
    const informer = new Informer<T>(cp, listPath, await adminTls(cp));
    await informer.relist();
    return informer;
  }

  /** Runs `listener` after every change from now on (and once at once, on the current state). */
  onChange(listener: (informer: Informer<T>, event: SeenEvent<T>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once `predicate` holds for the current objects; rejects after timeoutMs quoting `describe`. */
  waitUntil(
    what: string,
    predicate: (objects: ReadonlyMap<string, T>) => boolean,
    timeoutMs: number,
    describe: (objects: ReadonlyMap<string, T>) => string = (o) => JSON.stringify([...o.keys()]),
  ): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      const check = (): boolean => {
        if (this.failure !== null) {
          reject(this.failure);
          return true;
        }
        if (!predicate(this.objects)) return false;
        resolvePromise();
        return true;
      };
      if (check()) return;
      const waiter = (): void => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${what}: not within ${timeoutMs} ms; now ${describe(this.objects)}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  stop(): void {
    this.stopped = true;
    this.request?.destroy();
    this.request = null;
  }

  private emit(event: SeenEvent<T>): void {
    this.events.push(event);
    for (const listener of [...this.listeners]) listener(this, event);
    for (const waiter of [...this.waiters]) waiter();
  }

  private async relist(): Promise<void> {
    const listed = await this.cp.request('GET', this.listPath);
    if (listed.status !== 200) throw new Error(`GET ${this.listPath}: ${listed.status} ${listed.body}`);
    const list = JSON.parse(listed.body) as { items: T[]; metadata: { resourceVersion: string } };
    const atMs = performance.now();
    const names = new Set(list.items.map((o) => o.metadata.name));
    for (const [name, object] of [...this.objects]) {
      if (!names.has(name)) {
        this.objects.delete(name);
        this.emit({ type: 'DELETED', object, atMs });
      }
    }
    for (const item of list.items) {
      const before = this.objects.get(item.metadata.name);
      if (before?.metadata.resourceVersion === item.metadata.resourceVersion) continue;
      this.objects.set(item.metadata.name, item);
      this.emit({ type: 'RELISTED', object: item, atMs });
    }
    this.watch(list.metadata.resourceVersion);
  }

  private watch(resourceVersion: string): void {
    if (this.stopped) return;
    const path =
      `${this.listPath}${this.listPath.includes('?') ? '&' : '?'}` +
      new URLSearchParams({ watch: '1', resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: '300' }).toString();
    let lastVersion = resourceVersion;
    const again = (relist: boolean): void => {
      if (this.stopped) return;
      this.request = null;
      if (relist) {
        this.relist().catch((err: unknown) => this.fail(err as Error));
      } else {
        this.watch(lastVersion);
      }
    };
    const req = httpsRequest(`${this.cp.server}${path}`, { headers: { accept: 'application/json' }, agent: false, ...this.tls }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        again(true);
        return;
      }
      let gone = false;
      onWatchEvents<T>(res, (event) => {
        const atMs = performance.now();
        if (event.type === 'ERROR') {
          // 410 Gone: the resourceVersion is too old; list again.
          gone = true;
          return true;
        }
        const rv = event.object.metadata?.resourceVersion;
        if (rv !== undefined) lastVersion = rv;
        if (event.type === 'BOOKMARK') return true;
        if (event.type === 'DELETED') this.objects.delete(event.object.metadata.name);
        else this.objects.set(event.object.metadata.name, event.object);
        this.emit({ type: event.type as SeenEvent<T>['type'], object: event.object, atMs });
        return true;
      });
      res.once('end', () => again(gone));
      res.once('error', () => again(true));
    });
    req.once('error', (err) => {
      if (this.stopped) return;
      this.fail(new Error(`watch ${this.listPath}: ${err.message}`));
    });
    req.end();
    this.request = req;
  }

  private fail(err: Error): void {
    this.failure = err;
    for (const waiter of [...this.waiters]) waiter();
  }
}

// ---- Nodes and pods -------------------------------------------------------------------------------

/** Registers a Node (no kubelet does here); the EndpointSlice controller skips pods on unknown nodes. */
export async function registerNode(cp: ControlPlane, name: string): Promise<void> {
  await cp.kubectlOk(['apply', '--server-side', '--field-manager=kubelet-standin', '-f', '-'], {
    input: toYaml([{ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } } }]),
  });
}

export interface PodObject extends KubeObject {
  metadata: KubeObject['metadata'] & { uid?: string; deletionTimestamp?: string; annotations?: Record<string, string> };
  spec: IPodSpec;
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
  };
}

/** Creates a Pod from a pod template, bound to `nodeName`, and resolves with the created object. */
export async function createPodFromTemplate(
  cp: ControlPlane,
  o: { namespace: string; name: string; nodeName: string; template: IPodTemplateSpec; extraLabels?: Record<string, string> },
): Promise<PodObject> {
  const body = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: o.name,
      namespace: o.namespace,
      labels: { ...(o.template.metadata?.labels ?? {}), ...(o.extraLabels ?? {}) },
      annotations: o.template.metadata?.annotations,
    },
    spec: { ...o.template.spec, nodeName: o.nodeName },
  };
  const created = await cp.request('POST', `/api/v1/namespaces/${o.namespace}/pods`, { body });
  if (created.status !== 201) throw new Error(`creating pod ${o.namespace}/${o.name}: ${created.status} ${created.body}`);
  return JSON.parse(created.body) as PodObject;
}

/** Patches the pod's status as the kubelet does (strategic merge patch; conditions merge by type). */
export async function patchPodStatus(
  cp: ControlPlane,
  namespace: string,
  name: string,
  status: Record<string, unknown>,
): Promise<PodObject> {
  const res = await cp.request('PATCH', `/api/v1/namespaces/${namespace}/pods/${name}/status`, {
    body: { status },
    contentType: 'application/strategic-merge-patch+json',
  });
  if (res.status !== 200) throw new Error(`patching the status of pod ${namespace}/${name}: ${res.status} ${res.body}`);
  return JSON.parse(res.body) as PodObject;
}

/** The value of an env var as the kubelet resolves it: a value, or a downward-API fieldRef of the pod. */
export function resolveEnv(env: readonly IEnvVar[], pod: PodObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    if (e.value !== undefined) {
      // $(VAR) references to earlier variables, as the kubelet expands them.
      out[e.name] = e.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string) => out[v] ?? m);
    } else if (e.valueFrom?.fieldRef !== undefined) {
      const path = e.valueFrom.fieldRef.fieldPath;
      const value =
        path === 'metadata.name'
          ? pod.metadata.name
          : path === 'metadata.namespace'
            ? pod.metadata.namespace
            : path === 'status.podIP'
              ? pod.status?.podIP
              : path === 'spec.serviceAccountName'
                ? pod.spec.serviceAccountName
                : path === 'spec.nodeName'
                  ? pod.spec.nodeName
                  : undefined;
      if (value === undefined) throw new Error(`env ${e.name}: fieldRef ${path} is not resolved by the kubelet stand-in`);
      out[e.name] = value;
    } else {
      throw new Error(`env ${e.name}: only value and fieldRef are resolved by the kubelet stand-in`);
    }
  }
  return out;
}

export function containerOf(spec: IPodSpec, name: string): IContainer {
  const c = [...(spec.initContainers ?? []), ...spec.containers].find((x) => x.name === name);
  if (c === undefined) throw new Error(`no container ${name}`);
  return c;
}

// ---- The prober -----------------------------------------------------------------------------------

/** An HTTP probe's settings with Kubernetes' defaults filled in. */
export interface ProbeSettings {
  path: string;
  /** The container port the probe names (by number, or a named port resolved). */
  containerPort: number;
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

export function probeSettings(probe: IProbe | undefined, container: IContainer): ProbeSettings | null {
  if (probe === undefined) return null;
  const get = probe.httpGet;
  if (get === undefined) throw new Error(`container ${container.name}: only httpGet probes are run by the kubelet stand-in`);
  const port =
    typeof get.port === 'number'
      ? get.port
      : /^\d+$/.test(get.port)
        ? Number(get.port)
        : container.ports?.find((p) => p.name === get.port)?.containerPort;
  if (port === undefined) throw new Error(`container ${container.name}: probe port ${String(get.port)} is none of its ports`);
  return {
    path: get.path ?? '/',
    containerPort: port,
    initialDelaySeconds: probe.initialDelaySeconds ?? 0,
    periodSeconds: probe.periodSeconds ?? 10,
    timeoutSeconds: probe.timeoutSeconds ?? 1,
    successThreshold: probe.successThreshold ?? 1,
    failureThreshold: probe.failureThreshold ?? 3,
  };
}

/** One HTTP probe as the kubelet makes it: success for 200 to 399 within the timeout, no redirects followed. */
export function probeOnce(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolveResult) => {
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolveResult(ok);
    };
    const req = httpRequest(url, { agent: false, headers: { 'user-agent': 'kube-probe/1.37', accept: '*/*' } }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      finish(status >= 200 && status < 400);
    });
    const timer = setTimeout(() => finish(false), timeoutMs);
    req.once('error', () => finish(false));
    req.end();
  });
}

/**
 * The kubelet prober's worker for one probe: the first probe after initialDelaySeconds, then one
 * every periodSeconds (a ticker: a probe slower than the period delays the next tick); the result
 * changes only after successThreshold consecutive successes or failureThreshold consecutive
 * failures. Readiness starts as failed.
 */
class ProbeWorker {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastResult: boolean | null = null;
  private run = 0;
  result: boolean;

  constructor(
    private readonly s: ProbeSettings,
    private readonly url: string,
    initial: boolean,
    private readonly onChange: (result: boolean) => void,
  ) {
    this.result = initial;
  }

  start(): void {
    this.timer = setTimeout(() => void this.tick(), this.s.initialDelaySeconds * 1000);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const started = performance.now();
    const ok = await probeOnce(this.url, this.s.timeoutSeconds * 1000);
    if (this.stopped) return;
    if (ok === this.lastResult) this.run += 1;
    else {
      this.lastResult = ok;
      this.run = 1;
    }
    const threshold = ok ? this.s.successThreshold : this.s.failureThreshold;
    if (this.run >= threshold && ok !== this.result) {
      this.result = ok;
      this.onChange(ok);
    }
    const elapsed = performance.now() - started;
    const periodMs = this.s.periodSeconds * 1000;
    // time.Ticker drops ticks it could not deliver: the next probe is on the next period boundary.
    this.timer = setTimeout(() => void this.tick(), periodMs - (elapsed % periodMs));
  }
}

// ---- Containers -----------------------------------------------------------------------------------

export type LogLine = Record<string, unknown> & { msg?: string };

/** A container's process: its JSON log lines, waits on them, signals. */
export class ContainerProcess {
  readonly lines: LogLine[] = [];
  readonly lineAtMs: number[] = [];
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  private readonly waiters = new Set<() => void>();
  private stderrTail = '';
  private readonly exited: Promise<void>;
  private hasExitedFlag = false;

  constructor(
    private readonly child: ChildProcess,
    readonly name: string,
  ) {
    createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (raw) => {
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        line = { msg: raw, unparsed: true };
      }
      this.lines.push(line);
      this.lineAtMs.push(performance.now());
      this.notify();
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_KEEP_CHARS);
    });
    this.exited = new Promise((done) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        this.hasExitedFlag = true;
        this.notify();
        done();
      });
      child.once('error', (err) => {
        this.stderrTail += `\n(could not run: ${err.message})`;
        this.hasExitedFlag = true;
        this.notify();
        done();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get hasExited(): boolean {
    return this.hasExitedFlag;
  }

  waitForLine(what: string, predicate: (l: LogLine) => boolean, timeoutMs = 15_000, since = 0): Promise<LogLine> {
    return waitForItem({
      items: this.lines,
      since,
      matches: predicate,
      hasExited: () => this.hasExited,
      waiters: this.waiters,
      timeoutMs,
      exitedError: () => new Error(`${this.name} exited (${this.exitCode ?? this.exitSignal}) before ${what}; ${this.describe()}`),
      timeoutError: () => new Error(`${this.name}: no ${what} within ${timeoutMs} ms; ${this.describe()}`),
    });
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.hasExited) this.child.kill(signal);
  }

  /** SIGTERM, as the kubelet stops a container; SIGKILL after `graceMs`. Resolves on exit. */
  async stop(graceMs = STOP_TIMEOUT_MS): Promise<void> {
    if (this.hasExited) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  describe(lines = 12): string {
    return describeOutput(this.lines, this.stderrTail, lines);
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}

/**
 * Spawns `node dist/main.js` with `env`; with `serviceAccountDir`, inside a private mount namespace
 * (of a user namespace, so no privilege is needed where unprivileged user namespaces are allowed)
 * whose /run is a fresh tmpfs with `serviceAccountDir` bind-mounted at `mountPath`, as the kubelet
 * mounts a projected volume into one container. The process keeps its pid through the execs.
 */
export function spawnSidecar(
  name: string,
  env: Record<string, string>,
  mount?: { serviceAccountDir: string; mountPath: string },
): ContainerProcess {
  if (!existsSync(SIDECAR_MAIN)) throw new Error(`${SIDECAR_MAIN} is missing: run npm run build first`);
  let command: string;
  let args: string[];
  if (mount === undefined) {
    // setpriv: the kernel kills the sidecar if this process dies without running its exit handlers.
    [command, args] = existsSync('/usr/bin/setpriv')
      ? ['/usr/bin/setpriv', ['--pdeathsig', 'SIGKILL', '--', process.execPath, SIDECAR_MAIN]]
      : [process.execPath, [SIDECAR_MAIN]];
  } else {
    // /var/run is a link to /run on Debian; a tmpfs there keeps the host's /run out of sight and
    // needs no directory on the host.
    const real = mount.mountPath.replace(/^\/var\/run\//, '/run/');
    if (!real.startsWith('/run/')) throw new Error(`mount path ${mount.mountPath}: only paths under /run or /var/run are supported`);
    const script =
      'set -e; mount -t tmpfs -o size=1m,mode=755 tmpfs /run; mkdir -p "$MOUNT_PATH"; ' +
      'mount --bind -o ro "$SOURCE_DIR" "$MOUNT_PATH"; ' +
      'if [ -x /usr/bin/setpriv ]; then exec /usr/bin/setpriv --pdeathsig SIGKILL -- "$NODE" "$MAIN"; else exec "$NODE" "$MAIN"; fi';
    command = 'unshare';
    args = ['--user', '--map-root-user', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script];
    env = { ...env, MOUNT_PATH: real, SOURCE_DIR: mount.serviceAccountDir, NODE: process.execPath, MAIN: SIDECAR_MAIN };
  }
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  return new ContainerProcess(child, name);
}

// ---- A JobManager pod -----------------------------------------------------------------------------

export interface JobManagerPodOptions {
  cp: ControlPlane;
  namespace: string;
  name: string;
  nodeName: string;
  /** The rendered Deployment's pod template. */
  template: IPodTemplateSpec;
  /** status.podIP: the pod's address as only the API sees it (nothing listens there). */
  podIp: string;
  zookeeper: string;
  clusterId: string;
  /** The JobManager's (Flink's) ZooKeeper session timeout. */
  jmSessionTimeoutMs: number;
  /** Environment for the sidecar on top of the manifest's (ZooKeeper and REST settings are set here). */
  sidecarEnv?: Record<string, string>;
  /** Labels added to the template's. */
  extraLabels?: Record<string, string>;
  /** Probe the sidecar and write the pod's readiness. Default true. */
  probe?: boolean;
}

const SIDECAR_CONTAINER = 'ha-sidecar';

/**
 * One JobManager pod: the Pod object, its two "containers" and the kubelet's probing of the
 * sidecar. The JobManager can be killed and restarted in place (a container restart: same pod,
 * same REST port); the sidecar runs for the pod's life.
 */
export class JobManagerPod {
  jm!: FakeJobManager;
  sidecar!: ContainerProcess;
  pod!: PodObject;
  readonly restPort: number;
  readonly sidecarPort: number;
  debugPort = 0;
  /** Every readiness write: [performance.now() when acknowledged, ready]. */
  readonly readinessWrites: { atMs: number; ready: boolean }[] = [];
  private workers: ProbeWorker[] = [];
  private readonly scratch: string;
  private statusWrites: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private projectedTokenFile: string | null = null;

  private constructor(
    readonly o: JobManagerPodOptions,
    ports: { rest: number; sidecar: number; debug: number },
  ) {
    this.restPort = ports.rest;
    this.sidecarPort = ports.sidecar;
    this.debugPort = ports.debug;
    this.scratch = mkdtempSync(join(tmpdir(), `jm-pod-${o.name}-`));
    process.once('exit', () => rmSync(this.scratch, { recursive: true, force: true }));
  }

  get name(): string {
    return this.o.name;
  }

  get ip(): string {
    return this.o.podIp;
  }

  /** The leader URL this pod's JobManager publishes. */
  get advertisedUrl(): string {
    return `http://${this.o.podIp}:${this.restPort}`;
  }

  get sidecarUrl(): string {
    return `http://127.0.0.1:${this.sidecarPort}`;
  }

  static async start(o: JobManagerPodOptions): Promise<JobManagerPod> {
    const ports = new Set<number>();
    while (ports.size < 3) ports.add(await findFreePort());
    const [rest, sidecar, debug] = [...ports] as [number, number, number];
    const p = new JobManagerPod(o, { rest, sidecar, debug });
    await p.createPod();
    await p.startJobManager();
    await p.startSidecar();
    if (o.probe !== false) p.startProbing();
    return p;
  }

  private async createPod(): Promise<void> {
    const { cp, namespace, name, nodeName, template, podIp } = this.o;
    await createPodFromTemplate(cp, {
      namespace,
      name,
      nodeName,
      template,
      ...(this.o.extraLabels ? { extraLabels: this.o.extraLabels } : {}),
    });
    const now = new Date().toISOString();
    this.pod = await patchPodStatus(cp, namespace, name, {
      phase: 'Running',
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: podIp,
      podIPs: [{ ip: podIp }],
      startTime: now,
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
        { type: 'Initialized', status: 'True', lastTransitionTime: now },
        { type: 'ContainersReady', status: 'False', lastTransitionTime: now },
        { type: 'Ready', status: 'False', lastTransitionTime: now },
      ],
    });
  }

  /** Starts (or restarts) the JobManager container: a Curator stand-in on the pod's fixed REST port. */
  async startJobManager(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.jm = await FakeJobManager.start({
          zookeeper: this.o.zookeeper,
          layout: '1.15',
          clusterId: this.o.clusterId,
          restPort: this.restPort,
          restAddress: this.advertisedUrl,
          sessionTimeoutMs: this.o.jmSessionTimeoutMs,
        });
        return;
      } catch (err) {
        // The killed JVM's port may take a moment to be free again.
        if (attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }

  private async projectServiceAccount(container: IContainer): Promise<{ serviceAccountDir: string; mountPath: string } | undefined> {
    const spec = this.o.template.spec!;
    for (const mount of container.volumeMounts ?? []) {
      const volume = spec.volumes?.find((v) => v.name === mount.name);
      const sources = volume?.projected?.sources ?? [];
      const tokenSource = sources.find((s) => s.serviceAccountToken !== undefined)?.serviceAccountToken;
      if (tokenSource === undefined) continue;
      const dir = join(this.scratch, 'serviceaccount');
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const token = await requestToken(this.o.cp, this.o.namespace, spec.serviceAccountName ?? 'default', {
        expirationSeconds: tokenSource.expirationSeconds ?? 3600,
        ...(tokenSource.audience ? { audience: tokenSource.audience } : {}),
        pod: { name: this.o.name, uid: this.pod.metadata.uid! },
      });
      await writeFile(join(dir, tokenSource.path), token, { mode: 0o644 });
      this.projectedTokenFile = join(dir, tokenSource.path);
      for (const s of sources) {
        if (s.configMap?.name === 'kube-root-ca.crt') {
          for (const item of s.configMap.items ?? []) {
            if (item.key === 'ca.crt') await writeFile(join(dir, item.path), this.o.cp.caPem);
          }
        }
        for (const item of s.downwardAPI?.items ?? []) {
          if (item.fieldRef?.fieldPath === 'metadata.namespace') await writeFile(join(dir, item.path), this.o.namespace);
        }
      }
      return { serviceAccountDir: dir, mountPath: mount.mountPath };
    }
    return undefined;
  }

  async startSidecar(extraEnv: Record<string, string> = {}): Promise<void> {
    const container = containerOf(this.o.template.spec!, SIDECAR_CONTAINER);
    const confDir = join(this.scratch, 'empty-conf');
    await mkdir(confDir, { recursive: true });
    const apiPort = new URL(this.o.cp.server).port;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      // What the kubelet sets in every container.
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: apiPort,
      HOSTNAME: this.o.name,
      ...resolveEnv(container.env ?? [], this.pod),
      // The manifest reads these from Flink's config.yaml; here the Curator stand-ins' values.
      ZOOKEEPER_QUORUM: this.o.zookeeper,
      FLINK_CLUSTER_ID: this.o.clusterId,
      FLINK_HA_LAYOUT: '1.15',
      FLINK_REST_URL: `http://127.0.0.1:${this.restPort}`,
      FLINK_CONF_DIR: confDir,
      // Several pods share this machine's loopback: ports of their own.
      SIDECAR_HOST: '127.0.0.1',
      SIDECAR_PORT: String(this.sidecarPort),
      SIDECAR_DEBUG_PORT: String(this.debugPort),
      ZOOKEEPER_SESSION_TIMEOUT_MS: '4000',
      FLINK_SESSION_TIMEOUT_MS: String(this.o.jmSessionTimeoutMs),
      LOG_LEVEL: 'info',
      ...this.o.sidecarEnv,
      ...extraEnv,
    };
    const mount = await this.projectServiceAccount(container);
    this.sidecar = spawnSidecar(`sidecar of ${this.o.name}`, env, mount);
    await this.sidecar.waitForLine('the probe server listening', (l) => l.msg === 'probe server listening', 20_000);
  }

  /** Runs the sidecar's startup probe, then its readiness probe, writing the pod's Ready condition. */
  startProbing(): void {
    const container = containerOf(this.o.template.spec!, SIDECAR_CONTAINER);
    const url = (s: ProbeSettings): string => {
      if (s.containerPort !== containerPortNamed(container, 'ha-probes'))
        throw new Error(`probe on port ${s.containerPort}, not the sidecar's`);
      return `http://127.0.0.1:${this.sidecarPort}${s.path}`;
    };
    const readiness = probeSettings(container.readinessProbe, container);
    const startup = probeSettings(container.startupProbe, container);
    const startReadiness = (): void => {
      if (readiness === null || this.stopped) return;
      const worker = new ProbeWorker(readiness, url(readiness), false, (ready) => this.writeReadiness(ready));
      this.workers.push(worker);
      worker.start();
    };
    if (startup === null) {
      startReadiness();
    } else {
      const worker = new ProbeWorker(startup, url(startup), false, (started) => {
        if (!started) return;
        worker.stop();
        startReadiness();
      });
      this.workers.push(worker);
      worker.start();
    }
  }

  stopProbing(): void {
    for (const w of this.workers) w.stop();
    this.workers = [];
  }

  private writeReadiness(ready: boolean): void {
    const now = new Date().toISOString();
    const value = ready ? 'True' : 'False';
    // One write at a time, in order, as the status manager syncs.
    this.statusWrites = this.statusWrites.then(async () => {
      if (this.stopped) return;
      try {
        this.pod = await patchPodStatus(this.o.cp, this.o.namespace, this.o.name, {
          conditions: [
            { type: 'ContainersReady', status: value, lastTransitionTime: now },
            { type: 'Ready', status: value, lastTransitionTime: now },
          ],
        });
        this.readinessWrites.push({ atMs: performance.now(), ready });
      } catch (err) {
        // A pod deleted under us: the kubelet stops syncing it too.
        if (!/: 404 /.test((err as Error).message)) throw err;
      }
    });
  }

  /** The projected service account token's file, when the template projects one into the sidecar. */
  get tokenFile(): string | null {
    return this.projectedTokenFile;
  }

  /**
   * What the kubelet does once the pod is deleted with a grace period (it then has a
   * deletionTimestamp): the main container is stopped first (the JobManager resigns and closes its
   * ZooKeeper session), then the native sidecar with SIGTERM; then the pod object is removed for good
   * (grace period 0). Probing stops first: the pod is on its way out.
   */
  async terminate(): Promise<void> {
    this.stopProbing();
    await this.jm.stop();
    await this.sidecar.stop();
    this.stopped = true;
    await this.statusWrites.catch(() => undefined);
    // DeleteOptions as query parameters: the test client's DELETE body is not read by the server.
    const res = await this.o.cp.request('DELETE', `/api/v1/namespaces/${this.o.namespace}/pods/${this.o.name}?gracePeriodSeconds=0`);
    if (res.status !== 200 && res.status !== 404) throw new Error(`removing pod ${this.o.name}: ${res.status} ${res.body}`);
  }

  /** The JobManager's process is killed (kill -9, OOM): its ZooKeeper session lives on until it expires. */
  killJobManager(): void {
    this.jm.kill('SIGKILL');
  }

  /** Stops everything this pod runs (the sidecar with SIGTERM, as the kubelet would). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopProbing();
    await this.statusWrites.catch(() => undefined);
    await Promise.all([this.sidecar?.stop(), this.jm?.stop()]);
    rmSync(this.scratch, { recursive: true, force: true });
  }
}

function containerPortNamed(container: IContainer, name: string): number | undefined {
  return container.ports?.find((p) => p.name === name)?.containerPort;
}

/** A TokenRequest for a service account, bound to a pod if given (as the kubelet requests projected tokens). */
export async function requestToken(
  cp: ControlPlane,
  namespace: string,
  serviceAccount: string,
  o: { expirationSeconds: number; audience?: string; pod?: { name: string; uid: string } },
): Promise<string> {
  const res = await cp.request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`, {
    body: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {
        expirationSeconds: o.expirationSeconds,
        ...(o.audience ? { audiences: [o.audience] } : {}),
        ...(o.pod ? { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: o.pod.name, uid: o.pod.uid } } : {}),
      },
    },
  });
  if (res.status !== 201) throw new Error(`TokenRequest for ${namespace}/${serviceAccount}: ${res.status} ${res.body}`);
  return (JSON.parse(res.body) as { status: { token: string } }).status.token;
}

/** The pod's Ready condition as the API holds it. */
export function isPodReady(pod: PodObject): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

// ---- EndpointSlices -------------------------------------------------------------------------------

export interface EndpointSlice extends KubeObject {
  addressType?: string;
  endpoints?:
    | { addresses: string[]; conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean }; targetRef?: { name: string } }[]
    | null;
}

/** The addresses listed as ready across every EndpointSlice of a Service. */
export function readyAddresses(slices: ReadonlyMap<string, EndpointSlice>): string[] {
  const out = new Set<string>();
  for (const slice of slices.values()) {
    for (const e of slice.endpoints ?? []) {
      if (e.conditions?.ready === true) for (const a of e.addresses) out.add(a);
    }
  }
  return [...out].sort();
}

export function endpointSlicesPath(namespace: string, service: string): string {
  return `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${service}`)}`;
}

// ---- The leader Service end to end ---------------------------------------------------------------

export type RoutingMode = 'readiness' | 'label';

export interface ServiceScenarioOptions {
  cp: ControlPlane;
  zookeeper: string;
  mode: RoutingMode;
  /** status.podIP of the two JobManager pods. */
  podIps: [string, string];
  jmSessionTimeoutMs: number;
  nodeName?: string;
  sidecarEnv?: Record<string, string>;
}

/** One version of the Service's ready endpoints, as the EndpointSlice watch delivered it. */
export interface ReadySet {
  atMs: number;
  ready: string[];
}

/**
 * Two JobManager pods of manifests/base (readiness mode) or manifests/label-mode (label mode) in a
 * namespace of their own, with that kustomization's leader Service (and in label mode its RBAC),
 * the kubelet stand-in probing and writing readiness, the real EndpointSlice controller filling the
 * Service's slices, and a watch on those slices recording the ready addresses at every version.
 */
export class ServiceScenario {
  /** Every change of the ready address set, in order. */
  readonly readySets: ReadySet[] = [];
  /** Versions in which more than one address was ready. */
  readonly doubles: ReadySet[] = [];
  private constructor(
    readonly mode: RoutingMode,
    readonly namespace: string,
    readonly pods: [JobManagerPod, JobManagerPod],
    readonly slices: Informer<EndpointSlice>,
    readonly podInformer: Informer<PodObject>,
    readonly probe: ProbeSettings,
  ) {}

  static async start(o: ServiceScenarioOptions): Promise<ServiceScenario> {
    const { cp, mode } = o;
    const nodeName = o.nodeName ?? `node-${mode}`;
    const namespace = await cp.createNamespace(mode);
    const rendered = await renderOverlay(cp, { resources: [join(MANIFESTS_DIR, mode === 'readiness' ? 'base' : 'label-mode')], namespace });
    const service = findObject(rendered.objects, 'Service', 'flink-jobmanager');
    const rbac = rendered.objects.filter((x) => ['ServiceAccount', 'Role', 'RoleBinding'].includes(x.kind ?? ''));
    if ((mode === 'label') !== (rbac.length === 3)) throw new Error(`${mode} mode with ${rbac.length} RBAC objects`);
    await cp.kubectlOk(['apply', '--server-side', '--field-manager=flink-ha-sidecar-test', '-f', '-'], {
      input: toYaml([service, ...rbac]),
    });
    await registerNode(cp, nodeName);
    const template = jobManagerTemplate(rendered.objects);
    const sidecar = containerOf(template.spec!, SIDECAR_CONTAINER);
    const probe = probeSettings(sidecar.readinessProbe, sidecar)!;
    const slices = await Informer.start<EndpointSlice>(cp, endpointSlicesPath(namespace, 'flink-jobmanager'));
    const podInformer = await Informer.start<PodObject>(cp, `/api/v1/namespaces/${namespace}/pods`);
    const clusterId = `/kube-service-${mode}-${Date.now()}`;
    const started: JobManagerPod[] = [];
    const startPod = async (i: 0 | 1): Promise<JobManagerPod> => {
      const pod = await JobManagerPod.start({
        cp,
        namespace,
        name: `flink-jobmanager-${i}`,
        nodeName,
        template,
        podIp: o.podIps[i],
        zookeeper: o.zookeeper,
        clusterId,
        jmSessionTimeoutMs: o.jmSessionTimeoutMs,
        sidecarEnv: { JOBMANAGER_CHECK_INTERVAL_MS: '1000', JOBMANAGER_CHECK_TIMEOUT_MS: '500', ...o.sidecarEnv },
      });
      started.push(pod);
      return pod;
    };
    try {
      const a = await startPod(0);
      await a.jm.waitFor(/^leader rest_server /, o.jmSessionTimeoutMs * 5);
      const b = await startPod(1);
      const scenario = new ServiceScenario(mode, namespace, [a, b], slices, podInformer, probe);
      slices.onChange((informer) => {
        const ready = readyAddresses(informer.objects);
        const last = scenario.readySets.at(-1);
        if (last !== undefined && last.ready.join() === ready.join()) return;
        const set = { atMs: performance.now(), ready };
        scenario.readySets.push(set);
        if (ready.length > 1) scenario.doubles.push(set);
      });
      scenario.readySets.push({ atMs: performance.now(), ready: readyAddresses(slices.objects) });
      await scenario.waitForOnlyReady(a, 60_000);
      await scenario.waitForHealthyStandby(b, 60_000);
      return scenario;
    } catch (err) {
      await Promise.all(started.map((p) => p.stop().catch(() => undefined)));
      slices.stop();
      podInformer.stop();
      throw err;
    }
  }

  /** Resolves once the Service's slices list `pod` alone as ready; with the time of that version. */
  async waitForOnlyReady(pod: JobManagerPod, timeoutMs: number): Promise<number> {
    const only = (): boolean => {
      const ready = readyAddresses(this.slices.objects);
      return ready.length === 1 && ready[0] === pod.ip;
    };
    await this.slices.waitUntil(`only ${pod.name} (${pod.ip}) ready in the Service`, only, timeoutMs, (o) =>
      JSON.stringify(readyAddresses(o)),
    );
    return this.slices.events.at(-1)?.atMs ?? performance.now();
  }

  /**
   * Resolves once `pod`'s sidecar sees another JobManager lead and its own as healthy, and, in label
   * mode, once its pod is Ready again (readiness there means healthy).
   */
  async waitForHealthyStandby(pod: JobManagerPod, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    // The sidecar has no push channel for this (a standby's log does not change when its JobManager
    // comes back); its /standby endpoint answers from memory.
    while (!(await probeOnce(`${pod.sidecarUrl}/standby`, 1000))) {
      if (performance.now() > deadline)
        throw new Error(`${pod.name}: not a healthy standby within ${timeoutMs} ms; ${pod.sidecar.describe()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    if (this.mode === 'label') {
      await this.podInformer.waitUntil(
        `${pod.name} Ready`,
        (o) => {
          const p = o.get(pod.name);
          return p !== undefined && isPodReady(p) && p.metadata.labels?.['flink-ha-sidecar/role'] === 'standby';
        },
        Math.max(1, deadline - performance.now()),
      );
    }
  }

  async stop(): Promise<void> {
    this.slices.stop();
    this.podInformer.stop();
    await Promise.all(this.pods.map((p) => p.stop().catch(() => undefined)));
  }
}

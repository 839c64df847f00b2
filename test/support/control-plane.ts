/**
 * A real Kubernetes control plane for tests: etcd, kube-apiserver and kube-controller-manager, built
 * from source by scripts/build-control-plane.sh (cached outside the clone) and started the way
 * controller-runtime's envtest starts them: on 127.0.0.1 and free ports, with a throwaway directory
 * for data, certificates, kubeconfigs and each component's log. There is no kubelet and no
 * scheduler: tests create Nodes and write Pod status themselves, and the real controllers
 * (EndpointSlice, ServiceAccount, namespace, garbage collector) react to it.
 *
 * Every process started here is killed when the test process exits, also when stop() was never
 * called; where util-linux's setpriv exists the kernel kills them too if the test process dies
 * without running exit handlers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { forgetDir, isKept, removeOnExit, trackChild } from './exit-cleanup.js';
import { makeTestCa } from './throwaway-ca.js';
import { onWatchEvents } from './watch-events.js';
import { findFreePort, readTail } from './zookeeper-server.js';

const PROJECT_ROOT = resolve(__dirname, '..', '..');
const BUILD_SCRIPT = join(PROJECT_ROOT, 'scripts', 'build-control-plane.sh');

const DEFAULT_START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 10_000;
const DEFAULT_KUBECTL_TIMEOUT_MS = 60_000;
const DEFAULT_WAIT_TIMEOUT_MS = 30_000;
const READINESS_POLL_MS = 100;
const LOG_TAIL_LINES = 40;
const START_ATTEMPTS = 3;
const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';
const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/**
 * Controllers kube-controller-manager runs by default here: what Services, ServiceAccounts and
 * namespace deletion need, nothing that expects kubelets or a cloud.
 */
export const DEFAULT_CONTROLLERS: readonly string[] = [
  'endpointslice-controller',
  'endpoints-controller',
  'serviceaccount-token-controller',
  'serviceaccount-controller',
  'namespace-controller',
  'garbage-collector-controller',
];

export interface ControlPlaneOptions {
  /** Bound on starting all three components, not counting a build of the binaries. Default 120 s. */
  startTimeoutMs?: number;
  /** kube-controller-manager's --controllers. Default DEFAULT_CONTROLLERS. */
  controllers?: readonly string[];
  /** Flags appended to kube-apiserver's (a repeated flag overrides the default). */
  apiServerArgs?: readonly string[];
  /** Flags appended to kube-controller-manager's. */
  controllerManagerArgs?: readonly string[];
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  /** Exit code; -1 when kubectl was killed for running past its timeout. */
  code: number;
}

export interface KubectlOptions {
  /** Written to kubectl's standard input (e.g. for `apply -f -`). */
  input?: string;
  /** Another kubeconfig than the admin one (e.g. from writeTokenKubeconfig()). */
  kubeconfig?: string;
  /** Default 60 s. */
  timeoutMs?: number;
}

export interface ApiResponse {
  status: number;
  body: string;
}

export interface ApiRequestOptions {
  /** Serialised as JSON unless a string. */
  body?: unknown;
  contentType?: string;
  /** Authenticate with this bearer token instead of the admin client certificate. */
  token?: string;
}

export interface WaitOptions {
  /** Default 30 s. */
  timeoutMs?: number;
}

export interface ControlPlane {
  /** `https://127.0.0.1:<port>` of kube-apiserver. */
  readonly server: string;
  /** Admin (group system:masters, client certificate) kubeconfig, with everything embedded. */
  readonly kubeconfigPath: string;
  /** The CA that signed the apiserver's serving certificate and every client certificate. */
  readonly caPem: string;
  readonly caFile: string;
  /** The temp directory holding data, certificates, kubeconfigs and logs; removed by stop(). */
  readonly dir: string;
  readonly binDir: string;
  readonly logFiles: { readonly etcd: string; readonly apiServer: string; readonly controllerManager: string };
  readonly ports: {
    readonly etcdClient: number;
    readonly etcdPeer: number;
    readonly apiServer: number;
    readonly controllerManager: number;
  };
  /** Process ids of etcd, kube-apiserver and kube-controller-manager. */
  readonly pids: readonly number[];
  /** Runs the built kubectl with the admin kubeconfig (or opts.kubeconfig). Never rejects on a non-zero exit. */
  kubectl(args: readonly string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** kubectl(), resolving with stdout; rejects quoting stderr when the exit code is not 0. */
  kubectlOk(args: readonly string[], opts?: KubectlOptions): Promise<string>;
  /** One request to the apiserver as admin (or opts.token); resolves whatever the status. */
  request(method: string, path: string, opts?: ApiRequestOptions): Promise<ApiResponse>;
  /**
   * Lists `listPath` (e.g. `/api/v1/namespaces/x/pods?labelSelector=a%3Db`) and then watches it
   * until an object satisfies `predicate`, resolving with that object. Rejects after the timeout
   * quoting the last object seen.
   */
  waitFor<T = KubeObject>(listPath: string, predicate: (object: T) => boolean, opts?: WaitOptions): Promise<T>;
  /** Creates a namespace with a unique name and resolves once its default ServiceAccount exists. */
  createNamespace(prefix?: string): Promise<string>;
  /** Writes a kubeconfig that authenticates with `token` only, returning its path. */
  writeTokenKubeconfig(token: string): Promise<string>;
  /**
   * Stops kube-apiserver (SIGKILL with `kill`, else SIGTERM, which drains its watches) and starts
   * it again on the same port and data; resolves once it serves /readyz again. `downMs` keeps it
   * down that long first.
   */
  restartApiServer(opts?: { kill?: boolean; downMs?: number }): Promise<void>;
  /** SIGTERM to every component (SIGKILL after a bound), then removes dir. Idempotent. */
  stop(): Promise<void>;
}

/** The least every Kubernetes object has; enough for predicates to narrow from. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

// ---- Binaries -------------------------------------------------------------------------------------

let binaries: Promise<string> | undefined;

/**
 * Runs scripts/build-control-plane.sh once per process, resolving with the directory holding
 * etcd, kube-apiserver, kube-controller-manager and kubectl. A cold build takes minutes and says
 * so on stderr; a warm one only prints the path.
 */
export function ensureControlPlaneBinaries(): Promise<string> {
  binaries ??= runBuildScript();
  const current = binaries;
  // A failed build must not poison later calls with the same rejected promise.
  current.catch(() => {
    if (binaries === current) binaries = undefined;
  });
  return current;
}

function runBuildScript(): Promise<string> {
  return new Promise((resolvePath, reject) => {
    const child = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (stdout += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const binDir = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && binDir !== '' && existsSync(join(binDir, 'kube-apiserver'))) {
        resolvePath(binDir);
      } else {
        reject(new Error(`${BUILD_SCRIPT} failed (${code ?? signal}); its output is above. stdout: ${stdout}`));
      }
    });
  });
}

// ---- Starting -------------------------------------------------------------------------------------

/** Starts etcd, kube-apiserver and kube-controller-manager, resolving once all three serve. */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binDir = await ensureControlPlaneBinaries();
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binDir, opts);
    } catch (err) {
      // Free ports are picked before the components bind them; another process can take one in
      // between. That is the only failure worth a second try.
      if (attempt >= START_ATTEMPTS || !(err instanceof PortTakenError)) throw err;
    }
  }
}

class PortTakenError extends Error {}

interface Component {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Starts the component again with the same arguments (it replaces `child`). */
  restart: () => Promise<void>;
}

async function startOnce(binDir: string, opts: ControlPlaneOptions): Promise<ControlPlane> {
  const startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const deadline = performance.now() + startTimeoutMs;
  const dir = await mkdtemp(join(tmpdir(), 'flink-ha-sidecar-kube-'));
  removeOnExit(dir, KEEP_VARIABLE);
  const components: Component[] = [];

  const stopAll = async (): Promise<void> => {
    // The controller manager and the apiserver first: they would otherwise log etcd errors while
    // shutting down, and the apiserver drains its watches before exiting.
    await Promise.all(components.filter((c) => c.name !== 'etcd').map((c) => terminate(c.child)));
    await Promise.all(components.filter((c) => c.name === 'etcd').map((c) => terminate(c.child)));
  };

  try {
    const ports = await distinctFreePorts(4);
    const [etcdClient, etcdPeer, apiServerPort, controllerManagerPort] = ports as [number, number, number, number];
    const server = `https://127.0.0.1:${apiServerPort}`;
    const pki = makePki(join(dir, 'pki'));
    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    writeFileSync(
      kubeconfigPath,
      kubeconfig(server, pki.caPem, {
        clientCert: readFileSync(pki.adminCert),
        clientKey: readFileSync(pki.adminKey),
      }),
    );
    const controllerManagerKubeconfig = join(dir, 'controller-manager.kubeconfig');
    writeFileSync(
      controllerManagerKubeconfig,
      kubeconfig(server, pki.caPem, {
        clientCert: readFileSync(pki.controllerManagerCert),
        clientKey: readFileSync(pki.controllerManagerKey),
      }),
    );
    const logFiles = {
      etcd: join(dir, 'etcd.log'),
      apiServer: join(dir, 'kube-apiserver.log'),
      controllerManager: join(dir, 'kube-controller-manager.log'),
    };
    const admin: ClientCertificate = {
      ca: pki.caPem,
      cert: readFileSync(pki.adminCert, 'utf8'),
      key: readFileSync(pki.adminKey, 'utf8'),
    };

    const start = async (name: string, args: string[], logFile: string, ready: () => Promise<boolean>) => {
      const child = spawnTracked(join(binDir, name), args, logFile);
      const component: Component = {
        name,
        child,
        logFile,
        restart: async () => {
          component.child = spawnTracked(join(binDir, name), args, logFile);
          await waitUntil(component.child, ready, performance.now() + startTimeoutMs);
        },
      };
      components.push(component);
      try {
        await waitUntil(child, ready, deadline);
      } catch (err) {
        const tail = await readTail(logFile, LOG_TAIL_LINES);
        const message =
          `${name} did not start: ${(err as Error).message}\n` +
          `--- ${logFile} (last ${LOG_TAIL_LINES} lines; KUBE_TEST_KEEP_DIR=1 keeps the whole file) ---\n${tail}`;
        throw /address already in use/.test(tail) ? new PortTakenError(message) : new Error(message, { cause: err });
      }
    };

    await mkdir(join(dir, 'etcd'));
    await start(
      'etcd',
      [
        '--name=etcd0',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=etcd0=http://127.0.0.1:${etcdPeer}`,
        // A test's data is thrown away; fsync on every write only slows the apiserver down.
        '--unsafe-no-fsync',
      ],
      logFiles.etcd,
      async () => {
        const res = await get(httpRequest, `http://127.0.0.1:${etcdClient}/health`, {});
        return res.status === 200 && res.body.includes('"health":"true"');
      },
    );

    await start(
      'kube-apiserver',
      [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiServerPort}`,
        `--cert-dir=${join(dir, 'apiserver-certs')}`,
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        `--client-ca-file=${pki.caFile}`,
        '--authorization-mode=Node,RBAC',
        `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
        `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
        `--service-account-key-file=${pki.serviceAccountPublicKey}`,
        `--service-account-signing-key-file=${pki.serviceAccountPrivateKey}`,
        '--allow-privileged=true',
        // The "kubernetes" Service would get 127.0.0.1 as its endpoint, which validation refuses for
        // Endpoints; nothing in-cluster dials the apiserver here anyway.
        '--endpoint-reconciler-type=none',
        '--profiling=false',
        ...(opts.apiServerArgs ?? []),
      ],
      logFiles.apiServer,
      async () => (await get(httpsRequest, `${server}/readyz`, admin)).status === 200,
    );

    await start(
      'kube-controller-manager',
      [
        `--kubeconfig=${controllerManagerKubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${controllerManagerPort}`,
        `--cert-dir=${join(dir, 'controller-manager-certs')}`,
        '--leader-elect=false',
        `--controllers=${(opts.controllers ?? DEFAULT_CONTROLLERS).join(',')}`,
        '--use-service-account-credentials=false',
        `--service-account-private-key-file=${pki.serviceAccountPrivateKey}`,
        `--root-ca-file=${pki.caFile}`,
        '--profiling=false',
        ...(opts.controllerManagerArgs ?? []),
      ],
      logFiles.controllerManager,
      async () => {
        // Its serving certificate is self-signed, made at start; /healthz needs no credentials.
        const res = await get(httpsRequest, `https://127.0.0.1:${controllerManagerPort}/healthz`, { insecure: true });
        return res.status === 200;
      },
    );

    const plane = makeControlPlane({
      server,
      dir,
      binDir,
      kubeconfigPath,
      caPem: pki.caPem,
      caFile: pki.caFile,
      admin,
      logFiles,
      ports: { etcdClient, etcdPeer, apiServer: apiServerPort, controllerManager: controllerManagerPort },
      components,
      stopAll,
    });
    // The ServiceAccount controller creating "default" in "default" shows that the controller
    // manager's informers are synced and its controllers run, not only that it serves /healthz.
    await plane
      .waitFor('/api/v1/namespaces/default/serviceaccounts', (sa) => sa.metadata.name === 'default', {
        timeoutMs: Math.max(1000, deadline - performance.now()),
      })
      .catch(async (err: unknown) => {
        throw new Error(
          `kube-controller-manager did not create the default ServiceAccount: ${(err as Error).message}\n` +
            `--- ${logFiles.controllerManager} (last ${LOG_TAIL_LINES} lines) ---\n` +
            (await readTail(logFiles.controllerManager, LOG_TAIL_LINES)),
          { cause: err },
        );
      });
    return plane;
  } catch (err) {
    await stopAll();
    if (!keepDirs()) await rm(dir, { recursive: true, force: true });
    forgetDir(dir);
    throw err;
  }
}

interface PlaneParts {
  server: string;
  dir: string;
  binDir: string;
  kubeconfigPath: string;
  caPem: string;
  caFile: string;
  admin: ClientCertificate;
  logFiles: ControlPlane['logFiles'];
  ports: ControlPlane['ports'];
  components: Component[];
  stopAll: () => Promise<void>;
}

function makeControlPlane(parts: PlaneParts): ControlPlane {
  const { server, dir, binDir, kubeconfigPath, admin } = parts;
  const cacheDir = join(dir, 'kubectl-cache');
  let stopping: Promise<void> | undefined;

  const kubectl = (args: readonly string[], opts: KubectlOptions = {}): Promise<KubectlResult> =>
    runKubectl(
      join(binDir, 'kubectl'),
      // Its own discovery cache: kubectl's default lives in $HOME and outlives the cluster.
      [`--kubeconfig=${opts.kubeconfig ?? kubeconfigPath}`, `--cache-dir=${cacheDir}`, ...args],
      opts,
    );

  const request = async (method: string, path: string, opts: ApiRequestOptions = {}): Promise<ApiResponse> => {
    const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    const credentials: Credentials = opts.token === undefined ? admin : { ca: admin.ca, token: opts.token };
    return send(httpsRequest, `${server}${path}`, credentials, {
      method,
      body,
      contentType: opts.contentType ?? 'application/json',
    });
  };

  const waitFor = async <T>(listPath: string, predicate: (object: T) => boolean, opts: WaitOptions = {}): Promise<T> => {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
    const deadline = performance.now() + timeoutMs;
    let lastSeen: unknown;
    while (performance.now() < deadline) {
      const listed = await request('GET', listPath);
      if (listed.status !== 200) throw new Error(`GET ${listPath}: ${listed.status} ${listed.body}`);
      const list = JSON.parse(listed.body) as { items: T[]; metadata: { resourceVersion: string } };
      for (const item of list.items) {
        lastSeen = item;
        if (predicate(item)) return item;
      }
      const outcome = await watchUntil<T>(
        `${server}${withQuery(listPath, {
          watch: '1',
          resourceVersion: list.metadata.resourceVersion,
          timeoutSeconds: String(Math.max(1, Math.ceil((deadline - performance.now()) / 1000))),
        })}`,
        admin,
        predicate,
        deadline - performance.now(),
        (seen) => (lastSeen = seen),
      );
      if (outcome.matched) return outcome.object;
      // The watch ended (timed out server-side, or its resourceVersion expired): list again.
    }
    throw new Error(`nothing in ${listPath} matched within ${timeoutMs} ms; last seen: ${JSON.stringify(lastSeen)}`);
  };

  const plane: ControlPlane = {
    server,
    kubeconfigPath,
    caPem: parts.caPem,
    caFile: parts.caFile,
    dir,
    binDir,
    logFiles: parts.logFiles,
    ports: parts.ports,
    pids: parts.components.map((c) => c.child.pid ?? -1),
    kubectl,
    kubectlOk: async (args, opts) => {
      const result = await kubectl(args, opts);
      if (result.code !== 0) {
        throw new Error(`kubectl ${args.join(' ')} exited with ${result.code}:\n${result.stderr}${result.stdout}`);
      }
      return result.stdout;
    },
    request,
    waitFor,
    createNamespace: async (prefix = 'test') => {
      const name = `${prefix}-${randomBytes(4).toString('hex')}`;
      const created = await request('POST', '/api/v1/namespaces', {
        body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
      });
      if (created.status !== 201) throw new Error(`creating namespace ${name}: ${created.status} ${created.body}`);
      // Pods are refused by ServiceAccount admission until the controller has made this account.
      await waitFor<KubeObject>(`/api/v1/namespaces/${name}/serviceaccounts`, (sa) => sa.metadata.name === 'default');
      return name;
    },
    writeTokenKubeconfig: async (token) => {
      const path = join(dir, `token-${randomBytes(4).toString('hex')}.kubeconfig`);
      await writeFile(path, kubeconfig(server, parts.caPem, { token }), { mode: 0o600 });
      return path;
    },
    restartApiServer: async ({ kill = false, downMs = 0 } = {}) => {
      const apiServer = parts.components.find((c) => c.name === 'kube-apiserver');
      if (apiServer === undefined) throw new Error('no kube-apiserver to restart');
      if (kill) {
        apiServer.child.kill('SIGKILL');
        if (apiServer.child.exitCode === null && apiServer.child.signalCode === null) await once(apiServer.child, 'exit');
      } else {
        await terminate(apiServer.child);
      }
      if (downMs > 0) await delay(downMs);
      await apiServer.restart();
    },
    stop: () => {
      stopping ??= (async () => {
        await parts.stopAll();
        if (!keepDirs()) await rm(dir, { recursive: true, force: true });
        forgetDir(dir);
      })();
      return stopping;
    },
  };
  return plane;
}

// ---- Certificates and kubeconfigs ---------------------------------------------------------------

interface Pki {
  caFile: string;
  caPem: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  controllerManagerCert: string;
  controllerManagerKey: string;
  serviceAccountPrivateKey: string;
  serviceAccountPublicKey: string;
}

/**
 * One CA for everything, as envtest does: it signs the apiserver's serving certificate and the
 * client certificates, and is the apiserver's --client-ca-file.
 */
function makePki(dir: string): Pki {
  mkdirSync(dir, { recursive: true });
  const f = (name: string) => join(dir, name);
  const { caFile, issue } = makeTestCa(dir, 'flink-ha-sidecar test cluster CA');
  // The in-cluster names and the first service IP, as kubeadm puts them, so that a client that
  // follows the "kubernetes" Service's name would also verify.
  const apiserver = issue('apiserver', '/CN=kube-apiserver', [
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,' +
      'DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
  ]);
  const admin = issue('admin', '/O=system:masters/CN=flink-ha-sidecar-test-admin', ['extendedKeyUsage=clientAuth']);
  // With --use-service-account-credentials=false every controller acts as the manager itself, and
  // the system:kube-controller-manager ClusterRole covers only what the manager needs beside its
  // controllers' own accounts (no EndpointSlice writes, for one): system:masters covers the rest.
  const controllerManager = issue('controller-manager', '/O=system:masters/CN=system:kube-controller-manager', [
    'extendedKeyUsage=clientAuth',
  ]);
  const serviceAccount = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(f('sa.key'), serviceAccount.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(f('sa.pub'), serviceAccount.publicKey.export({ type: 'spki', format: 'pem' }));
  return {
    caFile,
    caPem: readFileSync(caFile, 'utf8'),
    servingCert: apiserver.certFile,
    servingKey: apiserver.keyFile,
    adminCert: admin.certFile,
    adminKey: admin.keyFile,
    controllerManagerCert: controllerManager.certFile,
    controllerManagerKey: controllerManager.keyFile,
    serviceAccountPrivateKey: f('sa.key'),
    serviceAccountPublicKey: f('sa.pub'),
  };
}

function kubeconfig(server: string, caPem: string, user: { clientCert: Buffer; clientKey: Buffer } | { token: string }): string {
  const b64 = (data: string | Buffer) => Buffer.from(data).toString('base64');
  const userEntry =
    'token' in user ? { token: user.token } : { 'client-certificate-data': b64(user.clientCert), 'client-key-data': b64(user.clientKey) };
  // JSON is valid YAML, and kubeconfig loaders (kubectl, @kubernetes/client-node) read both.
  return (
    JSON.stringify(
      {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': b64(caPem) } }],
        users: [{ name: 'test', user: userEntry }],
        contexts: [{ name: 'test', context: { cluster: 'test', user: 'test' } }],
        'current-context': 'test',
      },
      null,
      2,
    ) + '\n'
  );
}

// ---- HTTP -----------------------------------------------------------------------------------------

interface ClientCertificate {
  ca: string;
  cert: string;
  key: string;
}

type Credentials = ClientCertificate | { ca: string; token: string } | { insecure: true } | Record<string, never>;

function tlsOptions(credentials: Credentials): Record<string, unknown> {
  if ('insecure' in credentials) return { rejectUnauthorized: false };
  if ('cert' in credentials) return { ca: credentials.ca, cert: credentials.cert, key: credentials.key };
  if ('token' in credentials) return { ca: credentials.ca, headers: { authorization: `Bearer ${credentials.token}` } };
  return {};
}

function send(
  requester: typeof httpsRequest | typeof httpRequest,
  url: string,
  credentials: Credentials,
  opts: { method?: string; body?: string | undefined; contentType?: string; timeoutMs?: number } = {},
): Promise<ApiResponse> {
  return new Promise((resolveResponse, reject) => {
    const tls = tlsOptions(credentials);
    const headers: Record<string, string> = { accept: 'application/json', ...(tls['headers'] as Record<string, string>) };
    delete tls['headers'];
    if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    const req = requester(url, { method: opts.method ?? 'GET', headers, agent: false, ...tls }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.once('end', () => resolveResponse({ status: res.statusCode ?? 0, body }));
      res.once('error', reject);
    });
    req.setTimeout(opts.timeoutMs ?? 10_000, () => req.destroy(new Error(`no answer from ${url}`)));
    req.once('error', reject);
    req.end(opts.body);
  });
}

function get(requester: typeof httpsRequest | typeof httpRequest, url: string, credentials: Credentials): Promise<ApiResponse> {
  return send(requester, url, credentials, { timeoutMs: 2000 });
}

function withQuery(path: string, query: Record<string, string>): string {
  return path + (path.includes('?') ? '&' : '?') + new URLSearchParams(query).toString();
}

/** Follows one watch response until predicate matches, the server ends it, or timeoutMs runs out. */
function watchUntil<T>(
  url: string,
  credentials: Credentials,
  predicate: (object: T) => boolean,
  timeoutMs: number,
  onSeen: (object: T) => void,
): Promise<{ matched: true; object: T } | { matched: false }> {
  return new Promise((resolveOutcome, reject) => {
    const tls = tlsOptions(credentials);
    let settled = false;
    const finish = (outcome: { matched: true; object: T } | { matched: false }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolveOutcome(outcome);
    };
    const req = httpsRequest(url, { headers: { accept: 'application/json' }, agent: false, ...tls }, (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        res.resume();
        settled = true;
        clearTimeout(timer);
        reject(new Error(`watch ${url}: HTTP ${res.statusCode}`));
        return;
      }
      onWatchEvents<T>(res, (event) => {
        // ERROR carries a Status, e.g. 410 Gone for an expired resourceVersion: relist.
        if (event.type === 'ERROR') {
          finish({ matched: false });
          return false;
        }
        if (event.type !== 'ADDED' && event.type !== 'MODIFIED') return true;
        onSeen(event.object);
        if (predicate(event.object)) {
          finish({ matched: true, object: event.object });
          return false;
        }
        return true;
      });
      res.once('end', () => finish({ matched: false }));
      res.once('error', () => finish({ matched: false }));
    });
    const timer = setTimeout(() => finish({ matched: false }), Math.max(0, timeoutMs));
    req.once('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

/** Polls ready() until it says yes; fails as soon as the process exits. */
async function waitUntil(child: ChildProcess, ready: () => Promise<boolean>, deadline: number): Promise<void> {
  let lastProblem = 'not ready yet';
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  while (performance.now() < deadline) {
    if (spawnError !== undefined) throw new Error(`could not run it: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`it exited (${child.exitCode ?? child.signalCode}) before serving`);
    }
    try {
      if (await ready()) return;
    } catch (err) {
      lastProblem = (err as Error).message;
    }
    // None of the three announces readiness other than through its health endpoint.
    await delay(READINESS_POLL_MS);
  }
  throw new Error(`not ready by the deadline (${lastProblem})`);
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await findFreePort());
  return [...ports];
}

// ---- Processes ------------------------------------------------------------------------------------

function runKubectl(command: string, args: readonly string[], opts: KubectlOptions): Promise<KubectlResult> {
  return new Promise((resolveResult, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    trackChild(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timeoutMs = opts.timeoutMs ?? DEFAULT_KUBECTL_TIMEOUT_MS;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n(killed after ${timeoutMs} ms)`;
      resolveResult({ stdout, stderr, code: timedOut ? -1 : (code ?? -1) });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Spawns command with stdout and stderr appended to logFile, killed when this process exits. */
function spawnTracked(command: string, args: readonly string[], logFile: string): ChildProcess {
  const [file, fileArgs] = existsSync('/usr/bin/setpriv')
    ? ['/usr/bin/setpriv', ['--pdeathsig', 'SIGKILL', '--', command, ...args]]
    : [command, [...args]];
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(file, fileArgs, { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  trackChild(child);
  return child;
}

/** SIGTERM unless the child has exited, then waits for its exit (SIGKILL after STOP_TIMEOUT_MS). */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** KUBE_TEST_KEEP_DIR=1 keeps the temp directories (logs, etcd data) for a look after a failure. */
const KEEP_VARIABLE = 'KUBE_TEST_KEEP_DIR';
const keepDirs = (): boolean => isKept(KEEP_VARIABLE);

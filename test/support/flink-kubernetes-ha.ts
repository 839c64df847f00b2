/**
 * Real Flink JobManagers with Kubernetes high availability (leader election in a ConfigMap) against
 * the test control plane of test/support/control-plane.ts, for the tests of the sidecar's
 * Kubernetes source:
 *
 *   const account = await createFlinkHaAccount(cp);          // namespace, ServiceAccount, Role, kubeconfig
 *   const cluster = await KubernetesHaCluster.start({ version: '2.3.0', controlPlane: cp, account });
 *   const { leader, standbys, configMap } = await cluster.settledLeader();
 *   await cluster.kill(leader.jm, 'SIGKILL');
 *   ...
 *   await cluster.stop();
 *
 * The JobManagers are started by test/support/flink-jobmanager.ts on the classpath with
 * flink-kubernetes, each with a conf dir of its own (free loopback ports) sharing the cluster-id and
 * the HA storage directory. They authenticate as a ServiceAccount of their own namespace with a
 * TokenRequest token, as in a pod (and because the fabric8 client of Flink 1.20 refuses the EC
 * client key of the control plane's admin kubeconfig: "Invalid DER: object is not integer"). Who leads is read from Flink itself: each JobManager's log (the REST endpoint's grant
 * line, and the lock identity its leader elector logs) and the ConfigMap it writes.
 *
 * Every JVM is killed and every directory removed when the test process exits, also when stop()
 * was never called (test/support/exit-cleanup.ts).
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ControlPlane, KubeObject } from './control-plane.js';
import {
  fetchFlink,
  startFlinkJobManager,
  waitForLeader,
  whoLeads,
  writeFlinkConfDir,
  type FlinkConfDir,
  type FlinkJobManager,
  type KubernetesHaKey,
} from './flink-jobmanager.js';
import { Informer, requestToken } from './kubelet-standin.js';

/**
 * The versions the Kubernetes HA tests run: the newest 1.20 and 2.x whose flink-kubernetes Maven
 * Central has. It lacks flink-kubernetes for 1.19.2 and later and 1.20.2 and later (every other
 * artifact of those releases is there), so 1.20.1 stands in for the 1.20.5 of FLINK_VERSIONS.
 */
export const KUBERNETES_HA_VERSIONS = ['1.20.1', '2.3.0'] as const;

/** The lock annotation of fabric8's ConfigMapLock, which Flink's KubernetesLeaderElector uses. */
export const LEADER_ANNOTATION_KEY = 'control-plane.alpha.kubernetes.io/leader';
/** KubernetesUtils#createSingleLeaderKey("restserver"): the REST endpoint's leader information, 1.15 on. */
export const REST_SERVER_LEADER_KEY = 'org.apache.flink.k8s.leader.restserver';

/** The ConfigMap of the leader election and every component's leader information, 1.15 on. */
export function clusterConfigMapName(clusterId: string): string {
  return `${clusterId}-cluster-config-map`;
}

/**
 * The verbs on configmaps a JobManager's ServiceAccount needs for leader election and leader
 * information, by what real JobManagers asked the API server for (its audit log): get, create
 * (the first JobManager creates the ConfigMap), list and watch (Flink's shared informer), update
 * (Flink's resourceVersion-guarded writes of data) and patch (the lock's annotation updates, from
 * Flink 1.18 on; fabric8 5 and older used update). Deleting the ConfigMaps when a cluster shuts down for good needs delete as well; no
 * test here does that.
 */
export const FLINK_HA_CONFIGMAP_VERBS: readonly string[] = ['get', 'list', 'watch', 'create', 'update', 'patch'];

const DEFAULT_LEASE_DURATION_MS = 3000;
const DEFAULT_RENEW_DEADLINE_MS = 3000;
const DEFAULT_RETRY_PERIOD_MS = 500;
const DEFAULT_LEADER_TIMEOUT_MS = 120_000;
/** TokenRequest's expiry for the JobManagers' token: longer than any test, short enough to be harmless. */
const TOKEN_EXPIRATION_SECONDS = 2 * 3600;

// ---- the ConfigMap ---------------------------------------------------------------------------------

export interface HaConfigMap extends KubeObject {
  metadata: KubeObject['metadata'] & {
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    creationTimestamp?: string;
  };
  data?: Record<string, string>;
}

/**
 * fabric8's LeaderElectionRecord as the annotation holds it. leaseDuration is whatever the JSON
 * says: decimal seconds (3.0) from the fabric8 6 of Flink 1.x, an ISO-8601 duration ("PT3S") from
 * the fabric8 7 of Flink 2.x.
 */
export interface LeaderElectionRecord {
  holderIdentity: string;
  leaseDuration: number | string;
  acquireTime: string;
  renewTime: string;
  leaderTransitions: number;
}

/** The lock annotation's record, or undefined when the ConfigMap has none. */
export function leaderRecord(configMap: HaConfigMap): LeaderElectionRecord | undefined {
  const raw = configMap.metadata.annotations?.[LEADER_ANNOTATION_KEY];
  return raw === undefined ? undefined : (JSON.parse(raw) as LeaderElectionRecord);
}

/** A record's leaseDuration in ms, from either of the formats fabric8 writes. */
export function leaseDurationMs(record: LeaderElectionRecord): number {
  const { leaseDuration } = record;
  if (typeof leaseDuration === 'number') return Math.round(leaseDuration * 1000);
  const iso = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(leaseDuration);
  if (iso === null || leaseDuration === 'PT') throw new Error(`not a lease duration: ${JSON.stringify(leaseDuration)}`);
  return Math.round(((Number(iso[1] ?? 0) * 60 + Number(iso[2] ?? 0)) * 60 + Number(iso[3] ?? 0)) * 1000);
}

export interface LeaderInformation {
  sessionId: string;
  address: string;
}

/**
 * The REST endpoint's leader information, split as KubernetesUtils#parseLeaderInformation splits
 * it (at the first comma), or undefined when the key is absent.
 */
export function restServerLeader(configMap: HaConfigMap): LeaderInformation | undefined {
  const value = configMap.data?.[REST_SERVER_LEADER_KEY];
  if (value === undefined) return undefined;
  const comma = value.indexOf(',');
  if (comma < 0) throw new Error(`${REST_SERVER_LEADER_KEY} without a comma: ${JSON.stringify(value)}`);
  return { sessionId: value.slice(0, comma), address: value.slice(comma + 1) };
}

// ---- the JobManagers' identity ---------------------------------------------------------------------

export interface FlinkHaAccount {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** A kubeconfig authenticating as the ServiceAccount with a TokenRequest token (kubernetes.config.file). */
  readonly kubeconfigFile: string;
  /** The verbs its Role grants on configmaps. */
  readonly verbs: readonly string[];
}

export interface FlinkHaAccountOptions {
  /** Prefix of the new namespace's name. Default 'flink-ha'. */
  namespacePrefix?: string;
  /** Default 'flink'. */
  serviceAccount?: string;
  /** Verbs on configmaps for its Role. Default FLINK_HA_CONFIGMAP_VERBS. */
  verbs?: readonly string[];
}

/**
 * A new namespace with a ServiceAccount, a Role granting `verbs` on configmaps in that namespace
 * and nothing else, its RoleBinding, and a kubeconfig that authenticates as the account. The
 * kubeconfig lives in the control plane's directory and goes with it.
 */
export async function createFlinkHaAccount(cp: ControlPlane, opts: FlinkHaAccountOptions = {}): Promise<FlinkHaAccount> {
  const namespace = await cp.createNamespace(opts.namespacePrefix ?? 'flink-ha');
  const serviceAccount = opts.serviceAccount ?? 'flink';
  const verbs = opts.verbs ?? FLINK_HA_CONFIGMAP_VERBS;
  const objects = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: serviceAccount, namespace } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'flink-ha', namespace },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'flink-ha', namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'flink-ha' },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
    },
  ];
  await cp.kubectlOk(['apply', '-f', '-'], { input: objects.map((o) => `---\n${JSON.stringify(o)}\n`).join('') });
  const token = await requestToken(cp, namespace, serviceAccount, { expirationSeconds: TOKEN_EXPIRATION_SECONDS });
  return { namespace, serviceAccount, kubeconfigFile: await cp.writeTokenKubeconfig(token), verbs };
}

// ---- a cluster of JobManagers ----------------------------------------------------------------------

/**
 * The line KubernetesLeaderElector's constructor logs, naming the ConfigMap and the JobManager's
 * lock identity (the holderIdentity its leadership shows in the annotation):
 *   1.18: "Create KubernetesLeaderElector <name> with lock identity <identity>."
 *   1.19 on: "Create KubernetesLeaderElector on lock ConfigMapLock: <namespace> - <name> (<identity>)."
 */
const LOCK_IDENTITY =
  / - Create KubernetesLeaderElector (?:(\S+) with lock identity ([0-9a-f-]+)|on lock ConfigMapLock: \S+ - (\S+) \(([0-9a-f-]+)\))\.\s*$/;

export interface KubernetesHaClusterOptions {
  version: string;
  controlPlane: ControlPlane;
  account: FlinkHaAccount;
  /** kubernetes.cluster-id and high-availability.cluster-id; default a new unique one. */
  clusterId?: string;
  /** How many JobManagers. Default 2. */
  jobManagers?: number;
  /** high-availability.kubernetes.leader-election.lease-duration. Default 3000. */
  leaseDurationMs?: number;
  /** high-availability.kubernetes.leader-election.renew-deadline. Default 3000. */
  renewDeadlineMs?: number;
  /** high-availability.kubernetes.leader-election.retry-period. Default 500. */
  retryPeriodMs?: number;
  /**
   * Which key selects Kubernetes high availability: one for all, or one per JobManager. Default
   * 'type' (high-availability.type).
   */
  haKey?: KubernetesHaKey | readonly KubernetesHaKey[];
  /** Raw conf entries, as writeFlinkConfDir's extra. */
  extra?: Record<string, string | null>;
  /** Bound on each JobManager's start. */
  startTimeoutMs?: number;
}

export interface KubernetesHaMember {
  readonly conf: FlinkConfDir;
  /** Replaced by restart(). */
  jm: FlinkJobManager;
}

export interface SettledKubernetesLeader {
  leader: KubernetesHaMember;
  /** The other members whose JobManager runs. */
  standbys: KubernetesHaMember[];
  /** leaderSessionID of the leader's grant, which its restserver leader information carries. */
  sessionId: string;
  /** The leader's lock identity, the annotation's holderIdentity. */
  lockIdentity: string;
  /** The ConfigMap version that showed it. */
  configMap: HaConfigMap;
}

export class KubernetesHaCluster {
  private readonly informers = new Set<Informer<HaConfigMap>>();

  private constructor(
    readonly options: Readonly<KubernetesHaClusterOptions>,
    readonly clusterId: string,
    readonly members: KubernetesHaMember[],
  ) {}

  /** Writes a conf dir per JobManager (one cluster-id and HA storage dir) and starts them all at once. */
  static async start(options: KubernetesHaClusterOptions): Promise<KubernetesHaCluster> {
    const { version, account } = options;
    const clusterId = options.clusterId ?? `k8s-ha-${version.replaceAll('.', '-')}-${randomBytes(3).toString('hex')}`;
    const count = options.jobManagers ?? 2;
    const { haKey = 'type' } = options;
    const haKeys: readonly KubernetesHaKey[] = typeof haKey === 'string' ? Array.from({ length: count }, () => haKey) : haKey;
    if (haKeys.length !== count) throw new Error(`${haKeys.length} HA keys for ${count} JobManagers`);
    const kubernetes = {
      namespace: account.namespace,
      kubeconfigFile: account.kubeconfigFile,
      leaseDurationMs: options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS,
      renewDeadlineMs: options.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS,
      retryPeriodMs: options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS,
    };
    await fetchFlink(version, { kubernetes: true });
    const confs: FlinkConfDir[] = [];
    for (const haKey of haKeys) {
      confs.push(
        await writeFlinkConfDir({
          version,
          kubernetes: { ...kubernetes, haKey },
          clusterId,
          extra: options.extra,
          storageDir: confs[0]?.storageDir,
        }),
      );
    }
    const started = await Promise.allSettled(
      confs.map((conf) => startFlinkJobManager({ version, confDir: conf, startTimeoutMs: options.startTimeoutMs })),
    );
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.kill('SIGKILL') : Promise.resolve())));
      await Promise.all(confs.map((conf) => conf.remove()));
      throw failed.reason;
    }
    const members = confs.map((conf, i) => ({ conf, jm: (started[i] as PromiseFulfilledResult<FlinkJobManager>).value }));
    return new KubernetesHaCluster(options, clusterId, members);
  }

  get namespace(): string {
    return this.options.account.namespace;
  }

  get configMapName(): string {
    return clusterConfigMapName(this.clusterId);
  }

  get configMapPath(): string {
    return `/api/v1/namespaces/${this.namespace}/configmaps/${this.configMapName}`;
  }

  get jobManagers(): FlinkJobManager[] {
    return this.members.map((m) => m.jm);
  }

  memberOf(jm: FlinkJobManager): KubernetesHaMember {
    const member = this.members.find((m) => m.jm === jm);
    if (member === undefined) throw new Error(`JobManager pid ${jm.pid} is not a member of ${this.clusterId}`);
    return member;
  }

  /** The cluster's ConfigMap as the API server has it now, read as admin; undefined before it exists. */
  async readConfigMap(): Promise<HaConfigMap | undefined> {
    const res = await this.options.controlPlane.request('GET', this.configMapPath);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`GET ${this.configMapPath}: ${res.status} ${res.body}`);
    return JSON.parse(res.body) as HaConfigMap;
  }

  /**
   * Lists and then watches the cluster's ConfigMap (by name, as admin): `events` holds every
   * version the API server published from now on, with its arrival time. Stopped by stop() if not
   * before.
   */
  async watchConfigMap(): Promise<Informer<HaConfigMap>> {
    const informer = await Informer.start<HaConfigMap>(
      this.options.controlPlane,
      `/api/v1/namespaces/${this.namespace}/configmaps?fieldSelector=${encodeURIComponent(`metadata.name=${this.configMapName}`)}`,
    );
    this.informers.add(informer);
    return informer;
  }

  /** Resolves with the first version of the ConfigMap, now or to come, that satisfies predicate. */
  waitForConfigMap(predicate: (configMap: HaConfigMap) => boolean, timeoutMs: number): Promise<HaConfigMap> {
    return this.options.controlPlane.waitFor<HaConfigMap>(
      `/api/v1/namespaces/${this.namespace}/configmaps?fieldSelector=${encodeURIComponent(`metadata.name=${this.configMapName}`)}`,
      predicate,
      { timeoutMs },
    );
  }

  /** The JobManager's lock identity, from the line its leader elector logs at start. */
  async lockIdentity(jm: FlinkJobManager): Promise<string> {
    const { match } = await jm.waitForLog(LOCK_IDENTITY, 30_000);
    const [name, identity] = match[1] !== undefined ? [match[1], match[2]!] : [match[3]!, match[4]!];
    if (name !== this.configMapName) throw new Error(`JobManager pid ${jm.pid} locks ${name}, not ${this.configMapName}`);
    return identity;
  }

  /** The running JobManagers that say, by their own logs, that they lead (whoLeads). */
  whoLeads(): Promise<FlinkJobManager[]> {
    return whoLeads(this.jobManagers.filter((jm) => jm.isRunning()));
  }

  /**
   * Once exactly one running JobManager leads by its log, and the ConfigMap shows it: its lock
   * identity holds the lock and the restserver leader information is `<its grant's session
   * ID>,<its REST URL>`.
   */
  async settledLeader(timeoutMs = DEFAULT_LEADER_TIMEOUT_MS): Promise<SettledKubernetesLeader> {
    const deadline = performance.now() + timeoutMs;
    const left = (): number => Math.max(1000, deadline - performance.now());
    const running = this.jobManagers.filter((jm) => jm.isRunning());
    let leaders = await whoLeads(running);
    while (leaders.length !== 1) {
      const since = new Map(await Promise.all(running.map(async (jm) => [jm, (await jm.logLines()).length] as const)));
      await waitForLeader(running, left(), since);
      leaders = await whoLeads(running);
    }
    const jm = leaders[0]!;
    const { sessionId, url } = await jm.leadership();
    const lockIdentity = await this.lockIdentity(jm);
    const configMap = await this.waitForConfigMap(
      (cm) => leaderRecord(cm)?.holderIdentity === lockIdentity && cm.data?.[REST_SERVER_LEADER_KEY] === `${sessionId},${url}`,
      left(),
    );
    const leader = this.memberOf(jm);
    return {
      leader,
      standbys: this.members.filter((m) => m !== leader && m.jm.isRunning()),
      sessionId: sessionId!,
      lockIdentity,
      configMap,
    };
  }

  /** How many lines each running JobManager has logged so far: take it before a kill, for nextLeader. */
  async logPositions(): Promise<Map<FlinkJobManager, number>> {
    const running = this.jobManagers.filter((jm) => jm.isRunning());
    return new Map(await Promise.all(running.map(async (jm) => [jm, (await jm.logLines()).length] as const)));
  }

  /**
   * The first JobManager other than `except` to log a grant after `since` (logPositions() taken
   * before `except` was stopped): who took over, and its leader session ID.
   */
  async nextLeader(
    except: FlinkJobManager,
    since: ReadonlyMap<FlinkJobManager, number>,
    timeoutMs = DEFAULT_LEADER_TIMEOUT_MS,
  ): Promise<{ jm: FlinkJobManager; sessionId: string }> {
    const others = this.jobManagers.filter((jm) => jm !== except && jm.isRunning());
    const { leader, line } = await waitForLeader(others, timeoutMs, since);
    return { jm: leader, sessionId: line.match[2]! };
  }

  /** SIGKILL (kill -9) or SIGTERM (Flink's graceful shutdown), resolving once the JVM has exited. */
  kill(jm: FlinkJobManager, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    return jm.kill(signal);
  }

  /** A JobManager started again on its conf dir (same ports), as a kubelet restarts a container. */
  async restart(member: KubernetesHaMember): Promise<FlinkJobManager> {
    await member.jm.kill('SIGKILL');
    member.jm = await startFlinkJobManager({
      version: this.options.version,
      confDir: member.conf,
      startTimeoutMs: this.options.startTimeoutMs,
    });
    return member.jm;
  }

  /**
   * Writes the ConfigMap as it is now to `file` (pretty JSON, server-managed fields that differ
   * per run removed: uid, managedFields), for fixtures. Returns what was written.
   */
  async captureConfigMap(file: string, configMap?: HaConfigMap): Promise<HaConfigMap> {
    const current = configMap ?? (await this.readConfigMap());
    if (current === undefined) throw new Error(`${this.configMapName} does not exist`);
    const {
      managedFields: _managed,
      uid: _uid,
      ...metadata
    } = current.metadata as HaConfigMap['metadata'] & {
      managedFields?: unknown;
      uid?: string;
    };
    // Items of a list carry no kind and apiVersion; a GET and a watch event do.
    const captured = { kind: 'ConfigMap', apiVersion: 'v1', ...current, metadata } as HaConfigMap;
    await writeFile(file, `${JSON.stringify(captured, null, 2)}\n`);
    return captured;
  }

  /** Watches, then JobManagers (SIGKILL), then their directories. The ConfigMap stays. */
  async stop(): Promise<void> {
    for (const informer of this.informers) informer.stop();
    this.informers.clear();
    await Promise.all(this.members.map((m) => m.jm.kill('SIGKILL')));
    await Promise.all(this.members.map((m) => m.conf.remove()));
  }
}

// __filename rather than __dirname: tsx's loader, when an ES module imports this file, evaluates it
// from a data: URL and sets only __filename correctly.
const FIXTURES_DIR = join(dirname(__filename), '..', 'fixtures', 'kubernetes-ha');

/** test/fixtures/kubernetes-ha/<version>-<name>.json. */
export function fixturePath(version: string, name: string): string {
  return join(FIXTURES_DIR, `${version}-${name}.json`);
}

/**
 * A JobManager's side of Flink's Kubernetes high availability, without the JobManager: one
 * contender for the ConfigMap lock that Flink's KubernetesLeaderElector (fabric8's LeaderElector
 * with a ConfigMapLock) contends for, talking to a real kube-apiserver, and publishing the REST
 * endpoint's leader information the way Flink's leader election driver does. Tests use it to drive
 * the sidecar's safety scenarios deterministically: two contenders, a kill -9, a frozen process,
 * a graceful stop, a garbage annotation, a deleted ConfigMap.
 *
 * Every behaviour below follows a public upstream source file, cited where it is implemented:
 *   apache/flink flink-kubernetes/src/main/java/org/apache/flink/kubernetes/...
 *     kubeclient/resources/KubernetesLeaderElector.java   (elector configuration, release on cancel)
 *     highavailability/KubernetesLeaderElectionDriver.java (1.12-1.14 and 1.18+: data writes, watch)
 *     highavailability/KubernetesMultipleComponentLeaderElectionDriver.java (1.15-1.17)
 *     kubeclient/Fabric8FlinkKubeClient.java#checkAndUpdateConfigMap (guarded data updates)
 *     utils/KubernetesUtils.java, utils/Constants.java     (names, labels, data encoding)
 *   apache/flink flink-runtime/src/main/java/org/apache/flink/runtime/leaderelection/
 *     DefaultLeaderElectionService.java (grant, revoke, correction, removal on shutdown)
 *   fabric8io/kubernetes-client kubernetes-client-api/src/main/java/io/fabric8/kubernetes/client/
 *     extended/leaderelection/LeaderElector.java          (acquire, renew, release, expiry)
 *     extended/leaderelection/resourcelock/ResourceLock.java, ConfigMapLock.java (lock writes)
 *     extended/leaderelection/resourcelock/LeaderElectionRecord.java (annotation JSON)
 *     utils/KubernetesSerialization.java                  (how a Duration is written)
 *   (before fabric8 6.0 the same classes live under kubernetes-client/src/main/java/...)
 *
 * Flink's behaviour changed between releases, mostly with the fabric8 version it shades; the
 * profile (flinkHaProfile()) holds each difference, and the contender follows the profile of the
 * Flink version it stands in for.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { parse as parseYaml } from 'yaml';

// ---- What differs between Flink versions --------------------------------------------------------

/** Where the REST endpoint's leader information lives: one ConfigMap per component up to 1.14, one for all from 1.15. */
export type HaLayout = '1.14' | '1.15';

export interface FlinkHaProfile {
  /** `major.minor` of the Flink release this profile stands for. */
  readonly flinkVersion: string;
  /** The fabric8 kubernetes-client that release shades (its flink-kubernetes jar's NOTICE). */
  readonly fabric8: string;
  readonly layout: HaLayout;
  /**
   * How the annotation writes leaseDuration. fabric8 before 6.13 lets Jackson write a Duration as
   * decimal seconds (15.000000000); 6.13 (Flink 2.0) disabled WRITE_DURATIONS_AS_TIMESTAMPS in
   * KubernetesSerialization, so the lease is an ISO-8601 string ("PT15S") from then on.
   */
  readonly leaseDurationFormat: 'decimal-seconds' | 'iso-8601';
  /**
   * fabric8 before 6.1 (Flink up to 1.17) counts renewals by the same holder in leaderTransitions
   * and resets it to 0 when another contender takes over; from 6.1 it counts holder changes.
   */
  readonly leaderTransitions: 'counts-renewals' | 'counts-holder-changes';
  /** Lock writes: fabric8 5.x replaces the ConfigMap (PUT); 6.5+ sends a JSON merge patch. Both carry the read resourceVersion. */
  readonly lockWrite: 'replace' | 'merge-patch';
  /**
   * fabric8 5.x gives up leading only when one renewal attempt runs past renewDeadline; 6.x when
   * no renewal has succeeded for renewDeadline.
   */
  readonly renewDeadline: 'per-attempt' | 'since-last-renewal';
  /** canBecomeLeader: an expired lease is `now >= renewTime + lease` before fabric8 6.13, `now > ...` from 6.13. */
  readonly expiryStrict: boolean;
  /** fabric8 6.x treats an empty holderIdentity as a free lock; 5.x never writes one. */
  readonly emptyHolderIsFree: boolean;
  /** Flink 1.19+ builds the elector withReleaseOnCancel(true): stopping while leading writes holderIdentity "" (lease 1 s). */
  readonly releaseOnStop: boolean;
  /** Flink 1.19+ hands the lock labels in its ObjectMeta, so the lock's create and patches carry them. */
  readonly labelsOnLock: boolean;
  /** Flink up to 1.18 adds the labels on every leader-information write instead. */
  readonly labelsOnDataWrite: boolean;
  /** `configmap-type: high-availability`, dropped in Flink 2.0. */
  readonly configMapTypeLabel: boolean;
  /** Up to 1.17 a revoked leader clears its leader information (a write guarded by the annotation still naming it). */
  readonly clearOnRevoke: boolean;
  /** From 1.15 a graceful shutdown removes the component's leader information while still holding the lock. */
  readonly removeOnStop: boolean;
  /** From 1.18 a holder with nothing confirmed resets leader information someone else wrote; before, only a confirmed leader corrects. */
  readonly resetUnconfirmed: boolean;
  /** kubernetes.transactional-operation.max-retries' default: 5 up to 1.19, 15 from 1.20. */
  readonly dataWriteRetries: number;
}

/** The Flink version the project's real-Flink tests default to (test/flink/pom.xml). */
export const DEFAULT_FLINK_VERSION = '2.3';

/**
 * The profile of a Flink release ("1.14", "1.18.1", "2.3.0", ...), from the sources of
 * flink-kubernetes 1.12.7, 1.14.6, 1.15.4, 1.17.2, 1.18.1, 1.19.1, 1.20.1, 2.0.0, 2.1.0, 2.2.0 and
 * 2.3.0 and of the fabric8 tags they shade (4.9.2, 5.5.0, 5.12.4, 6.6.2, 6.9.2, 6.13.4, 7.3.1).
 * 1.13 and 1.16 are placed between their neighbours (fabric8 4.9.2 to 5.12.4 behave alike in
 * everything here). `layout` '1.14' with a 1.15-1.17 version is
 * high-availability.use-old-ha-services: true.
 */
export function flinkHaProfile(flinkVersion: string, layout?: HaLayout): FlinkHaProfile {
  const match = /^(\d+)\.(\d+)(?:\.\d+)?$/.exec(flinkVersion);
  if (match === null) throw new Error(`not a Flink version: ${flinkVersion}`);
  const v = Number(match[1]) * 100 + Number(match[2]);
  if (v < 112) throw new Error(`Flink ${flinkVersion} has no Kubernetes high availability (1.12 or newer)`);
  const at = (minor: number) => v >= minor;
  const ownLayout: HaLayout = at(115) ? '1.15' : '1.14';
  const chosen = layout ?? ownLayout;
  if (chosen === '1.15' && !at(115)) throw new Error(`Flink ${flinkVersion} keeps one ConfigMap per component (layout 1.14)`);
  if (chosen === '1.14' && at(118)) throw new Error(`Flink ${flinkVersion} has no per-component ConfigMaps (layout 1.15)`);
  const fabric8 = at(202)
    ? '7.3.1'
    : at(200)
      ? '6.13.4'
      : at(119)
        ? '6.9.2'
        : at(118)
          ? '6.6.2'
          : at(117)
            ? '5.12.4'
            : at(114)
              ? '5.5.0'
              : '4.9.2';
  return {
    flinkVersion: `${match[1]}.${match[2]}`,
    fabric8,
    layout: chosen,
    leaseDurationFormat: at(200) ? 'iso-8601' : 'decimal-seconds',
    leaderTransitions: at(118) ? 'counts-holder-changes' : 'counts-renewals',
    lockWrite: at(118) ? 'merge-patch' : 'replace',
    renewDeadline: at(118) ? 'since-last-renewal' : 'per-attempt',
    expiryStrict: at(200),
    emptyHolderIsFree: at(118),
    releaseOnStop: at(119),
    labelsOnLock: at(119),
    labelsOnDataWrite: !at(119),
    configMapTypeLabel: !at(200),
    clearOnRevoke: !at(118),
    // 1.15-1.17 with use-old-ha-services close the old per-component driver, which removes nothing.
    removeOnStop: chosen === '1.15',
    resetUnconfirmed: at(118),
    dataWriteRetries: at(120) ? 15 : 5,
  };
}

// ---- Names, labels and data (utils/Constants.java, utils/KubernetesUtils.java) -------------------

/** KubernetesLeaderElector.LEADER_ANNOTATION_KEY. */
export const LEADER_ANNOTATION_KEY = 'control-plane.alpha.kubernetes.io/leader';
/** 1.15+: KubernetesUtils.createSingleLeaderKey(componentId), the data key of a component's leader information. */
export function leaderKey(componentId: string): string {
  return `org.apache.flink.k8s.leader.${componentId}`;
}
/** The REST endpoint's component id (getLeaderPathForRestServer) and its 1.15+ data key. */
export const REST_SERVER_COMPONENT = 'restserver';
export const REST_SERVER_LEADER_KEY = leaderKey(REST_SERVER_COMPONENT);
/** 1.12-1.14: Constants.LEADER_ADDRESS_KEY and LEADER_SESSION_ID_KEY. */
export const LEADER_ADDRESS_KEY = 'address';
export const LEADER_SESSION_ID_KEY = 'sessionId';

/** `<cluster-id>-cluster-config-map` (1.15+) or `<cluster-id>-restserver-leader` (1.12-1.14). */
export function haConfigMapName(clusterId: string, layout: HaLayout): string {
  return layout === '1.15' ? `${clusterId}-cluster-config-map` : `${clusterId}-restserver-leader`;
}

/** KubernetesUtils.getConfigMapLabels: the common labels, plus configmap-type before 2.0. */
export function haConfigMapLabels(clusterId: string, profile: FlinkHaProfile): Record<string, string> {
  return {
    type: 'flink-native-kubernetes',
    app: clusterId,
    ...(profile.configMapTypeLabel ? { 'configmap-type': 'high-availability' } : {}),
  };
}

export interface LeaderInfo {
  sessionId: string;
  address: string;
}

// ---- The annotation (LeaderElectionRecord) -------------------------------------------------------

/** One LeaderElectionRecord; times in epoch microseconds, as Java writes them (integers, exact). */
export interface LeaderElectionRecord {
  /** A lock identity (UUID); "" after a release by fabric8 6.6-7.4; null where fabric8 omitted it. */
  holderIdentity: string | null;
  leaseDurationMs: number;
  acquireTimeMicros: number;
  renewTimeMicros: number;
  leaderTransitions: number;
}

/** `yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'` in UTC, LeaderElectionRecord's @JsonFormat. */
export function formatMicroTime(epochMicros: number): string {
  const ms = Math.floor(epochMicros / 1000);
  const micros = epochMicros - ms * 1000;
  const iso = new Date(ms).toISOString(); // yyyy-MM-ddTHH:mm:ss.SSSZ
  return `${iso.slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

/** The inverse of formatMicroTime; undefined unless exactly that pattern (Java's parser is as strict). */
export function parseMicroTime(text: string): number | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{6})Z$/.exec(text);
  if (m === null) return undefined;
  const seconds = Date.parse(`${m[1]}Z`);
  if (Number.isNaN(seconds)) return undefined;
  return seconds * 1000 + Number(m[2]);
}

/** Jackson's numeric Duration: seconds with nine decimals (DecimalUtils.toBigDecimal). */
export function formatDecimalSeconds(ms: number): string {
  const nanos = Math.round(ms * 1e6);
  const seconds = Math.floor(nanos / 1e9);
  return `${seconds}.${String(nanos - seconds * 1e9).padStart(9, '0')}`;
}

/** java.time.Duration#toString for a non-negative duration: PT15S, PT1S, PT0.5S, PT1M30S, PT1H. */
export function formatJavaDuration(ms: number): string {
  const totalMs = Math.round(ms);
  if (totalMs === 0) return 'PT0S';
  const hours = Math.floor(totalMs / 3_600_000);
  const minutes = Math.floor((totalMs % 3_600_000) / 60_000);
  const secMs = totalMs % 60_000;
  let out = 'PT';
  if (hours > 0) out += `${hours}H`;
  if (minutes > 0) out += `${minutes}M`;
  if (secMs > 0) {
    const whole = Math.floor(secMs / 1000);
    const frac = String(secMs % 1000)
      .padStart(3, '0')
      .replace(/0+$/, '');
    out += frac === '' ? `${whole}S` : `${whole}.${frac}S`;
  }
  return out;
}

/**
 * The annotation's JSON exactly as fabric8's Serialization writes a LeaderElectionRecord: fields in
 * declaration order, a null holderIdentity omitted (KubernetesSerialization's NON_NULL inclusion).
 */
export function formatLeaderElectionRecord(record: LeaderElectionRecord, profile: FlinkHaProfile): string {
  const lease =
    profile.leaseDurationFormat === 'iso-8601'
      ? JSON.stringify(formatJavaDuration(record.leaseDurationMs))
      : formatDecimalSeconds(record.leaseDurationMs);
  const holder = record.holderIdentity === null ? '' : `"holderIdentity":${JSON.stringify(record.holderIdentity)},`;
  return (
    `{${holder}"leaseDuration":${lease},"acquireTime":"${formatMicroTime(record.acquireTimeMicros)}",` +
    `"renewTime":"${formatMicroTime(record.renewTimeMicros)}","leaderTransitions":${record.leaderTransitions}}`
  );
}

/** Jackson's DurationDeserializer: decimal seconds or an ISO-8601 string. */
function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value * 1000;
  if (typeof value !== 'string') return undefined;
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(value);
  if (m === null || value === 'PT') return undefined;
  return (Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)) * 1000;
}

/**
 * What ConfigMapLock#toRecord makes of an annotation: undefined where Jackson would fail (then the
 * elector treats the lock as absent and tries to create it, which the existing ConfigMap refuses).
 * fabric8 5.x also requires a holderIdentity.
 */
export function parseLeaderElectionRecord(text: string, profile: FlinkHaProfile): LeaderElectionRecord | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const o = json as Record<string, unknown>;
  const holder = o['holderIdentity'];
  if (holder !== undefined && holder !== null && typeof holder !== 'string') return undefined;
  if ((holder === undefined || holder === null) && !profile.emptyHolderIsFree) return undefined;
  const leaseDurationMs = parseDuration(o['leaseDuration']);
  const acquire = typeof o['acquireTime'] === 'string' ? parseMicroTime(o['acquireTime']) : undefined;
  const renew = typeof o['renewTime'] === 'string' ? parseMicroTime(o['renewTime']) : undefined;
  const transitions = o['leaderTransitions'] ?? 0;
  if (leaseDurationMs === undefined || acquire === undefined || renew === undefined) return undefined;
  if (typeof transitions !== 'number' || !Number.isInteger(transitions)) return undefined;
  return {
    holderIdentity: holder ?? null,
    leaseDurationMs,
    acquireTimeMicros: acquire,
    renewTimeMicros: renew,
    leaderTransitions: transitions,
  };
}

// ---- The API server --------------------------------------------------------------------------------

export interface ConfigMap {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  data?: Record<string, string>;
  [key: string]: unknown;
}

export interface ApiResponse {
  status: number;
  body: string;
}

/** An error status from the API server; `code` as fabric8's KubernetesClientException#getCode. */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${code} ${body.slice(0, 300)}`);
  }
}

interface Credentials {
  server: string;
  ca?: string;
  cert?: string;
  key?: string;
  token?: string;
}

/** The current context of a kubeconfig (JSON or YAML), with embedded data or file paths. */
function readKubeconfig(path: string): Credentials {
  type Named<T> = { name: string } & T;
  const config = parseYaml(readFileSync(path, 'utf8')) as {
    'current-context'?: string;
    contexts?: Named<{ context: { cluster: string; user: string } }>[];
    clusters?: Named<{ cluster: Record<string, string> }>[];
    users?: Named<{ user: Record<string, string> }>[];
  };
  const context = config.contexts?.find((c) => c.name === config['current-context'])?.context;
  const cluster = config.clusters?.find((c) => c.name === context?.cluster)?.cluster;
  const user = config.users?.find((u) => u.name === context?.user)?.user ?? {};
  if (cluster?.['server'] === undefined) throw new Error(`${path}: no server in its current context`);
  const load = (data?: string, file?: string) =>
    data !== undefined ? Buffer.from(data, 'base64').toString('utf8') : file !== undefined ? readFileSync(file, 'utf8') : undefined;
  const creds: Credentials = { server: cluster['server'] };
  const ca = load(cluster['certificate-authority-data'], cluster['certificate-authority']);
  const cert = load(user['client-certificate-data'], user['client-certificate']);
  const key = load(user['client-key-data'], user['client-key']);
  if (ca !== undefined) creds.ca = ca;
  if (cert !== undefined) creds.cert = cert;
  if (key !== undefined) creds.key = key;
  if (user['token'] !== undefined) creds.token = user['token'];
  return creds;
}

/**
 * Plain HTTPS to the API server with one keep-alive agent, so that kill() can cut every connection
 * at once (a killed process's sockets close; its half-sent request may or may not have landed).
 */
class KubeApi {
  private readonly agent: Agent;
  private destroyed = false;

  constructor(
    private readonly creds: Credentials,
    private readonly requestTimeoutMs: number,
  ) {
    this.agent = new Agent({
      keepAlive: true,
      ...(creds.ca !== undefined ? { ca: creds.ca } : {}),
      ...(creds.cert !== undefined ? { cert: creds.cert } : {}),
      ...(creds.key !== undefined ? { key: creds.key } : {}),
    });
  }

  request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<ApiResponse> {
    return new Promise((resolveResponse, reject) => {
      if (this.destroyed) {
        reject(new Error('connection closed'));
        return;
      }
      const headers: Record<string, string> = { accept: 'application/json' };
      if (this.creds.token !== undefined) headers['authorization'] = `Bearer ${this.creds.token}`;
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      if (payload !== undefined) headers['content-type'] = contentType;
      const req = httpsRequest(`${this.creds.server}${path}`, { method, headers, agent: this.agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.once('end', () => resolveResponse({ status: res.statusCode ?? 0, body: text }));
        res.once('error', reject);
      });
      req.setTimeout(this.requestTimeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer in ${this.requestTimeoutMs} ms`)));
      req.once('error', reject);
      req.end(payload);
    });
  }

  /** Streams watch events until the server ends the response or close() is called. */
  watch(path: string, onEvent: (type: string, object: ConfigMap) => void, onEnd: (err?: Error) => void): { close(): void } {
    let ended = false;
    const end = (err?: Error) => {
      if (ended) return;
      ended = true;
      onEnd(err);
    };
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.creds.token !== undefined) headers['authorization'] = `Bearer ${this.creds.token}`;
    const req = httpsRequest(`${this.creds.server}${path}`, { headers, agent: this.agent }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        end(new Error(`watch ${path}: HTTP ${res.statusCode}`));
        return;
      }
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line === '') continue;
          const event = JSON.parse(line) as { type: string; object: ConfigMap };
          onEvent(event.type, event.object);
        }
      });
      res.once('end', () => end());
      res.once('error', (err) => end(err));
    });
    req.once('error', (err) => end(err));
    req.end();
    return {
      close: () => {
        ended = true;
        req.destroy();
      },
    };
  }

  destroy(): void {
    this.destroyed = true;
    this.agent.destroy();
  }
}

// ---- The contender -----------------------------------------------------------------------------------

export interface ConfigMapLockContenderOptions {
  /** Kubeconfig of a user allowed to read, write and watch ConfigMaps in `namespace` (e.g. ControlPlane#kubeconfigPath). */
  kubeconfigPath: string;
  namespace: string;
  /** kubernetes.cluster-id. */
  clusterId: string;
  /** Default: the version's own layout; '1.15' when neither is given. */
  layout?: HaLayout;
  /** The Flink release whose behaviour to follow (see flinkHaProfile). Default: '1.14' for layout '1.14', else DEFAULT_FLINK_VERSION. */
  flinkVersion?: string;
  /** The lock identity; Flink makes a random UUID per JobManager process (KubernetesHaServices / KubernetesLeaderElectionHaServices). */
  identity?: string;
  /** high-availability.kubernetes.leader-election.lease-duration; default 15 s. */
  leaseDurationMs?: number;
  /** ...renew-deadline; default 15 s. */
  renewDeadlineMs?: number;
  /** ...retry-period; default 5 s. */
  retryPeriodMs?: number;
  /** The REST endpoint's address as Flink publishes it, e.g. `http://10.244.1.11:8081`. */
  restAddress: string;
  /**
   * Further components to publish leader information for, by component id, in the 1.15+ layout:
   * a real JobManager also publishes `dispatcher` and `resourcemanager` (their RPC addresses, e.g.
   * `pekko.tcp://flink@10.244.1.11:6123/user/rpc/dispatcher_1`), all under one leader session.
   * Default none: the REST endpoint only.
   */
  otherComponents?: Record<string, string>;
  /**
   * Epoch milliseconds (fractions become microseconds), wherever fabric8 reads the wall clock: the
   * times it writes, the expiry check against the holder's renewTime, the renew deadline. A clock
   * ahead of the others' takes over early, as a skewed JobManager would. Default: the system clock
   * with sub-millisecond digits, as Java's ZonedDateTime.now() has.
   */
  clock?: () => number;
  /** For the acquire loop's jitter (LeaderElector.jitter); default Math.random. */
  random?: () => number;
  /** kubernetes.transactional-operation.max-retries; default the version's. */
  dataWriteRetries?: number;
  /** Per request; fabric8's default request timeout is 10 s. */
  requestTimeoutMs?: number;
  /**
   * Called after a guarded write has read the ConfigMap and before it writes, so that a test can
   * slip a conflicting write in between (the write then meets 409 and is retried as Flink does).
   */
  interpose?: (step: InterposedStep) => void | Promise<void>;
  /** Receives one line per thing done or seen; default: kept in `log` only. */
  logger?: (line: string) => void;
}

export interface InterposedStep {
  op: 'lock-create' | 'lock-update' | 'lock-release' | 'data-update';
  /** 1 for the first attempt of this guarded write. */
  attempt: number;
  /** The resourceVersion the write will carry (undefined for a create). */
  resourceVersion: string | undefined;
}

export interface StopOptions {
  /** Release the lock (holderIdentity "") if still holding it. Default: the profile's releaseOnStop. */
  release?: boolean;
  /** Remove the REST endpoint's leader information while holding the lock. Default: the profile's removeOnStop. */
  removeLeaderInfo?: boolean;
}

export interface RawWrite {
  /** The annotation's new value; null removes it; undefined leaves it. */
  annotation?: string | null;
  /** Data keys to set; a null value removes the key. */
  data?: Record<string, string | null>;
  labels?: Record<string, string | null>;
  /** Guard the write with this resourceVersion (the API server answers 409 when it is stale). */
  resourceVersion?: string;
}

/**
 * Events: 'leader' (sessionId) when granted leadership (Flink's isLeader callback); 'revoked' when
 * it is taken away (notLeader); 'newLeader' (holderIdentity) when the observed holder changes;
 * 'published' (LeaderInfo | null) after the REST endpoint's leader information was written;
 * 'fatal' (Error) when Flink would have called its fatal error handler, which ends the JobManager
 * process: the contender then stops like kill(); 'dead' (Error | undefined) once it is killed,
 * stopped or fatally failed (pending waitFor... promises reject then).
 */
export class ConfigMapLockContender extends EventEmitter {
  readonly identity: string;
  readonly profile: FlinkHaProfile;
  readonly configMapName: string;
  readonly namespace: string;
  readonly clusterId: string;
  readonly restAddress: string;
  /** Everything done and seen, one line each, oldest first. */
  readonly log: string[] = [];

  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly dataWriteRetries: number;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly api: KubeApi;
  private readonly opts: ConfigMapLockContenderOptions;

  private state: 'new' | 'running' | 'stopping' | 'stopped' | 'dead' = 'new';
  private session: ElectorSession | undefined;
  private sessionRun: Promise<void> | undefined;
  private issuedSessionId: string | undefined;
  /** Leader information confirmed per component, while leading. */
  private readonly confirmed = new Map<string, LeaderInfo>();
  /** Component id -> address: the REST endpoint and any otherComponents, as registered contenders. */
  private readonly components: ReadonlyMap<string, string>;
  private watch: { close(): void } | undefined;
  private watchRetry: NodeJS.Timeout | undefined;
  private lastSeenVersion: string | undefined;
  private watchQueue: Promise<void> = Promise.resolve();
  /** DefaultLeaderElectionService's lock: confirmations, corrections, clearing and removal never interleave. */
  private serviceLock: Promise<unknown> = Promise.resolve();
  private paused = false;
  private resumeWaiters: (() => void)[] = [];
  private lastWrittenRecord: LeaderElectionRecord | undefined;
  private lastWrittenAnnotation: string | undefined;
  private fatalError: Error | undefined;

  constructor(opts: ConfigMapLockContenderOptions) {
    super();
    this.opts = opts;
    const version = opts.flinkVersion ?? (opts.layout === '1.14' ? '1.14' : DEFAULT_FLINK_VERSION);
    this.profile = flinkHaProfile(version, opts.layout);
    this.identity = opts.identity ?? randomUUID();
    this.namespace = opts.namespace;
    this.clusterId = opts.clusterId;
    this.restAddress = opts.restAddress;
    this.configMapName = haConfigMapName(opts.clusterId, this.profile.layout);
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 15_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 5_000;
    this.dataWriteRetries = opts.dataWriteRetries ?? this.profile.dataWriteRetries;
    this.clock = opts.clock ?? (() => performance.timeOrigin + performance.now());
    this.random = opts.random ?? Math.random;
    this.api = new KubeApi(readKubeconfig(opts.kubeconfigPath), opts.requestTimeoutMs ?? 10_000);
    const others = Object.entries(opts.otherComponents ?? {});
    if (others.length > 0 && this.profile.layout === '1.14') {
      throw new Error('otherComponents: in the 1.14 layout every component has a ConfigMap and a lock of its own');
    }
    this.components = new Map([[REST_SERVER_COMPONENT, opts.restAddress], ...others]);
  }

  // ---- What a test reads ----

  /** Flink's view: leadership granted and not revoked since. */
  get isLeader(): boolean {
    return this.issuedSessionId !== undefined;
  }

  /** The leader session id of the current grant (undefined when not leading). */
  get sessionId(): string | undefined {
    return this.issuedSessionId;
  }

  /** The REST endpoint's leader information as confirmed (undefined when not leading, or not confirmed yet). */
  get confirmedLeaderInfo(): LeaderInfo | undefined {
    return this.confirmed.get(REST_SERVER_COMPONENT);
  }

  /** The last LeaderElectionRecord this contender wrote into the lock, and its exact JSON. */
  get lastRecord(): LeaderElectionRecord | undefined {
    return this.lastWrittenRecord;
  }

  get lastAnnotation(): string | undefined {
    return this.lastWrittenAnnotation;
  }

  /** The data key (1.15+) or keys (1.14) the REST endpoint's leader information lives in. */
  get dataKeys(): readonly string[] {
    return this.profile.layout === '1.15' ? [REST_SERVER_LEADER_KEY] : [LEADER_ADDRESS_KEY, LEADER_SESSION_ID_KEY];
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** Set once the contender ended as Flink's fatal error handler would have ended the JobManager. */
  get fatal(): Error | undefined {
    return this.fatalError;
  }

  /** Resolves with the session id once leading (at once if leading now). */
  waitForLeadership(timeoutMs = 60_000): Promise<string> {
    if (this.issuedSessionId !== undefined) return Promise.resolve(this.issuedSessionId);
    return this.waitForEvent<string>('leader', timeoutMs, `${this.identity} to become leader`);
  }

  /** Resolves once leadership is revoked (at once if not leading now). */
  waitForRevocation(timeoutMs = 60_000): Promise<void> {
    if (this.issuedSessionId === undefined) return Promise.resolve();
    return this.waitForEvent<undefined>('revoked', timeoutMs, `${this.identity} to lose leadership`);
  }

  /** Resolves with the next leader information write that landed. */
  waitForPublished(timeoutMs = 60_000): Promise<LeaderInfo | null> {
    return this.waitForEvent<LeaderInfo | null>('published', timeoutMs, `${this.identity} to publish leader information`);
  }

  private waitForEvent<T>(event: string, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolveEvent, reject) => {
      const onEvent = (value: T) => {
        cleanup();
        resolveEvent(value);
      };
      const onDead = (err?: Error) => {
        cleanup();
        reject(new Error(`waiting for ${what}: the contender ${err === undefined ? 'was killed' : `died: ${err.message}`}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`waiting for ${what}: not within ${timeoutMs} ms; last lines:\n${this.log.slice(-15).join('\n')}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off(event, onEvent);
        this.off('dead', onDead);
      };
      if (this.state === 'dead' || this.state === 'stopped') {
        onDead(this.fatalError);
        return;
      }
      this.on(event, onEvent);
      this.on('dead', onDead);
    });
  }

  // ---- Lifecycle ----

  /**
   * Contends as a starting JobManager does: watches the ConfigMap (KubernetesConfigMapSharedWatcher
   * from 1.15; the driver's own watch before) and runs the elector, which acquires the lock when it
   * is free or expired and then renews it every retry period. On acquiring, leadership is granted
   * with a fresh session UUID and the REST endpoint's leader information is published.
   */
  start(): void {
    if (this.state !== 'new') throw new Error(`start(): the contender is ${this.state}`);
    this.state = 'running';
    this.note(
      `start: flink ${this.profile.flinkVersion} (fabric8 ${this.profile.fabric8}), layout ${this.profile.layout}, ` +
        `lock ${this.namespace}/${this.configMapName}, lease ${this.leaseDurationMs} ms, renew deadline ${this.renewDeadlineMs} ms, retry ${this.retryPeriodMs} ms`,
    );
    this.startWatch();
    this.runElector();
  }

  /**
   * A graceful JobManager shutdown. From 1.15 the REST endpoint's contender is removed first, which
   * deletes its leader information while the annotation still names this identity
   * (DefaultLeaderElectionService#remove, DefaultMultipleComponentLeaderElectionService#
   * unregisterLeaderElectionEventHandler); then the elector is cancelled, which from 1.19 releases
   * the lock (fabric8 LeaderElector#stopLeading with releaseOnCancel). 1.12-1.14 do neither: the
   * data stays and the lease runs out. A paused contender stops once resumed (a frozen process
   * handles no signal either).
   */
  async stop(options: StopOptions = {}): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    const removeInfo = options.removeLeaderInfo ?? this.profile.removeOnStop;
    const release = options.release ?? this.profile.releaseOnStop;
    this.note(`stop: remove leader information ${removeInfo}, release ${release}`);
    await this.gate();
    if (removeInfo) {
      const wasLeading = this.issuedSessionId !== undefined;
      this.revokeLocally();
      // 1.18+ only removes after granted leadership and a positive hasLeadership; 1.15-1.17 always
      // try, and the update function's annotation check decides.
      // One component after the other, each removed on its own (the REST endpoint is one of several
      // services a JobManager closes).
      for (const componentId of this.components.keys()) {
        await this.withServiceLock(async () => {
          const removing = this.profile.resetUnconfirmed ? wasLeading && (await this.hasLeadership().catch(() => false)) : true;
          if (removing) {
            await this.checkAndUpdate(componentId, null).catch((err: unknown) =>
              this.note(`stop: removing leader information of ${componentId} failed: ${(err as Error).message}`),
            );
          }
        });
      }
    } else {
      this.revokeLocally();
    }
    const session = this.session;
    if (session !== undefined) {
      session.releaseOnStop = release;
      session.cancel();
    }
    await this.sessionRun?.catch(() => undefined);
    this.closeWatch();
    this.api.destroy();
    this.state = 'stopped';
    this.note('stopped');
    this.emit('dead');
  }

  /** kill -9: nothing more is read or written; connections drop; the lock and data stay as they are. */
  kill(): void {
    if (this.state === 'dead' || this.state === 'stopped') return;
    this.note('kill');
    this.die();
  }

  /** A frozen JobManager (SIGSTOP, a long GC pause): nothing is sent or acted on until resume(). */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.note('pause');
  }

  /** Continues from where pause() froze it: due timers fire, buffered watch events are handled. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.note('resume');
    const waiters = this.resumeWaiters;
    this.resumeWaiters = [];
    for (const w of waiters) w();
  }

  // ---- Low-level steps for fault scenarios ----

  /**
   * Writes leader information as Flink's driver does (checkAndUpdateConfigMap: read, check that the
   * annotation contains this identity, update guarded by the read resourceVersion, retried on
   * failure). `info` null removes it. Default: this contender's session and address. Resolves false
   * when the annotation does not name this identity (nothing written).
   */
  async writeLeaderInfo(info?: LeaderInfo | null, componentId = REST_SERVER_COMPONENT): Promise<boolean> {
    const value =
      info === undefined
        ? { sessionId: this.issuedSessionId ?? randomUUID(), address: this.components.get(componentId) ?? this.restAddress }
        : info;
    return this.checkAndUpdate(componentId, value);
  }

  /**
   * Writes whatever it is given, guarded only if `resourceVersion` is set: a JSON merge patch of
   * the ConfigMap, or a create when it does not exist (and no resourceVersion was given).
   */
  async writeRaw(write: RawWrite): Promise<ApiResponse> {
    const metadata: Record<string, unknown> = {};
    if (write.annotation !== undefined) metadata['annotations'] = { [LEADER_ANNOTATION_KEY]: write.annotation };
    if (write.labels !== undefined) metadata['labels'] = write.labels;
    if (write.resourceVersion !== undefined) metadata['resourceVersion'] = write.resourceVersion;
    const patch: Record<string, unknown> = { metadata };
    if (write.data !== undefined) patch['data'] = write.data;
    const res = await this.api.request('PATCH', this.configMapPath(), patch, 'application/merge-patch+json');
    this.note(`writeRaw: PATCH -> ${res.status}`);
    if (res.status !== 404 || write.resourceVersion !== undefined) return res;
    const keep = <T>(m: Record<string, T | null> | undefined) =>
      m === undefined ? undefined : (Object.fromEntries(Object.entries(m).filter(([, v]) => v !== null)) as Record<string, T>);
    const created = await this.api.request('POST', this.configMapsPath(), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: this.configMapName,
        namespace: this.namespace,
        ...(write.annotation != null ? { annotations: { [LEADER_ANNOTATION_KEY]: write.annotation } } : {}),
        ...(write.labels !== undefined ? { labels: keep(write.labels) } : {}),
      },
      ...(write.data !== undefined ? { data: keep(write.data) } : {}),
    });
    this.note(`writeRaw: POST -> ${created.status}`);
    return created;
  }

  /** Deletes the ConfigMap (as `kubectl delete` would); resolves with the status (200, or 404 when absent). */
  async deleteConfigMap(): Promise<number> {
    const res = await this.api.request('DELETE', this.configMapPath());
    this.note(`deleteConfigMap -> ${res.status}`);
    return res.status;
  }

  /** The ConfigMap as the API server has it now, or undefined. */
  async readConfigMap(): Promise<ConfigMap | undefined> {
    const res = await this.api.request('GET', this.configMapPath());
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new KubeApiError(res.status, res.body, `GET ${this.configMapName}`);
    return JSON.parse(res.body) as ConfigMap;
  }

  /**
   * The leader information the ConfigMap holds for a component (default the REST endpoint), as
   * Flink parses it (KubernetesUtils#parseLeaderInformationSafely, #getLeaderInformationFromConfigMap).
   */
  static leaderInfoOf(cm: ConfigMap | undefined, layout: HaLayout, componentId = REST_SERVER_COMPONENT): LeaderInfo | undefined {
    const data = cm?.data ?? {};
    if (layout === '1.14') {
      const address = data[LEADER_ADDRESS_KEY];
      const sessionId = data[LEADER_SESSION_ID_KEY];
      return address !== undefined && sessionId !== undefined ? { sessionId, address } : undefined;
    }
    const value = data[leaderKey(componentId)];
    const comma = value?.indexOf(',') ?? -1;
    if (value === undefined || comma < 0) return undefined;
    return { sessionId: value.slice(0, comma), address: value.slice(comma + 1) };
  }

  // ---- The elector (fabric8 LeaderElector) ----

  /** KubernetesLeaderElector#run: a new LeaderElector session, with its own observed record. */
  private runElector(): void {
    if (this.state !== 'running') return;
    const session = new ElectorSession();
    this.session = session;
    this.sessionRun = this.runSession(session).catch((err: unknown) => {
      if (!(err instanceof Dead)) this.note(`elector session failed: ${(err as Error).message}`);
    });
  }

  private async runSession(session: ElectorSession): Promise<void> {
    const fabric5 = this.profile.renewDeadline === 'per-attempt';
    // LeaderElector#acquire: first attempt at once, then every jittered retry period (fabric8 5.x
    // jitters once per loop with a fixed rate, 6.x before every attempt).
    const fixedJitter = this.jitter();
    let acquired = false;
    let next = performance.now();
    while (!session.cancelled) {
      await this.sleepUntil(next, session);
      if (session.cancelled) break;
      const tickAt = performance.now();
      try {
        if (await this.tryAcquireOrRenew(session)) {
          acquired = true;
          break;
        }
      } catch (err) {
        if (err instanceof Dead) throw err;
        this.note(`acquire: ${(err as Error).message}`);
      }
      next = tickAt + (fabric5 ? fixedJitter : this.jitter());
    }
    if (!acquired) return this.stopLeading(session);
    if (fabric5) this.onStartLeading(session);

    // LeaderElector#renewWithTimeout: first renewal at once, then every retry period.
    let renewBy = this.clock() + this.renewDeadlineMs;
    next = performance.now();
    while (!session.cancelled) {
      await this.sleepUntil(next, session);
      if (session.cancelled) break;
      const tickAt = performance.now();
      if (!fabric5 && this.clock() > renewBy) {
        this.note(`renew: deadline of ${this.renewDeadlineMs} ms passed`);
        break;
      }
      try {
        const renewed = fabric5
          ? await withTimeout(this.tryAcquireOrRenew(session), this.renewDeadlineMs)
          : await this.tryAcquireOrRenew(session);
        if (!renewed) break;
        renewBy = this.clock() + this.renewDeadlineMs;
      } catch (err) {
        if (err instanceof Dead) throw err;
        if (err instanceof RenewTimeout) {
          this.note(`renew: one attempt ran past the renew deadline`);
          break;
        }
        this.note(`renew: ${(err as Error).message}`);
      }
      next = tickAt + this.retryPeriodMs;
    }
    return this.stopLeading(session);
  }

  /** LeaderElector#tryAcquireOrRenew. */
  private async tryAcquireOrRenew(session: ElectorSession): Promise<boolean> {
    if (session.stopped && this.profile.renewDeadline === 'since-last-renewal') return false;
    const nowMicros = this.nowMicros();
    const { configMap, record } = await this.getLock();
    if (record === undefined) {
      const created: LeaderElectionRecord = {
        holderIdentity: this.identity,
        leaseDurationMs: this.leaseDurationMs,
        acquireTimeMicros: nowMicros,
        renewTimeMicros: nowMicros,
        leaderTransitions: 0,
      };
      await this.createLock(created);
      this.updateObserved(session, created);
      return true;
    }
    const self = record.holderIdentity === this.identity;
    this.updateObserved(session, record);
    if (!self && !this.canBecomeLeader(record, nowMicros)) return false;
    const transitions =
      this.profile.leaderTransitions === 'counts-renewals'
        ? self
          ? record.leaderTransitions + 1
          : 0
        : record.leaderTransitions + (self ? 0 : 1);
    const next: LeaderElectionRecord = {
      holderIdentity: this.identity,
      leaseDurationMs: this.leaseDurationMs,
      acquireTimeMicros: self ? record.acquireTimeMicros : nowMicros,
      renewTimeMicros: nowMicros,
      leaderTransitions: transitions,
    };
    await this.updateLock(next, configMap!, 'lock-update');
    this.updateObserved(session, next);
    return true;
  }

  /** LeaderElector#canBecomeLeader: judged against the holder's renewTime with this contender's clock and lease. */
  private canBecomeLeader(record: LeaderElectionRecord, nowMicros: number): boolean {
    if (this.profile.emptyHolderIsFree && (record.holderIdentity === null || record.holderIdentity === '')) return true;
    const expiresAt = record.renewTimeMicros + this.leaseDurationMs * 1000;
    return this.profile.expiryStrict ? nowMicros > expiresAt : nowMicros >= expiresAt;
  }

  /** fabric8 6.x LeaderElector#updateObserved: holder changes drive the callbacks; 5.x only reports. */
  private updateObserved(session: ElectorSession, record: LeaderElectionRecord): void {
    const previous = session.observed;
    session.observed = record;
    const before = previous?.holderIdentity ?? null;
    const now = record.holderIdentity;
    if (before === now) return;
    this.note(`observed holder ${before ?? 'none'} -> ${now === '' ? '"" (released)' : (now ?? 'none')}`);
    this.emit('newLeader', now);
    if (this.profile.renewDeadline === 'per-attempt') return;
    if (before === this.identity) this.onStopLeading(session);
    else if (now === this.identity) this.onStartLeading(session);
  }

  /** LeaderElector#stopLeading, when the renew loop ends or the session is cancelled. */
  private async stopLeading(session: ElectorSession): Promise<void> {
    session.stopped = true;
    if (this.profile.renewDeadline === 'per-attempt') {
      // fabric8 5.x LeaderElector#run calls onStopLeading after the renew loop, whatever ended it.
      if (session.started) this.onStopLeading(session);
      return;
    }
    const observed = session.observed;
    if (observed === undefined || observed.holderIdentity !== this.identity) return;
    if (session.releaseOnStop ?? this.profile.releaseOnStop) {
      try {
        if (await this.release(session)) return;
      } catch (err) {
        if (err instanceof Dead) throw err;
        this.note(`release: ${(err as Error).message}`);
      }
    }
    this.onStopLeading(session);
  }

  /** LeaderElector#release: holderIdentity "", lease 1 s, both times now, transitions kept. */
  private async release(session: ElectorSession): Promise<boolean> {
    const { configMap, record } = await this.getLock();
    if (record === undefined || record.holderIdentity !== this.identity) return false;
    const nowMicros = this.nowMicros();
    const released: LeaderElectionRecord = {
      holderIdentity: '',
      leaseDurationMs: 1000,
      acquireTimeMicros: nowMicros,
      renewTimeMicros: nowMicros,
      leaderTransitions: record.leaderTransitions,
    };
    await this.updateLock(released, configMap!, 'lock-release');
    this.updateObserved(session, released);
    return true;
  }

  private onStartLeading(session: ElectorSession): void {
    if (session.started || this.state !== 'running') return;
    session.started = true;
    this.grantLeadership();
  }

  private onStopLeading(session: ElectorSession): void {
    if (!session.started || session.stopNotified) return;
    session.stopNotified = true;
    this.notLeader();
  }

  // ---- Flink's side of the callbacks (LeaderCallbackHandlerImpl, DefaultLeaderElectionService) ----

  /** isLeader: one fresh session UUID, granted to every component, each of which confirms it and publishes. */
  private grantLeadership(): void {
    if (this.state !== 'running' || this.issuedSessionId !== undefined) return;
    const sessionId = randomUUID();
    this.issuedSessionId = sessionId;
    this.note(`granted leadership, session ${sessionId}`);
    this.emit('leader', sessionId);
    for (const [componentId, address] of this.components) void this.confirmAndPublish(componentId, address, sessionId);
  }

  /** confirmLeadership: published only while the service still has leadership (a fresh GET). */
  private async confirmAndPublish(componentId: string, address: string, sessionId: string): Promise<void> {
    try {
      await this.withServiceLock(async () => {
        if (this.issuedSessionId !== sessionId || !(await this.hasLeadership())) {
          this.note(`confirmation of session ${sessionId} for ${componentId} not published: no leadership any more`);
          return;
        }
        const info = { sessionId, address };
        this.confirmed.set(componentId, info);
        await this.checkAndUpdate(componentId, info);
      });
    } catch (err) {
      if (err instanceof Dead) return;
      // KubernetesLeaderElectionDriver#publishLeaderInformation / writeLeaderInformation: a write
      // that failed all its retries is a fatal error for the JobManager.
      this.die(new Error(`could not write leader information: ${(err as Error).message}`, { cause: err }));
    }
  }

  /**
   * notLeader: the contender loses leadership; up to 1.17 the old information is cleared (if the
   * annotation still names this identity); then a new elector session contends again.
   */
  private notLeader(): void {
    if (this.state !== 'running') return;
    this.revokeLocally();
    if (this.profile.clearOnRevoke) {
      for (const componentId of this.components.keys()) {
        void this.withServiceLock(() => this.checkAndUpdate(componentId, null)).catch((err: unknown) => {
          if (!(err instanceof Dead)) this.die(new Error(`could not clear leader information: ${(err as Error).message}`));
        });
      }
    }
    this.runElector();
  }

  private revokeLocally(): void {
    if (this.issuedSessionId === undefined) return;
    this.note(`leadership revoked (session ${this.issuedSessionId})`);
    this.issuedSessionId = undefined;
    this.confirmed.clear();
    this.emit('revoked');
  }

  /** KubernetesLeaderElectionDriver#hasLeadership; a missing ConfigMap is an error for Flink. */
  private async hasLeadership(): Promise<boolean> {
    const cm = await this.call(() => this.readConfigMap());
    if (cm === undefined) {
      this.die(new Error(`ConfigMap ${this.configMapName} does not exist`));
      throw new Dead();
    }
    return annotationNamesHolder(cm, this.identity);
  }

  // ---- The ConfigMap watch ----

  private startWatch(): void {
    if (this.state !== 'running' && this.state !== 'stopping') return;
    const list = `${this.configMapsPath()}?fieldSelector=${encodeURIComponent(`metadata.name=${this.configMapName}`)}`;
    void this.api
      .request('GET', list)
      .then((res) => {
        if (this.state !== 'running') return;
        if (res.status !== 200) throw new KubeApiError(res.status, res.body, 'list ConfigMaps');
        const listed = JSON.parse(res.body) as { items: ConfigMap[]; metadata: { resourceVersion: string } };
        // An informer that relists reports what changed while it was not watching.
        for (const cm of listed.items) {
          if (this.lastSeenVersion !== undefined && cm.metadata.resourceVersion !== this.lastSeenVersion) {
            this.enqueueWatchEvent('MODIFIED', cm);
          } else {
            this.lastSeenVersion = cm.metadata.resourceVersion;
          }
        }
        this.watch = this.api.watch(
          `${list}&watch=1&resourceVersion=${listed.metadata.resourceVersion}&allowWatchBookmarks=false`,
          (type, object) => this.enqueueWatchEvent(type, object),
          () => this.rewatch(),
        );
      })
      .catch(() => this.rewatch());
  }

  private rewatch(): void {
    if (this.state !== 'running') return;
    clearTimeout(this.watchRetry);
    this.watchRetry = setTimeout(() => this.startWatch(), 200);
  }

  private closeWatch(): void {
    clearTimeout(this.watchRetry);
    this.watch?.close();
    this.watch = undefined;
  }

  private enqueueWatchEvent(type: string, cm: ConfigMap): void {
    if (type === 'ERROR' || cm.metadata?.name !== this.configMapName) return;
    this.lastSeenVersion = cm.metadata.resourceVersion;
    this.watchQueue = this.watchQueue
      .then(() => this.onWatchEvent(type, cm))
      .catch((err: unknown) => {
        if (!(err instanceof Dead)) this.note(`watch handler: ${(err as Error).message}`);
      });
  }

  /** ConfigMapCallbackHandlerImpl: corrections on MODIFIED, a fatal error on DELETED, both only while the annotation names this identity. */
  private async onWatchEvent(type: string, cm: ConfigMap): Promise<void> {
    await this.gate();
    if (this.state !== 'running') return;
    if (!annotationNamesHolder(cm, this.identity)) return;
    if (type === 'DELETED') {
      this.die(new Error(`ConfigMap ${this.configMapName} has been deleted externally`));
      return;
    }
    if (type !== 'MODIFIED') return;
    await this.withServiceLock(async () => {
      for (const componentId of this.components.keys()) {
        if (this.state !== 'running') return;
        const external = ConfigMapLockContender.leaderInfoOf(cm, this.profile.layout, componentId);
        const confirmed = this.confirmed.get(componentId);
        if (sameInfo(external, confirmed)) continue;
        if (confirmed === undefined && !this.profile.resetUnconfirmed) continue;
        this.note(
          `watch: leader information of ${componentId} ${describeInfo(external)} differs from confirmed ${describeInfo(confirmed)}: correcting`,
        );
        try {
          await this.checkAndUpdate(componentId, confirmed ?? null);
        } catch (err) {
          if (err instanceof Dead) return;
          this.die(new Error(`could not correct leader information: ${(err as Error).message}`));
          return;
        }
      }
    });
  }

  // ---- Writes ----

  /** ResourceLock#get / ConfigMapLock#toRecord. */
  private async getLock(): Promise<{ configMap: ConfigMap | undefined; record: LeaderElectionRecord | undefined }> {
    const configMap = await this.call(() => this.readConfigMap());
    const annotation = configMap?.metadata.annotations?.[LEADER_ANNOTATION_KEY];
    const record = annotation === undefined ? undefined : parseLeaderElectionRecord(annotation, this.profile);
    if (annotation !== undefined && record === undefined) this.note('lock: the annotation does not parse as a LeaderElectionRecord');
    return { configMap, record };
  }

  /** ResourceLock#create (ConfigMapLock#create in 5.x): a new ConfigMap holding only the annotation. */
  private async createLock(record: LeaderElectionRecord): Promise<void> {
    const annotation = formatLeaderElectionRecord(record, this.profile);
    await this.interposed({ op: 'lock-create', attempt: 1, resourceVersion: undefined });
    const res = await this.call(() =>
      this.api.request('POST', this.configMapsPath(), {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: this.configMapName,
          namespace: this.namespace,
          ...(this.profile.labelsOnLock ? { labels: haConfigMapLabels(this.clusterId, this.profile) } : {}),
          annotations: { [LEADER_ANNOTATION_KEY]: annotation },
        },
      }),
    );
    if (res.status !== 201) throw new KubeApiError(res.status, res.body, 'create lock');
    this.wrote(record, annotation, 'created the lock');
  }

  /**
   * ResourceLock#update (6.5+: JSON merge patch of the annotation, the lock's labels and the read
   * resourceVersion) or 5.x ConfigMapLock#update (read again, replace, locked to the first read's
   * resourceVersion). Either is refused with 409 when the ConfigMap changed since it was read.
   */
  private async updateLock(record: LeaderElectionRecord, read: ConfigMap, op: 'lock-update' | 'lock-release'): Promise<void> {
    const annotation = formatLeaderElectionRecord(record, this.profile);
    const resourceVersion = read.metadata.resourceVersion;
    await this.interposed({ op, attempt: 1, resourceVersion });
    let res: ApiResponse;
    if (this.profile.lockWrite === 'merge-patch') {
      res = await this.call(() =>
        this.api.request(
          'PATCH',
          this.configMapPath(),
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: {
              name: this.configMapName,
              namespace: this.namespace,
              ...(this.profile.labelsOnLock ? { labels: haConfigMapLabels(this.clusterId, this.profile) } : {}),
              annotations: { [LEADER_ANNOTATION_KEY]: annotation },
              resourceVersion,
            },
          },
          'application/merge-patch+json',
        ),
      );
    } else {
      const fresh = await this.call(() => this.readConfigMap());
      if (fresh === undefined) throw new KubeApiError(404, '', 'update lock: the ConfigMap is gone');
      fresh.metadata.annotations = { ...fresh.metadata.annotations, [LEADER_ANNOTATION_KEY]: annotation };
      fresh.metadata.resourceVersion = resourceVersion;
      res = await this.call(() => this.api.request('PUT', this.configMapPath(), fresh));
    }
    if (res.status !== 200) throw new KubeApiError(res.status, res.body, op === 'lock-release' ? 'release lock' : 'update lock');
    this.wrote(record, annotation, op === 'lock-release' ? 'released the lock' : 'wrote the lock');
  }

  /**
   * Fabric8FlinkKubeClient#checkAndUpdateConfigMap with the driver's update function: read; unless
   * the annotation contains this identity, write nothing; else set (or remove, for null) the REST
   * endpoint's leader information and replace the ConfigMap locked to the read resourceVersion.
   * A failed write is retried at once (up to the configured retries); a missing ConfigMap is not.
   */
  private async checkAndUpdate(componentId: string, info: LeaderInfo | null): Promise<boolean> {
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= this.dataWriteRetries + 1; attempt++) {
      let cm: ConfigMap | undefined;
      try {
        cm = await this.call(() => this.readConfigMap());
      } catch (err) {
        if (err instanceof Dead) throw err;
        lastError = err as Error;
        continue;
      }
      if (cm === undefined)
        throw new Error(`Cannot retry checkAndUpdateConfigMap with configMap ${this.configMapName} because it does not exist.`);
      if (!annotationNamesHolder(cm, this.identity)) {
        this.note(
          `leader information of ${componentId} ${describeInfo(info ?? undefined)} not written: the annotation does not name ${this.identity}`,
        );
        return false;
      }
      const data = { ...cm.data };
      if (this.profile.layout === '1.15') {
        if (info === null) delete data[leaderKey(componentId)];
        else data[leaderKey(componentId)] = `${info.sessionId},${info.address}`;
      } else if (info === null) {
        delete data[LEADER_ADDRESS_KEY];
        delete data[LEADER_SESSION_ID_KEY];
      } else {
        data[LEADER_ADDRESS_KEY] = info.address;
        data[LEADER_SESSION_ID_KEY] = info.sessionId;
      }
      cm.data = data;
      if (this.profile.labelsOnDataWrite) {
        cm.metadata.labels = { ...cm.metadata.labels, ...haConfigMapLabels(this.clusterId, this.profile) };
      }
      await this.interposed({ op: 'data-update', attempt, resourceVersion: cm.metadata.resourceVersion });
      let res: ApiResponse;
      try {
        res = await this.call(() => this.api.request('PUT', this.configMapPath(), cm));
      } catch (err) {
        if (err instanceof Dead) throw err;
        lastError = err as Error;
        continue;
      }
      if (res.status === 200) {
        this.note(`leader information of ${componentId} ${describeInfo(info ?? undefined)} written (attempt ${attempt})`);
        if (componentId === REST_SERVER_COMPONENT) this.emit('published', info);
        return true;
      }
      lastError = new KubeApiError(res.status, res.body, 'update leader information');
      this.note(`leader information write: ${lastError.message.slice(0, 120)}; trying again`);
    }
    throw lastError ?? new Error('checkAndUpdateConfigMap failed');
  }

  // ---- Plumbing ----

  private withServiceLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serviceLock.then(fn, fn);
    this.serviceLock = run.catch(() => undefined);
    return run;
  }

  /** One API call of the running process: frozen while paused, and nothing after a kill. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    await this.gate();
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      if (this.state === 'dead') throw new Dead();
      throw err;
    }
    await this.gate();
    return result;
  }

  private async interposed(step: InterposedStep): Promise<void> {
    if (this.opts.interpose !== undefined) await this.opts.interpose(step);
    await this.gate();
  }

  private async gate(): Promise<void> {
    while (this.paused && this.state !== 'dead') {
      await new Promise<void>((resolveGate) => this.resumeWaiters.push(resolveGate));
    }
    if (this.state === 'dead') throw new Dead();
  }

  /** Sleeps until performance.now() reaches `at`, or the session is cancelled; then waits out a pause. */
  private async sleepUntil(at: number, session: ElectorSession): Promise<void> {
    const ms = at - performance.now();
    if (ms > 0 && !session.cancelled) {
      await new Promise<void>((resolveSleep) => {
        const timer = setTimeout(() => {
          session.wake = undefined;
          resolveSleep();
        }, ms);
        session.wake = () => {
          clearTimeout(timer);
          session.wake = undefined;
          resolveSleep();
        };
      });
    }
    await this.gate();
  }

  /** LeaderElector#jitter: retryPeriod + retryPeriod x random x 1.2. */
  private jitter(): number {
    return this.retryPeriodMs + this.retryPeriodMs * this.random() * 1.2;
  }

  private nowMicros(): number {
    return Math.round(this.clock() * 1000);
  }

  private wrote(record: LeaderElectionRecord, annotation: string, what: string): void {
    this.lastWrittenRecord = record;
    this.lastWrittenAnnotation = annotation;
    this.note(`${what}: ${annotation}`);
  }

  /** The process ends: everything stops, connections drop. With an error: Flink's fatal error handler. */
  private die(error?: Error): void {
    if (this.state === 'dead') return;
    if (error !== undefined) {
      this.fatalError = error;
      this.note(`fatal: ${error.message}`);
    }
    this.state = 'dead';
    this.issuedSessionId = undefined;
    this.confirmed.clear();
    this.session?.cancel();
    this.closeWatch();
    this.api.destroy();
    const waiters = this.resumeWaiters;
    this.resumeWaiters = [];
    for (const w of waiters) w();
    if (error !== undefined) this.emit('fatal', error);
    this.emit('dead', error);
  }

  private note(line: string): void {
    const stamped = `${new Date().toISOString()} [${this.identity.slice(0, 8)}] ${line}`;
    this.log.push(stamped);
    if (this.log.length > 2000) this.log.splice(0, this.log.length - 1000);
    this.opts.logger?.(stamped);
  }

  private configMapsPath(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/configmaps`;
  }

  private configMapPath(): string {
    return `${this.configMapsPath()}/${encodeURIComponent(this.configMapName)}`;
  }
}

/** KubernetesLeaderElector#hasLeadership: the raw annotation contains the identity (a substring test, as Flink does). */
export function annotationNamesHolder(cm: ConfigMap, identity: string): boolean {
  const annotation = cm.metadata.annotations?.[LEADER_ANNOTATION_KEY];
  return annotation !== undefined && annotation.includes(identity);
}

/** One LeaderElector instance: Flink makes a new one each time it contends again. */
class ElectorSession {
  cancelled = false;
  stopped = false;
  started = false;
  stopNotified = false;
  observed: LeaderElectionRecord | undefined;
  releaseOnStop: boolean | undefined;
  wake: (() => void) | undefined;

  cancel(): void {
    this.cancelled = true;
    this.wake?.();
  }
}

/** Unwinds whatever a killed (or fatally failed) contender was doing. */
class Dead extends Error {
  constructor() {
    super('the contender is dead');
  }
}

class RenewTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new RenewTimeout(`no answer within ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolvePromise(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function sameInfo(a: LeaderInfo | undefined, b: LeaderInfo | undefined): boolean {
  return a?.sessionId === b?.sessionId && a?.address === b?.address;
}

function describeInfo(info: LeaderInfo | undefined): string {
  return info === undefined ? '(empty)' : `${info.sessionId}@${info.address}`;
}

/**
 * The shapes of the settings: one value per setting, the Config built from them, and the types
 * the rest of the sidecar shares with the parsers. Types only, so that every module here can
 * import it without an import cycle.
 */
import type { LeaderSource, RoutingMode } from '../core/model.js';
import type { FlinkConfFacts } from '../flink-conf/version-rules.js';

/** ZooKeeper znode layout, named by the Flink line that introduced it (docs/design.md, "What Flink writes to ZooKeeper"). */
export type HaLayout = 'auto' | '1.15' | '1.14' | '1.13';

/** 'flink-conf': Flink's configuration file (the one named in Config.flinkConfFile). */
export type SettingSource = 'flag' | 'environment' | 'flink-conf' | 'default';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface ZooKeeperQuorum {
  /** In the order given. Hosts are lowercase, IPv6 addresses canonical (RFC 5952) and unbracketed. */
  servers: { host: string; port: number }[];
  /** Validated chroot such as '/flink-chroot'; null when absent or '/' (ZooKeeper treats '/' as none). */
  chroot: string | null;
  /**
   * 'h1:2181,h2:2181/chroot', every port explicit, IPv6 hosts bracketed as ZooKeeper's own client
   * expects. Caution: node-zookeeper-client 1.1.3 splits each server on every ':', so it cannot
   * parse a bracketed IPv6 server from this string; a caller that must reach IPv6 literals has to
   * hand it `servers` another way.
   */
  connectString: string;
}

/**
 * PEM files for the JobManager's REST API over https, as paths: checked to be readable regular
 * files at load time, never read here (so no key material is ever in a Config). Used only when
 * flinkRestUrl is https. certFile and keyFile are both set or both null.
 */
export interface FlinkRestTls {
  /** CA bundle that verifies the JobManager's certificate; null = Node's default CAs. */
  caFile: string | null;
  /** Client certificate, for Flink's security.ssl.rest.authentication-enabled (mutual TLS). */
  certFile: string | null;
  /** The client certificate's private key. */
  keyFile: string | null;
  /**
   * Flink's own PKCS12 truststore (security.ssl.rest.truststore), whose certificates verify the
   * JobManager's certificate when caFile is null; read at start, its password never shown.
   */
  truststore: { file: string; password: string } | null;
  /**
   * null: the chain is verified and the host name is not, as Flink's own REST client does. Set: the
   * certificate must also be valid for this name, which is sent as the TLS server name.
   */
  serverName: string | null;
}

/** One ZooKeeper authentication, added to every connection (node-zookeeper-client's addAuthInfo). */
export interface ZooKeeperAuth {
  /** Only digest: node-zookeeper-client has no SASL, and other schemes are no credentials. */
  readonly scheme: 'digest';
  /** 'user:password'; a secret. */
  readonly credentials: string;
}

/** One value per setting (a flag and a variable each); Config is built from these. */
export interface SettingValues {
  /** Where Flink's configuration file is looked for. */
  flinkConfDir: string;
  /** Where Flink keeps the leader election: from high-availability.type in Flink's file, else zookeeper. */
  leaderSource: LeaderSource;
  /** Required with the ZooKeeper source; null otherwise. */
  zookeeperQuorum: ZooKeeperQuorum | null;
  /**
   * high-availability.zookeeper.path.root, normalized like Flink: '/flink', or '/' when empty. Join
   * parts with their slashes trimmed as Flink does, never by concatenation ('/' + '/default').
   */
  zookeeperRoot: string;
  /** high-availability.cluster-id, normalized like the root: '/default'. */
  clusterId: string;
  layout: HaLayout;
  /** 1.13 layout only: high-availability.zookeeper.path.latch, normalized like the root. */
  zookeeperLatchPath: string;
  /** 1.13 layout only: high-availability.zookeeper.path.leader, normalized like the root. */
  zookeeperLeaderPath: string;
  /** The sidecar's own ZooKeeper session timeout. */
  zookeeperSessionTimeoutMs: number;
  /** Kubernetes source: Flink's kubernetes.cluster-id, which names the HA ConfigMaps; required there. */
  kubernetesClusterId: string | null;
  /** Kubernetes source: the namespace of the HA ConfigMaps (Flink's kubernetes.namespace, default `default`). */
  kubernetesNamespace: string;
  /** Kubernetes source: a kubeconfig file to reach the API server with; null = the pod's service account. */
  kubeconfig: string | null;
  /**
   * The JobManagers' ZooKeeper session timeout (high-availability.zookeeper.client.session-timeout,
   * Flink's default 60000), 1..2147483647: how long a JobManager that lost ZooKeeper may go on
   * leading when tolerateSuspendedConnections is true.
   */
  flinkSessionTimeoutMs: number;
  /** Added to every ZooKeeper connection; null = none. Secrets: never logged or shown. */
  zookeeperAuthorization: ZooKeeperAuth[] | null;
  /**
   * high-availability.zookeeper.client.tolerate-suspended-connections (Flink's default false): with
   * false a leader revokes itself the moment its ZooKeeper connection is suspended; with true it
   * keeps leading until its session is lost.
   */
  tolerateSuspendedConnections: boolean;
  /**
   * The local JobManager's REST API: http or https, no credentials, query or fragment. Its path
   * always ends with '/', so `new URL('overview', flinkRestUrl)` keeps a path prefix.
   */
  flinkRestUrl: URL;
  flinkRestCaFile: string | null;
  flinkRestCertFile: string | null;
  flinkRestKeyFile: string | null;
  flinkRestTruststore: string | null;
  flinkRestTruststorePassword: string | null;
  flinkRestServerName: string | null;
  /**
   * Hosts the local JobManager advertises: lowercase, IPv6 canonical and unbracketed, no duplicates.
   * null = not set (use the pod's interface addresses).
   */
  advertisedAddresses: string[] | null;
  jobmanagerCheckIntervalMs: number;
  /** Always below jobmanagerCheckIntervalMs. */
  jobmanagerCheckTimeoutMs: number;
  /** /jobmanager/livez: how long the JM may stay dead after it was first seen healthy. */
  jobmanagerLivenessGraceMs: number;
  /** /jobmanager/livez: how long a JM never seen healthy gets to start. */
  jobmanagerStartupAllowanceMs: number;
  /** Listen address, normalized like advertisedAddresses; null = not set (listen on '::', falling back to 0.0.0.0). */
  host: string | null;
  /** Listen port, 1..65535. */
  port: number;
  shutdownTimeoutMs: number;
  /** Listen address of the debug endpoints, normalized like host. */
  debugHost: string;
  /** Listen port of the debug endpoints; 0 turns them off. */
  debugPort: number;
  /** File holding the bearer token the debug endpoints require; null for none (loopback only). */
  debugTokenFile: string | null;
  /** readiness: only the leader is Ready; label: the sidecar keeps a role label on its pod, readiness means healthy. */
  routingMode: RoutingMode;
  /** Readiness mode: how long after another JM was last seen leading this one may turn Ready (ms). */
  leaderHandoverDelayMs: number;
  /** This pod's name (downward API); required in label mode. */
  podName: string | null;
  /** This pod's namespace (downward API); required in label mode. */
  podNamespace: string | null;
  /** The label key the sidecar owns on its pod. (No "key" in the name: /debug/config masks such settings.) */
  roleLabel: string;
  roleLabelLeaderValue: string;
  roleLabelStandbyValue: string;
  /** A label every JM pod of this Flink cluster carries with the same value (read from our pod). */
  podClusterLabel: string;
  /** Label mode: how long label updates may fail before /readyz fails. */
  labelFailureReadinessTimeoutMs: number;
  logLevel: LogLevel;
}

/** Every setting: each has a flag, an environment variable and an entry in Config.sources. */
export type SettingName = keyof SettingValues;

type TlsSettingName =
  | 'flinkRestCaFile'
  | 'flinkRestCertFile'
  | 'flinkRestKeyFile'
  | 'flinkRestTruststore'
  | 'flinkRestTruststorePassword'
  | 'flinkRestServerName';

export interface Config extends Omit<SettingValues, TlsSettingName> {
  /** The Flink configuration file actually read (flink-conf.yaml or config.yaml in flinkConfDir), or null when there was none. */
  flinkConfFile: string | null;
  /**
   * From Flink's file only: rest.address, falling back to jobmanager.rpc.address as Flink's
   * RestOptions.ADDRESS does, trimmed as written; null when the file sets neither. For debug output
   * and early warnings only, never as this JobManager's identity: the file is usually one ConfigMap
   * shared by every JobManager, and the JobManager's start-up arguments often override it.
   */
  flinkRestAddress: string | null;
  /** Facts of Flink's file that JobManager versions read differently (checked once the version is known). */
  flinkConfFacts: FlinkConfFacts;
  /** Built from the --flink-rest-* TLS settings. */
  flinkRestTls: FlinkRestTls;
  /** Where each setting came from, for /debug/config. */
  sources: Record<SettingName, SettingSource>;
}

export type LoadResult = { kind: 'run'; config: Config } | { kind: 'help'; text: string } | { kind: 'version'; text: string };

/** The values resolved so far: a setting with a problem has none. */
export type PartialValues = { -readonly [K in SettingName]?: SettingValues[K] };

/** The process environment, or a test's. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Real Apache Flink JobManagers for tests: StandaloneSessionClusterEntrypoint of a released Flink
 * version, its classpath assembled from Maven Central by scripts/fetch-flink.sh (cached outside the
 * clone), started the way flink-dist's bin/jobmanager.sh starts it, with ZooKeeper high
 * availability on a test ZooKeeper (or Kubernetes high availability on a test API server:
 * test/support/flink-kubernetes-ha.ts) and everything bound to 127.0.0.1 on free ports.
 *
 *   const conf = await writeFlinkConfDir({ version, zookeeperQuorum, clusterId });
 *   const jm = await startFlinkJobManager({ version, confDir: conf });
 *   await jm.waitForLog(GRANTED_LEADERSHIP, 60_000);
 *
 * Who leads is read from Flink itself: the line its REST endpoint logs when the leader election
 * grants or revokes its leadership (whoLeads). dumpFlinkConfig() shows how Flink's own
 * GlobalConfiguration reads a conf directory.
 *
 * Every JVM is killed when the test process exits (zookeeper-server.ts keeps the books); the
 * directories made here are removed then too, unless FLINK_TEST_KEEP_DIR=1.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { forgetDir, isKept, removeOnExit } from './exit-cleanup.js';
import { findFreePort, readTail, spawnJvm, terminate } from './zookeeper-server.js';
import { waitForItem } from './wait-for-item.js';

/**
 * The versions the tests run: the newest patch of each line from 1.18 (the first to support Java
 * 17) to 1.20, and the newest 2.x.
 *
 * Not 1.17: as flink-dist 1.17 starts it (no --add-exports), its JobManager dies on Java 17 with
 * IllegalAccessError (NetUtils cannot access sun.net.util.IPAddressUtil). FLINK_1_17 names it for
 * the test that keeps that claim checked; with shippedJavaOpts('1.18.1') as extraJvmOptions it runs.
 */
export const FLINK_VERSIONS = ['1.18.1', '1.19.3', '1.20.5', '2.3.0'] as const;
export const FLINK_1_17 = '1.17.2';

// __filename rather than __dirname: tsx's loader, when an ES module imports this file, evaluates it
// from a data: URL and sets only __filename correctly.
const SUPPORT_DIR = dirname(__filename);
const PROJECT_ROOT = resolve(SUPPORT_DIR, '..', '..');
const FETCH_SCRIPT = join(PROJECT_ROOT, 'scripts', 'fetch-flink.sh');
const CONF_DUMP_SOURCE = join(SUPPORT_DIR, 'java', 'FlinkConfDump.java');
const CONF_DUMP_MARKER = 'FLINK_CONF_DUMP:';

const ENTRYPOINT_CLASS = 'org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint';
const BASH_JAVA_UTILS_CLASS = 'org.apache.flink.runtime.util.bash.BashJavaUtils';
const BASH_JAVA_UTILS_PREFIX = 'BASH_JAVA_UTILS_EXEC_RESULT:';

const DEFAULT_START_TIMEOUT_MS = 90_000;
const LOG_TAIL_LINES = 60;
// fs.watch can miss a change (a write landing between a read and the next event); a slow re-read
// while someone waits bounds that delay. Events remain the normal path.
const LOG_RESCAN_MS = 500;

/**
 * WebMonitorEndpoint#grantLeadership and #revokeLeadership, identical in 1.17 to 2.3:
 * "{} was granted leadership with leaderSessionID={}" / "{} lost leadership", where {} is the REST
 * endpoint's base URL (http://127.0.0.1:<rest port>).
 */
export const GRANTED_LEADERSHIP = / - (https?:\/\/\S+) was granted leadership with leaderSessionID=([0-9a-f-]+)\s*$/;
export const LOST_LEADERSHIP = / - (https?:\/\/\S+) lost leadership\s*$/;
/** RestServerEndpoint#start, all versions: "Rest endpoint listening at {}:{}". */
const REST_LISTENING = / - Rest endpoint listening at (\S+):(\d+)\s*$/;

// ---- versions --------------------------------------------------------------------------------------

type VersionTuple = readonly [number, number, number];

function parseVersion(version: string): VersionTuple {
  const match = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version);
  if (match === null) throw new Error(`not a Flink version: ${JSON.stringify(version)}`);
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}

/** True when version is major.minor or newer. */
export function flinkAtLeast(version: string, major: number, minor: number): boolean {
  const [maj, min] = parseVersion(version);
  return maj > major || (maj === major && min >= minor);
}

/** config.yaml (standard YAML) from 1.19 on, flink-conf.yaml (Flink's own key: value reader) before. */
export function defaultConfFileName(version: string): 'config.yaml' | 'flink-conf.yaml' {
  return flinkAtLeast(version, 1, 19) ? 'config.yaml' : 'flink-conf.yaml';
}

/**
 * The JVM options flink-dist's scripts put on a JobManager's command line besides memory and
 * logging (config.sh, flink-daemon.sh), for a JVM of version 17:
 *  - 1.18 on: config.sh prefixes -XX:+IgnoreUnrecognizedVMOptions to env.java.default-opts.all
 *    (1.19 on; the shipped conf leaves it unset) and env.java.opts.all, which the shipped conf sets
 *    to shippedJavaOpts(version);
 *  - 1.17: nothing (its shipped flink-conf.yaml sets no JVM options, its config.sh adds none).
 * (-Djava.security.manager=allow, which config.sh adds from 1.19 on for JVMs newer than 17, does
 * not apply.)
 */
export function flinkJavaOpts(version: string): string[] {
  if (!flinkAtLeast(version, 1, 18)) return [];
  return ['-XX:+IgnoreUnrecognizedVMOptions', ...shippedJavaOpts(version)];
}

/**
 * env.java.opts.all as flink-dist's conf ships it (flink-conf.yaml in 1.18, config.yaml from
 * 1.19): the module exports and openings Java 17 needs. 1.18 to 1.20 ship the same 20 options; 2.x
 * drops the export of sun.net.util; 1.17 ships none.
 */
export function shippedJavaOpts(version: string): string[] {
  if (!flinkAtLeast(version, 1, 18)) return [];
  return [
    ...(flinkAtLeast(version, 2, 0) ? [] : ['--add-exports=java.base/sun.net.util=ALL-UNNAMED']),
    '--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED',
    '--add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED',
    '--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED',
    '--add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED',
    '--add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED',
    '--add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED',
    '--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED',
    '--add-opens=java.base/java.lang=ALL-UNNAMED',
    '--add-opens=java.base/java.net=ALL-UNNAMED',
    '--add-opens=java.base/java.io=ALL-UNNAMED',
    '--add-opens=java.base/java.nio=ALL-UNNAMED',
    '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
    '--add-opens=java.base/java.lang.reflect=ALL-UNNAMED',
    '--add-opens=java.base/java.text=ALL-UNNAMED',
    '--add-opens=java.base/java.time=ALL-UNNAMED',
    '--add-opens=java.base/java.util=ALL-UNNAMED',
    '--add-opens=java.base/java.util.concurrent=ALL-UNNAMED',
    '--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED',
    '--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED',
  ];
}

// ---- the cached distribution ---------------------------------------------------------------------

/** ${FLINK_HA_SIDECAR_CACHE:-~/.cache/flink-ha-sidecar}, shared with scripts/fetch-flink.sh. */
export function flinkHaSidecarCacheDir(): string {
  const configured = process.env['FLINK_HA_SIDECAR_CACHE'];
  return configured !== undefined && configured !== '' ? configured : join(homedir(), '.cache', 'flink-ha-sidecar');
}

const fetched = new Map<string, Promise<string[]>>();

export interface FetchFlinkOptions {
  /**
   * Also flink-kubernetes (Kubernetes high availability), as flink-dist.jar bundles it. Maven
   * Central lacks it for some patch releases (1.19.2 and later, 1.20.2 and later): then the fetch
   * fails. Default false.
   */
  kubernetes?: boolean;
}

/**
 * The jars of a JobManager of this version, in the order flink-dist's config.sh puts lib/ on the
 * classpath (sorted by name). Fetches them on first use (one progress line on stderr; minutes
 * at worst), then reads the cache.
 */
export function fetchFlink(version: string, opts: FetchFlinkOptions = {}): Promise<string[]> {
  const kubernetes = opts.kubernetes === true;
  const key = kubernetes ? `${version}+kubernetes` : version;
  let pending = fetched.get(key);
  if (pending === undefined) {
    pending = fetchJars(version, kubernetes);
    fetched.set(key, pending);
    // A failed fetch must not poison later calls with the same rejected promise.
    pending.catch(() => fetched.delete(key));
  }
  return pending;
}

async function fetchJars(version: string, kubernetes: boolean): Promise<string[]> {
  parseVersion(version);
  const args = [FETCH_SCRIPT, ...(kubernetes ? ['--kubernetes'] : []), version];
  const libDir = await new Promise<string>((done, fail) => {
    // stderr passes through: the one-line progress note on a cold fetch, Maven's output on failure.
    const child = spawn('bash', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.once('error', fail);
    child.once('close', (code) => {
      const path = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && path !== '') done(path);
      else fail(new Error(`scripts/fetch-flink.sh ${args.slice(1).join(' ')} failed (exit ${code}); see its output above`));
    });
  });
  const jars = (await readdir(libDir)).filter((name) => name.endsWith('.jar')).sort();
  if (jars.length === 0) throw new Error(`no jars in ${libDir}; remove it and fetch again`);
  return jars.map((name) => join(libDir, name));
}

// ---- conf directories ----------------------------------------------------------------------------

/** How a conf dir selects Kubernetes high availability. */
export type KubernetesHaKey =
  /** high-availability.type: kubernetes (the key from 1.17 on). */
  | 'type'
  /** high-availability: kubernetes (the key before 1.17, deprecated since). */
  | 'legacy'
  /** high-availability.type: org.apache.flink.kubernetes.highavailability.KubernetesHaServicesFactory. */
  | 'factory-class';

export const KUBERNETES_HA_FACTORY_CLASS = 'org.apache.flink.kubernetes.highavailability.KubernetesHaServicesFactory';

/** Kubernetes high availability settings of a conf dir (Flink's KubernetesConfigOptions and KubernetesHighAvailabilityOptions). */
export interface FlinkKubernetesHaConf {
  /** kubernetes.namespace. */
  namespace: string;
  /** kubernetes.config.file: the kubeconfig the JobManager's Kubernetes client reads. */
  kubeconfigFile: string;
  /** Default 'type'. */
  haKey?: KubernetesHaKey;
  /** high-availability.kubernetes.leader-election.lease-duration in ms; default not written (Flink's 15 s). */
  leaseDurationMs?: number;
  /** high-availability.kubernetes.leader-election.renew-deadline in ms; default not written (Flink's 15 s). */
  renewDeadlineMs?: number;
  /** high-availability.kubernetes.leader-election.retry-period in ms; default not written (Flink's 5 s). */
  retryPeriodMs?: number;
}

export interface FlinkConfDirOptions {
  version: string;
  /**
   * ZooKeeper high availability: high-availability.zookeeper.quorum, e.g.
   * ZooKeeperServer.connectString. Give either this or kubernetes.
   */
  zookeeperQuorum?: string;
  /**
   * Kubernetes high availability instead: kubernetes.cluster-id is clusterId too. A JobManager on
   * this conf dir needs flink-kubernetes on its classpath, which startFlinkJobManager then adds.
   */
  kubernetes?: FlinkKubernetesHaConf;
  /**
   * high-availability.cluster-id (and kubernetes.cluster-id with kubernetes), written verbatim.
   * Give each test its own.
   */
  clusterId: string;
  /** high-availability.zookeeper.path.root, written verbatim; omitted (Flink's /flink) by default. */
  pathRoot?: string;
  /** rest.port; default a free port. */
  restPort?: number;
  /** jobmanager.rpc.port; default a free port. */
  rpcPort?: number;
  /**
   * high-availability.zookeeper.client.session-timeout in ms, written as Flink of that version
   * parses it: an int of ms up to 1.19, a duration ("4000 ms") from 1.20. Default: not written
   * (Flink's 60 s).
   */
  sessionTimeoutMs?: number;
  /** high-availability.storageDir as a local directory; default <base>/ha. Share it between the JMs of a cluster. */
  storageDir?: string;
  /** Directory to create conf/, log/, tmp/ in; default a new one under the OS temp dir. */
  baseDir?: string;
  /** Default: config.yaml from 1.19 on, flink-conf.yaml before. */
  fileName?: string;
  /**
   * flat: one `key: value` line per entry (what flink-conf.yaml needs; also valid config.yaml).
   * nested: a YAML mapping per dot-separated segment (config.yaml only). Default flat.
   */
  layout?: 'flat' | 'nested';
  /** Raw entries, written verbatim after the defaults and replacing them; null removes a default. */
  extra?: Record<string, string | null>;
  /** Raw text appended to the file after everything else (YAML edge cases, comments, duplicates). */
  appendText?: string;
  /** Also write env.java.opts.all as flink-dist's shipped conf does (1.18 on). Default true. */
  javaOpts?: boolean;
}

export interface FlinkConfDir {
  readonly version: string;
  /** The directory passed to Flink as --configDir. */
  readonly dir: string;
  /** The conf file itself (dir/fileName). */
  readonly file: string;
  readonly fileName: string;
  /** Parent of dir; log/ and tmp/ live here too. */
  readonly baseDir: string;
  /** Default log directory for JobManagers started on this conf dir. */
  readonly logDir: string;
  readonly restPort: number;
  readonly rpcPort: number;
  readonly restUrl: string;
  readonly clusterId: string;
  /** As given: set for ZooKeeper high availability. */
  readonly zookeeperQuorum: string | undefined;
  /** As given: set for Kubernetes high availability. */
  readonly kubernetes: FlinkKubernetesHaConf | undefined;
  /** high-availability.zookeeper.path.root as written, else undefined (Flink's /flink). */
  readonly pathRoot: string | undefined;
  readonly storageDir: string;
  /** Every entry written (after extra), in file order, values verbatim; appendText not included. */
  readonly entries: Readonly<Record<string, string>>;
  /** The whole file as written. */
  readonly text: string;
  /** Removes baseDir (kept when FLINK_TEST_KEEP_DIR=1). Stop the JobManagers first. */
  remove(): Promise<void>;
}

/** Writes a conf directory for one JobManager, as that Flink version reads it. */
export async function writeFlinkConfDir(opts: FlinkConfDirOptions): Promise<FlinkConfDir> {
  const { version } = opts;
  parseVersion(version);
  if ((opts.zookeeperQuorum === undefined) === (opts.kubernetes === undefined)) {
    throw new Error('writeFlinkConfDir: give exactly one of zookeeperQuorum and kubernetes');
  }
  const baseDir = opts.baseDir ?? (await mkdtemp(join(tmpdir(), `flink-ha-sidecar-flink-${version}-`)));
  if (opts.baseDir === undefined) removeOnExit(baseDir, KEEP_VARIABLE);
  const dir = join(baseDir, 'conf');
  const logDir = join(baseDir, 'log');
  const tmpDir = join(baseDir, 'tmp');
  const storageDir = opts.storageDir ?? join(baseDir, 'ha');
  await Promise.all([dir, logDir, tmpDir, storageDir].map((path) => mkdir(path, { recursive: true })));
  const restPort = opts.restPort ?? (await findFreePort());
  let rpcPort = opts.rpcPort ?? (await findFreePort());
  // findFreePort lets the OS pick; two quick calls can get the same answer.
  while (opts.rpcPort === undefined && rpcPort === restPort) rpcPort = await findFreePort();

  const entries: Record<string, string> = {};
  if (opts.javaOpts !== false && flinkAtLeast(version, 1, 18)) entries['env.java.opts.all'] = shippedJavaOpts(version).join(' ');
  Object.assign(entries, {
    // Loopback only, fixed ports for nothing: RPC, REST, blob server and the metrics query service
    // (its own RPC system) bind jobmanager.bind-host or the REST bind address.
    'jobmanager.rpc.address': '127.0.0.1',
    'jobmanager.rpc.port': String(rpcPort),
    'jobmanager.bind-host': '127.0.0.1',
    'rest.address': '127.0.0.1',
    'rest.bind-address': '127.0.0.1',
    'rest.port': String(restPort),
    'blob.server.port': '0',
    'metrics.internal.query-service.port': '0',
    // 512 MiB in all, 256 MiB of it heap: Flink's default (1600m) would need ~1 GiB of heap per JM.
    'jobmanager.memory.process.size': '512m',
    'jobmanager.memory.jvm-metaspace.size': '128m',
    'jobmanager.memory.jvm-overhead.min': '64m',
    'jobmanager.memory.off-heap.size': '64m',
    ...(opts.kubernetes !== undefined
      ? kubernetesHaEntries(opts.kubernetes, opts.clusterId)
      : {
          'high-availability.type': 'zookeeper',
          'high-availability.zookeeper.quorum': opts.zookeeperQuorum!,
        }),
    ...(opts.pathRoot !== undefined ? { 'high-availability.zookeeper.path.root': opts.pathRoot } : {}),
    'high-availability.cluster-id': opts.clusterId,
    'high-availability.storageDir': `file://${storageDir}`,
    ...(opts.sessionTimeoutMs !== undefined
      ? { 'high-availability.zookeeper.client.session-timeout': sessionTimeoutValue(version, opts.sessionTimeoutMs) }
      : {}),
    // Blob storage, uploads and the web tmp dir default to java.io.tmpdir, and a killed JVM leaves
    // them behind: keep them in this directory.
    'io.tmp.dirs': tmpDir,
    'web.tmpdir': tmpDir,
  });
  for (const [key, value] of Object.entries(opts.extra ?? {})) {
    if (value === null) delete entries[key];
    else entries[key] = value;
  }

  const fileName = opts.fileName ?? defaultConfFileName(version);
  const body = (opts.layout ?? 'flat') === 'nested' ? nestedYaml(entries) : flatYaml(entries);
  const text = `# Written by test/support/flink-jobmanager.ts for Flink ${version}.\n${body}${opts.appendText ?? ''}`;
  const file = join(dir, fileName);
  await writeFile(file, text);
  await writeFile(join(dir, 'log4j.properties'), LOG4J_PROPERTIES);

  return {
    version,
    dir,
    file,
    fileName,
    baseDir,
    logDir,
    restPort,
    rpcPort,
    restUrl: `http://127.0.0.1:${restPort}`,
    clusterId: opts.clusterId,
    zookeeperQuorum: opts.zookeeperQuorum,
    kubernetes: opts.kubernetes,
    pathRoot: opts.pathRoot,
    storageDir,
    entries,
    text,
    remove: async () => {
      if (keepDirs()) return;
      await rm(baseDir, { recursive: true, force: true });
      forgetDir(baseDir);
    },
  };
}

/**
 * The keys that select Kubernetes high availability for a standalone JobManager. Flink's
 * KubernetesHaServices take the ConfigMap names from kubernetes.cluster-id, while the HA storage
 * path (<storageDir>/<high-availability.cluster-id>) takes high-availability.cluster-id: the
 * caller writes the latter with the same value, as Flink's native Kubernetes deployment does.
 */
function kubernetesHaEntries(conf: FlinkKubernetesHaConf, clusterId: string): Record<string, string> {
  const haKey = conf.haKey ?? 'type';
  const ms = (value: number): string => `${value} ms`;
  return {
    ...(haKey === 'legacy'
      ? { 'high-availability': 'kubernetes' }
      : {
          'high-availability.type': haKey === 'factory-class' ? KUBERNETES_HA_FACTORY_CLASS : 'kubernetes',
        }),
    'kubernetes.cluster-id': clusterId,
    'kubernetes.namespace': conf.namespace,
    'kubernetes.config.file': conf.kubeconfigFile,
    ...(conf.leaseDurationMs !== undefined
      ? { 'high-availability.kubernetes.leader-election.lease-duration': ms(conf.leaseDurationMs) }
      : {}),
    ...(conf.renewDeadlineMs !== undefined
      ? { 'high-availability.kubernetes.leader-election.renew-deadline': ms(conf.renewDeadlineMs) }
      : {}),
    ...(conf.retryPeriodMs !== undefined ? { 'high-availability.kubernetes.leader-election.retry-period': ms(conf.retryPeriodMs) } : {}),
  };
}

/** Flink's HighAvailabilityOptions.ZOOKEEPER_SESSION_TIMEOUT: an int (ms) up to 1.19, a Duration from 1.20. */
export function sessionTimeoutValue(version: string, ms: number): string {
  return flinkAtLeast(version, 1, 20) ? `${ms} ms` : String(ms);
}

function flatYaml(entries: Record<string, string>): string {
  return Object.entries(entries)
    .map(([key, value]) => `${key}: ${value}\n`)
    .join('');
}

interface YamlTree {
  [segment: string]: YamlTree | string;
}

function nestedYaml(entries: Record<string, string>): string {
  const root: YamlTree = {};
  for (const [key, value] of Object.entries(entries)) {
    const segments = key.split('.');
    let node = root;
    segments.forEach((segment, index) => {
      const existing = node[segment];
      if (index === segments.length - 1) {
        if (existing !== undefined) throw new Error(`nested layout: ${key} collides with another key`);
        node[segment] = value;
      } else if (existing === undefined) {
        node = node[segment] = {};
      } else if (typeof existing === 'string') {
        throw new Error(`nested layout: ${key} collides with the value of ${segments.slice(0, index + 1).join('.')}`);
      } else {
        node = existing;
      }
    });
  }
  const render = (node: YamlTree, indent: string): string =>
    Object.entries(node)
      .map(([segment, child]) =>
        typeof child === 'string' ? `${indent}${segment}: ${child}\n` : `${indent}${segment}:\n${render(child, `${indent}  `)}`,
      )
      .join('');
  return render(root, '');
}

/**
 * flink-dist's conf/log4j.properties (the daemon's, read through -Dlog4j.configurationFile): its
 * levels and pattern, with a plain file appender instead of the rolling one, as every JVM start
 * here gets a file of its own.
 */
const LOG4J_PROPERTIES = `# Flink's log4j.properties pattern and levels; a plain file, one per JobManager start.
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender
logger.pekko.name = org.apache.pekko
logger.pekko.level = INFO
logger.akka.name = akka
logger.akka.level = INFO
logger.kafka.name = org.apache.kafka
logger.kafka.level = INFO
logger.hadoop.name = org.apache.hadoop
logger.hadoop.level = INFO
logger.zookeeper.name = org.apache.zookeeper
logger.zookeeper.level = INFO
logger.shaded_zookeeper.name = org.apache.flink.shaded.zookeeper3
logger.shaded_zookeeper.level = INFO
appender.main.name = MainAppender
appender.main.type = File
appender.main.append = true
appender.main.fileName = \${sys:log.file}
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
logger.netty.name = org.jboss.netty.channel.DefaultChannelPipeline
logger.netty.level = OFF
`;

// ---- starting a JobManager -------------------------------------------------------------------------

export interface StartFlinkJobManagerOptions {
  version: string;
  /** A conf dir from writeFlinkConfDir, or the path of any conf dir (then the REST port is read from the log). */
  confDir: FlinkConfDir | string;
  /** Where the .log (Flink's log4j) and .out (stdout and stderr) files go; default the conf dir's log dir. */
  logDir?: string;
  /** Bound on spawn until the REST port accepts connections, in ms. Default 90000. */
  startTimeoutMs?: number;
  /** Appended to the JVM options, as env.java.opts.jobmanager would be. */
  extraJvmOptions?: string[];
  /**
   * The classpath with flink-kubernetes (fetchFlink's kubernetes option). Default: when confDir
   * was written for Kubernetes high availability.
   */
  kubernetes?: boolean;
}

export interface FlinkJobManagerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface FlinkLogLine {
  readonly line: string;
  /** Position in the log (0-based line number): pass index + 1 as `since` to look further on. */
  readonly index: number;
  readonly match: RegExpExecArray;
}

export interface FlinkLeadership {
  /** Granted and not revoked since, by the JobManager's own log. */
  readonly leading: boolean;
  /** The REST URL the log names. */
  readonly url: string | undefined;
  /** leaderSessionID of the last grant. */
  readonly sessionId: string | undefined;
  /** Line index of the last grant or revocation, -1 when neither was logged. */
  readonly index: number;
}

export interface FlinkJobManager {
  readonly version: string;
  readonly pid: number;
  readonly restPort: number;
  readonly restUrl: string;
  readonly confDir: string;
  /** Flink's own log (log4j, -Dlog.file). */
  readonly logFile: string;
  /** The JVM's stdout and stderr. */
  readonly outFile: string;
  /** The full java command line. */
  readonly command: readonly string[];
  /** performance.now() at spawn and when the REST port first accepted a connection. */
  readonly spawnedAtMs: number;
  readonly restReadyAtMs: number;
  /** Settles when the JVM has exited. */
  readonly exited: Promise<FlinkJobManagerExit>;
  isRunning(): boolean;
  /**
   * Sends a signal. SIGKILL and SIGTERM resolve once the JVM has exited (SIGTERM escalates to
   * SIGKILL after 10 s); SIGSTOP and SIGCONT resolve at once.
   */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** SIGTERM (Flink's graceful shutdown), then waits for the exit. No-op when exited. */
  stop(): Promise<void>;
  /**
   * The first log line at index `since` (default 0: the whole log) or later that matches, now or
   * within timeoutMs. Rejects, quoting the log's tail, on timeout or when the JVM exits first.
   */
  waitForLog(pattern: RegExp, timeoutMs: number, opts?: { since?: number; signal?: AbortSignal }): Promise<FlinkLogLine>;
  /** Reads what the log has gained and returns every line so far. */
  logLines(): Promise<readonly string[]>;
  /** Leadership of the REST endpoint by the log as of now (reads the log first). */
  leadership(): Promise<FlinkLeadership>;
  /** VmRSS of the JVM in KiB (undefined once exited). */
  rssKiB(): Promise<number | undefined>;
  /** The last lines of the log and of the .out file, for error messages. */
  tail(): Promise<string>;
}

let jobManagerCounter = 0;

/**
 * Starts StandaloneSessionClusterEntrypoint as bin/jobmanager.sh start does, and resolves once its
 * REST port accepts connections. The command line, in flink-daemon.sh's order:
 *   java <spawnJvm's test flags> <JVM memory flags from BashJavaUtils GET_JM_RESOURCE_PARAMS>
 *        <flinkJavaOpts(version)> <extraJvmOptions>
 *        -Dlog.file=<log> -Dlog4j.configuration=file:<conf>/log4j.properties
 *        -Dlog4j.configurationFile=file:<conf>/log4j.properties
 *        -Dlogback.configurationFile=file:<conf>/logback.xml
 *        -classpath <jars> StandaloneSessionClusterEntrypoint
 *        <-D memory options from BashJavaUtils> --configDir <conf> [--executionMode cluster (1.x)]
 */
export async function startFlinkJobManager(opts: StartFlinkJobManagerOptions): Promise<FlinkJobManager> {
  const { version } = opts;
  const confDir = typeof opts.confDir === 'string' ? opts.confDir : opts.confDir.dir;
  const knownRestPort = typeof opts.confDir === 'string' ? undefined : opts.confDir.restPort;
  const logDir = opts.logDir ?? (typeof opts.confDir === 'string' ? join(confDir, '..', 'log') : opts.confDir.logDir);
  await mkdir(logDir, { recursive: true });
  const kubernetes = opts.kubernetes ?? (typeof opts.confDir !== 'string' && opts.confDir.kubernetes !== undefined);
  const jars = await fetchFlink(version, { kubernetes });
  const classPath = jars.join(':');
  const resources = await jobManagerResourceParams(classPath, confDir);

  const id = ++jobManagerCounter;
  const stem = join(logDir, `flink-jobmanager-${process.pid}-${id}`);
  const logFile = `${stem}.log`;
  const outFile = `${stem}.out`;
  const flinkArgs = [
    ...resources.jvmParams,
    ...flinkJavaOpts(version),
    ...(opts.extraJvmOptions ?? []),
    `-Dlog.file=${logFile}`,
    `-Dlog4j.configuration=file:${join(confDir, 'log4j.properties')}`,
    `-Dlog4j.configurationFile=file:${join(confDir, 'log4j.properties')}`,
    `-Dlogback.configurationFile=file:${join(confDir, 'logback.xml')}`,
    '-classpath',
    classPath,
    ENTRYPOINT_CLASS,
    ...resources.dynamicParams,
    '--configDir',
    confDir,
    // 2.x's entrypoint parser knows only --configDir and -D.
    ...(flinkAtLeast(version, 2, 0) ? [] : ['--executionMode', 'cluster']),
  ];
  const spawnedAtMs = performance.now();
  const child = spawnJvm(flinkArgs, outFile);
  const jm = new RunningJobManager(version, child, confDir, logFile, outFile, spawnedAtMs, flinkArgs);
  const timeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  try {
    const listening = await jm.waitForLog(REST_LISTENING, timeoutMs);
    const restPort = Number(listening.match[2]);
    if (knownRestPort !== undefined && knownRestPort !== 0 && restPort !== knownRestPort) {
      throw new Error(`REST endpoint listens on ${restPort}, the conf says ${knownRestPort}`);
    }
    await waitForConnect(restPort, child, Math.max(1000, timeoutMs - (performance.now() - spawnedAtMs)));
    jm.restReady(restPort, performance.now());
    return jm;
  } catch (err) {
    await terminate(child, 'SIGKILL');
    throw new Error(`Flink ${version} JobManager (conf ${confDir}) did not start: ${(err as Error).message}\n` + (await jm.tail()), {
      cause: err,
    });
  }
}

/** JVM memory flags and -D memory options exactly as bin/jobmanager.sh gets them (bash-java-utils.sh). */
async function jobManagerResourceParams(classPath: string, confDir: string): Promise<{ jvmParams: string[]; dynamicParams: string[] }> {
  let output: string;
  try {
    ({ stdout: output } = await promisify(execFile)(
      'java',
      ['-cp', classPath, BASH_JAVA_UTILS_CLASS, 'GET_JM_RESOURCE_PARAMS', '--configDir', confDir],
      { maxBuffer: 4 * 1024 * 1024 },
    ));
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`BashJavaUtils GET_JM_RESOURCE_PARAMS failed for ${confDir}:\n${stdout}${stderr}`, { cause: err });
  }
  const results = output
    .split('\n')
    .filter((line) => line.startsWith(BASH_JAVA_UTILS_PREFIX))
    .map((line) => line.slice(BASH_JAVA_UTILS_PREFIX.length).trim());
  if (results.length !== 2) throw new Error(`BashJavaUtils GET_JM_RESOURCE_PARAMS: expected 2 result lines:\n${output}`);
  const split = (line: string): string[] => line.split(/\s+/).filter((word) => word !== '');
  return { jvmParams: split(results[0]!), dynamicParams: split(results[1]!) };
}

function waitForConnect(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  return new Promise((done, fail) => {
    const attempt = (): void => {
      if (child.exitCode !== null || child.signalCode !== null) {
        fail(new Error(`the JVM exited (${child.exitCode ?? child.signalCode}) before its REST port accepted connections`));
        return;
      }
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        done();
      });
      socket.once('error', (err) => {
        socket.destroy();
        if (performance.now() > deadline) fail(new Error(`127.0.0.1:${port} refused connections for ${timeoutMs} ms: ${err.message}`));
        // Only reached when the log already said the endpoint listens: a retry is a formality.
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

class RunningJobManager implements FlinkJobManager {
  readonly pid: number;
  readonly exited: Promise<FlinkJobManagerExit>;
  restPort = 0;
  restUrl = '';
  restReadyAtMs = 0;
  private exitInfo: FlinkJobManagerExit | undefined;
  readonly command: readonly string[];
  private readonly log: LogFollower;

  constructor(
    readonly version: string,
    private readonly child: ChildProcess,
    readonly confDir: string,
    readonly logFile: string,
    readonly outFile: string,
    readonly spawnedAtMs: number,
    flinkArgs: readonly string[],
  ) {
    if (child.pid === undefined) throw new Error('could not run java');
    this.pid = child.pid;
    this.command = ['java', ...flinkArgs];
    this.log = new LogFollower(logFile);
    this.exited = new Promise((done) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        // Whatever the JVM wrote last is in the file by now: read it before waiters give up.
        void this.log.refresh().finally(() => {
          this.log.close();
          done({ code, signal });
        });
      });
    });
  }

  restReady(port: number, atMs: number): void {
    this.restPort = port;
    this.restUrl = `http://127.0.0.1:${port}`;
    this.restReadyAtMs = atMs;
  }

  isRunning(): boolean {
    return this.exitInfo === undefined;
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (!this.isRunning()) return;
    if (signal === 'SIGKILL' || signal === 'SIGTERM') {
      // A stopped JVM cannot act on SIGTERM until it runs again.
      if (signal === 'SIGTERM') this.child.kill('SIGCONT');
      await terminate(this.child, signal);
      await this.exited;
    } else {
      this.child.kill(signal);
    }
  }

  stop(): Promise<void> {
    return this.kill('SIGTERM');
  }

  async waitForLog(pattern: RegExp, timeoutMs: number, opts: { since?: number; signal?: AbortSignal } = {}): Promise<FlinkLogLine> {
    const { signal } = opts;
    await this.log.refresh();
    const regex = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    this.log.startWatching();
    const onAbort = (): void => this.log.notify();
    signal?.addEventListener('abort', onAbort);
    // waitForItem tests each line once, in order from `since`: counting the misses gives the index.
    let index = opts.since ?? 0;
    try {
      const line = await waitForItem({
        items: this.log.lines,
        since: index,
        matches: (item) => {
          if (regex.test(item)) return true;
          index++;
          return false;
        },
        hasExited: () => this.log.closed || signal?.aborted === true,
        waiters: this.log.waiters,
        timeoutMs,
        exitedError: () =>
          signal?.aborted === true
            ? new Error(`waiting for ${pattern} was aborted`)
            : new Error(`the JobManager exited (${describeExit(this.exitInfo)}) before logging ${pattern}`),
        timeoutError: () => new Error(`no log line matching ${pattern} within ${timeoutMs} ms`),
      });
      return { line, index, match: regex.exec(line)! };
    } catch (err) {
      if (signal?.aborted === true) throw err;
      throw new Error(`Flink ${this.version} JobManager pid ${this.pid}: ${(err as Error).message}\n${await this.tail()}`, { cause: err });
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.log.stopWatchingWhenIdle();
    }
  }

  async logLines(): Promise<readonly string[]> {
    await this.log.refresh();
    return this.log.lines;
  }

  async leadership(): Promise<FlinkLeadership> {
    const lines = await this.logLines();
    for (let index = lines.length - 1; index >= 0; index--) {
      const line = lines[index]!;
      const granted = GRANTED_LEADERSHIP.exec(line);
      if (granted !== null) return { leading: true, url: granted[1], sessionId: granted[2], index };
      const lost = LOST_LEADERSHIP.exec(line);
      if (lost !== null) return { leading: false, url: lost[1], sessionId: undefined, index };
    }
    return { leading: false, url: undefined, sessionId: undefined, index: -1 };
  }

  async rssKiB(): Promise<number | undefined> {
    if (!this.isRunning()) return undefined;
    try {
      const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
      const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
      return match === null ? undefined : Number(match[1]);
    } catch {
      return undefined;
    }
  }

  async tail(): Promise<string> {
    return (
      `--- ${this.logFile} (last ${LOG_TAIL_LINES} lines) ---\n${await readTail(this.logFile, LOG_TAIL_LINES)}\n` +
      `--- ${this.outFile} ---\n${await readTail(this.outFile, 20)}`
    );
  }
}

function describeExit(exit: FlinkJobManagerExit | undefined): string {
  if (exit === undefined) return 'still running';
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code}`;
}

/**
 * Follows a growing log file: lines are read on fs.watch events on its directory, and, while a
 * waiter exists, also every LOG_RESCAN_MS.
 */
class LogFollower {
  readonly lines: string[] = [];
  readonly waiters = new Set<() => void>();
  closed = false;
  private offset = 0;
  /** Bytes after the last newline: a line still being written, maybe cut inside a UTF-8 sequence. */
  private partial: Buffer = Buffer.alloc(0);
  private reading: Promise<void> | undefined;
  private again = false;
  private watcher: FSWatcher | undefined;
  private rescan: NodeJS.Timeout | undefined;
  private watching = 0;

  constructor(private readonly file: string) {}

  /** Reads what the file has gained; concurrent calls share one read and a trailing re-read. */
  refresh(): Promise<void> {
    if (this.reading !== undefined) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.again = false;
        await this.readNew();
      } while (this.again);
    })().finally(() => {
      this.reading = undefined;
      this.notify();
    });
    return this.reading;
  }

  private async readNew(): Promise<void> {
    let handle;
    try {
      handle = await open(this.file, 'r');
    } catch {
      return; // not created yet
    }
    try {
      const chunks: Buffer[] = [];
      for (;;) {
        const buffer = Buffer.alloc(64 * 1024);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        chunks.push(buffer.subarray(0, bytesRead));
      }
      if (chunks.length === 0) return;
      const bytes = Buffer.concat([this.partial, ...chunks]);
      const end = bytes.lastIndexOf(0x0a);
      if (end < 0) {
        this.partial = bytes;
        return;
      }
      this.partial = bytes.subarray(end + 1);
      this.lines.push(...bytes.subarray(0, end).toString('utf8').split('\n'));
    } finally {
      await handle.close();
    }
  }

  /** Lets every waiter look again (new lines, exit, abort). */
  notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  startWatching(): void {
    this.watching++;
    if (this.watcher === undefined && !this.closed) {
      const name = basename(this.file);
      try {
        this.watcher = watch(dirname(this.file), (_event, changed) => {
          if (changed === null || changed === name) void this.refresh();
        });
        this.watcher.on('error', () => undefined);
      } catch {
        // The rescan below still finds new lines.
      }
      this.rescan = setInterval(() => void this.refresh(), LOG_RESCAN_MS);
    }
  }

  stopWatchingWhenIdle(): void {
    this.watching = Math.max(0, this.watching - 1);
    if (this.watching === 0) this.stopWatching();
  }

  private stopWatching(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.rescan !== undefined) clearInterval(this.rescan);
    this.rescan = undefined;
  }

  close(): void {
    if (this.partial.length > 0) {
      this.lines.push(this.partial.toString('utf8'));
      this.partial = Buffer.alloc(0);
    }
    this.closed = true;
    this.stopWatching();
    this.notify();
  }
}

// ---- leadership, from Flink's logs -----------------------------------------------------------------

/**
 * The running JobManagers whose REST endpoint was granted leadership and has not logged losing it
 * since, by their own logs. Exactly one element when the cluster has settled on a leader. A JVM
 * stopped with SIGSTOP still counts: it logs nothing while stopped.
 */
export async function whoLeads<T extends FlinkJobManager>(jobManagers: readonly T[]): Promise<T[]> {
  const states = await Promise.all(jobManagers.map(async (jm) => ({ jm, state: await jm.leadership() })));
  return states.filter(({ jm, state }) => jm.isRunning() && state.leading).map(({ jm }) => jm);
}

/**
 * Resolves with the first of jobManagers to log a grant at or after its `since` line (default: any
 * grant in its log), and that grant's line.
 */
export async function waitForLeader<T extends FlinkJobManager>(
  jobManagers: readonly T[],
  timeoutMs: number,
  since: ReadonlyMap<T, number> = new Map(),
): Promise<{ leader: T; line: FlinkLogLine }> {
  const losers = new AbortController();
  const attempts = jobManagers.map(async (jm) => {
    const line = await jm.waitForLog(GRANTED_LEADERSHIP, timeoutMs, { since: since.get(jm) ?? 0, signal: losers.signal });
    return { leader: jm, line };
  });
  try {
    return await Promise.any(attempts);
  } catch (err) {
    const reasons = err instanceof AggregateError ? err.errors.map((e: Error) => e.message).join('\n\n') : String(err);
    throw new Error(`no JobManager was granted leadership within ${timeoutMs} ms:\n${reasons}`, { cause: err });
  } finally {
    losers.abort();
    for (const attempt of attempts) attempt.catch(() => undefined);
  }
}

// ---- Flink's own reading of a conf dir ------------------------------------------------------------

let confDumpClasses: Promise<string> | undefined;

/**
 * The configuration Flink of this version reads from confDir:
 * GlobalConfiguration.loadConfiguration(confDir).toMap(), run in a JVM on that version's classpath.
 */
export async function dumpFlinkConfig(version: string, confDir: string): Promise<Record<string, string>> {
  const [jars, classes] = await Promise.all([fetchFlink(version), compileConfDump()]);
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(
      'java',
      ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-cp', [classes, ...jars].join(':'), 'FlinkConfDump', confDir],
      { maxBuffer: 16 * 1024 * 1024 },
    ));
  } catch (err) {
    const { stdout: out = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`Flink ${version} could not load the configuration in ${confDir}:\n${lastLines(out + stderr, 30)}`, { cause: err });
  }
  const line = stdout.split('\n').find((candidate) => candidate.startsWith(CONF_DUMP_MARKER));
  if (line === undefined) throw new Error(`FlinkConfDump printed no result:\n${lastLines(stdout, 30)}`);
  return JSON.parse(line.slice(CONF_DUMP_MARKER.length)) as Record<string, string>;
}

function lastLines(text: string, count: number): string {
  return text.split('\n').slice(-count).join('\n');
}

/**
 * Compiles FlinkConfDump once per source (it calls Flink by reflection, so one class serves every
 * version) into <cache>/flink/conf-dump/<hash>/.
 */
function compileConfDump(): Promise<string> {
  confDumpClasses ??= compileConfDumpNow();
  const current = confDumpClasses;
  current.catch(() => {
    if (confDumpClasses === current) confDumpClasses = undefined;
  });
  return current;
}

async function compileConfDumpNow(): Promise<string> {
  const source = await readFile(CONF_DUMP_SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const target = join(flinkHaSidecarCacheDir(), 'flink', 'conf-dump', hash);
  if (existsSync(join(target, 'FlinkConfDump.class'))) return target;
  const staging = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(staging, { recursive: true });
  try {
    await promisify(execFile)('javac', ['-Xlint:all', '-Werror', '-d', staging, CONF_DUMP_SOURCE]);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`javac failed for ${CONF_DUMP_SOURCE}:\n${stdout}${stderr}`, { cause: err });
  }
  try {
    await rename(staging, target);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    // Another process won the race with identical classes.
    if (!existsSync(join(target, 'FlinkConfDump.class'))) throw err;
  }
  return target;
}

// ---- clean-up --------------------------------------------------------------------------------------

const KEEP_VARIABLE = 'FLINK_TEST_KEEP_DIR';
const keepDirs = (): boolean => isKept(KEEP_VARIABLE);

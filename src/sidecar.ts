import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type https from 'node:https';
import type { Logger } from 'pino';
import type { Config } from './config/index.js';
import type { SidecarState } from './core/model.js';
import { initialState } from './core/reduce.js';
import { effectiveSettings } from './effective-config.js';
import { createApp } from './http/create-app.js';
import { createDebugApp } from './http/debug-app.js';
import { listen } from './http/listen.js';
import { createMetrics } from './metrics/create-metrics.js';
import { packageVersion } from './package-version.js';
import { JobManagerChecker } from './sources/flink-rest/jobmanager-checker.js';
import { confWarnings, parseFlinkVersion } from './flink-conf/version-rules.js';
import { wakeOnDeadlines } from './wake-timer.js';
import { buildIdentity } from './sources/local-identity.js';
import { startLabelRouting, type LabelRoutingOptions } from './sources/kubernetes/label-routing.js';
import { createLeaderSource } from './leader-sources.js';
import { createHostResolver } from './sources/leader-target.js';
import { Store } from './store.js';

/** Monotonic milliseconds on the epoch scale: never jumps with the wall clock, yet readable as a time. */
export const monotonicClock = (): number => performance.timeOrigin + performance.now();

const DNS_TIMEOUT_MS = 2000;

export interface RunningSidecar {
  store: Store;
  server: Server;
  /** The address the probe server listens on. */
  address: { host: string; port: number };
  /** The address of the debug endpoints; null when they are off. */
  debugAddress: { host: string; port: number } | null;
  /** Fails readiness at once, drains the server, closes ZooKeeper. Resolves when all is stopped. */
  shutdown: (why: string) => Promise<void>;
}

export interface SidecarOptions {
  /** Label routing as given here (tests: with a KubeClient of their own) instead of from the settings. */
  labelRouting?: LabelRoutingOptions;
}

/**
 * Wires sources, core and HTTP together and starts them. Touches no process-wide state
 * (signals, exit codes): that is main's job, so tests can run several sidecars in one process.
 */
export async function startSidecar(
  config: Config,
  logger: Logger,
  clock = monotonicClock,
  options: SidecarOptions = {},
): Promise<RunningSidecar> {
  const resolveHost = createHostResolver(DNS_TIMEOUT_MS);
  const identity = await buildIdentity(config.advertisedAddresses, config.flinkRestUrl, resolveHost);
  const labelRouting = options.labelRouting ?? labelRoutingOf(config);
  const label = labelRouting?.settings.mode === 'label' ? labelRouting.settings : null;
  const store = new Store(
    initialState(config.layout, identity, clock(), {
      routingMode: label === null ? 'readiness' : 'label',
      labelFailureReadinessTimeoutMs: label?.failureReadinessTimeoutMs ?? config.labelFailureReadinessTimeoutMs,
      // Flink's leader keeps leading through a suspended connection for up to its session timeout.
      tolerateSuspendedMs: config.tolerateSuspendedConnections ? config.flinkSessionTimeoutMs : null,
      leaderSource: config.leaderSource,
      kubernetesClusterId: config.leaderSource === 'kubernetes' ? config.kubernetesClusterId : null,
      jobmanagerLivenessGraceMs: config.jobmanagerLivenessGraceMs,
      jobmanagerStartupAllowanceMs: config.jobmanagerStartupAllowanceMs,
      leaderHandoverDelayMs: config.leaderHandoverDelayMs,
    }),
  );
  const log = logger.child({ module: 'sidecar' });
  const isKubernetes = config.leaderSource === 'kubernetes';
  log.info(
    {
      leaderSource: config.leaderSource,
      ...(isKubernetes
        ? { namespace: config.kubernetesNamespace, clusterId: config.kubernetesClusterId, kubeconfig: config.kubeconfig ?? 'in-cluster' }
        : { zookeeper: config.zookeeperQuorum?.connectString, root: config.zookeeperRoot, clusterId: config.clusterId }),
      layout: config.layout,
      restUrl: config.flinkRestUrl.href,
      explicitHosts: identity.explicitHosts,
      restPort: identity.restPort,
    },
    'starting',
  );

  store.subscribe(logTransitions(logger.child({ module: 'core' })));
  // Before the sources start, so that the counters see every event.
  const metrics = createMetrics({
    store,
    version: packageVersion(),
    leaderSource: config.leaderSource,
    layoutSetting: config.layout,
    clusterId: (isKubernetes ? config.kubernetesClusterId : null) ?? config.clusterId,
  });

  const source = createLeaderSource({ config, store, clock, logger, resolveHost });
  const checker = new JobManagerChecker({
    restUrl: config.flinkRestUrl,
    intervalMs: config.jobmanagerCheckIntervalMs,
    timeoutMs: config.jobmanagerCheckTimeoutMs,
    clock,
    onEvent: store.dispatch,
    ...(config.flinkRestUrl.protocol === 'https:' ? { tls: restTls(config) } : {}),
  });
  // A JM answers the election 503 for a moment during a failover: when ZooKeeper shows a new
  // leader, look at the local JM again now instead of keeping a verdict up to an interval old.
  store.subscribe((next, previous) => {
    const a = previous.verdict.currentLeader;
    const b = next.verdict.currentLeader;
    if (b !== null && (a === null || a.owner !== b.owner || a.sessionId !== b.sessionId)) checker.checkSoon();
  });

  // Once the JM names its version, say where it reads its configuration differently from the sidecar.
  store.subscribe((next, previous) => {
    const text = next.jobmanager.flinkVersion;
    if (text === null || text === previous.jobmanager.flinkVersion) return;
    const version = parseFlinkVersion(text);
    const warnings = version === null ? [] : confWarnings(version, config.flinkConfFacts);
    for (const warning of warnings) logger.warn({ flinkVersion: text, flinkConfFile: config.flinkConfFile }, warning);
  });

  const labeler = labelRouting ? startLabelRouting(labelRouting, store, clock, logger) : null;

  const stopWaking = wakeOnDeadlines(store, clock);

  const app = createApp({ getState: () => store.state, clock, metrics });
  const { server, host, port } = await listen(app, config.host, config.port);
  log.info({ host, port }, 'probe server listening');
  const debug = config.debugPort === 0 ? null : await startDebugServer(config, store);
  if (debug)
    log.info({ host: debug.host, port: debug.port, auth: config.debugTokenFile === null ? 'none' : 'bearer' }, 'debug endpoints listening');
  source.start();
  checker.start();

  let stopping: Promise<void> | null = null;
  const shutdown = (why: string): Promise<void> => {
    stopping ??= (async () => {
      log.info({ why }, 'shutting down: readiness fails from now on');
      store.dispatch({ type: 'shutdownStarted', atMs: clock() });
      // The label goes first, so that the leader Service drops this pod before its server drains.
      await labeler?.stop(config.shutdownTimeoutMs);
      await Promise.all([closeServer(server, config.shutdownTimeoutMs), debug && closeServer(debug.server, config.shutdownTimeoutMs)]);
      stopWaking();
      metrics.close();
      checker.stop();
      source.stop();
      log.info('stopped');
    })();
    return stopping;
  };
  return { store, server, address: { host, port }, debugAddress: debug && { host: debug.host, port: debug.port }, shutdown };
}

/** TLS options for an https REST URL, from files read now. */
function restTls(config: Config): https.AgentOptions {
  // Loaded here only: it loads Node's TLS, which a sidecar with a plain-http URL never needs.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy load, as said above
  const { loadRestTls } = require('./sources/flink-rest/rest-tls.js') as typeof import('./sources/flink-rest/rest-tls.js');
  return loadRestTls(config.flinkRestTls);
}

/** The debug endpoints on their own port; the token file is read once, at start. */
async function startDebugServer(config: Config, store: Store) {
  const token = config.debugTokenFile === null ? null : readFileSync(config.debugTokenFile, 'utf8').trim();
  if (token === '') throw new Error(`the debug token file ${config.debugTokenFile} is empty`);
  const app = createDebugApp({ getState: () => store.state, getConfig: () => effectiveSettings(config), token });
  return listen(app, config.debugHost, config.debugPort);
}

/** Label routing as the settings ask for it (the pod's in-cluster credentials); undefined in readiness mode. */
function labelRoutingOf(config: Config): LabelRoutingOptions | undefined {
  if (config.routingMode !== 'label') return undefined;
  return {
    settings: {
      mode: 'label',
      podName: config.podName,
      podNamespace: config.podNamespace,
      roleLabel: config.roleLabel,
      leaderValue: config.roleLabelLeaderValue,
      standbyValue: config.roleLabelStandbyValue,
      clusterLabel: config.podClusterLabel,
      failureReadinessTimeoutMs: config.labelFailureReadinessTimeoutMs,
    },
  };
}

/** Logs each transition once, at info: from, to, and why. */
function logTransitions(log: Logger) {
  return (next: SidecarState, previous: SidecarState): void => {
    const t = next.transitions.at(-1);
    if (t === undefined || t === previous.transitions.at(-1)) return;
    // A misconfigured identity keeps every JM out of the Service: an error, not news.
    const level = t.roleReason === 'identity-ambiguous' ? 'error' : 'info';
    log[level](
      {
        from: t.fromRole,
        to: t.toRole,
        ready: t.toReady,
        wasReady: t.fromReady,
        reason: t.reason,
        detail: t.detail,
        roleReason: t.roleReason,
        leader: next.verdict.currentLeader?.address ?? null,
        // The transition's own time on the monotonic clock (epoch scale), so that the transitions
        // of several sidecars can be put on one time line; `time` is the wall clock at writing.
        atMs: t.atMs,
      },
      t.fromRole === t.toRole ? `still ${t.toRole}: ${t.reason}` : `role ${t.fromRole} -> ${t.toRole}: ${t.reason}`,
    );
  };
}

/** Stops accepting connections, lets requests in flight finish, and cuts the rest after timeoutMs. */
function closeServer(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * Starts the adapters of the configured leader source and connects them to the store: ZooKeeper
 * (session, election watches) or Kubernetes (a list and watch per HA ConfigMap). Leader addresses
 * are looked up between the watchers and the store for either. Only this module knows which
 * source runs; the core, /readyz, metrics and HTTP read the store.
 */
import type { Logger } from 'pino';
import type { Config } from './config/index.js';
import type { LeaderTarget } from './core/identity.js';
import { watchedConfigMaps } from './core/kubernetes-reading.js';
import type { ConfigMapVersion, LayoutObservation } from './core/model.js';
import { LeaderTargetLookup, type ResolveHost } from './sources/leader-target.js';
import type { Store } from './store.js';
import { ElectionWatcher } from './sources/zookeeper/election-watcher.js';
import { allElectionPaths } from './sources/zookeeper/paths.js';
import { FlinkSessionGrant } from './sources/zookeeper/session-grant.js';
import { ZooKeeperSession } from './sources/zookeeper/session.js';

/** After a failed read (NOAUTH, say) the watches are set again after this long. */
const READ_RETRY_MS = 5000;
/** Each ConfigMap watch is ended by the API server after about this long and resumed. */
const WATCH_TIMEOUT_SECONDS = 300;
const KUBERNETES_REQUEST_TIMEOUT_MS = 10_000;

export interface LeaderSourceContext {
  config: Config;
  store: Store;
  clock: () => number;
  logger: Logger;
  resolveHost: ResolveHost;
}

export interface RunningLeaderSource {
  start(): void;
  stop(): void;
}

export function createLeaderSource(ctx: LeaderSourceContext): RunningLeaderSource {
  return ctx.config.leaderSource === 'kubernetes' ? kubernetesSource(ctx) : zooKeeperSource(ctx);
}

function zooKeeperSource({ config, store, clock, logger, resolveHost }: LeaderSourceContext): RunningLeaderSource {
  const connectString = config.zookeeperQuorum?.connectString;
  // The settings checks require the quorum for this source.
  if (connectString === undefined) throw new Error('the ZooKeeper source needs a quorum');
  const paths = allElectionPaths(
    { root: config.zookeeperRoot, clusterId: config.clusterId, latchDir: config.zookeeperLatchPath, leaderDir: config.zookeeperLeaderPath },
    config.layout,
  );
  const zkLog = logger.child({ module: 'zookeeper' });
  let retryTimer: NodeJS.Timeout | null = null;
  const lookup = new LeaderTargetLookup<LayoutObservation[]>({
    resolveHost,
    newestOnly: true,
    fill: fillZooKeeperTargets,
    emit: (observations, atMs) => store.dispatch({ type: 'electionObserved', atMs, observations }),
  });
  const watcher: ElectionWatcher = new ElectionWatcher({
    paths,
    onObserved: (observations) => lookup.report(observations, clock()),
    onReadFailed: (err) => {
      zkLog.error({ code: err.code, path: err.path, err: err.message }, 'reading the leader election failed');
      store.dispatch({ type: 'electionReadFailed', atMs: clock(), code: err.code, path: err.path ?? '', message: err.message });
      if (retryTimer) return;
      retryTimer = setTimeout(() => {
        retryTimer = null;
        const client = session.current;
        if (client) watcher.watch(client);
      }, READ_RETRY_MS);
    },
  });
  // A tolerated loss is held no longer than the servers grant a JobManager's session.
  const grant = config.tolerateSuspendedConnections
    ? new FlinkSessionGrant({
        connectString,
        requestedMs: config.flinkSessionTimeoutMs,
        authorization: config.zookeeperAuthorization,
        timeoutMs: config.zookeeperSessionTimeoutMs,
        clock,
        logger: zkLog,
        onEvent: store.dispatch,
      })
    : null;
  const session = new ZooKeeperSession({
    connectString,
    sessionTimeoutMs: config.zookeeperSessionTimeoutMs,
    authorization: config.zookeeperAuthorization,
    clock,
    logger: zkLog,
    onEvent: store.dispatch,
    onConnected: (client) => {
      watcher.watch(client);
      grant?.onConnected();
    },
  });
  return {
    start: () => session.start(),
    stop: () => {
      watcher.stop();
      lookup.stop();
      if (retryTimer) clearTimeout(retryTimer);
      session.close();
    },
  };
}

/** Every published leader address in a ZooKeeper picture, looked up. */
async function fillZooKeeperTargets(
  observations: LayoutObservation[],
  lookUp: (address: string) => Promise<LeaderTarget>,
): Promise<LayoutObservation[]> {
  return Promise.all(
    observations.map(async (o) =>
      o.leaderInfo.kind === 'published' ? { ...o, leaderInfo: { ...o.leaderInfo, target: await lookUp(o.leaderInfo.address) } } : o,
    ),
  );
}

type Observed = { version: ConfigMapVersion | null; continuous: boolean };

function kubernetesSource({ config, store, clock, logger, resolveHost }: LeaderSourceContext): RunningLeaderSource {
  const clusterId = config.kubernetesClusterId;
  // The settings checks require the cluster-id for this source.
  if (clusterId === null) throw new Error('the Kubernetes source needs a cluster-id');
  // Loaded here only: the ZooKeeper source never loads the Kubernetes client.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { createConfigMapApi } =
    require('./sources/kubernetes-ha/configmap-api.js') as typeof import('./sources/kubernetes-ha/configmap-api.js');
  const { ConfigMapWatcher } =
    require('./sources/kubernetes-ha/configmap-watcher.js') as typeof import('./sources/kubernetes-ha/configmap-watcher.js');
  const { loadInClusterKubeConfig, loadKubeConfigFile } =
    require('./sources/kubernetes/kube-client.js') as typeof import('./sources/kubernetes/kube-client.js');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const kubeConfig = config.kubeconfig === null ? loadInClusterKubeConfig() : loadKubeConfigFile(config.kubeconfig);
  const api = createConfigMapApi(kubeConfig, {
    namespace: config.kubernetesNamespace,
    requestTimeoutMs: KUBERNETES_REQUEST_TIMEOUT_MS,
    watchTimeoutSeconds: WATCH_TIMEOUT_SECONDS,
  });
  const kubeLog = logger.child({ module: 'kubernetes' });
  const watchers = watchedConfigMaps(clusterId, config.layout).map(({ name, layout }) => {
    const lookup = new LeaderTargetLookup<Observed>({
      resolveHost,
      newestOnly: false,
      fill: async (o, lookUp) => {
        const info = o.version?.leaderInfo;
        if (o.version === null || info?.kind !== 'published') return o;
        return { ...o, version: { ...o.version, leaderInfo: { ...info, target: await lookUp(info.address) } } };
      },
      emit: (o, atMs) => store.dispatch({ type: 'configMapObserved', atMs, name, version: o.version, continuous: o.continuous }),
    });
    const watcher = new ConfigMapWatcher({
      api,
      name,
      layout,
      clock,
      logger: kubeLog,
      onObserved: (atMs, version, continuous) => lookup.report({ version, continuous }, atMs),
      onFailed: (atMs, err) => {
        // Results still being looked up predate the failure: they must not undo it.
        lookup.stop();
        store.dispatch({
          type: 'configMapWatchFailed',
          atMs,
          name,
          forbidden: err.httpStatus === 401 || err.httpStatus === 403,
          detail: err.message,
        });
      },
    });
    return { watcher, lookup };
  });
  return {
    start: () => watchers.forEach((w) => w.watcher.start()),
    stop: () =>
      watchers.forEach((w) => {
        w.watcher.stop();
        w.lookup.stop();
      }),
  };
}

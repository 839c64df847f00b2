import type { DestinationStream } from 'pino';
import { loadConfig, type Config } from '../../src/config/index.js';
import type { SidecarState } from '../../src/core/model.js';
import { createLogger } from '../../src/log.js';
import { startSidecar, type RunningSidecar } from '../../src/sidecar.js';
import type { LabelRoutingOptions } from '../../src/sources/kubernetes/label-routing.js';

export interface TestSidecarOptions {
  zookeeper: string;
  clusterId: string;
  restUrl: string;
  layout?: string;
  root?: string;
  /** Hosts for --advertised-address; omit to use the interface addresses. */
  advertised?: string[];
  sessionTimeoutMs?: number;
  checkIntervalMs?: number;
  logLevel?: string;
  /** Where the JSON log lines go instead of stdout (to assert on them). */
  logDestination?: DestinationStream;
  /** More flags; the debug endpoints are off unless these set --debug-port. */
  extraFlags?: string[];
  /** Label routing: its settings and a KubeClient (e.g. kubeClientFor(fakeKubeApi)) instead of in-cluster credentials. */
  labelRouting?: LabelRoutingOptions;
}

/** A real sidecar (the same wiring as main, minus process handling) listening on 127.0.0.1. */
export interface TestSidecar {
  url: string;
  running: RunningSidecar;
  config: Config;
  get: (path: string) => Promise<{ status: number; body: ProbeBody }>;
  /** Resolves with the state once `predicate` holds; rejects after timeoutMs naming `what`. */
  waitFor: (what: string, predicate: (s: SidecarState) => boolean, timeoutMs?: number) => Promise<SidecarState>;
  stop: () => Promise<void>;
}

export interface ProbeBody {
  status: 'ok' | 'fail';
  role: string;
  reason: string;
  leader: string | null;
  checks: { name: string; ok: boolean; reason: string; detail?: string }[];
}

export async function startTestSidecar(o: TestSidecarOptions): Promise<TestSidecar> {
  const flags = [
    `--zookeeper-quorum=${o.zookeeper}`,
    `--cluster-id=${o.clusterId}`,
    `--flink-rest-url=${o.restUrl}`,
    `--layout=${o.layout ?? 'auto'}`,
    `--zookeeper-root=${o.root ?? '/flink'}`,
    `--zookeeper-session-timeout-ms=${o.sessionTimeoutMs ?? 4000}`,
    `--jobmanager-check-interval-ms=${o.checkIntervalMs ?? 500}`,
    '--jobmanager-check-timeout-ms=400',
    '--shutdown-timeout-ms=1000',
    '--host=127.0.0.1',
    // Any free port, taken by the probe server itself; `running.address` says which.
    '--port=0',
    `--log-level=${o.logLevel ?? process.env.TEST_SIDECAR_LOG_LEVEL ?? 'silent'}`,
    ...(o.advertised ? [`--advertised-address=${o.advertised.join(',')}`] : []),
    ...(o.extraFlags ?? []),
  ];
  // No kubelet stands between these sidecars and the tests, so the wait that covers its probe
  // period would only slow them (test/kube/service-follows-leader covers it); unless a test asks.
  if (!flags.some((f) => f.startsWith('--leader-handover-delay-ms'))) flags.push('--leader-handover-delay-ms=0');
  // Several sidecars share this machine: no fixed debug port unless a test asks for one.
  if (!flags.some((f) => f.startsWith('--debug-port'))) flags.push('--debug-port=0');
  const loaded = loadConfig(flags, {}, 'test');
  if (loaded.kind !== 'run') throw new Error(`unexpected ${loaded.kind}`);
  const config: Config = loaded.config;
  const running = await startSidecar(
    config,
    createLogger(config.logLevel, o.logDestination),
    undefined,
    o.labelRouting ? { labelRouting: o.labelRouting } : {},
  );
  const url = `http://127.0.0.1:${running.address.port}`;
  return {
    url,
    running,
    config,
    get: async (path) => {
      const res = await fetch(`${url}${path}`);
      return { status: res.status, body: (await res.json()) as ProbeBody };
    },
    waitFor: (what, predicate, timeoutMs = 20_000) => waitForState(running, what, predicate, timeoutMs),
    stop: () => running.shutdown('test finished'),
  };
}

function waitForState(
  running: RunningSidecar,
  what: string,
  predicate: (s: SidecarState) => boolean,
  timeoutMs: number,
): Promise<SidecarState> {
  const store = running.store;
  if (predicate(store.state)) return Promise.resolve(store.state);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      const v = store.state.verdict;
      reject(
        new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; role ${v.role} (${v.roleReason}: ${v.roleDetail}), checks ${JSON.stringify(v.checks)}`,
        ),
      );
    }, timeoutMs);
    const unsubscribe = store.subscribe((next) => {
      if (!predicate(next)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(next);
    });
  });
}

export const isReady = (s: SidecarState): boolean => s.verdict.ready;
export const hasRole =
  (role: string, reason?: string) =>
  (s: SidecarState): boolean =>
    s.verdict.role === role && (reason === undefined || s.verdict.roleReason === reason);
/** A healthy standby: another JM leads and the local JM answered healthy. */
export const isHealthyStandby = (s: SidecarState): boolean =>
  s.verdict.role === 'standby' && s.jobmanager.status === 'healthy' && s.zookeeper.status === 'connected';

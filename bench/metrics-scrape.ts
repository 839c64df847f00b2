/**
 * The cost of a Prometheus scrape: GET /metrics against the real express app and the real metrics
 * (Node's process metrics included) of a sidecar whose state is that of a leader with a history
 * (checks observed, failovers counted). No ZooKeeper: a scrape never touches it, which is the point.
 *
 * Three views of the same sequential scrapes, after a warm-up:
 *   server    request received -> response finished, inside this process's HTTP server
 *   round     the same request as a client on loopback sees it (keep-alive connection)
 *   render    metrics.render() alone, without HTTP
 *
 *   npm run bench:metrics -- [--scrapes 2000] [--warmup 200]
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import type { LayoutObservation, LeaderInfoObservation } from '../src/core/model.js';
import { initialState } from '../src/core/reduce.js';
import { testCoreSettings } from '../test/support/core-settings.js';
import { createApp } from '../src/http/create-app.js';
import { createMetrics } from '../src/metrics/create-metrics.js';
import { monotonicClock } from '../src/sidecar.js';
import { Store } from '../src/store.js';
import { targetOf } from '../test/support/leader-target.js';

const { values } = parseArgs({
  options: { scrapes: { type: 'string', default: '2000' }, warmup: { type: 'string', default: '200' } },
});
const SCRAPES = Number(values.scrapes);
const WARMUP = Number(values.warmup);
const TARGET_P50_MS = 2;

function leaderIs(host: string, owner: string, sessionId: string): LayoutObservation[] {
  const leaderInfo: LeaderInfoObservation = {
    kind: 'published',
    owner,
    address: `http://${host}:8081`,
    sessionId,
    target: targetOf(`http://${host}:8081`),
  };
  return [
    {
      layout: '1.15',
      component: 'rest_server',
      latchPath: '/flink/default/leader/latch',
      leaderInfoPath: '/flink/default/leader/rest_server/connection_info',
      latchExists: true,
      participants: [{ node: `_c_${owner}-latch-0000000001`, sequence: 1, owner }],
      leaderInfo,
    },
  ];
}

/** A store that has been through some history: connected, a few failovers, JM checks of all kinds. */
function busyLeaderStore(): Store {
  let t = monotonicClock();
  const store = new Store(
    initialState('auto', { explicitHosts: ['10.0.0.5'], interfaceAddresses: ['10.0.0.5'], restPort: 8081 }, t, testCoreSettings()),
  );
  store.dispatch({ type: 'zookeeperConnected', atMs: (t += 5), sessionId: '0000000000000ccc' });
  for (let i = 0; i < 5; i++) {
    const host = i % 2 === 0 ? '10.0.0.6' : '10.0.0.5';
    store.dispatch({ type: 'electionObserved', atMs: (t += 5), observations: leaderIs(host, `00000000000000a${i}`, `s-${i}`) });
  }
  for (let i = 0; i < 200; i++) {
    store.dispatch({ type: 'restCheckSucceeded', atMs: (t += 5), durationMs: 1 + (i % 7), httpStatus: 200 });
  }
  store.dispatch({ type: 'restCheckFailed', atMs: (t += 5), durationMs: 1000, reason: 'timeout', detail: 'x', httpStatus: null });
  store.dispatch({ type: 'restCheckSucceeded', atMs: (t += 5), durationMs: 2, httpStatus: 200 });
  store.dispatch({ type: 'zookeeperAnswered', atMs: t + 5 });
  return store;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(name: string, samples: number[]): { name: string; p50: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { name, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1)! };
}

async function main(): Promise<void> {
  const store = busyLeaderStore();
  const metrics = createMetrics({ store, version: 'bench', leaderSource: 'zookeeper', layoutSetting: 'auto', clusterId: '/default' });
  const app = createApp({ getState: () => store.state, clock: monotonicClock, metrics });

  const serverMs: number[] = [];
  let recording = false;
  const server = http.createServer((req, res) => {
    const start = performance.now();
    res.once('finish', () => {
      if (recording) serverMs.push(performance.now() - start);
    });
    app(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  const scrape = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const start = performance.now();
      http
        .get({ host: '127.0.0.1', port, path: '/metrics', agent }, (res) => {
          let bytes = 0;
          res.on('data', (chunk: Buffer) => (bytes += chunk.length));
          res.on('end', () =>
            res.statusCode === 200 && bytes > 0 ? resolve(performance.now() - start) : reject(new Error(`HTTP ${res.statusCode}`)),
          );
        })
        .on('error', reject);
    });

  for (let i = 0; i < WARMUP; i++) await scrape();
  recording = true;
  const roundMs: number[] = [];
  for (let i = 0; i < SCRAPES; i++) roundMs.push(await scrape());
  recording = false;

  const renderMs: number[] = [];
  for (let i = 0; i < SCRAPES; i++) {
    const start = performance.now();
    await metrics.render();
    renderMs.push(performance.now() - start);
  }
  const size = Buffer.byteLength(await metrics.render());

  agent.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));

  const rows = [summary('server', serverMs), summary('round', roundMs), summary('render', renderMs)];
  console.log(`GET /metrics, ${SCRAPES} sequential scrapes after ${WARMUP} warm-up, ${size} bytes per scrape, Node ${process.version}`);
  console.log('view     p50 ms   p99 ms   max ms');
  for (const r of rows) {
    console.log(`${r.name.padEnd(8)} ${r.p50.toFixed(3).padStart(6)}   ${r.p99.toFixed(3).padStart(6)}   ${r.max.toFixed(3).padStart(6)}`);
  }
  const serverP50 = rows[0]!.p50;
  const verdict = serverP50 < TARGET_P50_MS ? 'within' : 'OVER';
  console.log(`server p50 ${serverP50.toFixed(3)} ms: ${verdict} the ${TARGET_P50_MS} ms budget`);
  if (serverP50 >= TARGET_P50_MS) process.exitCode = 1;
}

void main();

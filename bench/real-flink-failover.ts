/**
 * Failover with real Flink JobManagers (1.20 and 2.x from Maven Central): two JobManagers of one
 * cluster, each with a sidecar process reading its JobManager's own conf dir.
 *
 * - Graceful: SIGTERM of the leader (Flink gives leadership up). Measured: the new leader's
 *   rest_server information written (ZooKeeper's mtime of connection_info) → its sidecar ready (the
 *   `atMs` of its transition); beside it, the baselines Flink sets: the same write → the new
 *   leader's own REST API answering GET /config with 200 (asked every 5 ms from here; it answers
 *   the election 503 until it has read the new leader itself), and SIGTERM → that write.
 * - kill -9 of the leader → the other sidecar ready (bounded by Flink's session timeout).
 * The stopped JobManager is started again after each round, as a kubelet restarts a container.
 *
 *   npm run bench:real-flink -- [--graceful 30] [--killed 5] [--versions 1.20.5,2.3.0]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { FlinkSidecarCluster } from '../test/support/flink-cluster.js';
import { fetchFlink } from '../test/support/flink-jobmanager.js';
import { monotonicNow } from '../test/support/sidecar-process.js';
import { connectClient } from '../test/support/znodes.js';
import { startZooKeeper } from '../test/support/zookeeper-server.js';
import { machine, percentile } from './lib/counting-jobmanager.js';

const { values } = parseArgs({
  options: {
    graceful: { type: 'string', default: '30' },
    killed: { type: 'string', default: '5' },
    versions: { type: 'string', default: '1.20.5,2.3.0' },
  },
});
const GRACEFUL = Number(values.graceful);
const KILLED = Number(values.killed);
const VERSIONS = values.versions.split(',');
const SESSION_TIMEOUT_MS = 4000;

interface Row {
  version: string;
  writeToReady: number[];
  writeToJmHealthy: number[];
  sigtermToWrite: number[];
  killToReady: number[];
}

function summary(xs: readonly number[]): string {
  if (xs.length === 0) return '-';
  const sorted = [...xs].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms (n=${xs.length})`;
}

async function bench(version: string, zookeeper: string, client: Awaited<ReturnType<typeof connectClient>>): Promise<Row> {
  const row: Row = { version, writeToReady: [], writeToJmHealthy: [], sigtermToWrite: [], killToReady: [] };
  const cluster = await FlinkSidecarCluster.start(
    {
      version,
      zookeeper,
      clusterId: `bench-${randomBytes(4).toString('hex')}`,
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      sidecar: { checkIntervalMs: 1000, checkTimeoutMs: 500 },
    },
    client,
  );
  try {
    for (let i = 0; i < GRACEFUL; i++) {
      const { leader, standby } = await cluster.settledLeader();
      const answers = pollConfig(standby.conf.restUrl);
      const signalledAt = monotonicNow();
      await leader.jm.kill('SIGTERM');
      await leader.jm.exited;
      const next = await cluster.settledLeader();
      const readyAt = next.leader.sidecar.transitions.findLast((t) => t.ready)!.atMs;
      const jmHealthyAt = await answers.firstOkAfter(next.writtenAtMs);
      row.sigtermToWrite.push(next.writtenAtMs - signalledAt);
      row.writeToReady.push(readyAt - next.writtenAtMs);
      row.writeToJmHealthy.push(jmHealthyAt - next.writtenAtMs);
      process.stderr.write(`  ${version} graceful ${i + 1}/${GRACEFUL}: write → ready ${(readyAt - next.writtenAtMs).toFixed(0)} ms\n`);
      await cluster.restart(leader);
    }
    for (let i = 0; i < KILLED; i++) {
      const { leader } = await cluster.settledLeader();
      const killedAt = monotonicNow();
      await leader.jm.kill('SIGKILL');
      const next = await cluster.settledLeader();
      row.killToReady.push(next.leader.sidecar.transitions.findLast((t) => t.ready)!.atMs - killedAt);
      await cluster.restart(leader);
    }
  } finally {
    await cluster.stop();
  }
  return row;
}

/** GET /config of a JobManager every 5 ms until a 200 after `fromMs` is seen; its answer time. */
function pollConfig(restUrl: string): { firstOkAfter(fromMs: number): Promise<number> } {
  const oks: number[] = [];
  let stopped = false;
  const loop = (async () => {
    const deadline = monotonicNow() + 120_000;
    while (!stopped && monotonicNow() < deadline) {
      try {
        const res = await fetch(`${restUrl}/config`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 200) oks.push(monotonicNow());
      } catch {
        // Not answering yet: ask again.
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    async firstOkAfter(fromMs) {
      for (;;) {
        const hit = oks.find((t) => t >= fromMs);
        if (hit !== undefined) {
          stopped = true;
          await loop;
          return hit;
        }
        if (monotonicNow() > fromMs + 60_000) throw new Error(`${restUrl}/config: no 200 within 60 s of the write`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}

async function main(): Promise<void> {
  for (const version of VERSIONS) await fetchFlink(version);
  const zk = await startZooKeeper();
  const client = await connectClient(zk.connectString);
  const rows: Row[] = [];
  try {
    for (const version of VERSIONS) rows.push(await bench(version, zk.connectString, client));
  } finally {
    client.close();
    await zk.destroy();
  }
  console.log(`real-Flink failover on ${machine()}; Flink's session timeout ${SESSION_TIMEOUT_MS} ms, JM check every 1 s (0.5 s timeout)`);
  for (const r of rows) {
    console.log(`Flink ${r.version}`);
    console.log(`  new leader's write → its sidecar ready:              ${summary(r.writeToReady)}`);
    console.log(`  baseline, Flink: the write → its REST API's first 200: ${summary(r.writeToJmHealthy)}`);
    console.log(`  baseline, Flink: SIGTERM → the new leader's write:     ${summary(r.sigtermToWrite)}`);
    console.log(`  kill -9 → the other sidecar ready:                    ${summary(r.killToReady)}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

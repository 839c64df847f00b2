/**
 * A local demo, for real: a ZooKeeper server, two real Apache Flink JobManagers (Flink 1.20, from
 * Maven Central: the first run downloads about 100 MB into ~/.cache/flink-ha-sidecar) in ZooKeeper
 * HA mode, and two flink-ha-sidecar processes (`node dist/main.js`), one per JobManager, each
 * reading its JobManager's own conf dir (FLINK_CONF_DIR), as in two JM pods. It shows which sidecar
 * is ready, stops the leader (SIGTERM: Flink hands leadership over), shows readiness move, and keeps
 * everything running for you to poke at until Ctrl-C.
 *
 *   npm run demo               # interactive: runs until Ctrl-C
 *   npm run demo -- --once     # shows one failover and exits (also when stdin is not a terminal)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import {
  fetchFlink,
  startFlinkJobManager,
  whoLeads,
  writeFlinkConfDir,
  type FlinkConfDir,
  type FlinkJobManager,
} from '../test/support/flink-jobmanager.js';
import { findFreePort, startZooKeeper } from '../test/support/zookeeper-server.js';

const ONCE = process.argv.includes('--once') || !process.stdin.isTTY;
const MAIN = join(__dirname, '..', 'dist', 'main.js');
const FLINK_VERSION = '1.20.5';
const CLUSTER_ID = 'demo';

interface Pod {
  name: string;
  conf: FlinkConfDir;
  jm: FlinkJobManager;
  sidecar: ChildProcess;
  url: string;
  debugUrl: string;
  log: string;
}

async function probe(url: string): Promise<{ status: number; reason: string; role: string }> {
  try {
    const res = await fetch(`${url}/readyz`);
    const body = (await res.json()) as { reason: string; role: string };
    return { status: res.status, reason: body.reason, role: body.role };
  } catch {
    return { status: 0, reason: 'not listening', role: '-' };
  }
}

async function show(pods: Pod[], title: string): Promise<void> {
  console.log(`\n${title}`);
  const leaders = await whoLeads(pods.map((p) => p.jm));
  for (const p of pods) {
    const r = await probe(p.url);
    const flink = !p.jm.isRunning() ? 'stopped' : leaders.includes(p.jm) ? 'leader' : 'standby';
    console.log(
      `  ${p.name}  JM ${p.conf.restUrl} (Flink says: ${flink.padEnd(7)})  sidecar ${p.url}/readyz -> ${r.status || '---'} ${r.role.padEnd(8)} (${r.reason})`,
    );
  }
}

/** Asks every 50 ms until `pred` holds: the demo shows what a user's curl would see. */
async function waitUntil(what: string, pred: () => Promise<boolean>, timeoutMs = 120_000): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    if (await pred()) return performance.now() - start;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function main(): Promise<void> {
  console.log(`Fetching Flink ${FLINK_VERSION} (from Maven Central on the first run, cached afterwards) ...`);
  await fetchFlink(FLINK_VERSION);
  console.log('Starting ZooKeeper ...');
  const zk = await startZooKeeper();
  const pods: Pod[] = [];
  const stopAll = async () => {
    for (const p of pods) p.sidecar.kill('SIGTERM');
    await Promise.all(pods.map((p) => p.jm.stop().catch(() => undefined)));
    await Promise.all(pods.map((p) => p.conf.remove()));
    await zk.destroy();
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(0)));
  try {
    console.log(`ZooKeeper on ${zk.connectString}. Starting two Flink ${FLINK_VERSION} JobManagers and their sidecars ...`);
    const first = await writeFlinkConfDir({
      version: FLINK_VERSION,
      zookeeperQuorum: zk.connectString,
      clusterId: CLUSTER_ID,
      sessionTimeoutMs: 6000,
    });
    const second = await writeFlinkConfDir({
      version: FLINK_VERSION,
      zookeeperQuorum: zk.connectString,
      clusterId: CLUSTER_ID,
      sessionTimeoutMs: 6000,
      storageDir: first.storageDir,
    });
    for (const [name, conf] of [
      ['jm-0', first],
      ['jm-1', second],
    ] as const) {
      const jm = await startFlinkJobManager({ version: FLINK_VERSION, confDir: conf });
      const port = await findFreePort();
      const debugPort = await findFreePort();
      const log = join(conf.logDir, `${name}-sidecar.log`);
      const out = createWriteStream(log);
      const sidecar = spawn(process.execPath, [MAIN], {
        env: {
          PATH: process.env.PATH ?? '',
          // Everything about Flink comes from the JobManager's own configuration file.
          FLINK_CONF_DIR: conf.dir,
          // Both JobManagers run on this machine and publish 127.0.0.1: say it is this pod's address.
          POD_IP: '127.0.0.1',
          SIDECAR_HOST: '127.0.0.1',
          SIDECAR_PORT: String(port),
          SIDECAR_DEBUG_PORT: String(debugPort),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      sidecar.stdout.pipe(out);
      sidecar.stderr.pipe(out);
      pods.push({ name, conf, jm, sidecar, url: `http://127.0.0.1:${port}`, debugUrl: `http://127.0.0.1:${debugPort}`, log });
    }
    const readyPod = async (): Promise<Pod | undefined> => {
      for (const p of pods) if ((await probe(p.url)).status === 200) return p;
      return undefined;
    };
    await waitUntil('one ready sidecar and one standby', async () => {
      const ready = await readyPod();
      const other = pods.find((p) => p !== ready);
      return ready !== undefined && other !== undefined && (await probe(other.url)).role === 'standby';
    });
    const leader = (await readyPod())!;
    const standby = pods.find((p) => p !== leader)!;
    await show(pods, `Both JobManagers run; Flink made ${leader.name} leader, so only its sidecar is ready:`);

    console.log(`\n${leader.name}'s JobManager is stopped (SIGTERM: Flink gives leadership up) ...`);
    const stoppedAt = performance.now();
    await leader.jm.kill('SIGTERM');
    await waitUntil('readiness to move', async () => (await probe(standby.url)).status === 200);
    const tookMs = performance.now() - stoppedAt;
    await show(
      pods,
      `Readiness moved to ${standby.name} (seen over HTTP ${tookMs.toFixed(0)} ms after the SIGTERM; a new leader waits ` +
        "out LEADER_HANDOVER_DELAY_MS, 3.5 s, so that a kubelet has seen the old leader's pod fail first):",
    );

    if (ONCE) {
      await stopAll();
      return;
    }
    console.log(`\nSidecar logs (JSON lines): ${pods.map((p) => p.log).join(', ')}`);
    console.log(`Flink logs: ${pods.map((p) => p.jm.logFile).join(', ')}`);
    console.log('\nEverything keeps running. Try:');
    for (const p of pods) console.log(`  curl -s '${p.url}/readyz?verbose' ; curl -s ${p.url}/metrics ; curl -s ${p.debugUrl}/debug/state`);
    console.log(`  FLINK_CONF_DIR=${standby.conf.dir} node dist/main.js status`);
    console.log(`  curl -s ${standby.conf.restUrl}/overview    # the leader's own REST API`);
    console.log('Press Ctrl-C to stop.');
    await new Promise(() => undefined);
  } catch (err) {
    await stopAll();
    throw err;
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);

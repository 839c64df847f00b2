/**
 * A local demo, for real: a ZooKeeper server, two Flink-like JobManagers contending with Curator's
 * LeaderLatch (as Flink does), and two flink-ha-sidecar processes (`node dist/main.js`), one per
 * JobManager, as in two JM pods. It shows which sidecar is ready, makes the leader resign, shows
 * readiness move, and keeps everything running for you to poke at until Ctrl-C.
 *
 *   npm run demo               # interactive: runs until Ctrl-C
 *   npm run demo -- --once     # shows one failover and exits (also when stdin is not a terminal)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { FakeJobManager } from '../test/support/fake-jobmanager.js';
import { findFreePort, startZooKeeper } from '../test/support/zookeeper-server.js';

const ONCE = process.argv.includes('--once') || !process.stdin.isTTY;
const MAIN = join(__dirname, '..', 'dist', 'main.js');

interface Pod {
  name: string;
  jm: FakeJobManager;
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
    return { status: 0, reason: 'not listening yet', role: '-' };
  }
}

async function show(pods: Pod[], title: string): Promise<void> {
  console.log(`\n${title}`);
  for (const p of pods) {
    const r = await probe(p.url);
    console.log(`  ${p.name}  JM ${p.jm.restUrl}  sidecar ${p.url}/readyz -> ${r.status || '---'} ${r.role.padEnd(8)} (${r.reason})`);
  }
}

async function waitUntil(what: string, pred: () => Promise<boolean>, timeoutMs = 30_000): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    if (await pred()) return performance.now() - start;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flink-ha-sidecar-demo-'));
  console.log('Starting ZooKeeper ...');
  const zk = await startZooKeeper();
  const pods: Pod[] = [];
  const stopAll = async () => {
    for (const p of pods) p.sidecar.kill('SIGTERM');
    for (const p of pods) await p.jm.stop().catch(() => undefined);
    await zk.destroy();
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(0)));
  try {
    console.log(`ZooKeeper on ${zk.connectString}. Starting two Flink-like JobManagers and their sidecars ...`);
    for (const name of ['jm-0', 'jm-1']) {
      const jm = await FakeJobManager.start({ zookeeper: zk.connectString, layout: '1.15', clusterId: '/demo', sessionTimeoutMs: 6000 });
      if (name === 'jm-0') await jm.waitFor(/^leader rest_server /);
      const port = await findFreePort();
      const debugPort = await findFreePort();
      const log = join(dir, `${name}-sidecar.log`);
      const out = createWriteStream(log);
      const sidecar = spawn(process.execPath, [MAIN], {
        env: {
          ...process.env,
          ZOOKEEPER_QUORUM: zk.connectString,
          FLINK_CLUSTER_ID: '/demo',
          FLINK_REST_URL: jm.restUrl,
          // Both JMs run on this machine, so each sidecar is told its JM's address explicitly.
          POD_IP: '127.0.0.1',
          SIDECAR_HOST: '127.0.0.1',
          SIDECAR_PORT: String(port),
          SIDECAR_DEBUG_PORT: String(debugPort),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      sidecar.stdout!.pipe(out);
      sidecar.stderr!.pipe(out);
      pods.push({ name, jm, sidecar, url: `http://127.0.0.1:${port}`, debugUrl: `http://127.0.0.1:${debugPort}`, log });
    }
    await waitUntil('one ready sidecar and one standby', async () => (await probe(pods[0]!.url)).status === 200 && (await probe(pods[1]!.url)).role === 'standby');
    await show(pods, 'Both JobManagers run; jm-0 leads, so only its sidecar is ready:');

    console.log('\njm-0 gives up leadership (its LeaderLatch closes) ...');
    await pods[0]!.jm.send('resign');
    const moved = async () => (await probe(pods[1]!.url)).status === 200 && (await probe(pods[0]!.url)).status === 503;
    const tookMs = await waitUntil('readiness to move', moved);
    // The new leader's own JobManager may answer "no leader" for a moment while it reads the
    // new leader information too; show the settled picture.
    const settled = async (): Promise<boolean> => {
      if (!(await moved())) return false;
      await delay(300);
      return moved();
    };
    await waitUntil('readiness to settle', settled);
    await show(pods, `Readiness moved to jm-1 (seen over HTTP after ${tookMs.toFixed(0)} ms):`);

    console.log(`\nSidecar logs (JSON lines): ${pods.map((p) => p.log).join(', ')}`);
    if (ONCE) {
      await stopAll();
      return;
    }
    console.log('\nEverything keeps running. Try:');
    for (const p of pods) console.log(`  curl -s '${p.url}/readyz?verbose' ; curl -s ${p.url}/metrics ; curl -s ${p.debugUrl}/debug/state`);
    console.log(`  node dist/main.js status --zookeeper-quorum=${zk.connectString} --cluster-id=/demo`);
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

/**
 * Start-up: from spawning `node dist/main.js` until its first correct verdict, for a leader's
 * sidecar (ready: /readyz 200) and a standby's (role standby), against a real ZooKeeper with the
 * election already in place; the times come from the sidecar's own transition log (`atMs`, the
 * same monotonic scale as this process's spawn time). In the same run, one start after the
 * other, the floors: a bare express app from spawn until it listens (bundled as dist/main.js is,
 * and required from node_modules), and `node -e 0` from spawn to exit.
 *
 * Each Node.js line given is measured: this process's, and the image's (the current LTS, from
 * scripts/test-current-lts.sh's cache or --image-node), there with a compile cache made as the
 * image's build makes it (`NODE_COMPILE_CACHE=<dir> node dist/main.js --version`).
 *
 *   npm run bench:startup -- [--runs 20] [--image-node /path/to/node]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { monotonicNow, SIDECAR_MAIN, SidecarProcess, type LogLine } from '../test/support/sidecar-process.js';
import { startZooKeeper } from '../test/support/zookeeper-server.js';
import { startBareExpress } from './lib/bare-express.js';
import { machine, percentile, startLeadingJobManager } from './lib/counting-jobmanager.js';
import { imageNode, makeCompileCache } from './lib/image-node.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' }, 'image-node': { type: 'string' } } });
const RUNS = Number(values.runs);

interface NodeLine {
  name: string;
  node: string;
  env: Record<string, string>;
}

interface Sample {
  verdictMs: number;
  startingMs: number;
  listeningMs: number;
  connectedMs: number;
}

function phase(s: SidecarProcess, match: (l: LogLine) => boolean): number {
  const i = s.lines.findIndex(match);
  return i < 0 ? NaN : s.lineArrivedAtMs[i]! - s.spawnedAtMs;
}

async function sidecarStart(line: NodeLine, zk: string, clusterId: string, restUrl: string, leader: boolean): Promise<Sample> {
  const s = await SidecarProcess.start({
    node: line.node,
    env: line.env,
    zookeeper: zk,
    clusterId,
    restUrl,
    layout: 'auto',
    sessionTimeoutMs: 10_000,
    checkIntervalMs: 2000,
    checkTimeoutMs: 1000,
  });
  try {
    const t = leader
      ? await s.waitForTransition('ready', (tr) => tr.ready, 20_000)
      : await s.waitForTransition('standby', (tr) => tr.to === 'standby', 20_000);
    return {
      verdictMs: t.atMs - s.spawnedAtMs,
      startingMs: phase(s, (l) => l.msg === 'starting'),
      listeningMs: phase(s, (l) => l.msg === 'probe server listening'),
      connectedMs: phase(s, (l) => l.msg === 'ZooKeeper connected'),
    };
  } finally {
    await s.stop();
  }
}

async function bareExpressStart(line: NodeLine, bundled: boolean): Promise<number> {
  const bare = await startBareExpress({ bundled, node: line.node, env: line.env });
  await bare.stop();
  return bare.listeningAtMs - bare.spawnedAtMs;
}

async function nodeFloor(line: NodeLine): Promise<number> {
  const t0 = monotonicNow();
  const child = spawn(line.node, ['-e', '0'], { stdio: 'ignore', env: { PATH: process.env.PATH ?? '' } });
  await new Promise((resolve) => child.once('exit', resolve));
  return monotonicNow() - t0;
}

const p50 = (xs: number[]): number =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

function summary(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${percentile(s, 50).toFixed(0).padStart(4)} ms  p90 ${percentile(s, 90).toFixed(0).padStart(4)} ms  max ${s
    .at(-1)!
    .toFixed(0)
    .padStart(4)} ms`;
}

/** The lines to measure: this process's Node.js, and the image's with the compile cache the image carries. */
function nodeLines(): NodeLine[] {
  const lines: NodeLine[] = [{ name: `this machine's Node.js ${process.version}`, node: process.execPath, env: {} }];
  const image = values['image-node'] ?? imageNode();
  if (image === null) {
    console.log("(the image's Node.js line is not installed here: npm run test:lts installs it, or pass --image-node)");
    return lines;
  }
  const version = spawnSync(image, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const cache = makeCompileCache(image, SIDECAR_MAIN);
  lines.push({ name: `the image's Node.js ${version}, no compile cache`, node: image, env: {} });
  lines.push({ name: `the image's Node.js ${version}, with the image's compile cache`, node: image, env: { NODE_COMPILE_CACHE: cache } });
  return lines;
}

async function main(): Promise<void> {
  if (!existsSync(SIDECAR_MAIN)) throw new Error(`${SIDECAR_MAIN} is missing: run npm run build first`);
  const zk = await startZooKeeper();
  const jm = await startLeadingJobManager(zk.connectString);
  // The standby's JobManager: healthy, not the leader.
  const standbyRest = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  await new Promise<void>((r) => standbyRest.listen(0, '127.0.0.1', r));
  const standbyUrl = `http://127.0.0.1:${(standbyRest.address() as AddressInfo).port}`;
  try {
    console.log(`flink-ha-sidecar start-up bench: ${machine()}`);
    console.log(
      `${RUNS} starts of each kind, taking turns; FLINK_HA_LAYOUT=auto (all three layouts watched), the election already in ZooKeeper`,
    );
    for (const line of nodeLines()) {
      // One start of each kind to warm the disk cache, not counted.
      await sidecarStart(line, zk.connectString, jm.clusterId, jm.restUrl, true);
      await bareExpressStart(line, true);
      await bareExpressStart(line, false);
      const leader: Sample[] = [];
      const standby: Sample[] = [];
      const bareBundled: number[] = [];
      const bareModules: number[] = [];
      const floor: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        leader.push(await sidecarStart(line, zk.connectString, jm.clusterId, jm.restUrl, true));
        standby.push(await sidecarStart(line, zk.connectString, jm.clusterId, standbyUrl, false));
        bareBundled.push(await bareExpressStart(line, true));
        bareModules.push(await bareExpressStart(line, false));
        floor.push(await nodeFloor(line));
      }
      console.log(`\n${line.name}:`);
      const rows: [string, number[]][] = [
        ['leader: spawn -> first /readyz 200', leader.map((r) => r.verdictMs)],
        ['  spawn -> "starting" logged', leader.map((r) => r.startingMs)],
        ['  spawn -> probe server listening', leader.map((r) => r.listeningMs)],
        ['  spawn -> ZooKeeper connected', leader.map((r) => r.connectedMs)],
        ['standby: spawn -> role standby', standby.map((r) => r.verdictMs)],
        ['bare express, bundled: spawn -> listening', bareBundled],
        ['bare express, from node_modules: spawn -> listening', bareModules],
        ['node -e 0: spawn -> exit', floor],
      ];
      for (const [name, xs] of rows) console.log(`  ${name.padEnd(52)} ${summary(xs)}`);
      const ratio = (xs: number[]) => (p50(xs) / p50(bareBundled)).toFixed(2);
      console.log(
        `  p50 against bare express (bundled): leader ${ratio(leader.map((r) => r.verdictMs))}x, standby ${ratio(standby.map((r) => r.verdictMs))}x`,
      );
    }
  } finally {
    standbyRest.close();
    await jm.close();
    await zk.destroy();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

/**
 * Start-up: from spawning `node dist/main.js` until its first correct verdict, over N runs each
 * for a leader's sidecar (ready: /readyz 200) and a standby's (role standby), against a real
 * ZooKeeper with the election already in place. The times come from the sidecar's own transition
 * log (`atMs`, the same monotonic scale as this process's spawn time); the phases from the arrival
 * of its log lines. With hyperfine installed, `node dist/main.js --version` is timed too: the cost
 * of starting Node and loading the code, which every start pays.
 *
 *   npm run bench:startup -- [--runs 20]
 */
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SIDECAR_MAIN, SidecarProcess, type LogLine } from '../test/support/sidecar-process.js';
import { startZooKeeper } from '../test/support/zookeeper-server.js';
import { machine, percentile, startLeadingJobManager } from './lib/counting-jobmanager.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const RUNS = Number(values.runs);

interface Run {
  verdictMs: number;
  startingMs: number;
  listeningMs: number;
  connectedMs: number;
}

function phase(s: SidecarProcess, match: (l: LogLine) => boolean): number {
  const i = s.lines.findIndex(match);
  return i < 0 ? NaN : s.lineArrivedAtMs[i]! - s.spawnedAtMs;
}

async function once(zk: string, clusterId: string, restUrl: string, leader: boolean): Promise<Run> {
  const s = await SidecarProcess.start({
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

function summary(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${percentile(s, 50).toFixed(0)} ms  p90 ${percentile(s, 90).toFixed(0)} ms  max ${s.at(-1)!.toFixed(0)} ms`;
}

async function main(): Promise<void> {
  const zk = await startZooKeeper();
  const jm = await startLeadingJobManager(zk.connectString);
  // The standby's JobManager: healthy, not the leader.
  const standbyRest = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  await new Promise<void>((r) => standbyRest.listen(0, '127.0.0.1', r));
  const standbyUrl = `http://127.0.0.1:${(standbyRest.address() as AddressInfo).port}`;
  try {
    console.log(`flink-ha-sidecar start-up bench: ${machine()}`);
    console.log(`${RUNS} starts each, one at a time, FLINK_HA_LAYOUT=auto (all three layouts watched), election already in ZooKeeper`);
    // One start to warm the disk cache, not counted.
    await once(zk.connectString, jm.clusterId, jm.restUrl, true);
    const leader: Run[] = [];
    const standby: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      leader.push(await once(zk.connectString, jm.clusterId, jm.restUrl, true));
      standby.push(await once(zk.connectString, jm.clusterId, standbyUrl, false));
    }
    const show = (name: string, runs: Run[]) => {
      console.log(`${name}:`);
      console.log(`  spawn -> first correct verdict      ${summary(runs.map((r) => r.verdictMs))}`);
      console.log(`    spawn -> "starting" logged        ${summary(runs.map((r) => r.startingMs))}`);
      console.log(`    spawn -> probe server listening   ${summary(runs.map((r) => r.listeningMs))}`);
      console.log(`    spawn -> ZooKeeper connected      ${summary(runs.map((r) => r.connectedMs))}`);
    };
    show('leader (first /readyz 200)', leader);
    show('standby (role standby)', standby);
    if (spawnSync('sh', ['-c', 'command -v hyperfine']).status === 0) {
      const dir = mkdtempSync(join(tmpdir(), 'flink-ha-sidecar-hyperfine-'));
      const json = join(dir, 'out.json');
      const r = spawnSync(
        'hyperfine',
        [
          '--warmup',
          '3',
          '--runs',
          String(Math.max(10, RUNS)),
          '--export-json',
          json,
          '--style',
          'none',
          `${process.execPath} ${SIDECAR_MAIN} --version`,
        ],
        { encoding: 'utf8' },
      );
      if (r.status === 0) {
        const res = (JSON.parse(readFileSync(json, 'utf8')) as { results: { mean: number; stddev: number; min: number; max: number }[] })
          .results[0]!;
        console.log(
          `hyperfine 'node dist/main.js --version' (start Node, load the code, read the settings, exit): mean ${(res.mean * 1000).toFixed(0)} ms ± ${(res.stddev * 1000).toFixed(0)} ms, min ${(res.min * 1000).toFixed(0)} ms, max ${(res.max * 1000).toFixed(0)} ms`,
        );
      }
      rmSync(dir, { recursive: true, force: true });
    } else {
      console.log('(hyperfine not installed: apt-get install hyperfine to also time `node dist/main.js --version`)');
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

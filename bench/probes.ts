/**
 * Probe cost: GET /readyz requests per second and latency on one core, for the sidecar (a real
 * `node dist/main.js` process, the leader of a cluster, so it answers 200) and, side by side in
 * the same run, for a bare express app answering 200 with the same body and headers: the floor
 * the sidecar cannot beat. Both servers run pinned to CPU 0 (taskset), wrk on CPU 1, one after
 * the other, alternating, each round after a warm-up.
 *
 * Also counts what the probes cost ZooKeeper and the JobManager: ZooKeeper's packet counters
 * (`srvr`: Received, Sent) and the JobManager's REST hits over an idle window and over a flood of
 * the same length. Probes answer from memory, so both windows show the same small numbers: the
 * sidecar's own pings and JM checks.
 *
 *   npm run bench:probes -- [--seconds 10] [--rounds 2] [--connections 32]
 *
 * Needs wrk (Debian: apt-get install wrk) and taskset (util-linux).
 */
import { spawn, spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { monotonicNow, SidecarProcess } from '../test/support/sidecar-process.js';
import { fourLetterWord, startZooKeeper, trackChild } from '../test/support/zookeeper-server.js';
import { startBareExpress, type BareExpress } from './lib/bare-express.js';
import { machine, parseSrvr, startLeadingJobManager } from './lib/counting-jobmanager.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CONNECTIONS = Number(values.connections);
const SERVER_CPU = '0';
const LOAD_CPU = '1';

interface WrkResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: string;
}

function requireTool(name: string, hint: string): void {
  if (spawnSync('sh', ['-c', `command -v ${name}`]).status !== 0) {
    console.error(`bench:probes needs ${name}: ${hint}`);
    process.exit(2);
  }
}

/** wrk's latency line value ("1.23ms", "850.00us", "1.02s") in ms. */
function wrkMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

/** Runs wrk without blocking this process: the bench's JobManager must keep answering meanwhile. */
async function runWrk(url: string, seconds: number): Promise<WrkResult> {
  const child = spawn('taskset', ['-c', LOAD_CPU, 'wrk', '-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', url], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const r = { status: code, stdout, stderr };
  const out = r.stdout;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50Ms = wrkMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? '');
  const p99Ms = wrkMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? '');
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const errors = [/Socket errors: .*/.exec(out)?.[0], /Non-2xx or 3xx responses: \d+/.exec(out)?.[0]].filter(Boolean).join('; ') || 'none';
  return { rps, p50Ms, p99Ms, requests, errors };
}

async function main(): Promise<void> {
  requireTool('wrk', 'apt-get install wrk');
  requireTool('taskset', 'apt-get install util-linux');
  const zk = await startZooKeeper();
  const jm = await startLeadingJobManager(zk.connectString);
  const sidecar = await SidecarProcess.start({
    zookeeper: zk.connectString,
    clusterId: jm.clusterId,
    restUrl: jm.restUrl,
    layout: '1.15',
    // The defaults a deployment has: a 10 s session, a JM check every 2 s.
    sessionTimeoutMs: 10_000,
    checkIntervalMs: 2000,
    checkTimeoutMs: 1000,
    cpus: SERVER_CPU,
  });
  let bare: BareExpress | undefined;
  try {
    await sidecar.waitUntilReady(20_000);
    const res = await fetch(`${sidecar.url}/readyz`);
    const body = await res.text();
    if (res.status !== 200) throw new Error(`the sidecar is not ready: ${body}`);
    // Bundled like dist/main.js, pinned like the sidecar.
    bare = await startBareExpress({ body, bundled: true, cpus: SERVER_CPU });
    const readyz = { sidecar: `${sidecar.url}/readyz`, bare: `${bare.url}/readyz` };

    console.log(`flink-ha-sidecar probe bench: ${machine()}`);
    console.log(
      `servers pinned to CPU ${SERVER_CPU}, wrk (1 thread, ${CONNECTIONS} connections) on CPU ${LOAD_CPU}; ${ROUNDS} rounds of ${SECONDS} s each, after a 3 s warm-up`,
    );
    console.log(`response body: ${body.length} bytes of JSON, the same from both`);

    // What ZooKeeper and the JobManager see without probes, over the same time as a flood.
    const zkIdle0 = parseSrvr(await fourLetterWord(zk.port, 'srvr'));
    const restIdle0 = jm.restHits();
    const idleStart = monotonicNow();
    await delay(SECONDS * 1000);
    const idleMs = monotonicNow() - idleStart;
    const zkIdle1 = parseSrvr(await fourLetterWord(zk.port, 'srvr'));
    const restIdle1 = jm.restHits();

    await runWrk(readyz.sidecar, 3);
    await runWrk(readyz.bare, 3);
    const results: { sidecar: WrkResult[]; bare: WrkResult[] } = { sidecar: [], bare: [] };
    let zkFlood = { received: 0, sent: 0 };
    let restFlood = 0;
    let floodMs = 0;
    let probes = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const z0 = parseSrvr(await fourLetterWord(zk.port, 'srvr'));
      const r0 = jm.restHits();
      const t0 = monotonicNow();
      const s = await runWrk(readyz.sidecar, SECONDS);
      floodMs += monotonicNow() - t0;
      const z1 = parseSrvr(await fourLetterWord(zk.port, 'srvr'));
      zkFlood = { received: zkFlood.received + z1.received - z0.received, sent: zkFlood.sent + z1.sent - z0.sent };
      restFlood += jm.restHits() - r0;
      probes += s.requests;
      results.sidecar.push(s);
      results.bare.push(await runWrk(readyz.bare, SECONDS));
    }

    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const line = (name: string, rs: WrkResult[]) =>
      `${name.padEnd(13)} ${mean(rs.map((r) => r.rps))
        .toFixed(0)
        .padStart(
          7,
        )} req/s   p50 ${mean(rs.map((r) => r.p50Ms)).toFixed(2)} ms   p99 ${mean(rs.map((r) => r.p99Ms)).toFixed(2)} ms   (rounds: ${rs.map((r) => r.rps.toFixed(0)).join(', ')} req/s; errors: ${[...new Set(rs.map((r) => r.errors))].join(', ')})`;
    console.log('');
    console.log(line('sidecar', results.sidecar));
    console.log(line('bare express', results.bare));
    const ratio = mean(results.sidecar.map((r) => r.rps)) / mean(results.bare.map((r) => r.rps));
    const p99Ratio = mean(results.sidecar.map((r) => r.p99Ms)) / mean(results.bare.map((r) => r.p99Ms));
    console.log(
      `sidecar / bare express: ${(ratio * 100).toFixed(0)} % of the requests per second, ${p99Ratio.toFixed(2)}x the p99 latency`,
    );
    console.log('');
    const per10s = (n: number, ms: number) => ((n * 10_000) / ms).toFixed(1);
    console.log(
      `caused by probes (per 10 s; idle ${(idleMs / 1000).toFixed(1)} s without probes vs ${(floodMs / 1000).toFixed(1)} s of floods, ${probes} probes):`,
    );
    console.log(
      `  ZooKeeper packets received  idle ${per10s(zkIdle1.received - zkIdle0.received, idleMs)}   flood ${per10s(zkFlood.received, floodMs)}`,
    );
    console.log(
      `  ZooKeeper packets sent      idle ${per10s(zkIdle1.sent - zkIdle0.sent, idleMs)}   flood ${per10s(zkFlood.sent, floodMs)}`,
    );
    console.log(`  JobManager REST requests    idle ${per10s(restIdle1 - restIdle0, idleMs)}   flood ${per10s(restFlood, floodMs)}`);
    console.log("  (ZooKeeper counts every session on the server: the sidecar's pings and the bench JobManager's heartbeats)");
    const extraZk = zkFlood.received / floodMs - (zkIdle1.received - zkIdle0.received) / idleMs;
    const extraRest = restFlood / floodMs - (restIdle1 - restIdle0) / idleMs;
    // One request per 1000 probes would already be 100x what the idle rate explains.
    if (probes > 0 && (extraZk * floodMs > probes / 1000 || extraRest * floodMs > probes / 1000)) {
      console.error('probes caused ZooKeeper or REST requests');
      process.exitCode = 1;
    }
    if (process.env['BENCH_VERBOSE'] === '1') for (const tr of sidecar.transitions) console.log(JSON.stringify(tr));
  } finally {
    await bare?.stop();
    await sidecar.stop();
    await jm.close();
    await zk.destroy();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

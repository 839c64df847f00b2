/**
 * Footprint of a running sidecar (a real `node dist/main.js` process, the leader of its cluster,
 * default intervals), next to a bare express app in the same run (bench/lib/bare-express.ts,
 * bundled with dist/main.js's build options but without its stubs, answering /readyz with the
 * sidecar's own body), printed as ratios:
 *   - resident memory (VmRSS from /proc) after start (each server has answered a first probe), after
 *     the idle windows below, after PROBES probes and after PROBES more, against the bare app
 *     bundled and the bare app required from node_modules;
 *   - the live heap (the sum of a heap snapshot's objects: Node collects garbage before it writes
 *     one) at the same points, in a second process of each, since a snapshot leaves memory of its
 *     own behind; a leak shows as growth over the second PROBES;
 *   - CPU at idle (utime + stime from /proc/<pid>/stat), both processes over the same windows, one
 *     after the other: the first after start (with the work done once), then with no requests at
 *     all, then with a kubelet's probing and a Prometheus scrape (/readyz every 2 s, /livez every
 *     10 s, /metrics every 15 s; the bare app answers 404 to the last two);
 *   - what the image's final stage carries besides its base image (dist/, package.json, LICENSE and
 *     the compile cache), against what it carried before the bundle (the production node_modules).
 *
 *   npm run bench:footprint -- [--probes 500000] [--idle-seconds 60]
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { removeOnExit } from '../test/support/exit-cleanup.js';
import { SIDECAR_MAIN, SidecarProcess } from '../test/support/sidecar-process.js';
import { startZooKeeper } from '../test/support/zookeeper-server.js';
import { startBareExpress } from './lib/bare-express.js';
import { machine, percentile, startLeadingJobManager } from './lib/counting-jobmanager.js';
import { imageNode, makeCompileCache } from './lib/image-node.js';

const { values } = parseArgs({
  options: {
    probes: { type: 'string', default: '500000' },
    'idle-seconds': { type: 'string', default: '60' },
    starts: { type: 'string', default: '5' },
  },
});
const PROBES = Number(values.probes);
const IDLE_SECONDS = Number(values['idle-seconds']);
/** RSS after start is read from this many fresh starts of each server: one start is noisy. */
const STARTS = Number(values.starts);
const CONCURRENCY = 16;
const SETTLE_MS = 3000;
/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these. */
const CLOCK_TICKS_PER_S = 100;
const PROJECT_ROOT = join(__dirname, '..');

/** A server under measurement: the sidecar or the bare app, in a process of its own. */
interface Server {
  url: string;
  pid: number;
  snapshotDir: string | null;
  /** Its answer to the first probe, which every server has answered once it counts as started. */
  firstAnswer: string;
  stop(): Promise<void>;
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) * 1024;
}

function cpuTicks(pid: number): number {
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * The live heap after a full garbage collection, without changing the server's code: Node writes a
 * heap snapshot on SIGUSR2 (--heapsnapshot-signal) and collects garbage before it does; the sum of
 * the snapshot's objects' own sizes is what was live. The snapshot is removed afterwards.
 */
async function liveHeapBytes(s: Server): Promise<number> {
  const dir = s.snapshotDir!;
  const before = new Set(readdirSync(dir));
  process.kill(s.pid, 'SIGUSR2');
  const deadline = performance.now() + 60_000;
  let last = -1;
  for (;;) {
    const file = readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    if (file) {
      const size = statSync(join(dir, file)).size;
      // The file is written in one go; a size that stops changing means it is done.
      if (size > 0 && size === last) {
        const snapshot = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
          snapshot: { meta: { node_fields: string[] } };
          nodes: number[];
        };
        rmSync(join(dir, file));
        const fields = snapshot.snapshot.meta.node_fields;
        const selfSize = fields.indexOf('self_size');
        let total = 0;
        for (let i = selfSize; i < snapshot.nodes.length; i += fields.length) total += snapshot.nodes[i]!;
        return total;
      }
      last = size;
    }
    if (performance.now() > deadline) throw new Error('no heap snapshot within 60 s');
    await delay(250);
  }
}

/** Exactly `count` GET /readyz over CONCURRENCY kept-alive connections; every answer must be 200. */
async function probe(url: string, count: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let next = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        next += 1;
        const status = await new Promise<number>((resolve) => {
          const req = http.get(`${url}/readyz`, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.setTimeout(5000, () => req.destroy());
          req.on('error', () => resolve(-1));
        });
        if (status !== 200) failed += 1;
      }
    }),
  );
  agent.destroy();
  if (failed > 0) throw new Error(`${failed} of ${count} probes to ${url} did not answer 200`);
  return performance.now() - started;
}

/** Percent of one core each server used over the same window. */
async function idleCpu(servers: Server[], seconds: number, kubelet: boolean): Promise<number[]> {
  const ticks0 = servers.map((s) => cpuTicks(s.pid));
  const t0 = performance.now();
  const timers: NodeJS.Timeout[] = [];
  if (kubelet) {
    for (const s of servers) {
      const get = (path: string) => () =>
        void fetch(`${s.url}${path}`).then(
          (r) => r.arrayBuffer(),
          () => undefined,
        );
      timers.push(setInterval(get('/readyz'), 2000), setInterval(get('/livez'), 10_000), setInterval(get('/metrics'), 15_000));
    }
  }
  await delay(seconds * 1000);
  for (const t of timers) clearInterval(t);
  const elapsedS = (performance.now() - t0) / 1000;
  return servers.map((s, i) => ((cpuTicks(s.pid) - ticks0[i]!) / CLOCK_TICKS_PER_S / elapsedS) * 100);
}

/**
 * A kubelet's first probe. Every server answers one before it counts as started: the first answer
 * loads what answering takes (Node's HTTP date header alone reads the time zone, and with it most
 * of a MiB of ICU's data), which a started pod has always done.
 */
async function firstProbe(url: string): Promise<string> {
  const res = await fetch(`${url}/readyz`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${url}/readyz answered ${res.status}`);
  return text;
}

function snapshotArgs(withSnapshots: boolean): { dir: string | null; args: string[] } {
  if (!withSnapshots) return { dir: null, args: [] };
  const dir = mkdtempSync(join(tmpdir(), 'flink-ha-sidecar-heap-'));
  removeOnExit(dir, 'BENCH_KEEP_DIR');
  return { dir, args: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`] };
}

async function startSidecarServer(
  connectString: string,
  jm: { clusterId: string; restUrl: string },
  withSnapshots: boolean,
): Promise<Server> {
  const snapshots = snapshotArgs(withSnapshots);
  const s = await SidecarProcess.start({
    zookeeper: connectString,
    clusterId: jm.clusterId,
    restUrl: jm.restUrl,
    layout: '1.15',
    sessionTimeoutMs: 10_000,
    checkIntervalMs: 2000,
    checkTimeoutMs: 1000,
    nodeArgs: snapshots.args,
  });
  await s.waitUntilReady(20_000);
  const firstAnswer = await firstProbe(s.url);
  return { url: s.url, pid: s.pid, snapshotDir: snapshots.dir, firstAnswer, stop: () => s.stop() };
}

async function startBareServer(body: string, withSnapshots: boolean, bundled: boolean): Promise<Server> {
  const snapshots = snapshotArgs(withSnapshots);
  const b = await startBareExpress({ body, bundled, nodeArgs: snapshots.args });
  const firstAnswer = await firstProbe(b.url);
  return { url: b.url, pid: b.pid, snapshotDir: snapshots.dir, firstAnswer, stop: () => b.stop() };
}

/** Readings after start, after PROBES probes and after PROBES more, each server probed in turn. */
async function passes(servers: Server[], read: (s: Server) => Promise<number>): Promise<{ readings: number[][]; ms: number[] }> {
  await delay(SETTLE_MS);
  const readings = [await Promise.all(servers.map(read))];
  const ms: number[] = [];
  for (let pass = 0; pass < 2; pass++) {
    for (const s of servers) ms.push(await probe(s.url, PROBES));
    await delay(SETTLE_MS);
    readings.push(await Promise.all(servers.map(read)));
  }
  return { readings, ms };
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** Bytes of a file, or of the files under a directory; `skip` names subdirectories left out. */
function sizeOf(path: string, skip = ''): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, f) => (f === skip ? sum : sum + sizeOf(join(path, f), skip)), 0);
}

/** What the final stage carries besides its base image, and what the production node_modules weighed. */
function imagePayload(): void {
  console.log("\nthe image's final stage, besides its base image (the Dockerfile's COPY lines):");
  const rows: [string, number][] = [
    ['dist/ (the bundle, vendor files, licences)', sizeOf(join(PROJECT_ROOT, 'dist'))],
    ['package.json, LICENSE', sizeOf(join(PROJECT_ROOT, 'package.json')) + sizeOf(join(PROJECT_ROOT, 'LICENSE'))],
  ];
  for (const f of readdirSync(join(PROJECT_ROOT, 'dist', 'vendor'))) {
    console.log(`  dist/vendor/${f.padEnd(34)} ${mib(sizeOf(join(PROJECT_ROOT, 'dist', 'vendor', f))).padStart(9)}`);
  }
  console.log(`  dist/main.js${' '.repeat(35)} ${mib(sizeOf(SIDECAR_MAIN)).padStart(9)}`);
  const node = imageNode();
  if (node !== null) {
    rows.push(["compile-cache/ (made by the image's Node.js line here)", sizeOf(makeCompileCache(node, SIDECAR_MAIN))]);
  }
  for (const [name, bytes] of rows) console.log(`  ${name.padEnd(46)} ${mib(bytes).padStart(9)}`);
  console.log(`  total${' '.repeat(42)} ${mib(rows.reduce((sum, [, b]) => sum + b, 0)).padStart(9)}`);
  const lock = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  // Installed here: an optional package for another platform is in the lockfile but not on disk.
  const production = Object.entries(lock.packages).filter(
    ([path, e]) => path.startsWith('node_modules/') && !e.dev && existsSync(join(PROJECT_ROOT, path)),
  );
  // Each package without its nested node_modules: the lockfile lists those packages apart.
  const modulesBytes = production.reduce((sum, [path]) => sum + sizeOf(join(PROJECT_ROOT, path), 'node_modules'), 0);
  console.log(`  before the bundle it carried the production node_modules instead: ${production.length} packages, ${mib(modulesBytes)}`);
}

async function main(): Promise<void> {
  const zk = await startZooKeeper();
  const jm = await startLeadingJobManager(zk.connectString);
  let running: Server[] = [];
  const start = async (s: Promise<Server>) => {
    const server = await s;
    running.push(server);
    return server;
  };
  const stop = async (servers: Server[]) => {
    for (const s of servers) await s.stop();
    running = running.filter((s) => !servers.includes(s));
  };
  /** The sidecar and both baselines, started afresh; their RSS once each has settled. */
  const startAll = async () => {
    const sidecar = await start(startSidecarServer(zk.connectString, jm, false));
    const servers = [
      sidecar,
      await start(startBareServer(sidecar.firstAnswer, false, true)),
      await start(startBareServer(sidecar.firstAnswer, false, false)),
    ];
    await delay(SETTLE_MS);
    return { servers, rss: servers.map((s) => rssBytes(s.pid)) };
  };
  try {
    console.log(`flink-ha-sidecar footprint bench: ${machine()}`);
    console.log('the sidecar: the leader, default intervals (10 s ZooKeeper session, JM check every 2 s), LOG_LEVEL=info');
    console.log(
      "the baselines: a bare express app answering /readyz 200 with the sidecar's body, bundled as dist/main.js is, and (RSS) required from node_modules",
    );
    console.log(`probes: GET /readyz over ${CONCURRENCY} kept-alive connections, every answer 200, one server after the other`);

    const atStart: number[][] = [];
    for (let i = 1; i < STARTS; i++) {
      const { servers, rss } = await startAll();
      atStart.push(rss);
      await stop(servers);
    }
    const last = await startAll();
    atStart.push(last.rss);
    const [sidecar, bare, bareModules] = last.servers as [Server, Server, Server];
    const body = sidecar.firstAnswer;
    // The first window after start holds work done once (V8's memory reducer runs a few seconds
    // after start, and its optimizing compiler picks up the first hot functions later on).
    const [firstSidecar, firstBare] = await idleCpu([sidecar, bare], IDLE_SECONDS, false);
    const [quietSidecar, quietBare] = await idleCpu([sidecar, bare], IDLE_SECONDS, false);
    const [probedSidecar, probedBare] = await idleCpu([sidecar, bare], IDLE_SECONDS, true);
    // The idle windows come first, so the first reading of these passes is after them.
    const rss = await passes([sidecar, bare, bareModules], (s) => Promise.resolve(rssBytes(s.pid)));
    rss.readings.unshift(
      [0, 1, 2].map((i) =>
        percentile(
          atStart.map((r) => r[i]!).sort((a, b) => a - b),
          50,
        ),
      ),
    );
    await stop([sidecar, bare, bareModules]);

    const sidecarHeap = await start(startSidecarServer(zk.connectString, jm, true));
    const bareHeap = await start(startBareServer(body, true, true));
    const heap = await passes([sidecarHeap, bareHeap], liveHeapBytes);

    console.log(`(each ${PROBES} probes took ${[...rss.ms, ...heap.ms].map((m) => (m / 1000).toFixed(0)).join(', ')} s)`);
    const stages = ['after start', `after ${PROBES} probes`, `after ${2 * PROBES} probes`];
    const rssStages = [`after start (median of ${STARTS})`, `after ${3 * IDLE_SECONDS} s at idle`, ...stages.slice(1)];
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`.padStart(6);
    console.log(
      `\nRSS${' '.repeat(22)}${'sidecar'.padStart(10)} ${'bare, bundled'.padStart(14)} ${'ratio'.padStart(6)} ${'bare, node_modules'.padStart(19)} ${'ratio'.padStart(6)}`,
    );
    rssStages.forEach((stage, i) => {
      const [rs, rb, rm] = rss.readings[i]!;
      console.log(
        `  ${stage.padEnd(23)}${mib(rs!).padStart(10)} ${mib(rb!).padStart(14)} ${ratio(rs!, rb!)} ${mib(rm!).padStart(19)} ${ratio(rs!, rm!)}`,
      );
    });
    const startRatios = atStart.map(([rs, rb]) => rs! / rb!).sort((a, b) => a - b);
    console.log(`  (sidecar / bare, bundled, in each of the ${STARTS} starts: ${startRatios.map((r) => r.toFixed(3)).join(', ')})`);
    console.log(`live heap${' '.repeat(16)}${'sidecar'.padStart(10)} ${'bare, bundled'.padStart(14)}`);
    stages.forEach((stage, i) => {
      const [hs, hb] = heap.readings[i]!;
      console.log(`  ${stage.padEnd(23)}${mib(hs!).padStart(10)} ${mib(hb!).padStart(14)}`);
    });
    const growth = (r: number[][], i: number) => `${((r[2]![i]! - r[1]![i]!) / 1024).toFixed(0)} KiB`;
    console.log(
      `growth over the second ${PROBES}: sidecar RSS ${growth(rss.readings.slice(1), 0)}, live heap ${growth(heap.readings, 0)}; bare RSS ${growth(rss.readings.slice(1), 1)}, live heap ${growth(heap.readings, 1)}`,
    );
    console.log(
      `\nCPU at idle over the same ${IDLE_SECONDS} s, % of one core (10 ms ticks: resolution ${(1 / IDLE_SECONDS).toFixed(3)} %):`,
    );
    console.log(`  the first window after start:         sidecar ${firstSidecar!.toFixed(3)} %   bare ${firstBare!.toFixed(3)} %`);
    console.log(`  no requests:                          sidecar ${quietSidecar!.toFixed(3)} %   bare ${quietBare!.toFixed(3)} %`);
    console.log(`  a kubelet's probes and a scrape:      sidecar ${probedSidecar!.toFixed(3)} %   bare ${probedBare!.toFixed(3)} %`);
    imagePayload();
  } finally {
    for (const s of running) await s.stop();
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

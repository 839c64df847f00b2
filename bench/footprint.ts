/**
 * Footprint of a running sidecar (a real `node dist/main.js` process, the leader of a cluster):
 * resident memory (VmRSS from /proc) and V8 heap (from its own /metrics, after a full garbage
 * collection) after start, after
 * 200,000 probes and after 200,000 more (a leak would show as growth between the two), and CPU
 * at idle (utime + stime from /proc/<pid>/stat over 30 s): once with no requests at all, once
 * with a kubelet's probing and a Prometheus scrape (/readyz every 2 s, /livez every 10 s,
 * /metrics every 15 s).
 *
 *   npm run bench:footprint -- [--probes 200000] [--idle-seconds 30]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { SidecarProcess } from '../test/support/sidecar-process.js';
import { startZooKeeper } from '../test/support/zookeeper-server.js';
import { machine, startLeadingJobManager } from './lib/counting-jobmanager.js';

const { values } = parseArgs({
  options: { probes: { type: 'string', default: '200000' }, 'idle-seconds': { type: 'string', default: '30' } },
});
const PROBES = Number(values.probes);
const IDLE_SECONDS = Number(values['idle-seconds']);
const CONCURRENCY = 16;
const SETTLE_MS = 3000;
/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these. */
const CLOCK_TICKS_PER_S = 100;
const SNAPSHOT_DIR = mkdtempSync(join(tmpdir(), 'flink-ha-sidecar-heap-'));

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

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} ([\\d.e+]+)$`, 'm').exec(text)?.[1] ?? NaN);
}

/**
 * A full garbage collection in the sidecar, without changing its code: Node writes a heap
 * snapshot on SIGUSR2 (--heapsnapshot-signal), and collects garbage before it does. Resolves once
 * the snapshot file is complete, and removes it.
 */
async function collectGarbage(s: SidecarProcess): Promise<void> {
  const before = new Set(readdirSync(SNAPSHOT_DIR));
  s.kill('SIGUSR2');
  const deadline = performance.now() + 60_000;
  let last = -1;
  for (;;) {
    const file = readdirSync(SNAPSHOT_DIR).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    if (file) {
      const size = statSync(join(SNAPSHOT_DIR, file)).size;
      // The file is written in one go; a size that stops changing means it is done.
      if (size > 0 && size === last) {
        rmSync(join(SNAPSHOT_DIR, file));
        return;
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
  if (failed > 0) throw new Error(`${failed} of ${count} probes did not answer 200`);
  return performance.now() - started;
}

async function idleCpu(s: SidecarProcess, seconds: number, kubelet: boolean): Promise<number> {
  const ticks0 = cpuTicks(s.pid);
  const t0 = performance.now();
  const timers: NodeJS.Timeout[] = [];
  if (kubelet) {
    const get = (path: string) => () =>
      void fetch(`${s.url}${path}`).then(
        (r) => r.arrayBuffer(),
        () => undefined,
      );
    timers.push(setInterval(get('/readyz'), 2000), setInterval(get('/livez'), 10_000), setInterval(get('/metrics'), 15_000));
  }
  await delay(seconds * 1000);
  for (const t of timers) clearInterval(t);
  const cpuS = (cpuTicks(s.pid) - ticks0) / CLOCK_TICKS_PER_S;
  return (cpuS / ((performance.now() - t0) / 1000)) * 100;
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

async function startSidecar(
  connectString: string,
  jm: { clusterId: string; restUrl: string },
  withSnapshots: boolean,
): Promise<SidecarProcess> {
  const s = await SidecarProcess.start({
    zookeeper: connectString,
    clusterId: jm.clusterId,
    restUrl: jm.restUrl,
    layout: '1.15',
    sessionTimeoutMs: 10_000,
    checkIntervalMs: 2000,
    checkTimeoutMs: 1000,
    nodeArgs: withSnapshots ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${SNAPSHOT_DIR}`] : [],
  });
  await s.waitUntilReady(20_000);
  return s;
}

/** Start, PROBES probes, PROBES more: a reading after each. */
async function pass(s: SidecarProcess, read: () => Promise<number>): Promise<{ values: number[]; ms: number[] }> {
  const values = [await read()];
  const ms: number[] = [];
  for (let i = 0; i < 2; i++) {
    ms.push(await probe(s.url, PROBES));
    values.push(await read());
  }
  return { values, ms };
}

async function main(): Promise<void> {
  const zk = await startZooKeeper();
  const jm = await startLeadingJobManager(zk.connectString);
  const sidecars: SidecarProcess[] = [];
  try {
    console.log(`flink-ha-sidecar footprint bench: ${machine()}`);
    console.log('one sidecar process, the leader, default intervals (10 s ZooKeeper session, JM check every 2 s), LOG_LEVEL=info');
    console.log(`probes: GET /readyz over ${CONCURRENCY} kept-alive connections, every answer 200`);
    // Two processes: a heap snapshot (the way to force a collection from outside) leaves its own
    // memory behind in RSS, so RSS is read from a process that never takes one.
    const a = await startSidecar(zk.connectString, jm, false);
    sidecars.push(a);
    const rss = await pass(a, async () => {
      await delay(SETTLE_MS);
      return rssBytes(a.pid);
    });
    const quiet = await idleCpu(a, IDLE_SECONDS, false);
    const probed = await idleCpu(a, IDLE_SECONDS, true);
    await a.stop();
    const b = await startSidecar(zk.connectString, jm, true);
    sidecars.push(b);
    const heap = await pass(b, async () => {
      await delay(SETTLE_MS);
      await collectGarbage(b);
      return metric(b.url, 'nodejs_heap_size_used_bytes');
    });
    const stages = ['after start', `after ${PROBES} probes`, `after ${2 * PROBES} probes`];
    console.log(`(${PROBES} probes took ${[...rss.ms, ...heap.ms].map((m) => (m / 1000).toFixed(1)).join(', ')} s)`);
    stages.forEach((stage, i) => {
      console.log(
        `  ${stage.padEnd(24)} RSS ${mib(rss.values[i]!).padStart(10)}   heap used after a full collection ${mib(heap.values[i]!).padStart(9)}`,
      );
    });
    console.log(
      `  growth over the second ${PROBES} probes: RSS ${((rss.values[2]! - rss.values[1]!) / 1024).toFixed(0)} KiB, heap ${((heap.values[2]! - heap.values[1]!) / 1024).toFixed(0)} KiB`,
    );
    console.log(
      `CPU at idle over ${IDLE_SECONDS} s: ${quiet.toFixed(2)} % of one core with no requests; ${probed.toFixed(2)} % with a kubelet's probes and a scrape every 15 s`,
    );
  } finally {
    for (const s of sidecars) await s.stop();
    await jm.close();
    await zk.destroy();
    rmSync(SNAPSHOT_DIR, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

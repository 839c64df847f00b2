/**
 * Failover detection: how long from a leader change written to ZooKeeper until /readyz flips, on
 * the new leader's sidecar (to 200) and on the old leader's (to 503).
 *
 * Two sidecars run in this process against a real ZooKeeper; two "JobManagers" are ZooKeeper
 * sessions of this process that contend as Curator's LeaderLatch does (EPHEMERAL_SEQUENTIAL
 * `_c_<uuid>-latch-` children, lowest leads) and publish leader information as Flink does
 * (delete the old owner's node, create an EPHEMERAL node holding writeUTF + UUID), so the write
 * times and the sidecars' transitions come from one monotonic clock. Each JM's REST API is a tiny
 * HTTP server answering /config.
 *
 *   npm run bench:failover -- [--changes 50] [--layout 1.15|1.14|1.13|all]
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import zookeeper, { type Client } from 'node-zookeeper-client';
import { loadConfig } from '../src/config/index.js';
import type { Layout } from '../src/core/model.js';
import { createLogger } from '../src/log.js';
import { monotonicClock, startSidecar, type RunningSidecar } from '../src/sidecar.js';
import { electionPaths, type ElectionPaths } from '../src/sources/zookeeper/paths.js';
import { encodeLeaderInformation } from '../test/support/leader-info-encoder.js';
import { sharedZooKeeper } from '../test/support/zookeeper-server.js';

const { values } = parseArgs({
  options: { changes: { type: 'string', default: '50' }, layout: { type: 'string', default: 'all' } },
});
const CHANGES = Number(values.changes);
const LAYOUTS: Layout[] = values.layout === 'all' ? ['1.15', '1.14', '1.13'] : [values.layout as Layout];

interface Jm {
  client: Client;
  restUrl: string;
  server: http.Server;
  latchNode: string | null;
}

function call<T>(fn: (cb: (err: unknown, v: T) => void) => void): Promise<T> {
  // node-zookeeper-client fails with Errors; anything else is wrapped with its text as it comes.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(v))));
}

async function connect(connectString: string): Promise<Client> {
  const client = zookeeper.createClient(connectString, { sessionTimeout: 4000 });
  await new Promise<void>((resolve) => {
    client.once('connected', () => resolve());
    client.connect();
  });
  return client;
}

async function startJm(connectString: string): Promise<Jm> {
  const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { client: await connect(connectString), restUrl: `http://127.0.0.1:${port}`, server, latchNode: null };
}

async function join(jm: Jm, paths: ElectionPaths): Promise<void> {
  await call<string>((cb) => jm.client.mkdirp(paths.latchPath, cb));
  const created = await call<string>((cb) =>
    jm.client.create(`${paths.latchPath}/_c_${randomUUID()}-latch-`, Buffer.alloc(0), zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL, cb),
  );
  jm.latchNode = created;
}

async function resign(jm: Jm): Promise<void> {
  if (jm.latchNode) await call<undefined>((cb) => jm.client.remove(jm.latchNode!, -1, (e) => cb(e, undefined)));
  jm.latchNode = null;
}

/**
 * Flink's write: an existing node of another session is deleted, then ours is created. Returns
 * when the create was sent and when ZooKeeper acknowledged it (committed, fsync included).
 */
async function publish(jm: Jm, paths: ElectionPaths): Promise<{ sentAt: number; ackedAt: number }> {
  const parent = paths.leaderInfoPath.slice(0, paths.leaderInfoPath.lastIndexOf('/'));
  await call<string>((cb) => jm.client.mkdirp(parent, cb));
  const stat = await call<zookeeper.Stat | null>((cb) => jm.client.exists(paths.leaderInfoPath, (e, s) => cb(e, s ?? null)));
  if (stat) await call<undefined>((cb) => jm.client.remove(paths.leaderInfoPath, -1, (e) => cb(e, undefined)));
  const data = encodeLeaderInformation(jm.restUrl, randomUUID());
  const sentAt = monotonicClock();
  await call<string>((cb) => jm.client.create(paths.leaderInfoPath, data, zookeeper.CreateMode.EPHEMERAL, cb));
  return { sentAt, ackedAt: monotonicClock() };
}

function waitReady(s: RunningSidecar, ready: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const t = s.store.state.transitions.at(-1);
      if (s.store.state.verdict.ready === ready) {
        unsubscribe();
        clearTimeout(timer);
        resolve(t?.atMs ?? monotonicClock());
        return true;
      }
      return false;
    };
    const unsubscribe = s.store.subscribe(() => void check());
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`sidecar did not become ${ready ? 'ready' : 'not ready'} within 10 s`));
    }, 10_000);
    check();
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function benchLayout(connectString: string, layout: Layout): Promise<void> {
  const clusterId = `/bench-${layout.replace('.', '')}-${randomUUID().slice(0, 8)}`;
  const paths = electionPaths({ root: '/flink', clusterId, latchDir: '/leaderlatch', leaderDir: '/leader' }).find(
    (p) => p.layout === layout,
  )!;
  const jms = [await startJm(connectString), await startJm(connectString)];
  const sidecars: RunningSidecar[] = [];
  for (const jm of jms) {
    const loaded = loadConfig(
      [
        `--zookeeper-quorum=${connectString}`,
        `--cluster-id=${clusterId}`,
        `--flink-rest-url=${jm.restUrl}`,
        `--layout=${layout}`,
        // Debug endpoints off: their default port (8091) would clash between the two sidecars.
        // Detection is measured, so no handover wait (it is a deliberate pause for the kubelet).
        '--advertised-address=127.0.0.1',
        '--host=127.0.0.1',
        '--log-level=silent',
        '--debug-port=0',
        '--leader-handover-delay-ms=0',
      ],
      {},
      'bench',
    );
    if (loaded.kind !== 'run') throw new Error('bad bench config');
    sidecars.push(await startSidecar({ ...loaded.config, port: 0 }, createLogger('silent')));
  }
  await join(jms[0]!, paths);
  await join(jms[1]!, paths);
  await publish(jms[0]!, paths);
  await waitReady(sidecars[0]!, true);

  const newLeaderMs: number[] = [];
  const newLeaderAfterAckMs: number[] = [];
  const oldLeaderMs: number[] = [];
  let leader = 0;
  for (let i = 0; i < CHANGES; i++) {
    const next = 1 - leader;
    const oldNotReady = waitReady(sidecars[leader]!, false);
    const resignedAt = monotonicClock();
    await resign(jms[leader]!);
    oldLeaderMs.push((await oldNotReady) - resignedAt);
    const newReady = waitReady(sidecars[next]!, true);
    const { sentAt, ackedAt } = await publish(jms[next]!, paths);
    const readyAt = await newReady;
    newLeaderMs.push(readyAt - sentAt);
    // The watch event and the writer's acknowledgement leave ZooKeeper together at commit; the
    // difference is what the sidecar adds after ZooKeeper made the write visible (0 if sooner).
    newLeaderAfterAckMs.push(Math.max(0, readyAt - ackedAt));
    // Checked over HTTP too, outside the timing: the probe answers what the state says.
    const [a, b] = await Promise.all(
      [sidecars[next]!, sidecars[leader]!].map((s) => fetch(`http://127.0.0.1:${s.address.port}/readyz`).then((r) => r.status)),
    );
    if (a !== 200 || b !== 503) throw new Error(`change ${i}: /readyz answered ${a} and ${b}`);
    await join(jms[leader]!, paths);
    leader = next;
  }
  for (const s of sidecars) await s.shutdown('bench done');
  for (const jm of jms) {
    jm.client.close();
    jm.server.close();
  }
  const fmt = (xs: number[]) => {
    const s = [...xs].sort((x, y) => x - y);
    return `p50 ${percentile(s, 50).toFixed(2)} ms  p99 ${percentile(s, 99).toFixed(2)} ms  max ${s.at(-1)!.toFixed(2)} ms`;
  };
  console.log(`layout ${layout}, ${CHANGES} leader changes`);
  console.log(`  new leader: leader info create sent -> /readyz 200:          ${fmt(newLeaderMs)}`);
  console.log(`  new leader: create acknowledged -> /readyz 200:             ${fmt(newLeaderAfterAckMs)}`);
  console.log(`  old leader: latch node removal sent -> /readyz 503:         ${fmt(oldLeaderMs)}`);
}

async function main(): Promise<void> {
  const zk = await sharedZooKeeper();
  try {
    console.log(`flink-ha-sidecar failover bench, node ${process.version}, ZooKeeper ${zk.connectString}`);
    for (const layout of LAYOUTS) await benchLayout(zk.connectString, layout);
  } finally {
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

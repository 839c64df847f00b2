/**
 * A three-server ZooKeeper ensemble on 127.0.0.1 for reliability tests: each server its own JVM
 * (QuorumPeerMain, a small heap), its own data directory with its `myid`, client port and
 * `server.N=127.0.0.1:<peer port>:<election port>` entries. Servers can be stopped, killed and
 * started one by one, so a test can take one node away and then the quorum.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { findFreePort, fourLetterWord, javaClassPath, readTail, spawnJvm, terminate } from './zookeeper-server.js';

export interface EnsembleServer {
  /** 1, 2 or 3: its myid. */
  readonly id: number;
  readonly clientPort: number;
  readonly logFile: string;
  readonly isRunning: boolean;
  /** Starts the JVM; resolves once it answers `srvr` (it may still be looking for a quorum). */
  start(): Promise<void>;
  stop(): Promise<void>;
  kill(): Promise<void>;
  /** `srvr`'s Mode line: leader, follower, standalone; null when it does not serve (no quorum, down). */
  mode(): Promise<string | null>;
}

export interface ZooKeeperEnsemble {
  readonly servers: readonly EnsembleServer[];
  /** Every server: `127.0.0.1:<p1>,127.0.0.1:<p2>,127.0.0.1:<p3>`. */
  readonly connectString: string;
  /** Resolves once `count` servers serve as leader or follower (a quorum has formed). */
  waitForQuorum(count?: number, timeoutMs?: number): Promise<void>;
  /**
   * Resolves once no server serves as leader or follower. A leader left without a quorum keeps
   * serving until it notices (up to a few ticks), so a test waits for this rather than assuming.
   */
  waitForNoQuorum(timeoutMs?: number): Promise<void>;
  /** Stops every server and removes the data directories. */
  destroy(): Promise<void>;
}

const JARS = ['zookeeper.jar', 'zookeeper-jute.jar', 'slf4j-api.jar', 'slf4j-simple.jar'];
const POLL_MS = 100;

export async function startZooKeeperEnsemble(opts: { size?: number; startTimeoutMs?: number } = {}): Promise<ZooKeeperEnsemble> {
  const size = opts.size ?? 3;
  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  const classPath = javaClassPath(JARS);
  const baseDir = await mkdtemp(join(tmpdir(), 'flink-ha-sidecar-zk-ensemble-'));
  const ports: { client: number; peer: number; election: number }[] = [];
  // Free ports one at a time, each kept distinct from the ones already picked.
  const taken = new Set<number>();
  const freePort = async (): Promise<number> => {
    for (;;) {
      const p = await findFreePort();
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), peer: await freePort(), election: await freePort() });
  const serverLines = ports.map((p, i) => `server.${i + 1}=127.0.0.1:${p.peer}:${p.election}`);

  const servers: EnsembleServer[] = [];
  for (let i = 0; i < size; i++) {
    const id = i + 1;
    const dir = join(baseDir, `server${id}`);
    const dataDir = join(dir, 'data');
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, 'myid'), `${id}\n`);
    const cfg = join(dir, 'zoo.cfg');
    await writeFile(
      cfg,
      [
        // tickTime 1000 allows 2 to 20 s sessions; initLimit and syncLimit in ticks.
        'tickTime=1000',
        'initLimit=10',
        'syncLimit=5',
        `dataDir=${dataDir}`,
        `clientPort=${ports[i]!.client}`,
        'clientPortAddress=127.0.0.1',
        'admin.enableServer=false',
        '4lw.commands.whitelist=srvr,ruok',
        'maxSessionTimeout=60000',
        // Three JVMs on two cores: leader election must not give up while another server starts.
        'cnxTimeout=2000',
        ...serverLines,
        '',
      ].join('\n'),
    );
    servers.push(makeServer(id, ports[i]!.client, cfg, join(dir, 'zookeeper.log'), classPath));
  }
  await Promise.all(servers.map((s) => s.start()));
  const ensemble: ZooKeeperEnsemble = {
    servers,
    connectString: ports.map((p) => `127.0.0.1:${p.client}`).join(','),
    waitForQuorum: async (count = size, timeoutMs = startTimeoutMs) => {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const modes = await Promise.all(servers.map((s) => s.mode()));
        if (modes.filter((m) => m === 'leader' || m === 'follower').length >= count) return;
        if (performance.now() > deadline) {
          const tails = await Promise.all(servers.map(async (s) => `--- server ${s.id} ---\n${await readTail(s.logFile, 15)}`));
          throw new Error(`no quorum of ${count} within ${timeoutMs} ms (modes ${JSON.stringify(modes)})\n${tails.join('\n')}`);
        }
        // Polling `srvr` is the only readiness signal the servers offer.
        await delay(POLL_MS);
      }
    },
    waitForNoQuorum: async (timeoutMs = 30_000) => {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const modes = await Promise.all(servers.map((s) => s.mode()));
        if (!modes.some((m) => m === 'leader' || m === 'follower')) return;
        if (performance.now() > deadline) throw new Error(`still serving after ${timeoutMs} ms (modes ${JSON.stringify(modes)})`);
        await delay(POLL_MS);
      }
    },
    destroy: async () => {
      await Promise.all(servers.map((s) => s.stop()));
      if (process.env['ZOOKEEPER_TEST_KEEP_DIR'] !== '1') await rm(baseDir, { recursive: true, force: true });
    },
  };
  try {
    await ensemble.waitForQuorum(size, startTimeoutMs);
  } catch (err) {
    await ensemble.destroy();
    throw err;
  }
  return ensemble;
}

function makeServer(id: number, clientPort: number, cfg: string, logFile: string, classPath: string): EnsembleServer {
  let child: ChildProcess | undefined;
  const stopWith = async (signal: NodeJS.Signals) => {
    const running = child;
    if (running) await terminate(running, signal);
  };
  return {
    id,
    clientPort,
    logFile,
    get isRunning() {
      return child !== undefined;
    },
    start: async () => {
      if (child) return;
      const started = spawnJvm(
        [
          '-Xmx128m',
          '-Dzookeeper.admin.enableServer=false',
          '-Dorg.slf4j.simpleLogger.showDateTime=true',
          '-cp',
          classPath,
          'org.apache.zookeeper.server.quorum.QuorumPeerMain',
          cfg,
        ],
        logFile,
      );
      child = started;
      started.once('exit', () => {
        if (child === started) child = undefined;
      });
      // The JVM is up once srvr answers at all ("not currently serving" while without a quorum).
      const deadline = performance.now() + 30_000;
      for (;;) {
        if (child !== started) throw new Error(`ZooKeeper server ${id} exited while starting:\n${await readTail(logFile, 20)}`);
        const answer = await fourLetterWord(clientPort, 'srvr', 1000).catch(() => '');
        if (answer !== '') return;
        if (performance.now() > deadline) throw new Error(`ZooKeeper server ${id} did not start:\n${await readTail(logFile, 20)}`);
        await delay(POLL_MS);
      }
    },
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    mode: async () => {
      if (!child) return null;
      const answer = await fourLetterWord(clientPort, 'srvr', 1000).catch(() => '');
      return /^Mode: (\w+)/m.exec(answer)?.[1] ?? null;
    },
  };
}

/**
 * A real ZooKeeper server (Debian's zookeeper 3.8 jar) for integration tests: one JVM per call to
 * startZooKeeper(), on 127.0.0.1 and a free port, with a throwaway data directory. Logs go to a file
 * next to the data directory, never to the test output; failures quote the log's tail.
 *
 * Also home of spawnJvm, shared with the other JVM-based support: every JVM started here is killed
 * when the test process exits (exit-cleanup.ts), so a failed or interrupted run leaves nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { forgetDir, isKept, removeOnExit, trackChild } from './exit-cleanup.js';

export { trackChild } from './exit-cleanup.js';

/** Where Debian's Java library packages put their jars. */
export const JAVA_LIB_DIR = '/usr/share/java';

export interface ZooKeeperServer {
  /** `127.0.0.1:<port>` (or the value of ZOOKEEPER_TEST_QUORUM for a shared external server). */
  readonly connectString: string;
  readonly port: number;
  /** Data directory; kept by stop() and kill() so that start() resumes with the same sessions. */
  readonly dataDir: string | undefined;
  /** The server's log (stdout and stderr of the JVM), appended across restarts. */
  readonly logFile: string | undefined;
  /** SIGTERM, then waits for the JVM to exit. Keeps the data directory. No-op when stopped. */
  stop(): Promise<void>;
  /**
   * Starts again on the same port and data directory, resolving once it serves requests. Sessions
   * whose timeout has not run out while the server was down are still valid afterwards.
   * No-op when running.
   */
  start(): Promise<void>;
  /** SIGKILL, then waits for the JVM to exit. Keeps the data directory. No-op when stopped. */
  kill(): Promise<void>;
  /**
   * stop(), then removes the data directory and the log (kept when ZOOKEEPER_TEST_KEEP_DIR=1).
   * A server never destroyed is removed when the test process exits.
   */
  destroy(): Promise<void>;
}

export interface ZooKeeperServerOptions {
  /** Bound on start-up (JVM launch until `srvr` answers), in ms. Default 20000. */
  startTimeoutMs?: number;
  /** Extra zoo.cfg entries, overriding the defaults (e.g. `{ maxSessionTimeout: 120000 }`). */
  config?: Record<string, string | number>;
}

const DEFAULT_START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
const READINESS_POLL_MS = 100;
const LOG_TAIL_LINES = 40;

// zookeeper.jar's manifest Class-Path names its remaining dependencies (netty, metrics, ...); these
// are listed so that a missing package fails with a clear message instead of NoClassDefFoundError.
const ZOOKEEPER_JARS = ['zookeeper.jar', 'zookeeper-jute.jar', 'slf4j-api.jar', 'slf4j-simple.jar'];

/** Starts a standalone ZooKeeper server and resolves once it answers the `srvr` four-letter word. */
export async function startZooKeeper(opts: ZooKeeperServerOptions = {}): Promise<ZooKeeperServer> {
  const classPath = javaClassPath(ZOOKEEPER_JARS);
  const baseDir = await mkdtemp(join(tmpdir(), 'flink-ha-sidecar-zk-'));
  removeOnExit(baseDir, KEEP_VARIABLE);
  const dataDir = join(baseDir, 'data');
  const configFile = join(baseDir, 'zoo.cfg');
  const logFile = join(baseDir, 'zookeeper.log');
  await mkdir(dataDir);
  const port = await findFreePort();
  await writeFile(configFile, zooCfg(port, dataDir, opts.config ?? {}));
  const startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;

  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    if (child !== undefined) return;
    const started = spawnJvm(
      [
        '-Xmx256m',
        '-Dzookeeper.admin.enableServer=false',
        '-Dorg.slf4j.simpleLogger.showDateTime=true',
        '-cp',
        classPath,
        'org.apache.zookeeper.server.ZooKeeperServerMain',
        configFile,
      ],
      logFile,
    );
    child = started;
    started.once('exit', () => {
      if (child === started) child = undefined;
    });
    try {
      await waitUntilServing(port, started, startTimeoutMs);
    } catch (err) {
      await terminate(started, 'SIGKILL');
      const tail = await readTail(logFile);
      throw new Error(
        `ZooKeeper on 127.0.0.1:${port} did not start: ${(err as Error).message}\n` +
          `--- ${logFile} (last ${LOG_TAIL_LINES} lines) ---\n${tail}`,
        { cause: err },
      );
    }
  };

  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    if (running === undefined) return;
    await terminate(running, signal);
  };

  const server: ZooKeeperServer = {
    connectString: `127.0.0.1:${port}`,
    port,
    dataDir,
    logFile,
    start,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    destroy: async () => {
      await stopWith('SIGTERM');
      if (!keepDirs()) await rm(baseDir, { recursive: true, force: true });
      forgetDir(baseDir);
    },
  };

  try {
    await start();
  } catch (err) {
    await rm(baseDir, { recursive: true, force: true });
    forgetDir(baseDir);
    throw err;
  }
  return server;
}

let shared: Promise<ZooKeeperServer> | undefined;

/**
 * The server a test file shares with its neighbours: the one named by ZOOKEEPER_TEST_QUORUM when that
 * is set, else one started on first call and reused by later calls in the same process.
 * stop(), start() and kill() throw: a test that takes ZooKeeper down would break the others, and
 * needs its own server from startZooKeeper(). destroy() stops a server started here (the next
 * call starts a new one) and leaves an external one alone.
 */
export function sharedZooKeeper(opts: ZooKeeperServerOptions = {}): Promise<ZooKeeperServer> {
  shared ??= createShared(opts);
  const current = shared;
  // A failed start must not poison later calls with the same rejected promise.
  current.catch(() => {
    if (shared === current) shared = undefined;
  });
  return current;
}

async function createShared(opts: ZooKeeperServerOptions): Promise<ZooKeeperServer> {
  const external = process.env['ZOOKEEPER_TEST_QUORUM'];
  const server = external !== undefined && external !== '' ? externalServer(external) : await startZooKeeper(opts);
  const refuse = (what: string) => (): Promise<void> =>
    Promise.reject(
      new Error(
        `sharedZooKeeper(): cannot ${what} the shared ZooKeeper (${server.connectString}); ` +
          'a test that stops, starts or kills ZooKeeper needs its own server: use startZooKeeper()',
      ),
    );
  return {
    connectString: server.connectString,
    port: server.port,
    dataDir: server.dataDir,
    logFile: server.logFile,
    stop: refuse('stop'),
    start: refuse('start'),
    kill: refuse('kill'),
    destroy: async () => {
      shared = undefined;
      await server.destroy();
    },
  };
}

function externalServer(connectString: string): ZooKeeperServer {
  const firstHost = connectString.split(',')[0] ?? '';
  const port = Number(/:(\d+)(?:\/.*)?$/.exec(firstHost)?.[1] ?? 2181);
  return {
    connectString,
    port,
    dataDir: undefined,
    logFile: undefined,
    start: async () => {},
    stop: async () => {},
    kill: async () => {},
    destroy: async () => {},
  };
}

function zooCfg(port: number, dataDir: string, overrides: Record<string, string | number>): string {
  const entries: Record<string, string | number> = {
    // With the default tickTime of 3000 the shortest session ZooKeeper grants is 6 s (2 ticks);
    // 1000 lets tests use 2-4 s sessions so that expiry scenarios stay fast.
    tickTime: 1000,
    dataDir,
    clientPort: port,
    clientPortAddress: '127.0.0.1',
    // Else the AdminServer (Jetty) binds 8080 on every interface.
    'admin.enableServer': 'false',
    '4lw.commands.whitelist': 'srvr,ruok',
    maxSessionTimeout: 60_000,
    ...overrides,
  };
  return (
    Object.entries(entries)
      .map(([key, value]) => `${key}=${value}`)
      .join('\n') + '\n'
  );
}

/** Absolute paths of Debian jars joined for -cp; throws naming the install script when one is missing. */
export function javaClassPath(jars: readonly string[]): string {
  const paths = jars.map((jar) => join(JAVA_LIB_DIR, jar));
  const missing = paths.filter((path) => !existsSync(path));
  if (missing.length > 0) {
    throw new Error(
      `missing Java libraries: ${missing.join(', ')}; ` +
        'run scripts/install-system-deps.sh as root (apt-get install zookeeper libcurator-recipes-java)',
    );
  }
  return paths.join(':');
}

/** A port that was free a moment ago on 127.0.0.1 (the OS picks it; racy only against other processes). */
/**
 * The lowest port the kernel hands out for outgoing connections (Linux's ip_local_port_range;
 * 32768 elsewhere). A port picked below it cannot be taken, between the pick and the server's
 * bind, by one of the many client connections a test run makes.
 */
function ephemeralPortsStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 11_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}
const PICK_FROM = 10_000;
const PICK_BELOW = ephemeralPortsStart();

function bindsOn(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(port, '127.0.0.1', () => {
      const address = probe.address();
      const bound = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => (bound > 0 ? resolve(bound) : reject(new Error('could not find a free port'))));
    });
  });
}

/**
 * A port free on 127.0.0.1 now, for a server configured before it starts (ZooKeeper, Flink, the
 * control plane). Picked at random below the ephemeral range (see ephemeralPortsStart), so only
 * another listener can take it before the server binds; the kernel's choice if none is free there.
 */
export async function findFreePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = PICK_FROM + Math.floor(Math.random() * (PICK_BELOW - PICK_FROM));
    try {
      return await bindsOn(port);
    } catch {
      // Taken: try another.
    }
  }
  return bindsOn(0);
}

/** Sends a four-letter word and returns the whole answer (the server closes after answering). */
export function fourLetterWord(port: number, word: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer to ${word} within ${timeoutMs} ms`)));
    socket.once('connect', () => socket.end(word));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

async function waitUntilServing(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let lastProblem = 'no answer yet';
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  while (performance.now() < deadline) {
    if (spawnError !== undefined) throw new Error(`could not run java: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the JVM exited (${child.exitCode ?? child.signalCode}) before serving`);
    }
    try {
      const answer = await fourLetterWord(port, 'srvr');
      if (answer.includes('Mode:')) return;
      lastProblem = `srvr answered ${JSON.stringify(answer.slice(0, 200))}`;
    } catch (err) {
      lastProblem = (err as Error).message;
    }
    // Polling is the only readiness signal ZooKeeperServerMain offers.
    await delay(READINESS_POLL_MS);
  }
  throw new Error(`not serving after ${timeoutMs} ms (${lastProblem})`);
}

// ---- JVM children: started detached from the test output, always reaped -------------------------

const KEEP_VARIABLE = 'ZOOKEEPER_TEST_KEEP_DIR';
const keepDirs = (): boolean => isKept(KEEP_VARIABLE);

/**
 * Spawns `java <args>` with stdout and stderr appended to logFile (or piped when logFile is
 * undefined), a small heap and a quick-starting JIT, and registers it to be killed when this
 * process exits. Where util-linux's setpriv exists the kernel also kills it if this process dies
 * without running exit handlers (SIGKILL, OOM).
 */
export function spawnJvm(args: readonly string[], logFile: string | undefined): ChildProcess {
  // Tests start many short-lived JVMs on 2 cores: C1 only and the serial collector start fastest.
  const jvmArgs = ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xss512k', ...args];
  const [command, commandArgs] = existsSync('/usr/bin/setpriv')
    ? ['/usr/bin/setpriv', ['--pdeathsig', 'SIGKILL', '--', 'java', ...jvmArgs]]
    : ['java', jvmArgs];
  let child: ChildProcess;
  if (logFile === undefined) {
    child = spawn(command, commandArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
  } else {
    const fd = openSync(logFile, 'a');
    try {
      child = spawn(command, commandArgs, { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
  }
  trackChild(child);
  return child;
}

/** Sends signal unless the child has already exited, then waits for its exit (SIGKILL after STOP_TIMEOUT_MS). */
export async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** The last lines of a log file, or a note saying why there are none. */
export async function readTail(file: string, lines = LOG_TAIL_LINES): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch (err) {
    return `(no log: ${(err as Error).message})`;
  }
}

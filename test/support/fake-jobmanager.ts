/**
 * Drives test/support/java/FakeJobManager: a JVM that contends for Flink leadership in ZooKeeper
 * with Curator's LeaderLatch, publishes leader information exactly as Flink does, and serves a
 * scriptable slice of Flink's REST API on 127.0.0.1. Sources are compiled once per source hash into
 * <project>/.cache/java/ and reused across runs.
 *
 * Protocol, one UTF-8 line each way.
 * stdout events:
 *   rest-port <n>                  first line: the REST API listens
 *   session <16 hex>               a new ZooKeeper session (not repeated on reconnects within one)
 *   connection <STATE>             Curator's CONNECTED|SUSPENDED|RECONNECTED|LOST|READ_ONLY
 *   leader <component> <uuid>      granted, and its information node written with this session id
 *   not-leader <component>         revoked (SUSPENDED, LOST, resign)
 * stdin commands, each answered `ok <command>` or `error <message>`:
 *   resign | join                  stop / start contending (resign replies after not-leader lines)
 *   write-info [hex]               raw bytes into the rest_server node, Flink's way (no hex: empty)
 *   delete-info                    delete the rest_server node, whoever owns it
 *   rest <mode> [arg]              auto (Flink's LeaderRetrievalHandler) | ok | election | 500 |
 *                                  html | hang | huge | slow <ms> | redirect [url]
 *   exit                           resign, close the session, exit 0
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { javaClassPath, spawnJvm } from './zookeeper-server.js';
import { waitForItem } from './wait-for-item.js';

export type Layout = '1.15' | '1.14' | '1.13';
export type FlinkComponent = 'rest_server' | 'dispatcher' | 'resource_manager';

export interface FakeJobManagerOptions {
  /** ZooKeeper connect string, e.g. ZooKeeperServer.connectString. */
  zookeeper: string;
  /** Znode layout by the Flink line that introduced it (docs/design.md, "What Flink writes to ZooKeeper"). */
  layout: Layout;
  /** high-availability.zookeeper.path.root; default /flink. */
  root?: string;
  /** high-availability.cluster-id; default /default. Give each test its own. */
  clusterId?: string;
  /** Port for the REST API on 127.0.0.1; default 0 (a free one). */
  restPort?: number;
  /** rest_server address to publish; default http://127.0.0.1:<rest port>. */
  restAddress?: string;
  /** ZooKeeper session timeout in ms; default 4000. */
  sessionTimeoutMs?: number;
  /** On resign, clear the published information while still leading, as Flink 1.15 to 1.17 did. */
  revokeWritesEmpty?: boolean;
  /** 1.13 layout only: high-availability.zookeeper.path.latch, default /leaderlatch. */
  latchPath?: string;
  /** 1.13 layout only: high-availability.zookeeper.path.leader, default /leader. */
  leaderPath?: string;
  /** Bound on start-up until the first ZooKeeper session, in ms; default 20000. */
  startTimeoutMs?: number;
}

export interface FakeJobManagerEvent {
  /** One stdout line without its newline. */
  readonly line: string;
  /** performance.now() when the line arrived. */
  readonly atMs: number;
}

// __filename rather than __dirname: tsx's loader, when an ES module imports this file, evaluates it
// from a data: URL and sets only __filename correctly.
const SUPPORT_DIR = dirname(__filename);
const PROJECT_ROOT = resolve(SUPPORT_DIR, '..', '..');
const JAVA_SOURCE_DIR = join(SUPPORT_DIR, 'java');
const CACHE_ROOT = join(PROJECT_ROOT, '.cache', 'java');
const MAIN_CLASS = 'FakeJobManager';
const CURATOR_JARS = [
  'curator-recipes.jar',
  'curator-framework.jar',
  'curator-client.jar',
  'zookeeper.jar',
  'zookeeper-jute.jar',
  'guava.jar',
  'slf4j-api.jar',
];
/** Logging binding at run time only: slf4j-simple writes to stderr, which we keep for error messages. */
const RUNTIME_JARS = [...CURATOR_JARS, 'slf4j-simple.jar'];
const DEFAULT_WAIT_MS = 15_000;
const DEFAULT_START_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
const STDERR_KEEP_CHARS = 16_384;
const STDERR_TAIL_LINES = 20;

let compiled: Promise<string> | undefined;

/**
 * Compiles the Java sources (once per test process; reused across processes while the sources are
 * unchanged) and resolves to the classes directory.
 */
export function compileFakeJobManager(): Promise<string> {
  compiled ??= compile();
  const current = compiled;
  current.catch(() => {
    if (compiled === current) compiled = undefined;
  });
  return current;
}

async function compile(): Promise<string> {
  const classPath = javaClassPath(CURATOR_JARS);
  const sources = (await readdir(JAVA_SOURCE_DIR)).filter((name) => name.endsWith('.java')).sort();
  const hash = createHash('sha256').update(classPath);
  for (const name of sources) {
    hash.update(`\0${name}\0`).update(await readFile(join(JAVA_SOURCE_DIR, name)));
  }
  const target = join(CACHE_ROOT, hash.digest('hex').slice(0, 16));
  if (existsSync(join(target, `${MAIN_CLASS}.class`))) return target;

  // Compile beside the target and rename into place: a concurrent test process either sees no
  // directory or a complete one.
  const staging = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(staging, { recursive: true });
  try {
    await promisify(execFile)(
      'javac',
      ['-Xlint:all,-path', '-Werror', '-d', staging, '-cp', classPath, ...sources.map((name) => join(JAVA_SOURCE_DIR, name))],
      { maxBuffer: 4 * 1024 * 1024 },
    );
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    const { stderr = '', stdout = '' } = err as { stderr?: string; stdout?: string };
    throw new Error(`javac failed for ${JAVA_SOURCE_DIR}:\n${stdout}${stderr}`, { cause: err });
  }
  try {
    await rename(staging, target);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    // Another process won the race; its result is identical.
    if (!existsSync(join(target, `${MAIN_CLASS}.class`))) throw err;
  }
  return target;
}

export class FakeJobManager {
  /** Every stdout line so far, in order, with its arrival time. */
  readonly events: FakeJobManagerEvent[] = [];

  private readonly child: ChildProcess;
  private readonly waiters = new Set<() => void>();
  private restPortValue = 0;
  private stderrTail = '';
  private exitDescription: string | undefined;
  private commandQueue: Promise<unknown> = Promise.resolve();
  private lastSignal: NodeJS.Signals | undefined;
  /** Settles after the JVM exited and its stdout was read to the end (so no event is lost). */
  private readonly closed: Promise<void>;

  private constructor(child: ChildProcess) {
    this.child = child;
    if (child.stdout === null || child.stderr === null) throw new Error('FakeJobManager needs piped stdio');
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => this.onLine(line));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_KEEP_CHARS);
    });
    // Writing to a dead JVM fails with EPIPE; 'close' reports the death, so the write error is noise.
    child.stdin?.on('error', () => undefined);
    this.closed = new Promise((done) => {
      // A failed spawn emits 'error' and may never emit 'close'.
      child.once('error', (err) => {
        this.onExit(`could not run java: ${err.message}`);
        done();
      });
      child.once('close', (code, signal) => {
        this.onExit(signal !== null ? `signal ${signal}` : `code ${code}`);
        done();
      });
    });
  }

  /**
   * Starts a JobManager; resolves once its REST API listens and its first ZooKeeper session exists.
   * Its latch node and any leadership follow asynchronously: await `waitFor(/^leader rest_server /)`.
   */
  static async start(opts: FakeJobManagerOptions): Promise<FakeJobManager> {
    const classesDir = await compileFakeJobManager();
    const child = spawnJvm(
      [
        '-Xmx128m',
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
        '-cp',
        `${classesDir}:${javaClassPath(RUNTIME_JARS)}`,
        MAIN_CLASS,
        ...cliArgs(opts),
      ],
      undefined,
    );
    const jobManager = new FakeJobManager(child);
    const timeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    try {
      await jobManager.waitFor(/^rest-port \d+$/, timeoutMs);
      await jobManager.waitFor(/^session [0-9a-f]{16}$/, timeoutMs);
      return jobManager;
    } catch (err) {
      child.kill('SIGKILL');
      await jobManager.closed;
      throw new Error(`FakeJobManager (${opts.layout}, ${opts.zookeeper}) did not start: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Port of the REST API on 127.0.0.1. */
  get restPort(): number {
    return this.restPortValue;
  }

  /** `http://127.0.0.1:<restPort>`: where to reach the REST API (not necessarily what it publishes). */
  get restUrl(): string {
    return `http://127.0.0.1:${this.restPortValue}`;
  }

  /** Process id of the JVM. */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The current ZooKeeper session id as 16 hex digits (the ephemeralOwner of its nodes). */
  get sessionId(): string {
    const line = this.lastLine(/^session /);
    return line === undefined ? '' : line.slice('session '.length);
  }

  get hasExited(): boolean {
    return this.exitDescription !== undefined;
  }

  /** The last part of the JVM's stderr (slf4j warnings and errors, stack traces). */
  get stderr(): string {
    return this.stderrTail;
  }

  /**
   * Resolves to the first line at index `since` or later (already received or still to come) that
   * matches. Rejects after timeoutMs, or when the process exits first, quoting its stderr.
   */
  waitFor(pattern: RegExp, timeoutMs = DEFAULT_WAIT_MS, since = 0): Promise<string> {
    return waitForItem({
      items: this.events,
      since,
      matches: (e) => pattern.test(e.line),
      hasExited: () => this.hasExited,
      waiters: this.waiters,
      timeoutMs,
      exitedError: () => new Error(`no line matching ${pattern} before ${this.describeExit()}`),
      timeoutError: () => new Error(`no line matching ${pattern} within ${timeoutMs} ms; ${this.describeOutput()}`),
    }).then((e) => e.line);
  }

  /** Whether the last leadership event for component says it leads (and has published its information). */
  isLeader(component: FlinkComponent = 'rest_server'): boolean {
    if (this.hasExited) return false;
    return this.lastLine(new RegExp(`^(leader|not-leader) ${component}( |$)`))?.startsWith('leader ') ?? false;
  }

  /** Sends one command and resolves on its `ok`, rejecting on `error`. Commands run one at a time. */
  send(command: string): Promise<void> {
    const normalized = command.trim();
    const run = async (): Promise<void> => {
      if (this.hasExited) throw new Error(`cannot send "${normalized}": ${this.describeExit()}`);
      const since = this.events.length;
      this.child.stdin?.write(`${normalized}\n`);
      const reply = await this.waitFor(/^(ok|error) /, DEFAULT_WAIT_MS, since);
      if (reply !== `ok ${normalized}`) throw new Error(`FakeJobManager rejected "${normalized}": ${reply}`);
    };
    const result = this.commandQueue.then(run, run);
    this.commandQueue = result.catch(() => undefined);
    return result;
  }

  /** Sends a signal to the JVM: SIGKILL to crash it, SIGSTOP/SIGCONT to freeze and thaw it. */
  kill(signal: NodeJS.Signals): void {
    this.lastSignal = signal;
    this.child.kill(signal);
  }

  /** Asks it to exit cleanly (closing its session), SIGKILL after 5 s; resolves once it has exited. */
  async stop(): Promise<void> {
    if (this.hasExited) return;
    if (this.lastSignal === 'SIGSTOP') {
      // A frozen JVM cannot read "exit".
      this.child.kill('SIGKILL');
      await this.closed;
      return;
    }
    this.child.stdin?.write('exit\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    try {
      await this.closed;
    } finally {
      clearTimeout(timer);
    }
  }

  private onLine(line: string): void {
    if (this.restPortValue === 0 && line.startsWith('rest-port ')) {
      this.restPortValue = Number(line.slice('rest-port '.length));
    }
    this.events.push({ line, atMs: performance.now() });
    this.notify();
  }

  private onExit(description: string): void {
    if (this.exitDescription !== undefined) return;
    this.exitDescription = description;
    this.notify();
  }

  private describeExit(): string {
    return `the JVM exited (${this.exitDescription ?? 'still running'}); ${this.describeOutput()}`;
  }

  /** The recent output a failure message needs: what the JVM last said and last complained about. */
  private describeOutput(): string {
    const stdout = this.events
      .slice(-10)
      .map((event) => `  ${event.line}`)
      .join('\n');
    const stderr = this.stderrTail
      .trim()
      .split('\n')
      .slice(-STDERR_TAIL_LINES)
      .map((line) => `  ${line}`)
      .join('\n');
    return `last stdout lines:\n${stdout || '  (none)'}\nlast stderr lines:\n${stderr || '  (none)'}`;
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private lastLine(pattern: RegExp): string | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const line = this.events[i]?.line;
      if (line !== undefined && pattern.test(line)) return line;
    }
    return undefined;
  }
}

function cliArgs(opts: FakeJobManagerOptions): string[] {
  const args = ['--zookeeper', opts.zookeeper, '--layout', opts.layout];
  const optional: Array<[string, string | number | undefined]> = [
    ['--root', opts.root],
    ['--cluster-id', opts.clusterId],
    ['--rest-port', opts.restPort],
    ['--rest-address', opts.restAddress],
    ['--session-timeout-ms', opts.sessionTimeoutMs],
    ['--latch-path', opts.latchPath],
    ['--leader-path', opts.leaderPath],
  ];
  for (const [flag, value] of optional) {
    if (value !== undefined) args.push(flag, String(value));
  }
  if (opts.revokeWritesEmpty === true) args.push('--revoke-writes-empty');
  return args;
}

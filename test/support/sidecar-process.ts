/**
 * The sidecar as Kubernetes runs it, for reliability tests and benchmarks: `node dist/main.js` in
 * its own process, configured by environment variables, on a port of 127.0.0.1 that it picks
 * itself (SIDECAR_PORT=0) and names in its log, its JSON log read line by line. Needs `npm run
 * build` first.
 *
 * Times: the sidecar stamps each transition with `atMs`, `performance.timeOrigin +
 * performance.now()` in its process; `monotonicNow()` here is the same expression in this one.
 * Both are anchored to the wall clock once, at process start, so they agree across processes to
 * within a millisecond or so and never jump afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { trackChild } from './zookeeper-server.js';
import { waitForItem } from './wait-for-item.js';

const PROJECT_ROOT = resolve(__dirname, '..', '..');
export const SIDECAR_MAIN = join(PROJECT_ROOT, 'dist', 'main.js');
const STOP_TIMEOUT_MS = 10_000;
const STDERR_KEEP_CHARS = 16_384;

let confDir: string | undefined;
function emptyConfDir(): string {
  if (confDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'flink-ha-sidecar-noconf-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    confDir = dir;
  }
  return confDir;
}

/** Milliseconds on the scale of the sidecars' `atMs` (see the file comment). */
export const monotonicNow = (): number => performance.timeOrigin + performance.now();

export interface SidecarProcessOptions {
  /**
   * The JobManager's own configuration directory (FLINK_CONF_DIR), as in a pod: then the quorum,
   * cluster-id, root and REST URL come from Flink's file, and `zookeeper`, `clusterId`, `restUrl`,
   * `root` and `layout` are left out unless given.
   */
  confDir?: string;
  zookeeper?: string;
  clusterId?: string;
  restUrl?: string;
  layout?: string;
  root?: string;
  /** POD_IP; default 127.0.0.1, which is what the test JobManagers publish. */
  advertised?: string;
  sessionTimeoutMs?: number;
  checkIntervalMs?: number;
  checkTimeoutMs?: number;
  logLevel?: string;
  /** More environment variables, overriding the ones above. */
  env?: Record<string, string>;
  /** Run under `taskset -c <cpus>` (benchmarks pin the server to one core). */
  cpus?: string;
  /** Extra arguments for node before the script (e.g. --expose-gc). */
  nodeArgs?: string[];
  /** The Node.js binary; this process's by default (benches compare another line's). */
  node?: string;
}

/** One JSON log line of the sidecar. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/** A transition as logged: `from`/`to` roles, readiness, reason, and its monotonic time. */
export interface LoggedTransition {
  atMs: number;
  from: string;
  to: string;
  ready: boolean;
  wasReady: boolean;
  reason: string;
  roleReason: string;
  leader: string | null;
}

export class SidecarProcess {
  readonly lines: LogLine[] = [];
  /** When each line of `lines` arrived here, on the monotonic scale. */
  readonly lineArrivedAtMs: number[] = [];
  readonly transitions: LoggedTransition[] = [];
  /** When this process asked for the spawn, on the monotonic scale. */
  readonly spawnedAtMs: number;
  /** When the child was seen to exit, on the monotonic scale; null while it runs. */
  exitedAtMs: number | null = null;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;

  private readonly waiters = new Set<() => void>();
  private stderrTail = '';
  private stopped = false;
  private readonly exited: Promise<void>;
  /** The probe server's port, once its log said where it listens. */
  private boundPort: number | null = null;

  private constructor(
    private readonly child: ChildProcess,
    readonly env: Readonly<Record<string, string>>,
    spawnedAtMs: number,
  ) {
    this.spawnedAtMs = spawnedAtMs;
    createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) => this.onLine(line));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_KEEP_CHARS);
    });
    this.exited = new Promise((done) => {
      child.once('exit', (code, signal) => {
        this.exitedAtMs = monotonicNow();
        this.exitCode = code;
        this.exitSignal = signal;
        this.notify();
        done();
      });
    });
  }

  /** Spawns a sidecar; resolves once its probe server listens (its first log line about it). */
  static async start(o: SidecarProcessOptions): Promise<SidecarProcess> {
    if (!existsSync(SIDECAR_MAIN)) throw new Error(`${SIDECAR_MAIN} is missing: run npm run build first`);
    const given = (name: string, value: string | undefined): Record<string, string> => (value === undefined ? {} : { [name]: value });
    const fromFlinkFile = o.confDir !== undefined;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      ...given('ZOOKEEPER_QUORUM', o.zookeeper),
      ...given('FLINK_CLUSTER_ID', o.clusterId),
      ...given('FLINK_REST_URL', o.restUrl),
      ...given('FLINK_HA_LAYOUT', o.layout ?? (fromFlinkFile ? undefined : 'auto')),
      ...given('ZOOKEEPER_ROOT', o.root ?? (fromFlinkFile ? undefined : '/flink')),
      POD_IP: o.advertised ?? '127.0.0.1',
      SIDECAR_HOST: '127.0.0.1',
      // Any free port, taken by the sidecar itself: no other process can take it in between.
      SIDECAR_PORT: '0',
      // The default debug port (8091) would clash between sidecars on one machine.
      SIDECAR_DEBUG_PORT: '0',
      ZOOKEEPER_SESSION_TIMEOUT_MS: String(o.sessionTimeoutMs ?? 4000),
      JOBMANAGER_CHECK_INTERVAL_MS: String(o.checkIntervalMs ?? 1000),
      JOBMANAGER_CHECK_TIMEOUT_MS: String(o.checkTimeoutMs ?? 500),
      SHUTDOWN_TIMEOUT_MS: '2000',
      // No kubelet stands between these sidecars and the tests that sample them, so the wait that
      // covers its probe period would only add to every failover time measured; the kube tests,
      // which run the kubelet's probes, keep the manifest's setting.
      LEADER_HANDOVER_DELAY_MS: '0',
      LOG_LEVEL: o.logLevel ?? 'info',
      // Without the JobManager's own directory, an empty one: every setting comes from the variables above.
      FLINK_CONF_DIR: o.confDir ?? emptyConfDir(),
      ...o.env,
    };
    const args = [...(o.nodeArgs ?? []), SIDECAR_MAIN];
    const node = o.node ?? process.execPath;
    const [command, commandArgs] = o.cpus !== undefined ? ['taskset', ['-c', o.cpus, node, ...args]] : [node, args];
    const spawnedAtMs = monotonicNow();
    const child = spawn(command, commandArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    const sidecar = new SidecarProcess(child, env, spawnedAtMs);
    try {
      const listening = await sidecar.waitForLine('the probe server listening', (l) => l.msg === 'probe server listening', 20_000);
      if (typeof listening.port !== 'number' || listening.port <= 0) throw new Error(`no port in ${JSON.stringify(listening)}`);
      sidecar.boundPort = listening.port;
    } catch (err) {
      child.kill('SIGKILL');
      await sidecar.exited;
      throw err;
    }
    return sidecar;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The probe server's port, as its log named it. */
  get port(): number {
    if (this.boundPort === null) throw new Error(`sidecar pid ${this.pid} does not listen yet`);
    return this.boundPort;
  }

  /** How failure messages name this sidecar: its port, or its pid before it listens. */
  private get name(): string {
    return this.boundPort === null ? `sidecar pid ${this.pid}` : `sidecar :${this.boundPort}`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get hasExited(): boolean {
    return this.exitedAtMs !== null;
  }

  get stderr(): string {
    return this.stderrTail;
  }

  /** Whether the last logged transition left the sidecar ready. */
  get isReady(): boolean {
    return this.transitions.at(-1)?.ready ?? false;
  }

  /** Resolves with the first line at index `since` or later that matches; rejects after timeoutMs or on exit. */
  waitForLine(what: string, predicate: (l: LogLine) => boolean, timeoutMs = 15_000, since = 0): Promise<LogLine> {
    return waitForItem({
      items: this.lines,
      since,
      matches: predicate,
      hasExited: () => this.hasExited,
      waiters: this.waiters,
      timeoutMs,
      exitedError: () => new Error(`${this.name} exited (${this.exitCode ?? this.exitSignal}) before ${what}; ${this.describe()}`),
      timeoutError: () => new Error(`${this.name}: no ${what} within ${timeoutMs} ms; ${this.describe()}`),
    });
  }

  /** Resolves with the first transition after index `since` that matches (already logged or to come). */
  async waitForTransition(
    what: string,
    predicate: (t: LoggedTransition) => boolean,
    timeoutMs = 15_000,
    sinceLine = 0,
  ): Promise<LoggedTransition> {
    const line = await this.waitForLine(what, (l) => isTransitionLine(l) && predicate(toTransition(l)), timeoutMs, sinceLine);
    return toTransition(line);
  }

  /** Resolves once the last transition matches (already, or by a later one). */
  waitForCurrent(what: string, predicate: (t: LoggedTransition) => boolean, timeoutMs = 15_000): Promise<LoggedTransition> {
    const last = this.transitions.at(-1);
    if (last !== undefined && predicate(last)) return Promise.resolve(last);
    return this.waitForTransition(what, predicate, timeoutMs, this.lines.length);
  }

  /** Resolves once the sidecar is ready (now, or by a later transition). */
  waitUntilReady(timeoutMs = 15_000): Promise<LoggedTransition | null> {
    if (this.isReady) return Promise.resolve(this.transitions.at(-1) ?? null);
    return this.waitForTransition('ready', (t) => t.ready, timeoutMs, this.lines.length);
  }

  /** Resolves once a transition to not ready was logged (now, or later). */
  waitUntilNotReady(timeoutMs = 15_000): Promise<LoggedTransition | null> {
    if (!this.isReady) return Promise.resolve(this.transitions.at(-1) ?? null);
    return this.waitForTransition('not ready', (t) => !t.ready, timeoutMs, this.lines.length);
  }

  /**
   * GET /readyz?verbose until its text matches; the text. For what the transition log does not
   * name (the detail of a failing check). Bounded; asks again every 100 ms.
   */
  async waitForVerbose(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = monotonicNow() + timeoutMs;
    let text = '';
    while (monotonicNow() < deadline && !this.hasExited) {
      text = await (await fetch(`${this.url}/readyz?verbose`)).text();
      if (pattern.test(text)) return text;
      // A check's outcome shows up only at the sidecar's next check of its JobManager.
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${this.name}: /readyz?verbose never matched ${pattern} within ${timeoutMs} ms; last:\n${text}`);
  }

  /** SIGKILL, SIGSTOP, SIGCONT, ... */
  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGTERM (after a SIGCONT, in case it is frozen) and waits for the exit; SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (this.hasExited) return;
    this.stopped = true;
    this.child.kill('SIGCONT');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** True when the process exited on its own, i.e. not through stop() or a signal from the test. */
  get crashed(): boolean {
    return this.hasExited && !this.stopped && this.exitSignal === null;
  }

  /** The last log lines and stderr, for failure messages. */
  describe(lines = 12): string {
    return describeOutput(this.lines, this.stderrTail, lines);
  }

  private onLine(raw: string): void {
    let line: LogLine;
    try {
      line = JSON.parse(raw) as LogLine;
    } catch {
      line = { msg: raw, level: 'unparsed' };
    }
    this.lines.push(line);
    this.lineArrivedAtMs.push(monotonicNow());
    if (isTransitionLine(line)) this.transitions.push(toTransition(line));
    this.notify();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

function isTransitionLine(l: LogLine): boolean {
  return typeof l.atMs === 'number' && typeof l.ready === 'boolean' && typeof l.to === 'string';
}

function toTransition(l: LogLine): LoggedTransition {
  return {
    atMs: l.atMs as number,
    from: l.from as string,
    to: l.to as string,
    ready: l.ready as boolean,
    wasReady: l.wasReady as boolean,
    reason: l.reason as string,
    roleReason: l.roleReason as string,
    leader: (l.leader as string | null) ?? null,
  };
}

/** A process's last JSON log lines and the end of its stderr, for failure messages. */
export function describeOutput(logLines: readonly unknown[], stderr: string, lines = 12): string {
  const out = logLines
    .slice(-lines)
    .map((l) => `  ${JSON.stringify(l)}`)
    .join('\n');
  const err = stderr
    .trim()
    .split('\n')
    .slice(-10)
    .map((l) => `  ${l}`)
    .join('\n');
  return `last log lines:\n${out || '  (none)'}\nstderr:\n${err || '  (none)'}`;
}

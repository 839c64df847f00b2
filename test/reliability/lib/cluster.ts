/**
 * One Flink cluster for a reliability scenario: Flink-like JobManagers (Curator LeaderLatch, real
 * ZooKeeper) and one real sidecar process beside each, with /readyz sampled throughout. At the
 * end `verifySafety` checks, from the transition logs and from the samples, that no two sidecars
 * were ready at once beyond the bound and that none crashed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import { FakeJobManager, type Layout } from '../../support/fake-jobmanager.js';
import { monotonicNow, SidecarProcess, type SidecarProcessOptions } from '../../support/sidecar-process.js';
import { BOUNDS } from './bounds.js';
import { longestOverlap, ReadinessSampler, readyIntervalsFromLog, type Interval } from './readiness.js';
import { within } from './report.js';

export interface ClusterOptions {
  zookeeper: string;
  /** How many JobManagers (each with its sidecar); the first one started leads. Default 2. */
  jobManagers?: number;
  layout?: Layout;
  tag: string;
  /** Connect string of sidecar i, when it must differ (a proxy in between); default `zookeeper`. */
  sidecarZookeeper?: (index: number) => string;
  /** Connect string of JobManager i; default `zookeeper`. */
  jobManagerZookeeper?: (index: number) => string;
  sidecar?: Partial<SidecarProcessOptions>;
  jmSessionTimeoutMs?: number;
  /** Sample /readyz this often (ms). Default 5. */
  samplePeriodMs?: number;
}

export class Cluster {
  readonly jms: FakeJobManager[] = [];
  readonly sidecars: SidecarProcess[] = [];
  sampler!: ReadinessSampler;
  /** Spans in which a sidecar process was frozen, by index: cut out of its logged readiness. */
  readonly frozen = new Map<number, Interval[]>();
  /** Moments a scenario names, shown with the transitions when RELIABILITY_VERBOSE=1. */
  readonly marks: { atMs: number; what: string }[] = [];

  private constructor(
    readonly clusterId: string,
    readonly layout: Layout,
  ) {}

  /**
   * Starts the JobManagers one after the other (the first leads), a sidecar beside each, waits
   * until the leader's sidecar is ready and every other one is a standby, then starts sampling.
   */
  static async start(o: ClusterOptions): Promise<Cluster> {
    const layout = o.layout ?? '1.15';
    const c = new Cluster(`/rel-${o.tag}-${randomUUID().slice(0, 8)}`, layout);
    const n = o.jobManagers ?? 2;
    try {
      for (let i = 0; i < n; i++) {
        const jm = await FakeJobManager.start({
          zookeeper: o.jobManagerZookeeper?.(i) ?? o.zookeeper,
          layout,
          clusterId: c.clusterId,
          sessionTimeoutMs: o.jmSessionTimeoutMs ?? BOUNDS.settings.jmSessionTimeoutMs,
        });
        c.jms.push(jm);
        if (i === 0) await jm.waitFor(/^leader rest_server /);
      }
      for (let i = 0; i < n; i++) {
        c.sidecars.push(
          await SidecarProcess.start({
            zookeeper: o.sidecarZookeeper?.(i) ?? o.zookeeper,
            clusterId: c.clusterId,
            restUrl: c.jms[i]!.restUrl,
            layout,
            sessionTimeoutMs: BOUNDS.settings.sidecarSessionTimeoutMs,
            checkIntervalMs: BOUNDS.settings.checkIntervalMs,
            checkTimeoutMs: BOUNDS.settings.checkTimeoutMs,
            ...o.sidecar,
          }),
        );
      }
      await c.sidecars[0]!.waitUntilReady(20_000);
      for (const s of c.sidecars.slice(1)) await s.waitForTransition('standby', (t) => t.to === 'standby', 20_000);
      c.sampler = new ReadinessSampler(
        c.sidecars.map((s, i) => ({ name: c.name(i), url: s.url })),
        o.samplePeriodMs ?? 5,
        BOUNDS.probeTimeoutMs,
      );
      c.sampler.start();
      return c;
    } catch (err) {
      await c.stop();
      throw err;
    }
  }

  /** Each JobManager's event count: pass to `nextLeader` to look only at what follows. */
  eventMarks(): number[] {
    return this.jms.map((jm) => jm.events.length);
  }

  /** Resolves with the index of the first JobManager to be granted leadership after `marks`. */
  nextLeader(marks: readonly number[], timeoutMs: number): Promise<number> {
    return Promise.any(this.jms.map((jm, i) => jm.waitFor(/^leader rest_server /, timeoutMs, marks[i]).then(() => i)));
  }

  /** Notes a moment of the scenario (a fault, a recovery) and returns its time. */
  mark(what: string): number {
    const atMs = monotonicNow();
    this.marks.push({ atMs, what });
    return atMs;
  }

  name(i: number): string {
    return `sidecar-${i}`;
  }

  /** Index of the JobManager whose last event says it leads; -1 when none does. */
  leaderIndex(): number {
    return this.jms.findIndex((jm) => jm.isLeader());
  }

  /** Freezes sidecar i (SIGSTOP) and returns a function that thaws it (SIGCONT), recording the span. */
  freezeSidecar(i: number): () => void {
    const start = monotonicNow();
    this.sidecars[i]!.kill('SIGSTOP');
    return () => {
      this.sidecars[i]!.kill('SIGCONT');
      const spans = this.frozen.get(i) ?? [];
      spans.push({ start, end: monotonicNow() });
      this.frozen.set(i, spans);
    };
  }

  /**
   * Waits until JobManager `index` has logged `leader rest_server` at or after event `since` and
   * its sidecar is ready, and checks the time from the JM's write to readiness (in the log and
   * as sampled) against `boundMs`. Returns the JM's write time and the sidecar's ready time, on the
   * monotonic scale.
   */
  async expectReadyLeader(
    t: TestContext,
    scenario: string,
    index: number,
    sinceEvent: number,
    boundMs: number,
    waitMs = 30_000,
  ): Promise<{ writtenMs: number; readyMs: number }> {
    const jm = this.jms[index]!;
    await jm.waitFor(/^leader rest_server /, waitMs, sinceEvent);
    const event = jm.events.slice(sinceEvent).find((e) => /^leader rest_server /.test(e.line))!;
    const writtenMs = performance.timeOrigin + event.atMs;
    const readyMs = await this.expectReadySince(t, scenario, index, writtenMs, boundMs, 'new leader written');
    return { writtenMs, readyMs };
  }

  /**
   * Waits until sidecar `index` is ready after `refMs` and checks how long it took, in its log
   * and as sampled, against `boundMs`. Returns when it became ready (its log's time).
   */
  async expectReadySince(t: TestContext, scenario: string, index: number, refMs: number, boundMs: number, what: string): Promise<number> {
    const s = this.sidecars[index]!;
    const readyAt = await this.readyAtOrAfter(index, refMs, boundMs + 10_000);
    within(t, scenario, `${what} -> ${this.name(index)} ready (log)`, Math.max(0, readyAt - refMs), boundMs, s.describe());
    // The first 200 from the readiness the log shows (a sidecar may still answer 200 for a moment
    // after the fault, before it notices: that is not the recovery).
    const sampledAt = await this.sampler.firstReadyAfter(this.name(index), readyAt, boundMs + 10_000);
    within(
      t,
      scenario,
      `${what} -> ${this.name(index)} /readyz 200 (sampled)`,
      Math.max(0, sampledAt - refMs),
      boundMs + BOUNDS.samplingSlackMs,
    );
    return readyAt;
  }

  /** The moment (log time) sidecar i became or already was ready at or after refMs. */
  private async readyAtOrAfter(i: number, refMs: number, timeoutMs: number): Promise<number> {
    const s = this.sidecars[i]!;
    const deadline = monotonicNow() + timeoutMs;
    for (;;) {
      const last = [...s.transitions].reverse().find((tr) => tr.atMs <= refMs);
      if (last?.ready === true && !s.transitions.some((tr) => tr.atMs > refMs && !tr.ready)) return refMs;
      const next = s.transitions.find((tr) => tr.atMs > refMs && tr.ready);
      if (next) return next.atMs;
      const remaining = deadline - monotonicNow();
      if (remaining <= 0) throw new Error(`${this.name(i)} not ready within ${timeoutMs} ms after the reference; ${s.describe()}`);
      await s.waitForTransition('ready', (tr) => tr.ready, remaining, s.lines.length).catch(() => undefined);
    }
  }

  /**
   * Stops sampling and checks the safety property over the whole scenario: the longest time two
   * sidecars were ready at once, from the logs (frozen spans cut out) and from the samples, is
   * within the bounds; no sidecar process crashed.
   */
  async verifySafety(t: TestContext, scenario: string, overlapLogMs: number = BOUNDS.overlapLogMs): Promise<void> {
    await this.sampler.stop();
    const endMs = monotonicNow();
    const fromLog = new Map(this.sidecars.map((s, i) => [this.name(i), readyIntervalsFromLog(s, endMs, this.frozen.get(i))] as const));
    const fromSamples = new Map(this.sidecars.map((_, i) => [this.name(i), this.sampler.readyIntervals(this.name(i))] as const));
    const logOverlap = longestOverlap(fromLog);
    const sampledOverlap = longestOverlap(fromSamples);
    const describe = (o: typeof logOverlap) =>
      o === null
        ? ''
        : `${o.a} and ${o.b} both ready for ${o.ms.toFixed(1)} ms from ${new Date(o.start).toISOString()}\n` +
          this.sidecars.map((s, i) => `${this.name(i)}:\n${s.describe(20)}`).join('\n');
    within(t, scenario, 'two ready at once (transition logs)', logOverlap?.ms ?? 0, overlapLogMs, describe(logOverlap));
    within(t, scenario, 'two ready at once (sampled /readyz)', sampledOverlap?.ms ?? 0, BOUNDS.overlapSampledMs, describe(sampledOverlap));
    if (process.env['RELIABILITY_VERBOSE'] === '1') {
      const t0 = Math.min(...this.sidecars.map((s) => s.spawnedAtMs));
      for (const [i, s] of this.sidecars.entries()) {
        for (const tr of s.transitions) {
          t.diagnostic(
            `${scenario}: +${(tr.atMs - t0).toFixed(1)} ms ${this.name(i)} ${tr.from} -> ${tr.to} ready=${tr.ready} ${tr.reason}`,
          );
        }
      }
      for (const mark of this.marks) t.diagnostic(`${scenario}: +${(mark.atMs - t0).toFixed(1)} ms mark: ${mark.what}`);
    }
    const samples = [...this.sampler.samples.values()].reduce((n, xs) => n + xs.length, 0);
    t.diagnostic(`${scenario}: ${samples} /readyz samples`);
    for (const [i, s] of this.sidecars.entries()) {
      assert.ok(!s.crashed, `${this.name(i)} exited by itself (${s.exitCode}); ${s.describe()}`);
      assert.ok(!s.lines.some((l) => l.level === 'fatal'), `${this.name(i)} logged a fatal error; ${s.describe()}`);
    }
  }

  async stop(): Promise<void> {
    await this.sampler?.stop().catch(() => undefined);
    await Promise.all(this.sidecars.map((s) => s.stop().catch(() => undefined)));
    await Promise.all(this.jms.map((jm) => jm.stop().catch(() => undefined)));
  }
}

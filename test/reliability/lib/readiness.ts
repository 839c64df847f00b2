/**
 * The safety property, measured two ways while a scenario runs:
 *
 * - from each sidecar's own transition log (`atMs` of every change of readiness, on the shared
 *   monotonic scale): the intervals in which it said "ready";
 * - by sampling /readyz of every sidecar every few milliseconds from this process, as a kubelet
 *   would: a sample that gets no answer within its timeout counts as not ready (a kubelet's probe
 *   fails the same way), so a frozen sidecar is not ready however its last log line reads.
 *
 * From both come the longest time two sidecars were ready at once, and how long after a
 * reference moment (a new leader's write) the expected sidecar became ready.
 */
import http from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { monotonicNow, type SidecarProcess } from '../../support/sidecar-process.js';

export interface Interval {
  start: number;
  end: number;
}

export interface Sample {
  /** Sent and answered (or given up), on the monotonic scale. */
  t0: number;
  t1: number;
  status: number | 'timeout' | 'error';
}

/** Never more than this many samples per target: bounds memory and work in any scenario. */
const MAX_SAMPLES = 200_000;
/** A sampler stops by itself after this long, whatever the scenario does. */
const MAX_SAMPLING_MS = 10 * 60_000;

/** Samples GET /readyz of each target on its own loop, one request at a time per target. */
export class ReadinessSampler {
  readonly samples = new Map<string, Sample[]>();
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly agents: http.Agent[] = [];

  constructor(
    private readonly targets: readonly { name: string; url: string }[],
    private readonly periodMs = 5,
    private readonly timeoutMs = 1000,
  ) {
    for (const t of targets) this.samples.set(t.name, []);
  }

  start(): void {
    this.running = true;
    const until = monotonicNow() + MAX_SAMPLING_MS;
    this.loops = this.targets.map((t) => this.loop(t.name, `${t.url}/readyz`, until));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    for (const a of this.agents) a.destroy();
  }

  /**
   * Ready intervals of one target. A sample observes the sidecar's state when it answers (on
   * loopback the answer arrives well under a millisecond after the server decided), so each run
   * of 200 answers spans from its first answer to its last, widened on each side towards the
   * neighbouring sample by at most one sampling period, the resolution of this view. (Using the
   * send time instead would make a request that waited through a freeze look ready all along.)
   */
  readyIntervals(name: string): Interval[] {
    const xs = this.samples.get(name) ?? [];
    const edge = this.periodMs + 1;
    const out: Interval[] = [];
    let first = -1;
    for (let i = 0; i <= xs.length; i++) {
      const ready = i < xs.length && xs[i]!.status === 200;
      if (ready && first < 0) first = i;
      if (!ready && first >= 0) {
        const a = xs[first]!.t1;
        const b = xs[i - 1]!.t1;
        const before = first > 0 ? Math.max(xs[first - 1]!.t1, a - edge) : a;
        const after = i < xs.length ? Math.min(xs[i]!.t1, b + edge) : b;
        out.push({ start: before, end: after });
        first = -1;
      }
    }
    return out;
  }

  /** Answered samples' latencies (ms) of one target, in order. */
  latencies(name: string, fromMs = -Infinity, toMs = Infinity): number[] {
    return (this.samples.get(name) ?? []).filter((s) => s.t0 >= fromMs && s.t0 <= toMs).map((s) => s.t1 - s.t0);
  }

  /** Resolves once a sample of `name` answered 200 at or after `afterMs`; the answer time. */
  async firstReadyAfter(name: string, afterMs: number, timeoutMs = 10_000): Promise<number> {
    const deadline = monotonicNow() + timeoutMs;
    for (;;) {
      const hit = (this.samples.get(name) ?? []).find((s) => s.t1 >= afterMs && s.status === 200);
      if (hit) return hit.t1;
      if (monotonicNow() > deadline) throw new Error(`no 200 from ${name} sampled within ${timeoutMs} ms`);
      // Sampling loop: the samples arrive every few ms.
      await delay(this.periodMs);
    }
  }

  private async loop(name: string, url: string, until: number): Promise<void> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.agents.push(agent);
    const out = this.samples.get(name)!;
    while (this.running && out.length < MAX_SAMPLES && monotonicNow() < until) {
      const t0 = monotonicNow();
      const status = await probe(url, agent, this.timeoutMs);
      const t1 = monotonicNow();
      out.push({ t0, t1, status });
      const wait = this.periodMs - (t1 - t0);
      if (wait > 0) await delay(wait);
    }
  }
}

/** One GET; the status, or why there was none. Never rejects. */
export function probe(url: string, agent: http.Agent | undefined, timeoutMs: number): Promise<number | 'timeout' | 'error'> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: number | 'timeout' | 'error') => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(v);
    };
    const req = http.get(url, agent ? { agent } : {}, (res) => {
      res.resume();
      res.on('end', () => finish(res.statusCode ?? 0));
      res.on('error', () => finish('error'));
    });
    const timer = setTimeout(() => {
      finish('timeout');
      req.destroy();
    }, timeoutMs);
    req.on('error', () => finish('error'));
  });
}

/**
 * Ready intervals from a sidecar's transition log, up to `endMs` (or its exit, which ends any
 * readiness). `blackouts` are spans in which the process was frozen (SIGSTOP): it answered no
 * probe then, so they are cut out whatever its log says.
 */
export function readyIntervalsFromLog(s: SidecarProcess, endMs: number, blackouts: readonly Interval[] = []): Interval[] {
  const end = Math.min(endMs, s.exitedAtMs ?? Infinity);
  const out: Interval[] = [];
  let openAt: number | null = null;
  for (const t of s.transitions) {
    if (t.ready && openAt === null) openAt = t.atMs;
    else if (!t.ready && openAt !== null) {
      out.push({ start: openAt, end: t.atMs });
      openAt = null;
    }
  }
  if (openAt !== null && openAt < end) out.push({ start: openAt, end });
  return blackouts.reduce((acc, b) => acc.flatMap((i) => subtract(i, b)), out);
}

function subtract(i: Interval, b: Interval): Interval[] {
  if (b.end <= i.start || b.start >= i.end) return [i];
  const parts: Interval[] = [];
  if (b.start > i.start) parts.push({ start: i.start, end: b.start });
  if (b.end < i.end) parts.push({ start: b.end, end: i.end });
  return parts;
}

export interface Overlap {
  a: string;
  b: string;
  start: number;
  ms: number;
}

/** The longest span in which two of the named interval sets were ready at once; null when never. */
export function longestOverlap(byName: ReadonlyMap<string, readonly Interval[]>): Overlap | null {
  let worst: Overlap | null = null;
  const names = [...byName.keys()];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      for (const x of byName.get(names[i]!)!) {
        for (const y of byName.get(names[j]!)!) {
          const start = Math.max(x.start, y.start);
          const ms = Math.min(x.end, y.end) - start;
          if (ms > 0 && (worst === null || ms > worst.ms)) worst = { a: names[i]!, b: names[j]!, start, ms };
        }
      }
    }
  }
  return worst;
}

/** Whether any interval covers the moment. */
export function isCovered(intervals: readonly Interval[], atMs: number): boolean {
  return intervals.some((i) => i.start <= atMs && atMs < i.end);
}

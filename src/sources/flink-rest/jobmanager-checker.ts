import http from 'node:http';
import type https from 'node:https';
import type { SidecarEvent } from '../../core/model.js';
import { realTimers, type TimerHandle, type Timers } from '../../timers.js';
import { classifyAnswer, classifyError, type CheckOutcome } from './classify.js';

export interface JobManagerCheckerOptions {
  /** The local JM's REST base URL, e.g. http://127.0.0.1:8081 (a path prefix is kept). */
  restUrl: URL;
  intervalMs: number;
  timeoutMs: number;
  /** Monotonic milliseconds. */
  clock: () => number;
  /** What the checks, their delays and their timeouts are scheduled with; the real timers by default. */
  timers?: Timers;
  onEvent: (event: SidecarEvent) => void;
  /** TLS options for an https REST API (rest-tls.ts). */
  tls?: https.AgentOptions;
}

/** The heartbeat name of the checker's loop. */
export const JOBMANAGER_LOOP = 'jobmanager-checker';

/** Bodies beyond this are not Flink's /config; reading stops there. */
const MAX_BODY_BYTES = 64 * 1024;
/** After a leader change, unhealthy answers are retried this fast at first. */
const BURST_FIRST_DELAY_MS = 25;
/**
 * ... and never slower than this while the burst lasts: a real new leader's REST API answers the
 * election 503 for 0.1 to 0.5 s after its leader information is written, and a doubling delay
 * alone would find it healthy up to twice that late. A GET /config every 100 ms for a few seconds
 * of a failover costs the JobManager next to nothing.
 */
const BURST_MAX_DELAY_MS = 100;

/**
 * Checks the local JobManager's `GET /config` on a timer and reports each outcome as an event.
 * Checks never overlap and every one ends within the timeout, so a hung JM cannot block the
 * sidecar. `checkSoon()` runs a check at once and, while the JM is still not healthy (it may
 * not have seen the new leader yet), repeats it with a short growing delay instead of waiting
 * a full interval.
 */
export class JobManagerChecker {
  private timer: TimerHandle | null = null;
  private inFlight = false;
  private pendingSoon = false;
  private burstUntilMs = 0;
  private burstDelayMs = BURST_FIRST_DELAY_MS;
  private stopped = true;
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  private readonly timers: Timers;

  constructor(private readonly options: JobManagerCheckerOptions) {
    // One kept-alive connection: a check right after a failover costs no TCP handshake.
    if (options.restUrl.protocol === 'https:') {
      // Loaded for an https URL only: with it comes Node's TLS, about half a MiB of memory.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy load, as said above
      const { Agent, request } = require('node:https') as typeof import('node:https');
      this.agent = new Agent({ keepAlive: true, maxSockets: 1, ...options.tls });
      this.request = request;
    } else {
      this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      this.request = http.request;
    }
    this.timers = options.timers ?? realTimers;
  }

  start(): void {
    this.stopped = false;
    this.run();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.agent.destroy();
  }

  /** Checks at once (after the check in flight, if any), then quickly again while not healthy. */
  checkSoon(burstMs = 5000): void {
    if (this.stopped) return;
    this.burstUntilMs = this.options.clock() + burstMs;
    this.burstDelayMs = BURST_FIRST_DELAY_MS;
    if (this.inFlight) {
      this.pendingSoon = true;
      return;
    }
    this.run();
  }

  private run(): void {
    if (this.timer) this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.inFlight = true;
    const { clock, onEvent, intervalMs, timeoutMs } = this.options;
    const startedMs = clock();
    onEvent({ type: 'loopTicked', atMs: startedMs, loop: JOBMANAGER_LOOP, maxSilenceMs: 3 * intervalMs + timeoutMs + 5000 });
    void this.checkOnce().then((outcome) => {
      this.inFlight = false;
      if (this.stopped) return;
      const atMs = clock();
      const durationMs = atMs - startedMs;
      onEvent(
        outcome.healthy
          ? { type: 'restCheckSucceeded', atMs, durationMs, httpStatus: outcome.httpStatus, flinkVersion: outcome.flinkVersion }
          : { type: 'restCheckFailed', atMs, durationMs, reason: outcome.reason, detail: outcome.detail, httpStatus: outcome.httpStatus },
      );
      // A listener may have stopped the checker while handling the event.
      if (!this.stopped) this.scheduleNext(outcome.healthy, atMs);
    });
  }

  private scheduleNext(healthy: boolean, nowMs: number): void {
    let delayMs = this.options.intervalMs;
    if (this.pendingSoon) {
      this.pendingSoon = false;
      delayMs = 0;
    } else if (!healthy && nowMs < this.burstUntilMs) {
      delayMs = Math.min(this.burstDelayMs, BURST_MAX_DELAY_MS, this.options.intervalMs);
      this.burstDelayMs *= 2;
    }
    this.timer = this.timers.setTimeout(() => this.run(), delayMs);
  }

  /** One `GET /config`, never following redirects, bounded in time and in bytes read. */
  private checkOnce(): Promise<CheckOutcome> {
    const { restUrl, timeoutMs } = this.options;
    const url = new URL(`${restUrl.pathname.replace(/\/+$/, '')}/config`, restUrl);
    return new Promise((resolve) => {
      let settled = false;
      let timedOut = false;
      const finish = (outcome: CheckOutcome) => {
        if (settled) return;
        settled = true;
        this.timers.clearTimeout(deadline);
        resolve(outcome);
      };
      const req = this.request(url, { method: 'GET', agent: this.agent, headers: { accept: 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            finish({
              healthy: false,
              reason: 'invalid-response',
              detail: `HTTP ${res.statusCode ?? 0} with a body over ${MAX_BODY_BYTES} bytes: not Flink's /config`,
              httpStatus: res.statusCode ?? null,
            });
            req.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          finish(classifyAnswer(res.statusCode ?? 0, res.headers['content-type'], Buffer.concat(chunks).toString('utf8')));
        });
        res.on('error', (err) => finish(classifyError(err, timeoutMs, timedOut)));
      });
      const deadline = this.timers.setTimeout(() => {
        timedOut = true;
        req.destroy(new Error('timeout'));
        finish(classifyError(undefined, timeoutMs, true));
      }, timeoutMs);
      req.on('error', (err) => finish(classifyError(err, timeoutMs, timedOut)));
      req.end();
    });
  }
}

/**
 * Time that moves only when a test moves it, for the modules that take a clock and timers
 * (src/timers.ts): a test steps through delays, backoffs and timeouts instead of sleeping through
 * them, so it neither waits nor depends on how busy the machine is.
 *
 * One FakeTime is the clock; each module gets its own FakeTimers on it, so that a test can tell
 * which module set a timer (say, a source's backoff beside the wake-up timer) and wait for a
 * module to set its next one after real I/O.
 */
import type { TimerHandle, Timers } from '../../src/timers.js';

interface Pending {
  readonly dueAtMs: number;
  /** Timers due at the same moment run in the order they were set. */
  readonly seq: number;
  readonly fn: () => void;
  readonly owner: FakeTimers;
}

export class FakeTime {
  private nowMs: number;
  private seq = 0;
  private readonly pending = new Set<Pending>();

  constructor(startMs = 1_000_000) {
    this.nowMs = startMs;
  }

  /** The clock, for a module's `clock` option. */
  readonly now = (): number => this.nowMs;

  /** Timers for one module on this clock. */
  timers(): FakeTimers {
    return new FakeTimers(this);
  }

  /**
   * Moves the clock `ms` forward, running every timer that falls due on the way at its own time,
   * in order, including timers those set. Synchronous: whatever a timer starts over real I/O
   * finishes after this returns.
   */
  advance(ms: number): void {
    const untilMs = this.nowMs + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.pending) {
        if (p.dueAtMs <= untilMs && (next === undefined || p.dueAtMs < next.dueAtMs || (p.dueAtMs === next.dueAtMs && p.seq < next.seq)))
          next = p;
      }
      if (next === undefined) break;
      this.pending.delete(next);
      this.nowMs = Math.max(this.nowMs, next.dueAtMs);
      next.fn();
    }
    this.nowMs = untilMs;
  }

  /**
   * As advance(), but after each timer lets promise callbacks run (one turn of the event loop, no
   * waiting), as they would between real timers: for modules that chain timers through promises.
   */
  async advanceSettling(ms: number): Promise<void> {
    const untilMs = this.nowMs + ms;
    for (;;) {
      const dueAtMs = Math.min(...[...this.pending].map((p) => p.dueAtMs));
      if (!(dueAtMs <= untilMs)) break;
      this.advance(dueAtMs - this.nowMs);
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.nowMs = untilMs;
  }

  /** @internal for FakeTimers */
  add(fn: () => void, ms: number, owner: FakeTimers): Pending {
    const p: Pending = { dueAtMs: this.nowMs + Math.max(0, ms), seq: this.seq++, fn, owner };
    this.pending.add(p);
    return p;
  }

  /** @internal for FakeTimers */
  remove(p: Pending): void {
    this.pending.delete(p);
  }

  /** @internal for FakeTimers */
  pendingOf(owner: FakeTimers): Pending[] {
    return [...this.pending].filter((p) => p.owner === owner).sort((a, b) => a.dueAtMs - b.dueAtMs || a.seq - b.seq);
  }
}

export class FakeTimers implements Timers {
  private readonly armedWaiters = new Set<(ms: number) => void>();

  constructor(private readonly time: FakeTime) {}

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const p = this.time.add(fn, ms, this);
    for (const waiter of [...this.armedWaiters]) waiter(ms);
    return p;
  }

  clearTimeout(handle: TimerHandle): void {
    this.time.remove(handle as Pending);
  }

  /** In how many milliseconds each of this module's pending timers falls due, soonest first. */
  pending(): number[] {
    return this.time.pendingOf(this).map((p) => p.dueAtMs - this.time.now());
  }

  /**
   * Resolves with the delay of the next timer this module sets (after the call), e.g. once
   * real I/O it started has ended. Rejects after `guardMs` of real time: the module never set
   * one, and the test fails instead of hanging.
   */
  nextArmed(guardMs = 5000): Promise<number> {
    return new Promise((resolve, reject) => {
      const guard = setTimeout(() => {
        this.armedWaiters.delete(onArmed);
        reject(new Error(`no timer set within ${guardMs} ms (real time)`));
      }, guardMs);
      const onArmed = (ms: number): void => {
        clearTimeout(guard);
        this.armedWaiters.delete(onArmed);
        resolve(ms);
      };
      this.armedWaiters.add(onArmed);
    });
  }
}

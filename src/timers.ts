/**
 * The timers the sources and the wake-up timer schedule their work with. They take them as an
 * option beside their clock, so that unit tests can hand both in fake and move time themselves
 * instead of sleeping; everything else gets the real ones.
 */
export interface Timers {
  /** Runs `fn` once, `ms` milliseconds from now. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer that has not run yet; a no-op for one that has. */
  clearTimeout(handle: TimerHandle): void;
}

/** What `setTimeout` returned; good only for handing back to `clearTimeout` of the same Timers. */
export type TimerHandle = object;

/** Node's own timers. */
export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

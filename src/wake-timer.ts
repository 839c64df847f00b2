import type { Store } from './store.js';
import { realTimers, type TimerHandle, type Timers } from './timers.js';

/**
 * Some verdicts change by time alone (a tolerated loss of ZooKeeper expires, a handover wait ends,
 * failing label updates reach their readiness timeout), when no source may report anything. The
 * verdict names the next such moment (`wakeAtMs`); this keeps one timer that dispatches
 * `clockTicked` then. Returns a function that stops it.
 */
export function wakeOnDeadlines(store: Store, clock: () => number, timers: Timers = realTimers): () => void {
  let timer: TimerHandle | null = null;
  const unsubscribe = store.subscribe((next, previous) => {
    const until = next.verdict.wakeAtMs;
    if (until === previous.verdict.wakeAtMs) return;
    if (timer) timers.clearTimeout(timer);
    timer = null;
    if (until !== null) {
      timer = timers.setTimeout(
        () => {
          timer = null;
          store.dispatch({ type: 'clockTicked', atMs: Math.max(clock(), until) });
        },
        Math.max(0, until - clock()),
      );
    }
  });
  return () => {
    unsubscribe();
    if (timer) timers.clearTimeout(timer);
    timer = null;
  };
}

/**
 * The wake-up timer on fake time, against a stand-in store whose verdict names the next moment the
 * verdict changes by time alone: one clockTicked then, a deadline moved or dropped moves or drops
 * the timer, and nothing after stop.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SidecarEvent, SidecarState } from '../../src/core/model.js';
import type { Store, StoreListener } from '../../src/store.js';
import { wakeOnDeadlines } from '../../src/wake-timer.js';
import { FakeTime } from '../support/fake-timers.js';

/** Just what the wake-up timer reads of the state. */
const withWakeAt = (wakeAtMs: number | null): SidecarState => ({ verdict: { wakeAtMs } }) as unknown as SidecarState;

function standInStore() {
  const listeners: StoreListener[] = [];
  const dispatched: SidecarEvent[] = [];
  let state = withWakeAt(null);
  const store = {
    get state() {
      return state;
    },
    dispatch: (event: SidecarEvent) => void dispatched.push(event),
    subscribe: (listener: StoreListener) => {
      listeners.push(listener);
      return () => void listeners.splice(listeners.indexOf(listener), 1);
    },
  };
  /** The verdict now waits for `wakeAtMs` (null: for nothing). */
  const wakeAt = (wakeAtMs: number | null): void => {
    const previous = state;
    state = withWakeAt(wakeAtMs);
    for (const l of [...listeners]) l(state, previous, { type: 'clockTicked', atMs: 0 });
  };
  return { store: store as unknown as Store, dispatched, wakeAt, listeners };
}

describe('wakeOnDeadlines', () => {
  it('dispatches one clockTicked when the deadline the verdict names comes', () => {
    const time = new FakeTime();
    const s = standInStore();
    const stop = wakeOnDeadlines(s.store, time.now, time.timers());
    const deadline = time.now() + 1500;
    s.wakeAt(deadline);
    time.advance(1499);
    assert.deepEqual(s.dispatched, []);
    time.advance(1);
    assert.deepEqual(s.dispatched, [{ type: 'clockTicked', atMs: deadline }]);
    time.advance(60_000);
    assert.equal(s.dispatched.length, 1);
    stop();
  });

  it('follows the deadline as it moves, and drops it when the verdict waits for nothing', () => {
    const time = new FakeTime();
    const timers = time.timers();
    const s = standInStore();
    const stop = wakeOnDeadlines(s.store, time.now, timers);
    s.wakeAt(time.now() + 1000);
    s.wakeAt(time.now() + 3000);
    assert.deepEqual(timers.pending(), [3000], 'one timer, for the new deadline');
    time.advance(2000);
    assert.deepEqual(s.dispatched, []);
    s.wakeAt(null);
    assert.deepEqual(timers.pending(), []);
    // A deadline already past wakes at once, timed now: events never go back in time.
    s.wakeAt(time.now() - 10);
    time.advance(0);
    assert.deepEqual(s.dispatched, [{ type: 'clockTicked', atMs: time.now() }]);
    stop();
  });

  it('after stop, no timer and no listener are left', () => {
    const time = new FakeTime();
    const timers = time.timers();
    const s = standInStore();
    const stop = wakeOnDeadlines(s.store, time.now, timers);
    s.wakeAt(time.now() + 1000);
    stop();
    assert.deepEqual(timers.pending(), []);
    assert.equal(s.listeners.length, 0);
    time.advance(5000);
    assert.deepEqual(s.dispatched, []);
  });
});

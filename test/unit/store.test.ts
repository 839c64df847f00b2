/**
 * Covers src/store.ts: listeners see every change in order, as (next, previous) pairs that follow
 * one another, even when a listener dispatches from inside its call.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SidecarState } from '../../src/core/model.js';
import { initialState } from '../../src/core/reduce.js';
import { testCoreSettings } from '../support/core-settings.js';
import { Store } from '../../src/store.js';

const identity = { explicitHosts: null, interfaceAddresses: ['127.0.0.1'], restPort: 8081 };

describe('Store', () => {
  it('queues an event dispatched from inside a listener until every listener has seen the change at hand', () => {
    const store = new Store(initialState('auto', identity, 0, testCoreSettings()));
    const seenBySecond: { previous: SidecarState; next: SidecarState; type: string }[] = [];
    store.subscribe((next, _previous, event) => {
      // Reacts to the connection by reporting a check, as the wiring does with checkSoon.
      if (event.type === 'zookeeperConnected' && next.zookeeper.status === 'connected') {
        store.dispatch({ type: 'restCheckSucceeded', atMs: 20, durationMs: 1, httpStatus: 200 });
      }
    });
    store.subscribe((next, previous, event) => seenBySecond.push({ previous, next, type: event.type }));
    store.dispatch({ type: 'zookeeperConnected', atMs: 10, sessionId: 'abc' });
    assert.deepEqual(
      seenBySecond.map((s) => s.type),
      ['zookeeperConnected', 'restCheckSucceeded'],
    );
    assert.equal(seenBySecond[1]!.previous, seenBySecond[0]!.next, 'the second change starts where the first ended');
    assert.equal(store.state, seenBySecond[1]!.next);
    assert.equal(store.state.jobmanager.status, 'healthy');
  });

  it('applies nothing and calls no listener for an event that changes nothing', () => {
    const store = new Store(initialState('auto', identity, 0, testCoreSettings()));
    let calls = 0;
    store.subscribe(() => calls++);
    store.dispatch({ type: 'zookeeperConnected', atMs: 10, sessionId: 'abc' });
    const after = store.state;
    store.dispatch({ type: 'zookeeperConnected', atMs: 10, sessionId: 'abc' });
    assert.equal(store.state, after);
    assert.equal(calls, 1);
  });
});

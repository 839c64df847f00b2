/**
 * The ZooKeeper session supervisor with stand-in clients on fake time: its own pings and their
 * timeout, a new client after an expired session (with a backoff that grows), a new client when a
 * connection never completes, and nothing left running after close(). The real client against a
 * real server is covered by the integration and reliability tiers. Pings answer through promises,
 * so time advances with those settling between timers.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import zookeeper, { type Client, type State } from 'node-zookeeper-client';
import type { SidecarEvent } from '../../src/core/model.js';
import { createLogger } from '../../src/log.js';
import { ZooKeeperSession } from '../../src/sources/zookeeper/session.js';
import { FakeTime } from '../support/fake-timers.js';

const SESSION_TIMEOUT_MS = 4000;
/** What the supervisor derives from the session timeout: a ping every quarter, half of it to answer. */
const PING_INTERVAL_MS = 1000;
const PING_TIMEOUT_MS = 2000;

/** Just what the supervisor uses of node-zookeeper-client's Client. */
class StandInClient extends EventEmitter {
  state: State = zookeeper.State.DISCONNECTED;
  closed = false;
  /** Whether the server answers pings (an exists on the root). */
  answers = true;
  pings = 0;

  connect(): void {}
  close(): void {
    this.closed = true;
  }
  getState(): State {
    return this.state;
  }
  getSessionId(): Buffer {
    return Buffer.from('0000000000000abc', 'hex');
  }
  addAuthInfo(): void {}
  exists(_path: string, callback: (err: Error | null, stat: object) => void): void {
    this.pings += 1;
    if (this.answers) callback(null, {});
  }
  /** The client reaches `state`, and says so. */
  reach(state: State): void {
    this.state = state;
    this.emit('state', state);
  }
}

function supervised() {
  const time = new FakeTime();
  const clients: StandInClient[] = [];
  const events: SidecarEvent[] = [];
  const session = new ZooKeeperSession({
    connectString: '127.0.0.1:2181',
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    clock: time.now,
    timers: time.timers(),
    logger: createLogger('silent'),
    onEvent: (e) => events.push(e),
    onConnected: () => undefined,
    createClient: () => {
      const client = new StandInClient();
      clients.push(client);
      return client as unknown as Client;
    },
  });
  /** The events reported so far, but the heartbeats, as `type@ms since start`. */
  const startMs = time.now();
  const reported = (): string[] => events.filter((e) => e.type !== 'loopTicked').map((e) => `${e.type}@${e.atMs - startMs}`);
  return { time, session, clients, events, reported };
}

describe('ZooKeeperSession', () => {
  it('pings every quarter of the session timeout, and a ping unanswered for half of it replaces the client', async () => {
    const s = supervised();
    s.session.start();
    s.clients[0]!.reach(zookeeper.State.SYNC_CONNECTED);
    await s.time.advanceSettling(2 * PING_INTERVAL_MS);
    assert.equal(s.clients[0]!.pings, 2);
    assert.ok(s.events.some((e) => e.type === 'zookeeperAnswered'));

    s.clients[0]!.answers = false;
    await s.time.advanceSettling(PING_INTERVAL_MS);
    const unansweredAtMs = 3 * PING_INTERVAL_MS;
    await s.time.advanceSettling(PING_TIMEOUT_MS - 1);
    assert.ok(!s.events.some((e) => e.type === 'zookeeperUnresponsive'), 'not within the ping timeout');
    await s.time.advanceSettling(1);
    assert.ok(s.reported().includes(`zookeeperUnresponsive@${unansweredAtMs + PING_TIMEOUT_MS}`), s.reported().join(', '));
    assert.equal(s.clients[0]!.closed, true);
    // A new client after the first backoff: 1 s, give or take a fifth.
    await s.time.advanceSettling(1200);
    assert.equal(s.clients.length, 2);
    assert.equal(s.clients[1]!.closed, false);
    s.session.close();
  });

  it('after an expired session, a new client after a backoff that doubles while sessions keep expiring', async () => {
    const s = supervised();
    s.session.start();
    s.clients[0]!.reach(zookeeper.State.SYNC_CONNECTED);
    s.clients[0]!.reach(zookeeper.State.EXPIRED);
    assert.equal(s.clients[0]!.closed, true);
    await s.time.advanceSettling(799);
    assert.equal(s.clients.length, 1, 'no new client within 0.8 of the first backoff (1 s)');
    await s.time.advanceSettling(401);
    assert.equal(s.clients.length, 2, 'one within 1.2 of it');

    s.clients[1]!.reach(zookeeper.State.EXPIRED);
    await s.time.advanceSettling(1599);
    assert.equal(s.clients.length, 2, 'no new client within 0.8 of the second backoff (2 s)');
    await s.time.advanceSettling(801);
    assert.equal(s.clients.length, 3, 'one within 1.2 of it');
    assert.equal(s.events.filter((e) => e.type === 'zookeeperSessionExpired').length, 2);
    s.session.close();
  });

  it('a connection that never completes is given up after a session timeout: a new client', async () => {
    const s = supervised();
    s.session.start();
    s.clients[0]!.state = zookeeper.State.DISCONNECTED;
    await s.time.advanceSettling(SESSION_TIMEOUT_MS);
    assert.equal(s.clients.length, 1, 'not within the session timeout');
    await s.time.advanceSettling(PING_INTERVAL_MS);
    assert.equal(s.clients.length, 2, 'at the first ping past it');
    assert.equal(s.clients[0]!.closed, true);
    s.session.close();
  });

  it('close() stops pinging and replacing clients', async () => {
    const s = supervised();
    s.session.start();
    s.clients[0]!.reach(zookeeper.State.SYNC_CONNECTED);
    s.clients[0]!.reach(zookeeper.State.EXPIRED);
    s.session.close();
    const reported = s.reported();
    assert.equal(reported.at(-1), 'zookeeperClosed@0');
    await s.time.advanceSettling(10 * SESSION_TIMEOUT_MS);
    assert.equal(s.clients.length, 1, 'no new client');
    assert.deepEqual(s.reported(), reported, 'nothing reported after close');
    assert.equal(s.events.at(-1)?.type, 'zookeeperClosed', 'no heartbeat either');
  });
});

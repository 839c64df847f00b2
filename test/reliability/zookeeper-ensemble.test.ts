/**
 * A 3-node ZooKeeper ensemble (three JVMs on loopback) under two JobManagers and their sidecar
 * processes: the server that holds the leader JobManager's session is killed (the quorum of two
 * stays, Curator's latch moves or re-forms), then a second server (no quorum: nobody may be
 * ready), then one is started again (quorum back: one ready leader). Heavy for 2 cores (five
 * JVMs and two sidecars), so its bounds are generous.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startZooKeeperEnsemble, type ZooKeeperEnsemble } from '../support/zookeeper-ensemble.js';
import { BOUNDS } from './lib/bounds.js';
import { Cluster } from './lib/cluster.js';
import { within } from './lib/report.js';

let ensemble: ZooKeeperEnsemble;
let cluster: Cluster | undefined;

before(async () => {
  ensemble = await startZooKeeperEnsemble();
});
after(async () => {
  await cluster?.stop();
  await ensemble.destroy();
});

describe('a 3-node ZooKeeper ensemble', () => {
  it('loses the server of the leader JobManager, then its quorum, then gets it back: one ready leader each time it can have one', async (t) => {
    const scenario = '3-node ensemble';
    const c = await Cluster.start({ zookeeper: ensemble.connectString, tag: 'ensemble' });
    cluster = c;

    // The server the leader JobManager is connected to: killing it forces Curator to reconnect
    // elsewhere, and with Flink's default (no tolerated suspension) to give up leadership.
    const holder = serverOfLeaderSession(c);
    let marks = c.eventMarks();
    const killedAt = c.mark(`kill server ${holder + 1}`);
    await ensemble.servers[holder]!.kill();
    await ensemble.waitForQuorum(2);
    // Curator suspends, the JobManager gives up leadership, and the latch is contended again.
    const ready = await c.nextLeader(marks, BOUNDS.ensembleReadyMs);
    await c.expectReadyLeader(t, scenario, ready, marks[ready]!, BOUNDS.newLeaderReadyMs);
    await c.expectReadySince(t, scenario, ready, killedAt, BOUNDS.ensembleReadyMs, `server ${holder + 1} of 3 killed`);
    await c.sidecars[1 - ready]!.waitForCurrent('standby', (tr) => tr.to === 'standby', BOUNDS.ensembleReadyMs);

    // A second server: no quorum. The last server serves on until it notices (a tick or so);
    // from then on nobody may be ready.
    const second = ensemble.servers.findIndex((s, i) => i !== holder && s.isRunning);
    const quorumLostAt = c.mark(`kill server ${second + 1}`);
    await ensemble.servers[second]!.kill();
    await ensemble.waitForNoQuorum();
    c.mark('the last server stopped serving');
    for (const [i, s] of c.sidecars.entries()) {
      const down = await s.waitForCurrent(
        'ZooKeeper lost',
        (tr) => !tr.ready && tr.reason.startsWith('zookeeper-'),
        BOUNDS.ensembleReadyMs,
      );
      if (i === ready)
        within(t, scenario, 'second server killed -> leader not ready (log)', down.atMs - quorumLostAt, BOUNDS.ensembleReadyMs);
    }
    assert.ok(c.sidecars.every((s) => !s.isReady));

    // One server back: two of three, a quorum again. Timed from the server's start, which
    // includes its JVM start and the leader election among the servers.
    marks = c.eventMarks();
    const restartedAt = c.mark(`start server ${second + 1}`);
    const readyWithoutQuorum = c.sidecars.flatMap((s) =>
      s.transitions.filter((tr) => tr.ready && tr.atMs > lostFor(c, quorumLostAt) && tr.atMs < restartedAt),
    );
    assert.deepEqual(readyWithoutQuorum, [], 'a sidecar was ready while ZooKeeper had no quorum');
    await ensemble.servers[second]!.start();
    await ensemble.waitForQuorum(2);
    c.mark('quorum of 2 seen');
    const again = await c.nextLeader(marks, BOUNDS.ensembleReadyMs);
    await c.expectReadyLeader(t, scenario, again, marks[again]!, BOUNDS.newLeaderReadyMs);
    await c.expectReadySince(t, scenario, again, restartedAt, BOUNDS.ensembleReadyMs, 'server restarted (quorum back)');
    await c.sidecars[1 - again]!.waitForCurrent('standby', (tr) => tr.to === 'standby', BOUNDS.ensembleReadyMs);
    await c.verifySafety(t, scenario);
  });
});

/**
 * Index of the server the leader JobManager is connected to. Clients pick servers at random, so
 * the test finds out rather than assuming: ZooKeeper puts the id of the server that created a
 * session in its top byte, and before any fault the session has not moved.
 */
function serverOfLeaderSession(c: Cluster): number {
  const leader = c.leaderIndex();
  assert.ok(leader >= 0, 'a JobManager leads before the fault');
  const sessionId = c.jms[leader]!.sessionId;
  const serverId = Number.parseInt(sessionId.slice(0, 2), 16);
  assert.ok(serverId >= 1 && serverId <= ensemble.servers.length, `session ${sessionId} names server ${serverId}`);
  return serverId - 1;
}

/** When the last server stopped serving (the mark the scenario set), else the kill itself. */
function lostFor(c: Cluster, killedAt: number): number {
  return c.marks.find((m) => m.what === 'the last server stopped serving')?.atMs ?? killedAt;
}

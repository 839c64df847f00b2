/**
 * The local JobManager misbehaving, and ZooKeeper lost under Flink's tolerate-suspended-connections:
 * /jobmanager/livez through a JM that hangs and one that keeps answering the leader-election 503
 * while ZooKeeper has a leader; readiness held through a suspension only when Flink tolerates it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeJobManager } from '../support/fake-jobmanager.js';
import { isReady, startTestSidecar, type TestSidecar } from '../support/sidecar-harness.js';
import { useZooKeeper } from '../support/zookeeper-fixture.js';

// Its own server: a test stops it.
const zk = useZooKeeper({ own: true });

async function leaderWithSidecar(clusterId: string, extraFlags: string[]): Promise<{ jm: FakeJobManager; sidecar: TestSidecar }> {
  const jm = await FakeJobManager.start({ zookeeper: zk.connectString, layout: '1.15', clusterId });
  zk.cleanup(() => jm.stop());
  await jm.waitFor(/^leader rest_server /);
  const sidecar = await startTestSidecar({
    zookeeper: zk.connectString,
    clusterId,
    restUrl: jm.restUrl,
    advertised: ['127.0.0.1'],
    checkIntervalMs: 500,
    extraFlags,
  });
  zk.cleanup(() => sidecar.stop());
  await sidecar.waitFor('ready', isReady);
  return { jm, sidecar };
}

const GRACE = ['--jobmanager-liveness-grace-ms=1000', '--jobmanager-startup-allowance-ms=1000'];

/**
 * /jobmanager/livez turns 503 when the grace runs out, which is a matter of time, not of an event
 * in the sidecar: ask every 50 ms until it fails (5 s at most) and return the last answer.
 */
async function livezOnceFailing(sidecar: TestSidecar): Promise<Awaited<ReturnType<TestSidecar['get']>>> {
  let res = await sidecar.get('/jobmanager/livez');
  for (let i = 0; res.status !== 503 && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 50));
    res = await sidecar.get('/jobmanager/livez');
  }
  return res;
}

describe('/jobmanager/livez', () => {
  it('a JM that stops answering is alive within the grace, dead after it, alive again when it answers', async () => {
    const { jm, sidecar } = await leaderWithSidecar('/jm-livez-hang', GRACE);
    assert.equal((await sidecar.get('/jobmanager/livez')).status, 200);
    await jm.send('rest hang');
    await sidecar.waitFor('check timed out', (s) => s.jobmanager.reason === 'timeout');
    assert.equal((await sidecar.get('/readyz')).status, 503);
    const early = await sidecar.get('/jobmanager/livez');
    assert.equal(early.status, 200);
    assert.equal(early.body.checks[0]?.reason, 'jm-within-grace');
    const dead = await livezOnceFailing(sidecar);
    assert.equal(dead.status, 503);
    assert.equal(dead.body.checks[0]?.reason, 'timeout');
    await jm.send('rest auto');
    await sidecar.waitFor('healthy again', isReady);
    assert.equal((await sidecar.get('/jobmanager/livez')).status, 200);
  });

  it('a JM that keeps saying "no leader" while ZooKeeper has one is stuck', async () => {
    const { jm, sidecar } = await leaderWithSidecar('/jm-livez-election', GRACE);
    await jm.send('rest election');
    await sidecar.waitFor('jm reports no leader', (s) => s.jobmanager.status === 'no-leader');
    const ready = await sidecar.get('/readyz');
    assert.equal(ready.status, 503);
    assert.equal(ready.body.reason, 'jm-reports-no-leader');
    const res = await livezOnceFailing(sidecar);
    assert.equal(res.status, 503);
    assert.equal(res.body.checks[0]?.reason, 'jm-stuck-without-leader');
  });
});

describe('tolerate-suspended-connections', () => {
  it("true: the leader stays ready through a ZooKeeper outage up to Flink's session timeout; false: not ready at once", async () => {
    const tolerant = await leaderWithSidecar('/tolerate-true', [
      '--tolerate-suspended-connections=true',
      '--flink-session-timeout-ms=3000',
    ]);
    const strict = await leaderWithSidecar('/tolerate-false', []);
    // A JM that tolerates suspension keeps serving REST through the outage.
    await tolerant.jm.send('rest ok');
    await strict.jm.send('rest ok');
    // Nothing is held before the sidecar knows what session the servers grant the JobManagers.
    const measured = await tolerant.sidecar.waitFor('granted session measured', (s) => s.zookeeper.flinkSessionGrantedMs !== null, 10_000);
    assert.equal(measured.zookeeper.flinkSessionGrantedMs, 3000);
    const stoppedAt = performance.now();
    await zk.server.stop();
    await strict.sidecar.waitFor('strict not ready', (s) => !s.verdict.ready, 10_000);
    const held = await tolerant.sidecar.waitFor(
      'tolerated',
      (s) => s.verdict.checks.some((c) => c.reason === 'zookeeper-suspended-tolerated'),
      10_000,
    );
    assert.equal(held.verdict.ready, true);
    assert.equal((await tolerant.sidecar.get('/readyz')).status, 200);
    assert.equal((await strict.sidecar.get('/readyz')).status, 503);
    const lost = await tolerant.sidecar.waitFor('gave up after the session timeout', (s) => !s.verdict.ready, 10_000);
    const heldMs = performance.now() - stoppedAt;
    assert.ok(heldMs >= 2500, `held for ${Math.round(heldMs)} ms, expected about 3000`);
    assert.equal(lost.verdict.role, 'unknown');
    await zk.server.start();
    // Whether the JM wins its latch back depends on Curator; the sidecar's part is to reconnect.
    await tolerant.sidecar.waitFor('connected again', (s) => s.zookeeper.status === 'connected', 30_000);
  });

  it("measures the session the server grants a JobManager: a longer request is capped at the server's maxSessionTimeout", async () => {
    const capped = await leaderWithSidecar('/tolerate-capped', [
      '--tolerate-suspended-connections=true',
      '--flink-session-timeout-ms=90000',
    ]);
    const measured = await capped.sidecar.waitFor('granted session measured', (s) => s.zookeeper.flinkSessionGrantedMs !== null, 10_000);
    // The test server's zoo.cfg sets maxSessionTimeout=60000 (test/support/zookeeper-server.ts).
    assert.equal(measured.zookeeper.flinkSessionGrantedMs, 60_000);
  });
});

/**
 * ZooKeeper faults with real sidecar processes: ZooKeeper restarted; a silent network partition
 * between the leader's sidecar and ZooKeeper (a TCP proxy that stops forwarding without closing),
 * long enough for the server to expire the sidecar's session; the sidecar process frozen past its
 * session timeout; and the leader's sidecar frozen while leadership moves. Its own server, since
 * it stops it.
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { monotonicNow } from '../support/sidecar-process.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { useZooKeeper } from '../support/zookeeper-fixture.js';
import { BOUNDS } from './lib/bounds.js';
import { Cluster } from './lib/cluster.js';
import { within } from './lib/report.js';

// Its own server: the tests stop it.
const zk = useZooKeeper({ own: true });
/** Longer than the sidecar's session timeout, so that the server expires the session meanwhile. */
const PAST_SESSION_TIMEOUT_MS = BOUNDS.settings.sidecarSessionTimeoutMs + 2000;

async function cluster(tag: string, proxy?: TcpProxy): Promise<Cluster> {
  const c = await Cluster.start({
    zookeeper: zk.connectString,
    tag,
    ...(proxy ? { sidecarZookeeper: (i: number) => (i === 0 ? `127.0.0.1:${proxy.port}` : zk.connectString) } : {}),
  });
  zk.cleanup(() => c.stop());
  return c;
}

describe('ZooKeeper faults', () => {
  it('ZooKeeper restarted: nobody ready while it is down; back: one ready leader within the bound', async (t) => {
    const scenario = 'ZooKeeper restart';
    const c = await cluster('zkrestart');
    const jmEvents = c.jms.map((jm) => jm.events.length);
    const stoppedAt = monotonicNow();
    await zk.server.stop();
    for (const [i, s] of c.sidecars.entries()) {
      const down = await s.waitForTransition('ZooKeeper lost', (tr) => tr.atMs >= stoppedAt && tr.reason.startsWith('zookeeper-'), 10_000);
      assert.equal(down.ready, false);
      if (i === 0) within(t, scenario, 'ZooKeeper stopped -> leader not ready (log)', down.atMs - stoppedAt, BOUNDS.newLeaderReadyMs);
    }
    // Timed from the restart (the JVM's launch): the sidecars may reconnect before start() sees
    // the server answer.
    const restartedAt = c.mark('ZooKeeper started again');
    await zk.server.start();
    // Either JobManager may lead afterwards (Curator's latch re-creates its node on reconnect).
    const first = await Promise.any(
      c.sidecars.map((s, i) =>
        s.waitForTransition('ready', (tr) => tr.ready && tr.atMs >= restartedAt, BOUNDS.recoveredReadyMs + 10_000).then(() => i),
      ),
    );
    await c.expectReadySince(t, scenario, first, restartedAt, BOUNDS.recoveredReadyMs, 'ZooKeeper restarted');
    // ZooKeeper may show the old leader's latch node for a moment before its Curator re-creates it
    // after the reconnect; the JobManager whose sidecar is ready leads again soon after.
    await c.jms[first]!.waitFor(/^leader rest_server /, 15_000, jmEvents[first]);
    assert.ok(c.jms[first]!.isLeader(), `sidecar-${first} is ready but its JobManager does not lead`);
    const other = 1 - first;
    await c.sidecars[other]!.waitForCurrent('standby', (tr) => tr.to === 'standby' && tr.atMs >= restartedAt, 15_000);
    await c.verifySafety(t, scenario);
  });

  it("a silent partition of the leader's sidecar is detected within its session timeout; healed after the session expired: ready again", async (t) => {
    const scenario = 'silent partition (session expires)';
    const proxy = await startTcpProxy('127.0.0.1', zk.server.port);
    zk.cleanup(() => proxy.close());
    const c = await cluster('partition', proxy);
    const pausedAt = monotonicNow();
    proxy.pause();
    const down = await c.sidecars[0]!.waitUntilNotReady(BOUNDS.partitionDetectedMs + 5000);
    within(t, scenario, 'partition -> leader not ready (log)', down!.atMs - pausedAt, BOUNDS.partitionDetectedMs);
    assert.equal(down!.reason, 'zookeeper-unresponsive');
    // The partition outlasts the session: ZooKeeper expires it, and the sidecar needs a new one.
    await delay(Math.max(0, pausedAt + PAST_SESSION_TIMEOUT_MS - monotonicNow()));
    const resumedAt = monotonicNow();
    proxy.resume();
    await c.expectReadySince(t, scenario, 0, resumedAt, BOUNDS.recoveredReadyMs, 'partition healed');
    assert.equal(c.sidecars[1]!.isReady, false);
    await c.verifySafety(t, scenario);
  });

  it('the sidecar process frozen (SIGSTOP) past its session timeout: after SIGCONT it takes a new session and is ready again', async (t) => {
    const scenario = 'sidecar frozen past its session timeout';
    const c = await cluster('sidecarstop');
    const thaw = c.freezeSidecar(0);
    await delay(PAST_SESSION_TIMEOUT_MS);
    const lines = c.sidecars[0]!.lines.length;
    const thawedAt = monotonicNow();
    thaw();
    // Its old session is gone: it must notice (expired or lost) before it is ready again.
    const lost = await c.sidecars[0]!.waitForTransition('the lost session', (tr) => !tr.ready, 15_000, lines);
    assert.match(lost.reason, /^zookeeper-(expired|disconnected|unresponsive|connecting)$/);
    within(t, scenario, 'SIGCONT -> old session noticed (log)', lost.atMs - thawedAt, BOUNDS.newLeaderReadyMs);
    await c.expectReadySince(t, scenario, 0, thawedAt, BOUNDS.recoveredReadyMs, 'SIGCONT');
    await c.verifySafety(t, scenario);
  });

  it("the leader's sidecar frozen while leadership moves: after SIGCONT it does not claim readiness beside the new leader", async (t) => {
    const scenario = 'leader sidecar frozen through a failover';
    const c = await cluster('frozenfailover');
    const thaw = c.freezeSidecar(0);
    const since = c.jms[1]!.events.length;
    await c.jms[0]!.send('resign');
    await c.expectReadyLeader(t, scenario, 1, since, BOUNDS.newLeaderReadyMs);
    await delay(Math.max(0, PAST_SESSION_TIMEOUT_MS - 2000));
    const lines = c.sidecars[0]!.lines.length;
    const thawedAt = monotonicNow();
    thaw();
    // Until it has read what changed while it was frozen it still holds its last verdict: the
    // time it takes to catch up is the window in which a probe could still get 200.
    const caughtUp = await c.sidecars[0]!.waitForTransition('not ready after the thaw', (tr) => !tr.ready, 20_000, lines);
    within(t, scenario, 'SIGCONT -> thawed sidecar not ready (log)', caughtUp.atMs - thawedAt, BOUNDS.thawCatchUpMs);
    await c.sidecars[0]!.waitForTransition('standby after the thaw', (tr) => tr.to === 'standby', 20_000, lines);
    const stale = (c.sampler.samples.get('sidecar-0') ?? []).filter((x) => x.t1 >= thawedAt && x.status === 200).length;
    t.diagnostic(`${scenario}: ${stale} probe(s) answered 200 by the thawed sidecar`);
    await c.verifySafety(t, scenario, BOUNDS.thawCatchUpMs);
  });
});

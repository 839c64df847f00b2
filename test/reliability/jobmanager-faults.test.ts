/**
 * JobManager faults with real sidecar processes: the leader's JM killed (-9) or frozen (SIGSTOP,
 * its REST hangs while its ZooKeeper session lives on until it times out), and its REST API
 * answering 500, HTML, slowly or with a huge body. Only the healthy leader's sidecar is ever
 * ready, a new leader's within the bound, and probes keep being answered on time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { monotonicNow } from '../support/sidecar-process.js';
import { useZooKeeper } from '../support/zookeeper-fixture.js';
import { BOUNDS } from './lib/bounds.js';
import { Cluster } from './lib/cluster.js';
import { within } from './lib/report.js';

const zk = useZooKeeper();

async function cluster(tag: string, layout: '1.15' | '1.14' | '1.13' = '1.15'): Promise<Cluster> {
  const c = await Cluster.start({ zookeeper: zk.connectString, tag, layout });
  zk.cleanup(() => c.stop());
  return c;
}

/** How many checks of its JobManager a sidecar has made, from its /metrics. */
async function checkCount(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^flink_ha_sidecar_jobmanager_check_duration_seconds_count(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1] ?? NaN);
}

const LAYOUTS = (process.env['RELIABILITY_LAYOUTS'] ?? '1.15,1.14,1.13').split(',') as ('1.15' | '1.14' | '1.13')[];

describe('the leader JobManager dies or freezes', () => {
  for (const layout of LAYOUTS) {
    it(`kill -9 of the leader (layout ${layout}): its sidecar fails at once, the new leader's is ready after the JM session times out`, async (t) => {
      const scenario = `kill -9 leader JM (${layout})`;
      const c = await cluster('kill9', layout);
      const since = c.jms[1]!.events.length;
      const killedAt = monotonicNow();
      c.jms[0]!.kill('SIGKILL');
      const down = await c.sidecars[0]!.waitUntilNotReady(10_000);
      within(t, scenario, 'JM killed -> its sidecar not ready (log)', down!.atMs - killedAt, BOUNDS.deadJobManagerNotReadyMs);
      assert.match(down!.reason, /^(refused|connection-error)$/);
      // Its latch node lives until Flink's session times out; then the standby leads.
      const { readyMs } = await c.expectReadyLeader(t, scenario, 1, since, BOUNDS.newLeaderReadyMs);
      within(
        t,
        scenario,
        'JM killed -> a ready leader (log)',
        readyMs - killedAt,
        BOUNDS.settings.jmSessionTimeoutMs + 2 * BOUNDS.newLeaderReadyMs,
      );
      await c.verifySafety(t, scenario);
    });
  }

  it('SIGSTOP of the leader: its REST hangs, its sidecar fails on the check timeout; after SIGCONT it stays a standby', async (t) => {
    const scenario = 'SIGSTOP leader JM';
    const c = await cluster('sigstop');
    const since = c.jms[1]!.events.length;
    const stoppedAt = monotonicNow();
    c.jms[0]!.kill('SIGSTOP');
    const down = await c.sidecars[0]!.waitUntilNotReady(10_000);
    within(t, scenario, 'JM frozen -> its sidecar not ready (log)', down!.atMs - stoppedAt, BOUNDS.deadJobManagerNotReadyMs);
    assert.equal(down!.reason, 'timeout');
    // Its latch node lives on until its session times out: nobody may be ready until then.
    await c.expectReadyLeader(t, scenario, 1, since, BOUNDS.newLeaderReadyMs);
    const jm0Since = c.jms[0]!.events.length;
    c.jms[0]!.kill('SIGCONT');
    // Thawed, the old leader learns its session is gone and gives up leadership.
    await c.jms[0]!.waitFor(/^not-leader rest_server$/, 15_000, jm0Since);
    await c.sidecars[0]!.waitForTransition('standby', (tr) => tr.to === 'standby', 15_000);
    assert.equal(c.sidecars[0]!.isReady, false);
    assert.equal(c.sidecars[1]!.isReady, true);
    await c.verifySafety(t, scenario);
  });
});

describe("the leader JobManager's REST API misbehaves", () => {
  const faults = [
    { mode: '500', reason: 'http-5xx' },
    { mode: 'html', reason: 'invalid-response' },
    { mode: 'huge', reason: 'invalid-response' },
    { mode: 'slow 1500', reason: 'timeout' },
  ];
  it('500, HTML, a huge body, slower than the check timeout: not ready within a check; healthy again: ready; probes on time throughout', async (t) => {
    const scenario = 'REST faults on the leader';
    const c = await cluster('rest');
    const startedAt = monotonicNow();
    for (const f of faults) {
      const faultAt = monotonicNow();
      await c.jms[0]!.send(`rest ${f.mode}`);
      const down = await c.sidecars[0]!.waitUntilNotReady(10_000);
      within(
        t,
        scenario,
        `rest ${f.mode} -> not ready (log)`,
        down!.atMs - faultAt,
        BOUNDS.settings.checkIntervalMs + BOUNDS.settings.checkTimeoutMs + 500,
      );
      assert.equal(down!.reason, f.reason, `rest ${f.mode}`);
      assert.equal(down!.to, 'leader', 'still the leader, just not healthy');
      const healedAt = monotonicNow();
      await c.jms[0]!.send('rest auto');
      await c.expectReadySince(
        t,
        scenario,
        0,
        healedAt,
        BOUNDS.settings.checkIntervalMs + BOUNDS.settings.checkTimeoutMs + 500,
        `rest ${f.mode} healed`,
      );
    }
    // Slower than usual but within the check timeout is healthy: no transition at all.
    const before = c.sidecars[0]!.transitions.length;
    await c.jms[0]!.send('rest slow 200');
    // Three checks of the slow JM, counted by the sidecar's own metrics.
    const checks = await checkCount(c.sidecars[0]!.url);
    assert.ok(Number.isFinite(checks) && checks > 0, `no check count in /metrics (${checks})`);
    const deadline = monotonicNow() + 10 * BOUNDS.settings.checkIntervalMs;
    while ((await checkCount(c.sidecars[0]!.url)) < checks + 3) {
      assert.ok(monotonicNow() < deadline, 'the sidecar stopped checking its JobManager');
      await delay(100);
    }
    assert.equal(c.sidecars[0]!.transitions.length, before, `a slow but timely JM changed readiness; ${c.sidecars[0]!.describe()}`);
    await c.jms[0]!.send('rest auto');
    const latencies = c.sampler.latencies('sidecar-0', startedAt).sort((a, b) => a - b);
    within(t, scenario, 'probe latency p99 while the JM misbehaves', latencies[Math.floor(latencies.length * 0.99)]!, 50);
    await c.verifySafety(t, scenario);
  });
});

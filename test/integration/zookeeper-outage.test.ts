/**
 * ZooKeeper going away: stopped, or silently partitioned from the sidecar. Both sidecars must stop
 * being ready at once while /livez stays 200, and find the leader again when ZooKeeper returns.
 * This file starts its own ZooKeeper server, because it stops it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeJobManager } from '../support/fake-jobmanager.js';
import { hasRole, isHealthyStandby, isReady, startTestSidecar, type TestSidecar } from '../support/sidecar-harness.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { useZooKeeper } from '../support/zookeeper-fixture.js';

const zk = useZooKeeper({ own: true });

async function startJm(clusterId: string): Promise<FakeJobManager> {
  const jm = await FakeJobManager.start({ zookeeper: zk.connectString, layout: '1.15', clusterId, sessionTimeoutMs: 4000 });
  zk.cleanup(() => jm.stop());
  return jm;
}

async function sidecarFor(jm: FakeJobManager, clusterId: string, zookeeper = zk.connectString): Promise<TestSidecar> {
  const s = await startTestSidecar({ zookeeper, clusterId, restUrl: jm.restUrl, advertised: ['127.0.0.1'], sessionTimeoutMs: 4000 });
  zk.cleanup(() => s.stop());
  return s;
}

describe('ZooKeeper outages', () => {
  it('ZooKeeper stopped: neither ready, /livez stays 200; back again: one leader', async () => {
    const clusterId = '/outage-stop';
    const a = await startJm(clusterId);
    await a.waitFor(/^leader rest_server /);
    const b = await startJm(clusterId);
    const [sa, sb] = [await sidecarFor(a, clusterId), await sidecarFor(b, clusterId)];
    await sa.waitFor('leader ready', isReady);
    await sb.waitFor('standby', isHealthyStandby);

    await zk.server.stop();
    for (const s of [sa, sb]) {
      await s.waitFor('not ready while ZooKeeper is down', (st) => st.zookeeper.status !== 'connected', 10_000);
      const ready = await s.get('/readyz');
      assert.equal(ready.status, 503);
      assert.equal(ready.body.role, 'unknown');
      assert.match(ready.body.reason, /^zookeeper-/);
      assert.equal((await s.get('/livez')).status, 200);
    }

    await zk.server.start();
    // Whoever leads after the outage, exactly one sidecar becomes ready and the other a healthy standby.
    const ready = await Promise.race([
      sa.waitFor('a ready again', isReady, 30_000).then(() => sa),
      sb.waitFor('b ready again', isReady, 30_000).then(() => sb),
    ]);
    const standby = ready === sa ? sb : sa;
    await standby.waitFor('the other a healthy standby', isHealthyStandby, 30_000);
    assert.equal((await standby.get('/readyz')).status, 503);
  });

  it('a silent partition between sidecar and ZooKeeper is noticed within the session timeout', async () => {
    const clusterId = '/outage-partition';
    const jm = await startJm(clusterId);
    await jm.waitFor(/^leader rest_server /);
    const proxy: TcpProxy = await startTcpProxy('127.0.0.1', zk.server.port);
    zk.cleanup(() => proxy.close());
    const s = await sidecarFor(jm, clusterId, `127.0.0.1:${proxy.port}`);
    await s.waitFor('leader ready', isReady);

    const pausedAt = performance.now();
    proxy.pause();
    const lost = await s.waitFor('unresponsive', hasRole('unknown'), 8000);
    assert.equal(lost.zookeeper.status, 'unresponsive');
    const detectedMs = performance.now() - pausedAt;
    assert.ok(detectedMs < 4000, `noticed after ${Math.round(detectedMs)} ms, session timeout 4000 ms`);
    assert.equal((await s.get('/readyz')).status, 503);
    assert.equal((await s.get('/livez')).status, 200);

    proxy.resume();
    const back = await s.waitFor('ready again after the partition heals', isReady, 30_000);
    assert.equal(back.zookeeper.status, 'connected');
  });
});

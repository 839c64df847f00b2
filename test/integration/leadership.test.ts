/**
 * End to end against a real ZooKeeper and Flink-like JobManagers that contend with Curator's
 * LeaderLatch and publish leader information as Flink does, in each HA layout: exactly the
 * leader's sidecar is ready, and readiness follows every failover.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import zookeeper from 'node-zookeeper-client';
import { FakeJobManager } from '../support/fake-jobmanager.js';
import { hasRole, isHealthyStandby, isReady, startTestSidecar, type TestSidecar } from '../support/sidecar-harness.js';
import { useZooKeeper } from '../support/zookeeper-fixture.js';

const LAYOUTS = ['1.15', '1.14', '1.13'] as const;
const JM_SESSION_TIMEOUT_MS = 4000;

interface Pair {
  clusterId: string;
  jms: FakeJobManager[];
  sidecars: TestSidecar[];
}

const zk = useZooKeeper();

function newClusterId(tag: string): string {
  return `/it-${tag}-${randomUUID().slice(0, 8)}`;
}

async function startJm(layout: string, clusterId: string, restAddress?: string): Promise<FakeJobManager> {
  const jm = await FakeJobManager.start({
    zookeeper: zk.connectString,
    layout: layout as '1.15',
    clusterId,
    sessionTimeoutMs: JM_SESSION_TIMEOUT_MS,
    ...(restAddress ? { restAddress } : {}),
  });
  zk.cleanup(() => jm.stop());
  return jm;
}

async function startSidecarFor(
  jm: FakeJobManager,
  layout: string,
  clusterId: string,
  advertised: string[] | undefined = ['127.0.0.1'],
): Promise<TestSidecar> {
  const sidecar = await startTestSidecar({
    zookeeper: zk.connectString,
    clusterId,
    restUrl: jm.restUrl,
    layout,
    ...(advertised ? { advertised } : {}),
  });
  zk.cleanup(() => sidecar.stop());
  return sidecar;
}

/** Two JMs, each with its sidecar, the way two JM pods run. The first JM starts first and leads. */
async function startPair(layout: string, sidecarLayout = 'auto'): Promise<Pair> {
  const clusterId = newClusterId(layout.replace('.', ''));
  const a = await startJm(layout, clusterId);
  await a.waitFor(/^leader rest_server /);
  const b = await startJm(layout, clusterId);
  const sidecars = [await startSidecarFor(a, sidecarLayout, clusterId), await startSidecarFor(b, sidecarLayout, clusterId)];
  return { clusterId, jms: [a, b], sidecars };
}

/**
 * Waits until sidecars[leader] is ready and the other a healthy standby, then checks the same over
 * HTTP. A JM's own leader retrieval sees the leader node deleted and re-created during a failover
 * and answers 503 for that moment, so the HTTP view is asked until it agrees (bounded).
 */
async function expectLeader(pair: Pair, leader: number, timeoutMs = 20_000): Promise<void> {
  const other = 1 - leader;
  const [l, o] = [pair.sidecars[leader]!, pair.sidecars[other]!];
  await l.waitFor(`sidecar ${leader} ready`, isReady, timeoutMs);
  await o.waitFor(`sidecar ${other} healthy standby`, isHealthyStandby, timeoutMs);
  const deadline = performance.now() + 5000;
  for (;;) {
    const view = {
      leaderReadyz: await l.get('/readyz'),
      otherReadyz: await o.get('/readyz'),
      leaderLeader: (await l.get('/leader')).status,
      otherLeader: (await o.get('/leader')).status,
      otherStandby: (await o.get('/standby')).status,
      leaderStandby: (await l.get('/standby')).status,
    };
    const agreed = view.leaderReadyz.status === 200 && view.otherStandby === 200 && view.otherReadyz.status === 503;
    if (agreed || performance.now() > deadline) {
      assert.equal(view.leaderReadyz.status, 200, JSON.stringify(view.leaderReadyz.body));
      assert.equal(view.leaderReadyz.body.role, 'leader');
      assert.equal(view.leaderReadyz.body.leader, pair.jms[leader]!.restUrl);
      assert.equal(view.otherReadyz.status, 503);
      assert.equal(view.otherReadyz.body.role, 'standby');
      assert.equal(view.otherReadyz.body.reason, 'other-jm-leads');
      assert.equal(view.otherStandby, 200);
      assert.equal(view.leaderStandby, 503);
      assert.equal(view.leaderLeader, 200);
      assert.equal(view.otherLeader, 503);
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const layout of LAYOUTS) {
  describe(`layout ${layout}`, () => {
    it('two JMs with two sidecars give exactly one ready: the leader', async () => {
      const pair = await startPair(layout);
      await expectLeader(pair, 0);
      assert.equal(pair.sidecars[0]!.running.store.state.verdict.layout, layout);
    });

    it('the leader resigns and readiness moves to the new leader', async () => {
      const pair = await startPair(layout);
      await expectLeader(pair, 0);
      await pair.jms[0]!.send('resign');
      await pair.jms[1]!.waitFor(/^leader rest_server /);
      await expectLeader(pair, 1);
    });

    it('the leader is killed (kill -9) and readiness moves once its session expires', async () => {
      const pair = await startPair(layout);
      await expectLeader(pair, 0);
      pair.jms[0]!.kill('SIGKILL');
      // The old leader's sidecar sees its JM refuse connections at once.
      await pair.sidecars[0]!.waitFor('old leader not ready', (s) => !s.verdict.ready, 10_000);
      await pair.jms[1]!.waitFor(/^leader rest_server /, JM_SESSION_TIMEOUT_MS * 5);
      await pair.sidecars[1]!.waitFor('new leader ready', isReady, 20_000);
      // Both sidecars read the new leader's write through their own watches; the old one may be
      // a moment behind (still seeing no leader published).
      await pair.sidecars[0]!.waitFor('old leader a standby', hasRole('standby'), 10_000);
      const old = await pair.sidecars[0]!.get('/readyz');
      assert.equal(old.status, 503);
      assert.equal(old.body.role, 'standby');
    });
  });
}

describe('edge cases (layout 1.15)', () => {
  it('a sidecar started before any JM waits, then follows the cluster as it starts', async () => {
    const clusterId = newClusterId('early');
    // The JM's REST port is known only once it runs, so the sidecar starts against a placeholder
    // JM first and a real one later is not possible; instead, start the JM's process without
    // contending, by giving the sidecar a cluster-id the JM joins only afterwards.
    const jmA = await startJm('1.15', `${clusterId}-placeholder`);
    const sidecar = await startSidecarFor(jmA, 'auto', clusterId);
    const early = await sidecar.waitFor('cluster not started', hasRole('unknown', 'cluster-not-started'));
    assert.equal(early.verdict.ready, false);
    const res = await sidecar.get('/readyz');
    assert.equal(res.status, 503);
    assert.equal(res.body.reason, 'cluster-not-started');
    // Now a JM of this cluster starts and publishes the sidecar's own URL.
    const jm = await startJm('1.15', clusterId, jmA.restUrl);
    await jm.waitFor(/^leader rest_server /);
    await sidecar.waitFor('leader once the cluster runs', isReady);
  });

  it('corrupt leader information gives unknown with a reason, and recovers', async () => {
    const pair = await startPair('1.15');
    await expectLeader(pair, 0);
    await pair.jms[0]!.send(`write-info ${Buffer.from('{"address":"http://127.0.0.1:1"}').toString('hex')}`);
    for (const s of pair.sidecars) {
      await s.waitFor('undecodable', hasRole('unknown', 'leader-info-undecodable'));
      const res = await s.get('/readyz');
      assert.equal(res.status, 503);
      assert.equal(res.body.reason, 'leader-info-undecodable');
      assert.match(res.body.checks.find((c) => c.name === 'leadership')?.detail ?? '', /stream magic/);
    }
    await pair.jms[0]!.send('write-info ');
    await pair.sidecars[0]!.waitFor('empty', hasRole('unknown', 'no-leader-published'));
  });

  it('stale leader information is not taken for leadership', async () => {
    const pair = await startPair('1.15');
    await expectLeader(pair, 0);
    const published = pair.sidecars[0]!.running.store.state.election.observations[0]!.leaderInfo;
    assert.equal(published.kind, 'published');
    await pair.jms[0]!.send('resign');
    await pair.jms[1]!.waitFor(/^leader rest_server /);
    await expectLeader(pair, 1);
    // The old leader, no longer holding the latch, writes its own URL again: stale.
    const { encodeLeaderInformation } = await import('../support/leader-info-encoder.js');
    await pair.jms[0]!.send(`write-info ${encodeLeaderInformation(pair.jms[0]!.restUrl, randomUUID()).toString('hex')}`);
    for (const s of pair.sidecars) await s.waitFor('stale', hasRole('unknown', 'leader-info-stale'));
    for (const s of pair.sidecars) assert.equal((await s.get('/readyz')).status, 503);
  });

  it('a leader URL of http://localhost:8081 published by both JMs makes neither ready', async () => {
    const clusterId = newClusterId('localhost');
    const a = await startJm('1.15', clusterId, 'http://localhost:8081');
    await a.waitFor(/^leader rest_server /);
    const b = await startJm('1.15', clusterId, 'http://localhost:8081');
    // No explicit advertised address: the sidecars know only their interfaces.
    const sidecars = [await startSidecarFor(a, 'auto', clusterId, undefined), await startSidecarFor(b, 'auto', clusterId, undefined)];
    for (const s of sidecars) {
      await s.waitFor('ambiguous', hasRole('unknown', 'identity-ambiguous'));
      const res = await s.get('/readyz');
      assert.equal(res.status, 503);
      assert.equal(res.body.reason, 'identity-ambiguous');
    }
  });

  it('znodes with ACLs that need authentication give zookeeper-noauth, not a crash', async () => {
    const clusterId = newClusterId('noauth');
    // Flink with high-availability.zookeeper.client.acl: creator protects its znodes so that only
    // its own (SASL) identity may read them; a digest identity stands in for it here.
    const owner = await zk.connect(4000);
    owner.addAuthInfo('digest', Buffer.from('flink:secret'));
    const acl = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('auth', ''))];
    await new Promise<void>((resolve, reject) =>
      owner.mkdirp(`/flink${clusterId}/leader/latch`, acl, zookeeper.CreateMode.PERSISTENT, (err) => (err ? reject(err) : resolve())),
    );
    const jm = await startJm('1.15', `${clusterId}-other`);
    const sidecar = await startSidecarFor(jm, 'auto', clusterId);
    const s = await sidecar.waitFor('noauth', hasRole('unknown', 'zookeeper-noauth'));
    assert.match(s.verdict.roleDetail ?? '', /SASL/);
    const res = await sidecar.get('/readyz');
    assert.equal(res.status, 503);
    assert.equal(res.body.reason, 'zookeeper-noauth');
    assert.equal((await sidecar.get('/livez')).status, 200);
  });
});

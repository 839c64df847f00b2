/**
 * Faults in the leader information with real sidecar processes: corrupt bytes, empty data, the
 * node of another cluster-id naming our JobManager, and stale information (the latch held by a
 * session that has not published). No sidecar is ready while the information cannot be trusted,
 * and the leader's is ready within the bound once it can.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import zookeeper from 'node-zookeeper-client';
import { electionPaths } from '../../src/sources/zookeeper/paths.js';
import { FakeJobManager } from '../support/fake-jobmanager.js';
import { encodeLeaderInformation } from '../support/leader-info-encoder.js';
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

/** Flink's bytes for `address` with a fresh leader session id, as hex for `write-info`. */
const infoHex = (address: string): string => encodeLeaderInformation(address, randomUUID()).toString('hex');

/** Every sidecar's last transition says not ready, for the given reason on the first. */
async function allNotReady(c: Cluster, reason: RegExp, sinceMs: number): Promise<number> {
  const t = await c.sidecars[0]!.waitForTransition(
    `not ready (${reason})`,
    (tr) => !tr.ready && reason.test(tr.reason) && tr.atMs >= sinceMs,
    10_000,
  );
  for (const s of c.sidecars.slice(1)) {
    await s.waitForTransition(`not ready (${reason})`, (tr) => reason.test(tr.reason) && tr.atMs >= sinceMs, 10_000);
    assert.equal(s.isReady, false);
  }
  return t.atMs;
}

describe('leader information that cannot be trusted', () => {
  it('corrupt bytes, then empty data, from the leader: nobody ready; valid again: the leader ready', async (t) => {
    const scenario = 'corrupt and empty leader information';
    const c = await cluster('corrupt');
    const address = `http://127.0.0.1:${c.jms[0]!.restPort}`;
    for (const [what, hex, reason] of [
      ['corrupt bytes', 'aced0005deadbeef00ff', /^leader-info-undecodable$/],
      ['random bytes', '0011223344556677889900', /^leader-info-undecodable$/],
      ['empty data', '', /^no-leader-published$/],
    ] as const) {
      const writtenAt = monotonicNow();
      await c.jms[0]!.send(`write-info ${hex}`.trim());
      const downAt = await allNotReady(c, reason, writtenAt);
      within(t, scenario, `${what} written -> leader's sidecar not ready (log)`, downAt - writtenAt, BOUNDS.newLeaderReadyMs);
      const fixedAt = monotonicNow();
      await c.jms[0]!.send(`write-info ${infoHex(address)}`);
      await c.expectReadySince(t, scenario, 0, fixedAt, BOUNDS.newLeaderReadyMs, `valid information after ${what}`);
      await c.sidecars[1]!.waitForTransition('standby again', (tr) => tr.to === 'standby' && tr.atMs >= fixedAt, 10_000);
    }
    await c.verifySafety(t, scenario);
  });

  it("another cluster-id's node naming our JobManager is ignored", async (t) => {
    const scenario = 'node of another cluster-id';
    const c = await cluster('own');
    // A JobManager of another cluster on the same ZooKeeper whose published address is the URL
    // of our standby's JobManager (a copied configuration, say).
    const other = await FakeJobManager.start({
      zookeeper: zk.connectString,
      layout: '1.15',
      clusterId: `/rel-other-${randomUUID().slice(0, 8)}`,
      restAddress: `http://127.0.0.1:${c.jms[1]!.restPort}`,
      sessionTimeoutMs: BOUNDS.settings.jmSessionTimeoutMs,
    });
    zk.cleanup(() => other.stop());
    await other.waitFor(/^leader rest_server /);
    // Our cluster loses every contender: nobody leads it, whatever the other cluster says.
    const resignedAt = monotonicNow();
    await c.jms[1]!.send('resign');
    await c.jms[0]!.send('resign');
    await allNotReady(c, /^no-contenders$/, resignedAt);
    assert.equal(c.sidecars[1]!.transitions.at(-1)!.to, 'unknown');
    const since = c.jms[1]!.events.length;
    await c.jms[1]!.send('join');
    await c.expectReadyLeader(t, scenario, 1, since, BOUNDS.newLeaderReadyMs);
    await c.verifySafety(t, scenario);
  });

  it('stale information: the latch holder has not published; nobody ready until the next leader publishes', async (t) => {
    const scenario = 'stale leader information';
    const c = await cluster('stale');
    const paths = electionPaths({ root: '/flink', clusterId: c.clusterId, latchDir: '/leaderlatch', leaderDir: '/leader' }).find(
      (p) => p.layout === '1.15',
    )!;
    // Queue order: jm0 (leads), a contender that never publishes, then jm1.
    await c.jms[1]!.send('resign');
    const client = await zk.connect(4000);
    const node = await new Promise<string>((resolve, reject) =>
      client.create(`${paths.latchPath}/_c_${randomUUID()}-latch-`, Buffer.alloc(0), zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL, (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    await c.jms[1]!.send('join');
    const resignedAt = monotonicNow();
    // jm0 resigns as Flink 1.18+ does: its information node stays, written by a session that no
    // longer holds the latch.
    await c.jms[0]!.send('resign');
    const downAt = await allNotReady(c, /^leader-info-stale$/, resignedAt);
    within(t, scenario, 'leader resigned -> its sidecar not ready (log)', downAt - resignedAt, BOUNDS.newLeaderReadyMs);
    const since = c.jms[1]!.events.length;
    await new Promise<void>((resolve, reject) => client.remove(node, -1, (err) => (err ? reject(err) : resolve())));
    await c.expectReadyLeader(t, scenario, 1, since, BOUNDS.newLeaderReadyMs);
    await c.verifySafety(t, scenario);
  });
});

/**
 * The sidecar beside real Flink JobManagers, for each version in FLINK_VERSIONS: two JobManagers
 * and two sidecar processes (dist/main.js), each sidecar reading its JobManager's own conf dir
 * (FLINK_CONF_DIR, no setting written twice). Who leads is read from Flink (its logs and what it
 * writes to ZooKeeper), never from the sidecars. Covered:
 * - exactly one sidecar ready, the one beside the JobManager Flink made leader; the other standby;
 * - SIGTERM of the leader (Flink gives up leadership itself): the other ready within 1 s of the new
 *   leader's write; kill -9: within Flink's session timeout + 2 s; SIGSTOP: the frozen leader's
 *   sidecar not ready within check interval + timeout + 0.5 s;
 * - ZooKeeper stopped: the real JobManagers answer Flink's election 503, which the sidecars report
 *   as jm-reports-no-leader; restarted: one sidecar ready again;
 * - throughout, /readyz of both sampled every 5 ms: never two ready beyond the 50 ms docs/reliability.md states.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type zookeeper from 'node-zookeeper-client';
import { classifyAnswer } from '../../src/sources/flink-rest/classify.js';
import { longestOverlap, readyIntervalsFromLog, ReadinessSampler } from '../reliability/lib/readiness.js';
import { FlinkSidecarCluster, type ClusterMember } from '../support/flink-cluster.js';
import { FLINK_VERSIONS, fetchFlink, waitForLeader } from '../support/flink-jobmanager.js';
import { monotonicNow } from '../support/sidecar-process.js';
import { connectClient } from '../support/znodes.js';
import { startZooKeeper, type ZooKeeperServer } from '../support/zookeeper-server.js';

/** Flink's session (the JobManagers'): short, so a killed leader's session expires soon. */
const SESSION_TIMEOUT_MS = 4000;
const CHECK_INTERVAL_MS = 1000;
const CHECK_TIMEOUT_MS = 500;
/** docs/reliability.md, Real Flink: ZooKeeper restarted → a sidecar ready again. */
const ZOOKEEPER_BACK_BOUND_MS = 20_000;
/** docs/reliability.md, Reliability: two sidecars ready at the same instant, at most. */
const OVERLAP_BOUND_MS = 50;
// Generous bounds that catch hangs (2 cores, two JVMs and two sidecars at a time).
const FETCH_TIMEOUT_MS = 15 * 60_000;
const TEST_TIMEOUT_MS = 4 * 60_000;
const LEADER_TIMEOUT_MS = 120_000;

let zk: ZooKeeperServer;
let client: zookeeper.Client;

before(
  async () => {
    for (const version of FLINK_VERSIONS) await fetchFlink(version);
    zk = await startZooKeeper();
    client = await connectClient(zk.connectString);
  },
  { timeout: FETCH_TIMEOUT_MS },
);

after(async () => {
  client?.close();
  await zk?.destroy();
});

const ms = (value: number): string => `${Math.round(value)} ms`;

for (const version of FLINK_VERSIONS) {
  describe(`Flink ${version}: two JobManagers, two sidecars`, () => {
    const clusterId = `sidecar-${version.replaceAll('.', '_')}-${randomBytes(4).toString('hex')}`;
    let cluster: FlinkSidecarCluster;
    let members: ClusterMember[];
    let sampler: ReadinessSampler;

    before(
      async () => {
        cluster = await FlinkSidecarCluster.start(
          {
            version,
            zookeeper: zk.connectString,
            clusterId,
            sessionTimeoutMs: SESSION_TIMEOUT_MS,
            sidecar: { checkIntervalMs: CHECK_INTERVAL_MS, checkTimeoutMs: CHECK_TIMEOUT_MS },
          },
          client,
        );
        members = cluster.members;
        sampler = new ReadinessSampler(members.map((m, i) => ({ name: `sidecar-${i}`, url: m.sidecar.url })));
        sampler.start();
      },
      { timeout: TEST_TIMEOUT_MS },
    );

    after(async () => {
      await sampler?.stop();
      await cluster?.stop();
    });

    const settledLeader = () => cluster.settledLeader();
    const restart = (m: ClusterMember) => cluster.restart(m);

    test('exactly one sidecar is ready: the one beside the JobManager Flink made leader', { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const { leader, standby, writtenAtMs } = await settledLeader();
      const readyAt = leader.sidecar.transitions.find((x) => x.ready)!.atMs;
      t.diagnostic(`${version}: leader's write → its sidecar ready ${ms(readyAt - writtenAtMs)}`);
      await standby.sidecar.waitForCurrent('standby', (x) => x.to === 'standby', 30_000);
      assert.equal(standby.sidecar.isReady, false);
      assert.equal((await fetch(`${leader.sidecar.url}/readyz`)).status, 200);
      assert.equal((await fetch(`${standby.sidecar.url}/readyz`)).status, 503);
      // A healthy standby: passes once its JobManager, too, knows the leader (it answers the
      // election 503 until then).
      await waitForStatus(`${standby.sidecar.url}/readyz?standbyok=true`, 200, 30_000);
    });

    test(
      'SIGTERM of the leader: Flink gives leadership up, the other sidecar is ready within 1 s of the new write',
      { timeout: TEST_TIMEOUT_MS },
      async (t) => {
        const { leader, standby } = await settledLeader();
        const signalledAt = monotonicNow();
        await leader.jm.kill('SIGTERM');
        await leader.jm.exited;
        const next = await settledLeader();
        assert.equal(next.leader, standby);
        const readyAt = standby.sidecar.transitions.findLast((x) => x.ready)!.atMs;
        t.diagnostic(
          `${version}: SIGTERM → new write ${ms(next.writtenAtMs - signalledAt)}; write → ready ${ms(readyAt - next.writtenAtMs)}`,
        );
        assert.ok(readyAt - next.writtenAtMs <= 1000, `ready ${ms(readyAt - next.writtenAtMs)} after the new leader's write`);
        await leader.sidecar.waitUntilNotReady(5000);
        await restart(leader);
      },
    );

    test(
      "kill -9 of the leader: the other sidecar is ready within Flink's session timeout + 2 s",
      { timeout: TEST_TIMEOUT_MS },
      async (t) => {
        const { leader, standby } = await settledLeader();
        const killedAt = monotonicNow();
        await leader.jm.kill('SIGKILL');
        const gone = await leader.sidecar.waitUntilNotReady(10_000);
        const next = await settledLeader();
        assert.equal(next.leader, standby);
        const readyAt = standby.sidecar.transitions.findLast((x) => x.ready)!.atMs;
        t.diagnostic(
          `${version}: kill -9 → old not ready ${ms((gone?.atMs ?? killedAt) - killedAt)}, → new ready ${ms(readyAt - killedAt)}`,
        );
        assert.ok(readyAt - killedAt <= SESSION_TIMEOUT_MS + 2000, `new leader's sidecar ready ${ms(readyAt - killedAt)} after kill -9`);
        await restart(leader);
      },
    );

    test(
      'SIGSTOP of the leader: its sidecar is not ready within check interval + timeout + 0.5 s',
      { timeout: TEST_TIMEOUT_MS },
      async (t) => {
        const { leader, standby } = await settledLeader();
        const frozenAt = monotonicNow();
        await leader.jm.kill('SIGSTOP');
        const notReady = await leader.sidecar.waitUntilNotReady(10_000);
        const after = notReady!.atMs - frozenAt;
        t.diagnostic(`${version}: SIGSTOP → its sidecar not ready ${ms(after)} (${notReady!.reason})`);
        assert.ok(after <= CHECK_INTERVAL_MS + CHECK_TIMEOUT_MS + 500, `not ready ${ms(after)} after SIGSTOP`);
        // Its session expires and Flink elects the other; the frozen one is replaced, not thawed.
        const since = new Map([[standby.jm, (await standby.jm.logLines()).length]]);
        await waitForLeader([standby.jm], LEADER_TIMEOUT_MS, since);
        await restart(leader);
        assert.equal((await settledLeader()).leader, standby);
      },
    );

    test(
      "ZooKeeper stopped: the JobManagers answer Flink's election 503 (jm-reports-no-leader); restarted: one ready again",
      { timeout: TEST_TIMEOUT_MS },
      async (t) => {
        await settledLeader();
        await zk.stop();
        try {
          for (const m of members) {
            await m.sidecar.waitForCurrent('not ready', (x) => !x.ready, 10_000);
            // The JobManager's own leader retrieval lost ZooKeeper: every endpoint answers the election 503.
            const answer = await waitForElection503(m.conf.restUrl, 30_000);
            const outcome = classifyAnswer(answer.status, answer.contentType, answer.body);
            assert.equal(outcome.healthy ? 'healthy' : outcome.reason, 'jm-reports-no-leader', answer.body);
            const verbose = await m.sidecar.waitForVerbose(/jobmanager failed: jm-reports-no-leader/, 30_000);
            assert.match(verbose, /\[-\]zookeeper failed/);
          }
        } finally {
          const restartedAt = monotonicNow();
          await zk.start();
          t.diagnostic(`${version}: ZooKeeper restarted`);
          // This test's own client may have lost its session while the server was down (a client
          // whose session expired is dead for good): watch with a new one.
          client.close();
          client = await connectClient(zk.connectString);
          cluster.client = client;
          const { leader } = await settledLeader();
          const readyAt = leader.sidecar.transitions.findLast((x) => x.ready)!.atMs;
          t.diagnostic(`${version}: ZooKeeper back → a sidecar ready ${ms(readyAt - restartedAt)}`);
          assert.ok(
            readyAt - restartedAt <= ZOOKEEPER_BACK_BOUND_MS,
            `a sidecar ready ${ms(readyAt - restartedAt)} after ZooKeeper's restart`,
          );
        }
      },
    );

    test(`never two sidecars ready at once beyond ${OVERLAP_BOUND_MS} ms (sampled every 5 ms, and from the transition logs)`, async (t) => {
      await sampler.stop();
      const end = monotonicNow();
      const sampled = longestOverlap(new Map(members.map((_m, i) => [`sidecar-${i}`, sampler.readyIntervals(`sidecar-${i}`)])));
      const logged = longestOverlap(new Map(members.map((m, i) => [`sidecar-${i}`, readyIntervalsFromLog(m.sidecar, end)])));
      const samples = members.map((_m, i) => sampler.samples.get(`sidecar-${i}`)?.length ?? 0);
      t.diagnostic(
        `${version}: ${samples.join(' + ')} samples; longest overlap sampled ${sampled?.ms ?? 0} ms, logged ${logged?.ms ?? 0} ms`,
      );
      assert.ok(
        samples.every((n) => n > 1000),
        'the sampler ran',
      );
      assert.ok((sampled?.ms ?? 0) <= OVERLAP_BOUND_MS, `sampled overlap ${JSON.stringify(sampled)}`);
      assert.ok((logged?.ms ?? 0) <= OVERLAP_BOUND_MS, `logged overlap ${JSON.stringify(logged)}`);
    });
  });
}

/** GET /config of a real JobManager until it answers Flink's election 503; its status, type and body. */
async function waitForElection503(
  restUrl: string,
  timeoutMs: number,
): Promise<{ status: number; contentType: string | undefined; body: string }> {
  const deadline = monotonicNow() + timeoutMs;
  let last = 'no answer yet';
  while (monotonicNow() < deadline) {
    try {
      const res = await fetch(`${restUrl}/config`, { signal: AbortSignal.timeout(2000) });
      const body = await res.text();
      if (res.status === 503) return { status: res.status, contentType: res.headers.get('content-type') ?? undefined, body };
      last = `${res.status} ${body.slice(0, 80)}`;
    } catch (err) {
      last = String(err);
    }
    // The JobManager notices the lost connection on its own schedule: ask again shortly.
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${restUrl}/config: no election 503 within ${timeoutMs} ms; last: ${last}`);
}

/** GET url until it answers `status`; bounded, asking every 100 ms (nothing logs a standby's JM turning healthy). */
async function waitForStatus(url: string, status: number, timeoutMs: number): Promise<void> {
  const deadline = monotonicNow() + timeoutMs;
  let last = 0;
  while (monotonicNow() < deadline) {
    last = (await fetch(url)).status;
    if (last === status) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${url}: ${last}, not ${status}, for ${timeoutMs} ms`);
}

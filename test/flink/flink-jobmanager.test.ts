/**
 * The real-Flink test support works: for each version in FLINK_VERSIONS, two real JobManagers on
 * one test ZooKeeper elect exactly one leader (by Flink's own logs), publish it where the sidecar
 * reads it, and fail over when the leader dies; Flink's own GlobalConfiguration reads the conf dirs
 * written for it as intended.
 *
 * Run alone (it starts 4 JVMs at a time and fetches Flink on first use):
 *   node --import tsx --test --test-concurrency=1 test/flink/flink-jobmanager.test.ts
 * Measurements (start time, RSS, failover time) are printed as test diagnostics.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import type zookeeper from 'node-zookeeper-client';
import { decodeLeaderInformation } from '../../src/sources/zookeeper/leader-info.js';
import {
  FLINK_1_17,
  FLINK_VERSIONS,
  LOST_LEADERSHIP,
  dumpFlinkConfig,
  fetchFlink,
  flinkAtLeast,
  sessionTimeoutValue,
  startFlinkJobManager,
  waitForLeader,
  whoLeads,
  writeFlinkConfDir,
  type FlinkConfDir,
  type FlinkJobManager,
} from '../support/flink-jobmanager.js';
import { sharedZooKeeper, type ZooKeeperServer } from '../support/zookeeper-server.js';
import { connectClient, readZnodes, waitForZnode } from '../support/znodes.js';

// Generous bounds: they exist to catch hangs, not to measure (2 cores, 4 JVMs at a time).
const FETCH_TIMEOUT_MS = 15 * 60_000;
const TEST_TIMEOUT_MS = 5 * 60_000;
const LEADER_TIMEOUT_MS = 120_000;
const ZNODE_TIMEOUT_MS = 30_000;
/** Short, so that a killed leader's session expires soon; the test ZooKeeper's tickTime is 1000. */
const SESSION_TIMEOUT_MS = 4000;

let zk: ZooKeeperServer;
let client: zookeeper.Client;
const jobManagers: FlinkJobManager[] = [];
const confDirs: FlinkConfDir[] = [];

before(
  async () => {
    // Fetched up front so that a cold cache does not eat into a test's own bound.
    for (const version of [...FLINK_VERSIONS, FLINK_1_17]) await fetchFlink(version);
    zk = await sharedZooKeeper();
    client = await connectClient(zk.connectString);
  },
  { timeout: FETCH_TIMEOUT_MS },
);

after(async () => {
  await Promise.all(jobManagers.map((jm) => jm.kill('SIGKILL')));
  await Promise.all(confDirs.map((conf) => conf.remove()));
  client?.close();
  await zk?.destroy();
});

function uniqueClusterId(version: string): string {
  return `flink-jm-test-${version.replaceAll('.', '_')}-${randomBytes(4).toString('hex')}`;
}

/** Two JobManagers of one cluster: own conf dirs and ports, one cluster-id and HA storage dir. */
async function startPair(t: TestContext, version: string): Promise<{ clusterId: string; jms: FlinkJobManager[] }> {
  const clusterId = uniqueClusterId(version);
  const first = await writeFlinkConfDir({
    version,
    zookeeperQuorum: zk.connectString,
    clusterId,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
  });
  const second = await writeFlinkConfDir({
    version,
    zookeeperQuorum: zk.connectString,
    clusterId,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    storageDir: first.storageDir,
  });
  confDirs.push(first, second);
  const jms = await Promise.all(
    [first, second].map(async (confDir) => {
      const calledAt = performance.now();
      const jm = await startFlinkJobManager({ version, confDir });
      jobManagers.push(jm);
      t.diagnostic(
        `${version} JM pid ${jm.pid}: REST accepts connections ${ms(jm.restReadyAtMs - jm.spawnedAtMs)} ` +
          `after spawn (${ms(jm.restReadyAtMs - calledAt)} with BashJavaUtils)`,
      );
      return jm;
    }),
  );
  return { clusterId, jms };
}

/**
 * Resolves once the rest_server, dispatcher and resource_manager nodes of the cluster all name
 * this leader session: the leader has confirmed every component, so the hand-over is complete.
 */
async function waitForSettledLeader(clusterId: string, sessionId: string): Promise<void> {
  await Promise.all(
    ['rest_server', 'dispatcher', 'resource_manager'].map((component) =>
      waitForZnode(
        client,
        `/flink/${clusterId}/leader/${component}/connection_info`,
        (s) => s.data !== undefined && decodeLeaderInformation(s.data)?.sessionId === sessionId,
        ZNODE_TIMEOUT_MS,
      ),
    ),
  );
}

for (const version of FLINK_VERSIONS) {
  describe(`Flink ${version}`, () => {
    test(
      'two JobManagers elect exactly one leader, publish it in ZooKeeper and fail over on kill -9',
      { timeout: TEST_TIMEOUT_MS },
      async (t) => {
        const { clusterId, jms } = await startPair(t, version);
        const connectionInfo = `/flink/${clusterId}/leader/rest_server/connection_info`;

        const { leader, line } = await waitForLeader(jms, LEADER_TIMEOUT_MS);
        const follower = jms.find((jm) => jm !== leader)!;
        const sessionId = line.match[2];
        assert.equal(line.match[1], leader.restUrl, "the grant names the leader's own REST URL");

        // Both take part in the election (one latch node each), and only one says it was granted.
        await waitForZnode(client, `/flink/${clusterId}/leader/latch`, (s) => s.children?.length === 2, ZNODE_TIMEOUT_MS, 'children');
        assert.deepEqual(await whoLeads(jms), [leader]);

        // Flink logs the grant before it writes the nodes: wait for the writes.
        await waitForSettledLeader(clusterId, sessionId!);
        const [published] = await readZnodes(client, [connectionInfo]);
        assert.deepEqual(decodeLeaderInformation(published), { address: leader.restUrl, sessionId });

        const answer = await fetch(`${leader.restUrl}/overview`);
        t.diagnostic(
          `${version} leader's GET /overview: ${answer.status}; RSS leader ${await leader.rssKiB()} KiB, ` +
            `follower ${await follower.rssKiB()} KiB`,
        );

        const since = new Map([[follower, (await follower.logLines()).length]]);
        const killedAt = performance.now();
        await leader.kill('SIGKILL');
        const takeover = await waitForLeader([follower], LEADER_TIMEOUT_MS, since);
        t.diagnostic(`${version} failover after kill -9: ${ms(performance.now() - killedAt)} (session timeout ${SESSION_TIMEOUT_MS} ms)`);
        assert.deepEqual(await whoLeads(jms), [follower]);
        const republished = await waitForZnode(
          client,
          connectionInfo,
          (s) => s.data !== undefined && decodeLeaderInformation(s.data)?.address === follower.restUrl,
          ZNODE_TIMEOUT_MS,
        );
        assert.deepEqual(decodeLeaderInformation(republished.data), { address: follower.restUrl, sessionId: takeover.line.match[2] });
        await waitForSettledLeader(clusterId, takeover.line.match[2]!);
      },
    );

    test(
      'a SIGSTOPped leader is replaced, and on SIGCONT it leads no more: it logs the loss and stays a contender, or Flink ends it',
      { timeout: TEST_TIMEOUT_MS },
      async (t) => {
        const { clusterId, jms } = await startPair(t, version);
        const { leader: first, line: granted } = await waitForLeader(jms, LEADER_TIMEOUT_MS);
        const second = jms.find((jm) => jm !== first)!;
        // A signal while a JobManager is still taking up leadership makes for other stories (see the
        // report of this support code): act on settled leaders only.
        await waitForSettledLeader(clusterId, granted.match[2]!);

        // SIGSTOP: nothing happens until the stopped leader's ZooKeeper session expires.
        const firstLines = (await first.logLines()).length;
        const stoppedAt = performance.now();
        await first.kill('SIGSTOP');
        const takeover = await waitForLeader([second], LEADER_TIMEOUT_MS, new Map([[second, (await second.logLines()).length]]));
        t.diagnostic(`${version} failover after SIGSTOP: ${ms(performance.now() - stoppedAt)}`);
        // The stopped JVM cannot log its loss: by the logs both lead until it runs again.
        assert.equal((await whoLeads(jms)).length, 2);
        const resumedAt = performance.now();
        await first.kill('SIGCONT');
        // Usually the old leader learns that its session expired and logs the loss. Flink 1.18 can
        // first try to write its leader information again, on the expired session, and that error
        // is fatal to the JobManager: it exits. Either way it leads no more.
        const loss = await first.waitForLog(LOST_LEADERSHIP, LEADER_TIMEOUT_MS, { since: firstLines }).then(
          () => 'logged' as const,
          (err: unknown) => {
            if (first.isRunning()) throw err;
            return 'exited' as const;
          },
        );
        if (loss === 'logged') {
          t.diagnostic(`${version} after SIGCONT the old leader logged 'lost leadership' within ${ms(performance.now() - resumedAt)}`);
          assert.ok(first.isRunning(), 'the old leader stays up, as a contender, after SIGCONT');
        } else {
          const after = (await first.logLines()).slice(firstLines).join('\n');
          assert.match(after, /Fatal error occurred in the cluster entrypoint/);
          assert.match(after, /Exception during leader election/);
          t.diagnostic(`${version} after SIGCONT the old leader hit a fatal leader-election error and exited`);
        }
        assert.deepEqual(await whoLeads(jms), [second]);
        await waitForSettledLeader(clusterId, takeover.line.match[2]!);
      },
    );

    test('SIGTERM hands leadership over at once, without waiting for a session to expire', { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const { clusterId, jms } = await startPair(t, version);
      const connectionInfo = `/flink/${clusterId}/leader/rest_server/connection_info`;
      const { leader, line: granted } = await waitForLeader(jms, LEADER_TIMEOUT_MS);
      const other = jms.find((jm) => jm !== leader)!;
      await waitForSettledLeader(clusterId, granted.match[2]!);

      // Flink's shutdown removes the leader's nodes itself; no session expiry to wait for.
      const handover = waitForLeader([other], LEADER_TIMEOUT_MS, new Map([[other, (await other.logLines()).length]]));
      const termAt = performance.now();
      await leader.stop();
      const exit = await leader.exited;
      const exitedAfterMs = performance.now() - termAt;
      await handover;
      t.diagnostic(
        `${version} SIGTERM: the leader exited (${exit.code ?? exit.signal}) after ${ms(exitedAfterMs)}, ` +
          `the other JM led ${ms(performance.now() - termAt)} after the signal`,
      );
      assert.equal(exit.code, 143, 'Flink exits 128 + SIGTERM after a graceful shutdown');
      assert.ok(performance.now() - termAt < SESSION_TIMEOUT_MS, 'handed over without waiting for a session to expire');
      await waitForZnode(
        client,
        connectionInfo,
        (s) => s.data !== undefined && decodeLeaderInformation(s.data)?.address === other.restUrl,
        ZNODE_TIMEOUT_MS,
      );
      assert.deepEqual(await whoLeads(jms), [other]);
    });

    test('dumpFlinkConfig reads a written conf dir as Flink does', { timeout: TEST_TIMEOUT_MS }, async () => {
      const clusterId = uniqueClusterId(version);
      const conf = await writeFlinkConfDir({
        version,
        zookeeperQuorum: zk.connectString,
        clusterId,
        sessionTimeoutMs: SESSION_TIMEOUT_MS,
        pathRoot: '/flink-root',
        // Flink's standard YAML accepts nested keys; the legacy flink-conf.yaml reader does not.
        layout: flinkAtLeast(version, 1, 19) ? 'nested' : 'flat',
      });
      confDirs.push(conf);
      const read = await dumpFlinkConfig(version, conf.dir);
      assert.equal(read['high-availability.cluster-id'], clusterId);
      assert.equal(read['high-availability.type'], 'zookeeper');
      assert.equal(read['high-availability.zookeeper.quorum'], zk.connectString);
      assert.equal(read['high-availability.zookeeper.path.root'], '/flink-root');
      assert.equal(read['high-availability.zookeeper.client.session-timeout'], sessionTimeoutValue(version, SESSION_TIMEOUT_MS));
      assert.equal(read['rest.port'], String(conf.restPort));
    });
  });
}

test(`Flink ${FLINK_1_17} does not start on Java 17 the way flink-dist 1.17 starts it`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if ((await javaMajorVersion()) < 17) {
    t.skip('needs Java 17 or newer');
    return;
  }
  const conf = await writeFlinkConfDir({ version: FLINK_1_17, zookeeperQuorum: zk.connectString, clusterId: uniqueClusterId(FLINK_1_17) });
  confDirs.push(conf);
  await assert.rejects(
    startFlinkJobManager({ version: FLINK_1_17, confDir: conf }),
    /IllegalAccessError: class org\.apache\.flink\.util\.NetUtils .* cannot access class sun\.net\.util\.IPAddressUtil/,
  );
});

async function javaMajorVersion(): Promise<number> {
  const { stderr } = await promisify(execFile)('java', ['-XshowSettings:properties', '-version']);
  const spec = /java\.specification\.version = (\d+)(?:\.(\d+))?/.exec(stderr);
  if (spec === null) throw new Error(`no java.specification.version in:\n${stderr}`);
  return spec[1] === '1' ? Number(spec[2]) : Number(spec[1]);
}

function ms(value: number): string {
  return `${Math.round(value)} ms`;
}

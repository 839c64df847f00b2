/**
 * Checks the integration-test infrastructure itself against a real ZooKeeper: the ZooKeeper server
 * helper (start, stop/start with sessions surviving) and the FakeJobManager in each Flink layout
 * (one leader, Flink's znodes and data, leadership moving on resign and on a crash), plus its
 * scriptable REST API. If these fail, every other integration test is suspect.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { before, describe, test } from 'node:test';
import zookeeper from 'node-zookeeper-client';
import { FakeJobManager, type FakeJobManagerOptions, type Layout } from '../support/fake-jobmanager.js';
import { useZooKeeper } from '../support/zookeeper-fixture.js';

const SESSION_TIMEOUT_MS = 4000;
/** Expiry is detected on tick boundaries (1 s) after the timeout; JVM scheduling adds a little. */
const FAILOVER_BOUND_MS = SESSION_TIMEOUT_MS + 8000;
const LATCH_CHILD = /^_c_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-latch-(\d{10})$/;

interface LayoutPaths {
  latchDir(ns: string): string;
  restServerInfo(ns: string): string;
}

const LAYOUTS: Record<Layout, LayoutPaths> = {
  '1.15': {
    latchDir: (ns) => `${ns}/leader/latch`,
    restServerInfo: (ns) => `${ns}/leader/rest_server/connection_info`,
  },
  '1.14': {
    latchDir: (ns) => `${ns}/leader/rest_server/latch`,
    restServerInfo: (ns) => `${ns}/leader/rest_server/connection_info`,
  },
  '1.13': {
    latchDir: (ns) => `${ns}/leaderlatch/rest_server_lock`,
    restServerInfo: (ns) => `${ns}/leader/rest_server_lock`,
  },
};

describe('test support: ZooKeeper server and FakeJobManager', () => {
  // This file restarts ZooKeeper, so it needs its own server rather than the shared one.
  const zk = useZooKeeper({ own: true });
  let client: zookeeper.Client | undefined;
  const jobManagers: FakeJobManager[] = [];

  const zkClient = (): zookeeper.Client => {
    assert.ok(client, 'ZooKeeper client did not connect');
    return client;
  };
  const startJobManager = async (opts: Omit<FakeJobManagerOptions, 'zookeeper'>): Promise<FakeJobManager> => {
    const jobManager = await FakeJobManager.start({
      zookeeper: zk.connectString,
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      ...opts,
    });
    jobManagers.push(jobManager);
    return jobManager;
  };

  before(async () => {
    client = await zk.connect();
    zk.cleanup(() => Promise.allSettled(jobManagers.map((jobManager) => jobManager.stop())));
  });

  for (const layout of Object.keys(LAYOUTS) as Layout[]) {
    test(`${layout} layout: one leader, Flink's znodes, leadership moves on resign and on SIGKILL`, async () => {
      const paths = LAYOUTS[layout];
      const clusterId = `/support-${layout.replace('.', '')}-${randomUUID().slice(0, 8)}`;
      const ns = `/flink${clusterId}`;
      const [first, second] = await Promise.all([startJobManager({ layout, clusterId }), startJobManager({ layout, clusterId })]);
      const leader = await firstToLead([first, second]);
      const standby = leader === first ? second : first;
      assert.equal(leader.isLeader(), true);
      assert.equal(standby.isLeader(), false);

      // start() resolves on the session; the latch node follows asynchronously.
      await eventually(async () => assert.equal((await getChildren(zkClient(), paths.latchDir(ns))).length, 2));
      await assertLatchLedBy(zkClient(), paths.latchDir(ns), leader, [first, second]);
      await assertPublishedBy(zkClient(), paths.restServerInfo(ns), leader);

      // resign: the latch is closed, the standby takes over at once (no session has to expire).
      let since = standby.events.length;
      await leader.send('resign');
      assert.equal(leader.isLeader(), false, 'resign replies after notLeader has run');
      await standby.waitFor(/^leader rest_server /, 10_000, since);
      await assertPublishedBy(zkClient(), paths.restServerInfo(ns), standby);
      await leader.send('join');

      // SIGKILL: nothing is cleaned up; leadership moves only when the killed JM's session expires.
      since = leader.events.length;
      const killedAt = performance.now();
      standby.kill('SIGKILL');
      await leader.waitFor(/^leader rest_server /, FAILOVER_BOUND_MS, since);
      const failoverMs = performance.now() - killedAt;
      assert.ok(failoverMs > SESSION_TIMEOUT_MS / 2, `leadership moved after ${failoverMs} ms, before the session could expire`);
      await assertPublishedBy(zkClient(), paths.restServerInfo(ns), leader);
      await assertLatchLedBy(zkClient(), paths.latchDir(ns), leader, [leader]);
    });
  }

  test('resign: 1.18+ leaves stale information behind, --revoke-writes-empty clears it as 1.15-1.17 did', async () => {
    const suffix = randomUUID().slice(0, 8);
    const [current, legacy] = await Promise.all([
      startJobManager({ layout: '1.15', clusterId: `/support-revoke-${suffix}` }),
      startJobManager({ layout: '1.15', clusterId: `/support-revoke-empty-${suffix}`, revokeWritesEmpty: true }),
    ]);
    await Promise.all([current.waitFor(/^leader rest_server /), legacy.waitFor(/^leader rest_server /)]);
    await Promise.all([current.send('resign'), legacy.send('resign')]);

    const [stale, staleStat] = await getData(zkClient(), LAYOUTS['1.15'].restServerInfo(`/flink/support-revoke-${suffix}`));
    assert.ok(stale?.includes(Buffer.from(current.restUrl)), 'the old leader information stays');
    assert.deepEqual(staleStat.ephemeralOwner, Buffer.from(current.sessionId, 'hex'));
    const [cleared, clearedStat] = await getData(zkClient(), LAYOUTS['1.15'].restServerInfo(`/flink/support-revoke-empty-${suffix}`));
    assert.equal(cleared, undefined, 'Flink writes null data, which node-zookeeper-client returns as undefined');
    assert.equal(clearedStat.dataLength, 0);
    assert.deepEqual(clearedStat.ephemeralOwner, Buffer.from(legacy.sessionId, 'hex'), 'the node itself stays');
  });

  test('REST API: auto follows leader retrieval, scripted modes answer as told', async () => {
    const jobManager = await startJobManager({ layout: '1.15', clusterId: `/support-rest-${randomUUID().slice(0, 8)}` });
    await jobManager.waitFor(/^leader rest_server /);
    await eventually(async () => assert.equal((await get(jobManager, '/config')).status, 200));
    const config = await get(jobManager, '/config');
    assert.equal(config.headers.get('content-type'), 'application/json; charset=UTF-8');
    assert.equal(((await config.json()) as { 'flink-version': string })['flink-version'], '1.20.0');
    assert.deepEqual(await (await get(jobManager, '/jobmanager/config')).json(), [
      { key: 'rest.address', value: '127.0.0.1' },
      { key: 'rest.port', value: String(jobManager.restPort) },
    ]);
    const notFound = await get(jobManager, '/x');
    assert.equal(notFound.status, 404);
    assert.deepEqual(await notFound.json(), { errors: ['Not found: /x'] });

    // Without published information the JM's own leader retrieval knows no leader: Flink's 503.
    await jobManager.send('delete-info');
    await eventually(async () => assert.equal((await get(jobManager, '/config')).status, 503));
    assert.deepEqual(await (await get(jobManager, '/config')).json(), {
      errors: ['Service temporarily unavailable due to an ongoing leader election. Please refresh.'],
    });

    await jobManager.send('rest ok');
    assert.equal((await get(jobManager, '/config')).status, 200);
    await jobManager.send('rest 500');
    assert.equal((await get(jobManager, '/config')).status, 500);
    await jobManager.send('rest redirect http://127.0.0.1:9/elsewhere');
    const redirect = await get(jobManager, '/config');
    assert.equal(redirect.status, 307);
    assert.equal(redirect.headers.get('location'), 'http://127.0.0.1:9/elsewhere');
    await jobManager.send('rest hang');
    await assert.rejects(get(jobManager, '/config', 300), { name: 'TimeoutError' });
    await assert.rejects(jobManager.send('rest nonsense'), /unknown rest mode nonsense/);
  });

  test('ZooKeeper stop and start within the session timeout: the session and the leader survive', async () => {
    const jobManager = await startJobManager({ layout: '1.15', clusterId: `/support-restart-${randomUUID().slice(0, 8)}` });
    await jobManager.waitFor(/^leader rest_server /);
    const sessionBefore = jobManager.sessionId;
    const since = jobManager.events.length;

    await zk.server.stop();
    await jobManager.waitFor(/^connection SUSPENDED$/, 5000, since);
    // Flink's default (tolerate-suspended-connections: false): a suspended leader gives up at once.
    await jobManager.waitFor(/^not-leader rest_server$/, 5000, since);
    assert.equal((await get(jobManager, '/config')).status, 503);

    await zk.server.start();
    await jobManager.waitFor(/^connection RECONNECTED$/, SESSION_TIMEOUT_MS + 2000, since);
    await jobManager.waitFor(/^leader rest_server /, 10_000, since);
    assert.equal(jobManager.sessionId, sessionBefore, 'the session outlived the restart');
    assert.equal(jobManager.events.slice(since).filter((event) => event.line.startsWith('session ')).length, 0);
    await eventually(async () => assert.equal((await get(jobManager, '/config')).status, 200));
  });
});

/** The JM of `candidates` that first reports leading rest_server. */
async function firstToLead(candidates: FakeJobManager[]): Promise<FakeJobManager> {
  return Promise.any(
    candidates.map(async (jobManager) => {
      await jobManager.waitFor(/^leader rest_server /);
      return jobManager;
    }),
  );
}

/** Latch children are Curator's, one per contender, and the lowest sequence belongs to the leader. */
async function assertLatchLedBy(
  client: zookeeper.Client,
  latchDir: string,
  leader: FakeJobManager,
  contenders: FakeJobManager[],
): Promise<void> {
  const children = await getChildren(client, latchDir);
  assert.equal(children.length, contenders.length, `latch children: ${children.join(', ')}`);
  const owned: Array<{ sequence: number; owner: string }> = [];
  for (const child of children) {
    const match = LATCH_CHILD.exec(child);
    assert.ok(match?.[1], `latch child ${child} is not _c_<uuid>-latch-<10 digits>`);
    const stat = await exists(client, `${latchDir}/${child}`);
    owned.push({ sequence: Number(match[1]), owner: stat.ephemeralOwner.toString('hex') });
  }
  assert.deepEqual(owned.map((entry) => entry.owner).sort(), contenders.map((jobManager) => jobManager.sessionId).sort());
  const lowest = owned.reduce((a, b) => (b.sequence < a.sequence ? b : a));
  assert.equal(lowest.owner, leader.sessionId, "the lowest latch child is the leader's");
}

/** The rest_server node is the leader's EPHEMERAL node holding Flink's serialized LeaderInformation. */
async function assertPublishedBy(client: zookeeper.Client, infoPath: string, leader: FakeJobManager): Promise<void> {
  const [data, stat] = await getData(client, infoPath);
  assert.deepEqual(stat.ephemeralOwner, Buffer.from(leader.sessionId, 'hex'), "EPHEMERAL, owned by the leader's session");
  assert.ok(data, 'leader information has data');
  // ObjectOutputStream magic and version, then the block-data record holding writeUTF(address).
  assert.deepEqual(data.subarray(0, 5), Buffer.from('aced000577', 'hex'));
  assert.ok(data.includes(Buffer.from(leader.restUrl, 'utf8')), `data contains ${leader.restUrl}`);
  const uuid = /^leader rest_server (\S+)$/.exec(
    leader.events.findLast((event) => event.line.startsWith('leader rest_server '))?.line ?? '',
  )?.[1];
  assert.ok(uuid);
  assert.ok(data.includes(uuidBytes(uuid)), 'data ends with the leader session UUID (least, then most significant bits)');
}

/** java.util.UUID's serial form: leastSigBits then mostSigBits, each 8 bytes big-endian. */
function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replaceAll('-', '');
  return Buffer.from(hex.slice(16) + hex.slice(0, 16), 'hex');
}

function get(jobManager: FakeJobManager, path: string, timeoutMs = 5000): Promise<Response> {
  return fetch(`${jobManager.restUrl}${path}`, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
}

/**
 * Retries an assertion for state that settles without an event of its own (the JM's leader cache
 * sees a znode shortly after the election wrote it).
 */
async function eventually(check: () => Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (performance.now() > deadline) throw err;
      await delay(50);
    }
  }
}

// ---- node-zookeeper-client, promisified ---------------------------------------------------------

function getChildren(client: zookeeper.Client, path: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    client.getChildren(path, (err, children) => (err ? reject(err) : resolve(children)));
  });
}

function getData(client: zookeeper.Client, path: string): Promise<[Buffer | undefined, zookeeper.Stat]> {
  return new Promise((resolve, reject) => {
    // null data (Flink's "empty" LeaderInformation) arrives as undefined.
    client.getData(path, (err, data: Buffer | undefined, stat) => (err ? reject(err) : resolve([data, stat])));
  });
}

function exists(client: zookeeper.Client, path: string): Promise<zookeeper.Stat> {
  return new Promise((resolve, reject) => {
    client.exists(path, (err, stat) => {
      if (err) reject(err);
      else if (!stat) reject(new Error(`${path} does not exist`));
      else resolve(stat);
    });
  });
}

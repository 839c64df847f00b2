/**
 * `flink-ha-sidecar status` against a real ZooKeeper with Curator contenders in each layout:
 * per component the leader, whether it is current, and the latch participants; exit codes 0
 * (rest_server has a current leader), 1 (not), 2 (bad settings, ZooKeeper unreachable).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runStatus } from '../../src/cli/status.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { FakeJobManager } from '../support/fake-jobmanager.js';
import { encodeLeaderInformation } from '../support/leader-info-encoder.js';
import { useZooKeeper } from '../support/zookeeper-fixture.js';
import { findFreePort } from '../support/zookeeper-server.js';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');
const zk = useZooKeeper();

function configFor(clusterId: string, extra: string[] = []): Config {
  const r = loadConfig([`--zookeeper-quorum=${zk.connectString}`, `--cluster-id=${clusterId}`, ...extra], {}, 'test');
  assert.equal(r.kind, 'run');
  return (r as { config: Config }).config;
}

async function startJm(layout: '1.15' | '1.14' | '1.13', clusterId: string): Promise<FakeJobManager> {
  const jm = await FakeJobManager.start({ zookeeper: zk.connectString, layout, clusterId });
  zk.cleanup(() => jm.stop());
  return jm;
}

interface JsonView {
  layout: string | null;
  hasCurrentRestLeader: boolean;
  components: {
    component: string;
    state: string;
    leaderInfo: { kind: string; address?: string; owner?: string };
    participants: { owner: string; leads: boolean }[];
  }[];
}

for (const layout of ['1.15', '1.14', '1.13'] as const) {
  describe(`status, layout ${layout}`, () => {
    it('shows every component with its current leader and the latch participants in order; exit 0', async () => {
      const clusterId = `/status-${layout.replace('.', '')}-${randomUUID().slice(0, 6)}`;
      const a = await startJm(layout, clusterId);
      await a.waitFor(/^leader rest_server /);
      await a.waitFor(/^leader resource_manager /);
      const b = await startJm(layout, clusterId);
      // b's latch nodes exist once it has started contending in every latch.
      const config = configFor(clusterId);
      let view: JsonView | undefined;
      for (let i = 0; i < 100; i++) {
        const r = await runStatus(config, true);
        assert.equal(r.exitCode, 0, r.output);
        view = JSON.parse(r.output) as JsonView;
        if (view.components.every((c) => c.participants.length === 2)) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      assert.ok(view);
      assert.equal(view.layout, layout);
      assert.equal(view.hasCurrentRestLeader, true);
      assert.deepEqual(view.components.map((c) => c.component).sort(), ['dispatcher', 'resource_manager', 'rest_server']);
      for (const c of view.components) {
        assert.equal(c.state, 'current', c.component);
        assert.equal(c.leaderInfo.owner, `0x${a.sessionId}`);
        assert.deepEqual(
          c.participants.map((p) => [p.owner, p.leads]),
          [
            [`0x${a.sessionId}`, true],
            [`0x${b.sessionId}`, false],
          ],
        );
      }
      assert.equal(view.components.find((c) => c.component === 'rest_server')?.leaderInfo.address, a.restUrl);

      const text = await runStatus(config, false);
      assert.equal(text.exitCode, 0);
      assert.match(text.output, new RegExp(`rest_server\\s+current\\s+${a.restUrl.replace(/\./g, '\\.')}`));
      assert.match(text.output, /\(holds the latch\)/);
    });
  });
}

describe('status exit codes', () => {
  it('1 when rest_server has no current leader (stale information)', async () => {
    const clusterId = `/status-stale-${randomUUID().slice(0, 6)}`;
    const a = await startJm('1.15', clusterId);
    await a.waitFor(/^leader rest_server /);
    await a.send('resign');
    // Still contending nowhere; its own info node lingers, now stale once b leads.
    const b = await startJm('1.15', clusterId);
    await b.waitFor(/^leader rest_server /);
    await a.send(`write-info ${encodeLeaderInformation(a.restUrl, randomUUID()).toString('hex')}`);
    const r = await runStatus(configFor(clusterId), true);
    assert.equal(r.exitCode, 1, r.output);
    const view = JSON.parse(r.output) as JsonView;
    assert.equal(view.components.find((c) => c.component === 'rest_server')?.state, 'stale');
  });

  it('1 when the cluster-id has no election at all', async () => {
    const r = await runStatus(configFor(`/status-none-${randomUUID().slice(0, 6)}`), false);
    assert.equal(r.exitCode, 1);
    assert.match(r.output, /no leader election found/);
  });

  it('2 when ZooKeeper cannot be reached, within the timeout', async () => {
    const port = await findFreePort();
    const r = loadConfig([`--zookeeper-quorum=127.0.0.1:${port}`], {}, 'test');
    assert.equal(r.kind, 'run');
    const started = performance.now();
    const status = await runStatus((r as { config: Config }).config, false, 1500);
    assert.equal(status.exitCode, 2);
    assert.match(status.output, /no connection to ZooKeeper at 127\.0\.0\.1:\d+ within 1500 ms/);
    assert.ok(performance.now() - started < 10_000);
  });

  it('the binary: `status --json` exits 0 on a current leader, 2 on bad settings', async () => {
    const clusterId = `/status-bin-${randomUUID().slice(0, 6)}`;
    const a = await startJm('1.15', clusterId);
    await a.waitFor(/^leader rest_server /);
    const env = { PATH: process.env.PATH ?? '', ZOOKEEPER_QUORUM: zk.connectString, FLINK_CLUSTER_ID: clusterId };
    const ok = spawnSync(process.execPath, [MAIN, 'status', '--json'], { env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as JsonView).hasCurrentRestLeader, true);
    const bad = spawnSync(process.execPath, [MAIN, 'status', '--layout=2.0'], { env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--layout \/ FLINK_HA_LAYOUT/);
  });
});

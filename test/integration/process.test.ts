/**
 * The sidecar as Kubernetes runs it: `node dist/main.js`, configured by environment variables,
 * logging JSON to stdout, stopped by SIGTERM. Needs `npm run build` first (npm test does it).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { FakeJobManager } from '../support/fake-jobmanager.js';
import { useZooKeeper } from '../support/zookeeper-fixture.js';
import { findFreePort } from '../support/zookeeper-server.js';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');
const PLANTED = 'planted-secret-7f3a9c';
const VERSION = (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

function runOnce(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 20_000 });
}

before(() => {
  assert.ok(existsSync(MAIN), `${MAIN} is missing: run npm run build first`);
});

describe('command line', () => {
  it('--help lists every variable and exits 0', () => {
    const r = runOnce(['--help']);
    assert.equal(r.status, 0);
    for (const name of [
      'ZOOKEEPER_QUORUM',
      'ZOOKEEPER_ROOT',
      'FLINK_CLUSTER_ID',
      'FLINK_HA_LAYOUT',
      'FLINK_REST_URL',
      'POD_IP',
      'SIDECAR_HOST',
      'SIDECAR_PORT',
      'ZOOKEEPER_SESSION_TIMEOUT_MS',
      'LOG_LEVEL',
    ]) {
      assert.ok(r.stdout.includes(name), `help lacks ${name}`);
    }
  });

  it('--version prints the package version', () => {
    const r = runOnce(['--version']);
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim(), `flink-ha-sidecar ${VERSION}`);
  });

  it('invalid settings: every problem at once, exit code 2, nothing started', () => {
    const r = runOnce(['--port=http', '--layout=1.16'], { FLINK_REST_URL: 'ftp://x' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /ZOOKEEPER_QUORUM/);
    assert.match(r.stderr, /--port \/ SIDECAR_PORT/);
    assert.match(r.stderr, /--layout \/ FLINK_HA_LAYOUT/);
    assert.match(r.stderr, /--flink-rest-url \/ FLINK_REST_URL/);
    assert.equal(r.stdout, '');
  });
});

describe('a running sidecar process', () => {
  const zk = useZooKeeper();
  let jm: FakeJobManager;
  let child: ChildProcess | undefined;
  before(async () => {
    jm = await FakeJobManager.start({ zookeeper: zk.connectString, layout: '1.15', clusterId: '/process-test' });
    zk.cleanup(() => jm.stop());
    await jm.waitFor(/^leader rest_server /);
  });

  it('becomes ready as the leader, logs the transition once, and on SIGTERM fails readiness and exits 0', async () => {
    // The debug endpoints need a port of their own (0 turns them off); the probe server takes any free one.
    const debugPort = await findFreePort();
    // Flink's own file, as a ConfigMap would hold it, with secrets that must never show anywhere.
    const confDir = mkdtempSync(join(tmpdir(), 'flink-conf-'));
    writeFileSync(
      join(confDir, 'flink-conf.yaml'),
      [
        'high-availability: zookeeper',
        `high-availability.zookeeper.quorum: ${zk.connectString}`,
        'high-availability.cluster-id: /process-test',
        `security.ssl.rest.keystore-password: ${PLANTED}`,
        `s3.secret-key: ${PLANTED}`,
        `metrics.reporter.prom.password: ${PLANTED}`,
        '',
      ].join('\n'),
    );
    child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        FLINK_CONF_DIR: confDir,
        FLINK_REST_URL: jm.restUrl,
        SIDECAR_DEBUG_PORT: String(debugPort),
        POD_IP: '127.0.0.1',
        SIDECAR_HOST: '127.0.0.1',
        SIDECAR_PORT: '0',
        ZOOKEEPER_SESSION_TIMEOUT_MS: '4000',
        SHUTDOWN_TIMEOUT_MS: '2000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    zk.cleanup(() => child?.kill('SIGKILL'));
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));

    // The port it took is in its log.
    const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "probe server listening" within 20 s; log:\n${stdout}`)), 20_000);
      const look = (): void => {
        const line = stdout
          .split('\n')
          .slice(0, -1)
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l.msg === 'probe server listening');
        if (line === undefined) return;
        clearTimeout(timer);
        child!.stdout!.off('data', look);
        resolve(line);
      };
      child!.stdout!.on('data', look);
    });
    assert.equal(listening.host, '127.0.0.1');
    const port = listening.port;
    assert.ok(typeof port === 'number' && port > 0, `port ${String(port)}`);
    const url = `http://127.0.0.1:${port}`;
    const deadline = performance.now() + 20_000;
    let status = 0;
    while (performance.now() < deadline) {
      status = await fetch(`${url}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status, 200, `not ready; log:\n${stdout}`);
    for (let i = 0; i < 5; i++) await fetch(`${url}/readyz`);

    // Settings came from Flink's file, and no endpoint shows the secrets planted there.
    const debugUrl = `http://127.0.0.1:${debugPort}`;
    const config = (await (await fetch(`${debugUrl}/debug/config`)).json()) as {
      settings: { name: string; value: unknown; source: string }[];
    };
    assert.deepEqual(
      config.settings.find((x) => x.name === 'clusterId'),
      { name: 'clusterId', value: '/process-test', source: 'flink-conf' },
    );
    const bodies = await Promise.all(
      [
        `${url}/readyz`,
        `${url}/readyz?verbose`,
        `${url}/livez`,
        `${url}/metrics`,
        `${url}/jobmanager/livez`,
        `${debugUrl}/debug/state`,
        `${debugUrl}/debug/config`,
      ].map(async (u) => (await fetch(u)).text()),
    );
    for (const body of bodies) assert.ok(!body.includes(PLANTED), 'a planted secret leaked into an endpoint');

    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const toLeader = lines.filter((l) => l.to === 'leader' && l.from !== 'leader');
    assert.equal(toLeader.length, 1, 'the change to leader is logged exactly once');
    assert.equal(toLeader[0]!.roleReason, 'is-leader');
    assert.equal(toLeader[0]!.level, 'info');
    assert.ok(
      lines.some((l) => l.to === 'leader' && l.ready === true && l.reason === 'is-leader'),
      'the change to ready is logged',
    );
    assert.ok(!stdout.includes('/readyz'), 'probe requests are not logged');

    child.kill('SIGTERM');
    let hang: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<string>((r) => (hang = setTimeout(() => r('hung'), 15_000)))]);
    clearTimeout(hang);
    assert.equal(code, 0);
    const after = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(
      after.some((l) => l.reason === 'shutting-down' && l.ready === false),
      'readiness failed on SIGTERM',
    );
    assert.ok(after.some((l) => l.msg === 'stopped'));
    assert.ok(!stdout.includes(PLANTED), 'a planted secret leaked into the log');
    child = undefined;
  });
});

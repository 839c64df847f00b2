/**
 * What a running sidecar leaves unloaded, for the memory it would take (docs/PERFORMANCE.md,
 * footprint): with a plain-http REST URL, no TLS, https or zlib from Node, and none of dist/vendor/
 * (the Kubernetes client, node-forge, and the packages whose code it never runs), after it answered
 * every kind of request it serves; with an https REST URL, TLS. Each process writes what it loaded
 * when it exits (a preloaded script), and is a real `node dist/main.js`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { FakeJobManager } from '../support/fake-jobmanager.js';
import { SidecarProcess } from '../support/sidecar-process.js';
import { useZooKeeper } from '../support/zookeeper-fixture.js';
import { findFreePort } from '../support/zookeeper-server.js';

const NOT_FOR_PLAIN_HTTP = ['NativeModule tls', 'NativeModule https', 'NativeModule _tls_wrap', 'NativeModule zlib'];

interface Loaded {
  builtins: string[];
  files: string[];
}

describe('lazy loading in a running sidecar', () => {
  const zk = useZooKeeper();
  let jm: FakeJobManager;
  let dir: string;
  let preload: string;
  before(async () => {
    jm = await FakeJobManager.start({ zookeeper: zk.connectString, layout: '1.15', clusterId: '/lazy-loading' });
    zk.cleanup(() => jm.stop());
    await jm.waitFor(/^leader rest_server /);
    dir = mkdtempSync(join(tmpdir(), 'lazy-loading-'));
    zk.cleanup(() => rmSync(dir, { recursive: true, force: true }));
    preload = join(dir, 'loaded-at-exit.cjs');
    writeFileSync(
      preload,
      `process.on('exit', () => require('node:fs').writeFileSync(process.env.LOADED_FILE, JSON.stringify({ builtins: process.moduleLoadList, files: Object.keys(require.cache) })));\n`,
    );
  });

  async function run(
    name: string,
    restUrl: string,
    requests: (urls: { probes: string; debug: string }) => Promise<void>,
    becomesReady: boolean,
  ): Promise<Loaded> {
    const file = join(dir, `${name}.json`);
    const debugPort = await findFreePort();
    const sidecar = await SidecarProcess.start({
      zookeeper: zk.connectString,
      clusterId: '/lazy-loading',
      layout: '1.15',
      restUrl,
      nodeArgs: ['--require', preload],
      env: { LOADED_FILE: file, SIDECAR_DEBUG_PORT: String(debugPort) },
    });
    try {
      if (becomesReady) await sidecar.waitUntilReady();
      await requests({ probes: sidecar.url, debug: `http://127.0.0.1:${debugPort}` });
    } finally {
      await sidecar.stop();
    }
    return JSON.parse(readFileSync(file, 'utf8')) as Loaded;
  }

  it('with a plain-http REST URL: no TLS, https or zlib, and no vendor file, after every kind of request', async () => {
    const loaded = await run(
      'http',
      jm.restUrl,
      async ({ probes, debug }) => {
        const answers: Record<string, number> = {};
        for (const url of [
          ...['/readyz', '/readyz?verbose', '/livez', '/leader', '/standby', '/metrics', '/no-such-path'].map((p) => `${probes}${p}`),
          ...['/debug/state', '/debug/config', '/debug/nothing'].map((p) => `${debug}${p}`),
        ]) {
          const res = await fetch(url);
          await res.arrayBuffer();
          answers[url.replace(/^http:\/\/[^/]+/, '')] = res.status;
        }
        assert.deepEqual(answers, {
          '/readyz': 200,
          '/readyz?verbose': 200,
          '/livez': 200,
          '/leader': 200,
          '/standby': 503,
          '/metrics': 200,
          '/no-such-path': 404,
          '/debug/state': 200,
          '/debug/config': 200,
          '/debug/nothing': 404,
        });
        assert.equal((await fetch(`${probes}/readyz`, { method: 'HEAD' })).status, 200);
        assert.equal((await fetch(`${probes}/readyz`, { method: 'POST', body: 'x' })).status, 405);
      },
      true,
    );
    // What the check below looks for is there to be seen.
    assert.ok(loaded.builtins.includes('NativeModule http'), 'the load list names built-ins as "NativeModule <name>"');
    for (const builtin of NOT_FOR_PLAIN_HTTP) assert.ok(!loaded.builtins.includes(builtin), `${builtin} was loaded`);
    assert.deepEqual(
      loaded.files.filter((f) => f.includes('/vendor/')),
      [],
    );
  });

  it('with an https REST URL: TLS is loaded', async () => {
    const loaded = await run(
      'https',
      `https://127.0.0.1:${await findFreePort()}`,
      async ({ probes }) => {
        assert.equal((await fetch(`${probes}/readyz`)).status, 503);
      },
      false,
    );
    assert.ok(loaded.builtins.includes('NativeModule tls'));
    assert.ok(loaded.builtins.includes('NativeModule https'));
  });
});

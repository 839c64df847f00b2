/**
 * Regression (found by the reliability suite): a ZooKeeper connection that is accepted but never
 * answered, as when a partition begins right after the TCP handshake or a proxy's upstream is
 * gone, left the sidecar "connecting" for good: node-zookeeper-client drops its connect timeout
 * once TCP connects. The sidecar now starts a new client after a session timeout without a
 * connection.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { startTestSidecar, type TestSidecar } from '../support/sidecar-harness.js';
import { useZooKeeper } from '../support/zookeeper-fixture.js';

const zk = useZooKeeper();

/** A TCP proxy whose first connection is accepted and then ignored (never forwarded, never closed). */
async function swallowFirstConnection(targetPort: number): Promise<{ port: number; swallowed: () => number }> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    if (++count === 1) return;
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  zk.cleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, swallowed: () => Math.min(count, 1) };
}

describe('ZooKeeper connection attempts that are never answered', () => {
  it('a sidecar whose first connection is swallowed connects with a new client after a session timeout', async () => {
    const proxy = await swallowFirstConnection(zk.server.port);
    const sessionTimeoutMs = 2000;
    const startedAt = performance.now();
    const s: TestSidecar = await startTestSidecar({
      zookeeper: `127.0.0.1:${proxy.port}`,
      clusterId: '/reconnect-swallowed',
      restUrl: 'http://127.0.0.1:9',
      advertised: ['127.0.0.1'],
      sessionTimeoutMs,
    });
    zk.cleanup(() => s.stop());
    const connected = await s.waitFor(
      'connected through the second connection',
      (st) => st.zookeeper.status === 'connected',
      4 * sessionTimeoutMs,
    );
    const tookMs = performance.now() - startedAt;
    assert.equal(proxy.swallowed(), 1);
    assert.match(connected.zookeeper.sessionId ?? '', /^[0-9a-f]{16}$/);
    // One session timeout, one ping interval (a quarter of it) to notice, and the connect itself.
    assert.ok(tookMs < sessionTimeoutMs * 1.25 + 1500, `connected after ${Math.round(tookMs)} ms`);
    // And it reads the (empty) election through the new session.
    const read = await s.waitFor('the election read', (st) => st.verdict.roleReason === 'cluster-not-started', 5000);
    assert.equal(read.verdict.role, 'unknown');
  });
});

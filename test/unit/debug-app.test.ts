import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { loadConfig, type Config } from '../../src/config/index.js';
import type { LocalIdentity } from '../../src/core/identity.js';
import type { SidecarEvent } from '../../src/core/model.js';
import { initialState, reduce } from '../../src/core/reduce.js';
import { testCoreSettings } from '../support/core-settings.js';
import { effectiveSettings } from '../../src/effective-config.js';
import { createDebugApp } from '../../src/http/debug-app.js';
import { listenLocal } from '../support/listen-local.js';
import { targetOf } from '../support/leader-target.js';

const identity: LocalIdentity = { explicitHosts: ['10.0.0.5'], interfaceAddresses: ['10.0.0.5'], restPort: 8081 };
const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const OWNER = '01000022184d0001';

const events: SidecarEvent[] = [
  { type: 'zookeeperConnected', atMs: T0 + 10, sessionId: 'abcdef0123456789' },
  { type: 'restCheckSucceeded', atMs: T0 + 11, durationMs: 2, httpStatus: 200 },
  {
    type: 'electionObserved',
    atMs: T0 + 12,
    observations: ['rest_server', 'dispatcher'].map((component) => ({
      layout: '1.15' as const,
      component,
      latchPath: '/flink/default/leader/latch',
      leaderInfoPath: `/flink/default/leader/${component}/connection_info`,
      latchExists: true,
      participants: [
        { node: '_c_a-latch-0000000001', sequence: 1, owner: OWNER },
        { node: '_c_b-latch-0000000002', sequence: 2, owner: '01000022184d0002' },
      ],
      leaderInfo: ((address: string) => ({
        kind: 'published' as const,
        owner: OWNER,
        address,
        sessionId: '00000000-0000-0001-0000-000000000002',
        target: targetOf(address),
      }))(component === 'rest_server' ? 'http://10.0.0.5:8081' : 'pekko.tcp://flink@10.0.0.5:6123/user/rpc/dispatcher_1'),
    })),
  },
];
const state = events.reduce(reduce, initialState('auto', identity, T0, testCoreSettings()));

function config(): Config {
  const r = loadConfig(['--zookeeper-quorum=zk:2181', '--cluster-id=prod'], { LOG_LEVEL: 'debug' }, 'test');
  assert.equal(r.kind, 'run');
  return (r as { config: Config }).config;
}

describe('debug endpoints without a token (loopback)', () => {
  let srv: Awaited<ReturnType<typeof listenLocal>>;
  before(async () => {
    srv = await listenLocal(createDebugApp({ getState: () => state, getConfig: () => effectiveSettings(config()), token: null }));
  });
  after(() => srv.close());

  it('/debug/state: role and why, ZooKeeper session, every component, latch order, JM checks, transitions', async () => {
    const res = await request(srv.server).get('/debug/state').expect(200).expect('content-type', /json/);
    const b = res.body;
    assert.equal(b.role, 'leader');
    assert.equal(b.reason, 'is-leader');
    assert.equal(b.ready, true);
    assert.deepEqual(b.layout, { setting: 'auto', inUse: '1.15' });
    assert.equal(b.zookeeper.sessionId, '0xabcdef0123456789');
    assert.equal(b.zookeeper.status, 'connected');
    assert.equal(b.zookeeper.since, '2026-11-25T12:00:00.010Z');
    assert.deepEqual(
      b.components.map((c: { component: string; state: string; leaderInfo: { owner: string } }) => [
        c.component,
        c.state,
        c.leaderInfo.owner,
      ]),
      [
        ['rest_server', 'current', `0x${OWNER}`],
        ['dispatcher', 'current', `0x${OWNER}`],
      ],
    );
    assert.deepEqual(
      b.components[0].participants.map((p: { leads: boolean; sequence: number }) => [p.sequence, p.leads]),
      [
        [1, true],
        [2, false],
      ],
    );
    assert.equal(b.jobmanager.lastChecks.length, 1);
    assert.equal(b.jobmanager.lastChecks[0].at, '2026-11-25T12:00:00.011Z');
    assert.ok(b.transitions.length >= 1);
    assert.equal(b.transitions.at(-1).toRole, 'leader');
    assert.equal(typeof b.transitions.at(-1).at, 'string');
  });

  it('/debug/config: every setting with its source', async () => {
    const res = await request(srv.server).get('/debug/config').expect(200);
    const byName = new Map((res.body.settings as { name: string; value: unknown; source: string }[]).map((s) => [s.name, s]));
    assert.deepEqual(byName.get('clusterId'), { name: 'clusterId', value: '/prod', source: 'flag' });
    assert.deepEqual(byName.get('logLevel'), { name: 'logLevel', value: 'debug', source: 'environment' });
    assert.deepEqual(byName.get('port'), { name: 'port', value: 8090, source: 'default' });
    assert.equal(byName.get('flinkRestUrl')?.value, 'http://127.0.0.1:8081/');
  });

  it('other paths 404, other methods 405', async () => {
    await request(srv.server).get('/debug/nope').expect(404);
    await request(srv.server).post('/debug/state').expect(405);
  });
});

describe('debug endpoints with a bearer token', () => {
  let srv: Awaited<ReturnType<typeof listenLocal>>;
  before(async () => {
    srv = await listenLocal(createDebugApp({ getState: () => state, getConfig: () => [], token: 's3cret-token' }));
  });
  after(() => srv.close());

  it('refuses requests without the token, or with another one', async () => {
    for (const header of [undefined, 'Bearer wrong', 'Bearer s3cret-token-longer', 'Basic czNjcmV0LXRva2Vu', 'Bearer ']) {
      const req = request(srv.server).get('/debug/state');
      const res = await (header ? req.set('Authorization', header) : req).expect(401);
      assert.match(res.headers['www-authenticate'] ?? '', /^Bearer/);
      assert.ok(!JSON.stringify(res.body).includes('s3cret'));
    }
  });
  it('serves with the right token', async () => {
    await request(srv.server).get('/debug/state').set('Authorization', 'Bearer s3cret-token').expect(200);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import type { LocalIdentity } from '../../src/core/identity.js';
import type { SidecarEvent, SidecarState } from '../../src/core/model.js';
import { initialState, reduce } from '../../src/core/reduce.js';
import { testCoreSettings } from '../support/core-settings.js';
import { createApp, PROBES } from '../../src/http/create-app.js';
import { listenLocal } from '../support/listen-local.js';
import { currentRestServerLeader, targetOf } from '../support/leader-target.js';

const identity: LocalIdentity = { explicitHosts: null, interfaceAddresses: ['10.0.0.5'], restPort: 8081 };

function stateFrom(events: SidecarEvent[]): SidecarState {
  return events.reduce(reduce, initialState('auto', identity, 0, testCoreSettings()));
}

const base: SidecarEvent[] = [
  { type: 'loopTicked', atMs: 10, loop: 'zookeeper-supervisor', maxSilenceMs: 1000 },
  { type: 'zookeeperConnected', atMs: 10, sessionId: 'abc' },
  { type: 'restCheckSucceeded', atMs: 11, durationMs: 1, httpStatus: 200 },
];
const states = {
  leader: stateFrom([...base, { type: 'electionObserved', atMs: 12, observations: currentRestServerLeader('10.0.0.5', 'a') }]),
  standby: stateFrom([...base, { type: 'electionObserved', atMs: 12, observations: currentRestServerLeader('10.0.0.6', 'b') }]),
  disconnected: stateFrom([
    ...base,
    { type: 'electionObserved', atMs: 12, observations: currentRestServerLeader('10.0.0.5', 'a') },
    { type: 'zookeeperDisconnected', atMs: 13, detail: 'connection to ZooKeeper lost; reconnecting' },
  ]),
  leaderJmDown: stateFrom([
    ...base,
    { type: 'electionObserved', atMs: 12, observations: currentRestServerLeader('10.0.0.5', 'a') },
    { type: 'restCheckFailed', atMs: 13, durationMs: 1, reason: 'refused', detail: 'connection refused', httpStatus: null },
  ]),
};

describe('probe endpoints', () => {
  let current: SidecarState = states.leader;
  let nowMs = 20;
  let srv: Awaited<ReturnType<typeof listenLocal>>;
  before(async () => {
    srv = await listenLocal(createApp({ getState: () => current, clock: () => nowMs }));
  });
  after(() => srv.close());

  const table: { state: keyof typeof states; path: string; status: number; reason: string }[] = [
    { state: 'leader', path: '/readyz', status: 200, reason: 'is-leader' },
    { state: 'leader', path: '/leader', status: 200, reason: 'is-leader' },
    { state: 'leader', path: '/standby', status: 503, reason: 'is-leader' },
    { state: 'standby', path: '/readyz', status: 503, reason: 'other-jm-leads' },
    { state: 'standby', path: '/leader', status: 503, reason: 'other-jm-leads' },
    { state: 'standby', path: '/standby', status: 200, reason: 'other-jm-leads' },
    { state: 'disconnected', path: '/readyz', status: 503, reason: 'zookeeper-disconnected' },
    { state: 'disconnected', path: '/leader', status: 503, reason: 'zookeeper-disconnected' },
    { state: 'disconnected', path: '/standby', status: 503, reason: 'zookeeper-disconnected' },
    { state: 'disconnected', path: '/livez', status: 200, reason: 'zookeeper-disconnected' },
    { state: 'leaderJmDown', path: '/readyz', status: 503, reason: 'refused' },
    { state: 'leaderJmDown', path: '/leader', status: 200, reason: 'is-leader' },
  ];
  for (const row of table) {
    it(`${row.state}: GET ${row.path} -> ${row.status} (${row.reason})`, async () => {
      current = states[row.state];
      const res = await request(srv.server).get(row.path).expect(row.status).expect('content-type', 'application/json; charset=utf-8');
      assert.equal(res.headers['content-length'], String(Buffer.byteLength(res.text)));
      if (row.path !== '/livez') assert.equal(res.body.reason, row.reason);
      assert.equal(res.body.status, row.status === 200 ? 'ok' : 'fail');
      assert.equal(res.body.role, current.verdict.role);
      for (const c of res.body.checks as { ok: boolean; reason: string }[]) assert.equal(typeof c.reason, 'string');
      assert.equal(res.headers['cache-control'], 'no-store');
    });
  }

  it('lists every failing check with its reason', async () => {
    current = states.disconnected;
    const res = await request(srv.server).get('/readyz').expect(503);
    const failing = (res.body.checks as { name: string; ok: boolean; reason: string; detail?: string }[]).filter((c) => !c.ok);
    assert.deepEqual(
      failing.map((c) => c.name),
      ['zookeeper', 'leadership'],
    );
    assert.equal(failing[0]?.detail, 'connection to ZooKeeper lost; reconnecting');
  });

  it('HEAD answers the same status and headers without a body', async () => {
    current = states.leader;
    const get = await request(srv.server).get('/readyz').expect(200);
    const ok = await request(srv.server).head('/readyz').expect(200).expect('content-type', 'application/json; charset=utf-8');
    assert.deepEqual(ok.body, {});
    assert.equal(ok.text, undefined);
    assert.equal(ok.headers['content-length'], get.headers['content-length']);
    assert.equal(ok.headers['cache-control'], 'no-store');
    current = states.standby;
    await request(srv.server).head('/readyz').expect(503);
  });

  it('/livez fails once a loop has been silent too long, whatever ZooKeeper says', async () => {
    current = states.leader;
    nowMs = 500;
    await request(srv.server).get('/livez').expect(200);
    nowMs = 5000;
    const res = await request(srv.server).get('/livez').expect(503);
    assert.equal(res.body.checks[0].reason, 'zookeeper-supervisor-stuck');
    nowMs = 20;
  });

  it('?standbyok=true passes a healthy standby, not an unknown one', async () => {
    current = states.standby;
    await request(srv.server).get('/readyz?standbyok=true').expect(200);
    await request(srv.server).get('/readyz?standbyok=false').expect(503);
    current = states.disconnected;
    await request(srv.server).get('/readyz?standbyok=true').expect(503);
  });

  it('?verbose lists every check, passing or failing, one per line', async () => {
    current = states.standby;
    const res = await request(srv.server).get('/readyz?verbose').expect(503).expect('content-type', 'text/plain; charset=utf-8');
    assert.equal(
      res.text,
      [
        '[+]shutdown ok',
        '[+]zookeeper ok',
        '[-]leadership failed: other-jm-leads (http://10.0.0.6:8081)',
        '[+]jobmanager ok',
        'readyz check failed',
        '',
      ].join('\n'),
    );
    current = states.leader;
    const ok = await request(srv.server).get('/readyz?verbose=1').expect(200);
    assert.match(ok.text, /\nreadyz check passed\n$/);
    const live = await request(srv.server).get('/livez?verbose').expect(200);
    assert.equal(live.text, '[+]zookeeper-supervisor ok\nlivez check passed\n');
  });

  it('?verbose cannot be forged by a leader address with control characters: refused, and escaped', async () => {
    const forged = 'http://10.0.0.5:8081/\n[+]leadership ok\n\u001b[2J';
    const [observation] = currentRestServerLeader('10.0.0.5', 'a');
    const leaderInfo = { kind: 'published' as const, owner: 'a', address: forged, sessionId: 'x', target: targetOf(forged) };
    current = stateFrom([...base, { type: 'electionObserved', atMs: 12, observations: [{ ...observation!, leaderInfo }] }]);
    const res = await request(srv.server).get('/readyz?verbose').expect(503);
    const lines = res.text.split('\n');
    assert.equal(lines.filter((l) => l.startsWith('[+]leadership')).length, 0, res.text);
    assert.ok(
      lines.includes(
        '[-]leadership failed: leader-address-unprintable ("http://10.0.0.5:8081/\\n[+]leadership ok\\n\\u{1b}[2J" has characters other than printable ASCII without whitespace)',
      ),
      res.text,
    );
    const controls = Array.from(res.text).filter((c) => c !== '\n' && (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f));
    assert.deepEqual(controls, [], 'no control character but the line ends');
    current = states.leader;
  });

  it('/jobmanager/livez passes for a healthy JM', async () => {
    current = states.leaderJmDown;
    const res = await request(srv.server).get('/jobmanager/livez').expect(200);
    assert.equal(res.body.checks[0].reason, 'jm-within-grace');
  });

  it('unknown paths get 404 JSON listing the endpoints', async () => {
    const res = await request(srv.server).get('/nope').expect(404).expect('content-type', /json/);
    assert.deepEqual(res.body.endpoints, Object.keys(PROBES));
  });

  for (const method of ['post', 'put', 'delete', 'patch', 'options'] as const) {
    it(`${method.toUpperCase()} on a probe gets 405 with Allow`, async () => {
      const res = await request(srv.server)[method]('/readyz').expect(405);
      assert.equal(res.headers.allow, 'GET, HEAD');
    });
  }

  it('a malformed URL gets a 400, not a crash', async () => {
    const res = await request(srv.server)
      .get('/readyz/%E0%A4%A')
      .expect((r) => assert.ok([400, 404].includes(r.status)));
    assert.equal(typeof res.body.error, 'string');
    await request(srv.server)
      .get('/readyz')
      .expect((r) => assert.ok([200, 503].includes(r.status)));
  });

  it('never calls anything per probe: the state getter is all it reads', async () => {
    let reads = 0;
    const counted = await listenLocal(createApp({ getState: () => (reads++, states.leader), clock: () => 20 }));
    try {
      for (let i = 0; i < 20; i++) await request(counted.server).get('/readyz').expect(200);
      assert.equal(reads, 20);
    } finally {
      await counted.close();
    }
  });
});

/**
 * Covers src/sources/kubernetes-ha/decode.ts against ConfigMaps that real Flink JobManagers wrote
 * (test/fixtures/kubernetes-ha/) and against what Flink never writes.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  decodeConfigMap,
  decodeLock,
  LOCK_ANNOTATION,
  REST_SERVER_KEY,
  type ConfigMapLike,
} from '../../src/sources/kubernetes-ha/decode.js';

const FIXTURES = join(__dirname, '..', 'fixtures', 'kubernetes-ha');
const fixture = (name: string): ConfigMapLike => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as ConfigMapLike;
const VERSIONS = [
  ...new Set(
    readdirSync(FIXTURES)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.split('-')[0]!),
  ),
];

describe('decoding ConfigMaps real Flink wrote', () => {
  it('has fixtures of a 1.x and a 2.x JobManager', () => {
    assert.ok(VERSIONS.some((v) => v.startsWith('1.')) && VERSIONS.some((v) => v.startsWith('2.')), VERSIONS.join(', '));
  });

  for (const version of VERSIONS) {
    it(`${version}: a held lock with its lease, and the REST endpoint's leader information`, () => {
      const cm = fixture(`${version}-cluster-config-map.json`);
      const decoded = decodeConfigMap(cm, '1.15');
      const [sessionId, address] = cm.data![REST_SERVER_KEY]!.split(/,(.*)/s);
      assert.equal(decoded.resourceVersion, cm.metadata!.resourceVersion);
      assert.equal(decoded.lock.kind, 'record');
      if (decoded.lock.kind !== 'record') return;
      assert.match(decoded.lock.holder ?? '', /^[0-9a-f-]{36}$/);
      assert.equal(decoded.lock.leaseDurationMs, 3000, 'the tests run Flink with a 3 s lease');
      assert.match(decoded.lock.renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      assert.deepEqual(decoded.leaderInfo, { kind: 'published', address, sessionId, target: null });
      assert.match(address!, /^http:\/\/127\.0\.0\.1:\d+$/);
    });

    // Only versions that release on SIGTERM (1.19 and later) have a released ConfigMap.
    if (existsSync(join(FIXTURES, `${version}-cluster-config-map-released.json`)))
      it(`${version}: after SIGTERM the lock is released and the leader information gone`, () => {
        const decoded = decodeConfigMap(fixture(`${version}-cluster-config-map-released.json`), '1.15');
        assert.deepEqual(decoded.lock.kind === 'record' && [decoded.lock.holder, decoded.lock.leaseDurationMs], [null, 1000]);
        assert.deepEqual(decoded.leaderInfo, { kind: 'absent' });
      });

    it(`${version}: after a takeover the new holder is named beside the old leader's information`, () => {
      const before = decodeConfigMap(fixture(`${version}-cluster-config-map.json`), '1.15');
      const after = decodeConfigMap(fixture(`${version}-cluster-config-map-taken-over.json`), '1.15');
      assert.ok(after.lock.kind === 'record' && before.lock.kind === 'record' && after.lock.holder !== before.lock.holder);
      assert.equal(after.leaderInfo.kind, 'published');
    });
  }
});

describe('decoding what Flink never writes', () => {
  const lock = (record: unknown) => decodeLock(typeof record === 'string' ? record : JSON.stringify(record));
  const base = {
    holderIdentity: 'a',
    leaseDuration: 15,
    acquireTime: '2026-12-07T10:00:00.000000Z',
    renewTime: '2026-12-07T10:00:01.000000Z',
    leaderTransitions: 2,
  };

  it('reads both serialisations of the lease, and every holder that means released', () => {
    for (const [lease, ms] of [
      [15, 15_000],
      ['PT15S', 15_000],
      ['PT0.5S', 500],
      ['PT1M30S', 90_000],
      [15.000000001, 15_000],
    ] as const) {
      const l = lock({ ...base, leaseDuration: lease });
      assert.equal(l.kind === 'record' && l.leaseDurationMs, ms, String(lease));
    }
    for (const holder of [null, '', undefined]) {
      const l = lock({ ...base, holderIdentity: holder });
      assert.equal(l.kind === 'record' && l.holder, null, String(holder));
    }
  });

  it('calls everything else undecodable, with the reason', () => {
    const cases: [unknown, RegExp][] = [
      ['{not json', /not JSON/],
      [[1, 2], /not a JSON object/],
      [{ ...base, holderIdentity: 7 }, /holderIdentity is not a string/],
      [{ ...base, leaseDuration: -1 }, /leaseDuration -1/],
      [{ ...base, leaseDuration: 0 }, /leaseDuration 0/],
      [{ ...base, leaseDuration: 'P1D' }, /leaseDuration "P1D"/],
      [{ ...base, leaseDuration: 'PT' }, /leaseDuration "PT"/],
      [{ ...base, leaseDuration: 'fifteen' }, /leaseDuration/],
      [{ ...base, leaseDuration: 1e9 }, /leaseDuration/],
      [{ ...base, renewTime: 5 }, /renewTime is not text/],
      [{ ...base, leaderTransitions: 1.5 }, /leaderTransitions/],
      ['x'.repeat(70_000), /more than/],
    ];
    for (const [record, error] of cases) {
      const l = lock(record);
      assert.equal(l.kind, 'undecodable', JSON.stringify(record).slice(0, 60));
      assert.match(l.kind === 'undecodable' ? l.error : '', error);
    }
    assert.deepEqual(decodeLock(undefined), { kind: 'absent' });
  });

  it('refuses leader information that is not `<session id>,<address>`, in both layouts', () => {
    const cm = (data: Record<string, string>): ConfigMapLike => ({
      metadata: { resourceVersion: '1', annotations: { [LOCK_ANNOTATION]: JSON.stringify(base) } },
      data,
    });
    const combined = (value: string) => decodeConfigMap(cm({ [REST_SERVER_KEY]: value }), '1.15').leaderInfo;
    assert.match(JSON.stringify(combined('http://10.0.0.5:8081')), /no comma/);
    assert.match(JSON.stringify(combined('not-a-uuid,http://10.0.0.5:8081')), /not a UUID/);
    assert.match(JSON.stringify(combined('6d1f0d7c-0000-4000-8000-00000000000a,')), /address is empty/);
    assert.deepEqual(combined('6D1F0D7C-0000-4000-8000-00000000000A,http://a,b:8081'), {
      kind: 'published',
      sessionId: '6d1f0d7c-0000-4000-8000-00000000000a',
      address: 'http://a,b:8081',
      target: null,
    });
    const separate = (data: Record<string, string>) => decodeConfigMap(cm(data), '1.14').leaderInfo;
    assert.deepEqual(separate({ address: 'http://10.0.0.5:8081', sessionId: '6d1f0d7c-0000-4000-8000-00000000000a' }), {
      kind: 'published',
      address: 'http://10.0.0.5:8081',
      sessionId: '6d1f0d7c-0000-4000-8000-00000000000a',
      target: null,
    });
    assert.match(JSON.stringify(separate({ address: 'http://10.0.0.5:8081' })), /address but no sessionId/);
    assert.deepEqual(separate({}), { kind: 'absent' });
    assert.deepEqual(separate({ address: '', sessionId: '' }), { kind: 'absent' }, 'cleared on revocation, up to Flink 1.17');
    assert.deepEqual(combined(''), { kind: 'absent' });
    assert.deepEqual(decodeConfigMap({ metadata: {} }, '1.15').leaderInfo, { kind: 'absent' });
  });
});

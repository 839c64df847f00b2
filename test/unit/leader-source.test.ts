import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LocalIdentity } from '../../src/core/identity.js';
import type { LeaderClaim, SourceReading } from '../../src/core/leader-source.js';
import { initialState, reduce } from '../../src/core/reduce.js';
import { decideRole } from '../../src/core/role.js';
import { readZooKeeper } from '../../src/core/zookeeper-reading.js';
import { testCoreSettings } from '../support/core-settings.js';
import { targetOf } from '../support/leader-target.js';

const identity: LocalIdentity = { explicitHosts: null, interfaceAddresses: ['10.0.0.5'], restPort: 8081 };
const connected = { name: 'any-source', ok: true, reason: 'zookeeper-connected', detail: null } as const;

function reading(leader: SourceReading['leader']): SourceReading {
  return { check: connected, connected: true, holdUntilMs: null, layout: '1.15', leader, wakeAtMs: null };
}
function claim(address: string, target = targetOf(address)): SourceReading['leader'] {
  const c: LeaderClaim = { address, sessionId: 's-1', holder: 'holder-a', target };
  return { kind: 'current', claim: c };
}

describe('the role from a source reading (any source)', () => {
  it('is leader when the current claim is this JM, standby when it is another', () => {
    assert.deepEqual(decideRole(reading(claim('http://10.0.0.5:8081')), identity), {
      role: 'leader',
      roleReason: 'is-leader',
      roleDetail: 'http://10.0.0.5:8081',
      layout: '1.15',
      currentLeader: { address: 'http://10.0.0.5:8081', sessionId: 's-1', owner: 'holder-a' },
    });
    assert.equal(decideRole(reading(claim('http://10.0.0.6:8081')), identity).role, 'standby');
  });

  it("is unknown with the source's own reason when it names no leader", () => {
    const r = decideRole(reading({ kind: 'none', reason: 'leader-info-stale', detail: 'written by an old holder' }), identity);
    assert.deepEqual(
      [r.role, r.roleReason, r.roleDetail, r.currentLeader],
      ['unknown', 'leader-info-stale', 'written by an old holder', null],
    );
  });

  it('claims nothing before the address was looked up, nor for an address that is no URL', () => {
    const notLookedUp = decideRole(reading(claim('http://10.0.0.5:8081', null as never)), identity);
    assert.deepEqual([notLookedUp.role, notLookedUp.roleReason], ['unknown', 'leader-host-unresolvable']);
    const invalid = decideRole(reading(claim('pekko.tcp://flink@10.0.0.5:6123/user/rpc/x')), identity);
    assert.deepEqual([invalid.role, invalid.roleReason], ['unknown', 'leader-address-invalid']);
  });
});

describe('the ZooKeeper reading', () => {
  it('fails its check and names no leader while the session is not connected', () => {
    const s = initialState('auto', identity, 1000, testCoreSettings());
    const r = readZooKeeper(s);
    assert.deepEqual([r.check.name, r.check.ok, r.check.reason], ['zookeeper', false, 'zookeeper-connecting']);
    assert.deepEqual(r.leader, { kind: 'none', reason: 'zookeeper-connecting', detail: null });
  });

  it('names the current leader only when the writer of the leader information holds the latch', () => {
    const base = reduce(initialState('auto', identity, 1000, testCoreSettings()), {
      type: 'zookeeperConnected',
      atMs: 1010,
      sessionId: 'c',
    });
    const observe = (writer: string) =>
      readZooKeeper(
        reduce(base, {
          type: 'electionObserved',
          atMs: 1020,
          observations: [
            {
              layout: '1.15',
              component: 'rest_server',
              latchPath: '/l',
              leaderInfoPath: '/i',
              latchExists: true,
              participants: [{ node: '_c_x-latch-0000000001', sequence: 1, owner: 'aaa' }],
              leaderInfo: {
                kind: 'published',
                owner: writer,
                address: 'http://10.0.0.5:8081',
                sessionId: 's',
                target: targetOf('http://10.0.0.5:8081'),
              },
            },
          ],
        }),
      ).leader;
    assert.deepEqual(observe('aaa'), {
      kind: 'current',
      claim: { address: 'http://10.0.0.5:8081', sessionId: 's', holder: 'aaa', target: targetOf('http://10.0.0.5:8081') },
    });
    const stale = observe('bbb');
    assert.equal(stale.kind === 'none' && stale.reason, 'leader-info-stale');
  });
});

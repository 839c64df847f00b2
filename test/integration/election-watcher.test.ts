/**
 * The election watcher against a real ZooKeeper, with znodes written directly: nodes that appear
 * later, one-shot watches re-armed through many changes, latch order by sequence number, owners
 * as session ids, and every kind of leader information node.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import zookeeper, { type Client } from 'node-zookeeper-client';
import type { LayoutObservation } from '../../src/core/model.js';
import { ElectionWatcher } from '../../src/sources/zookeeper/election-watcher.js';
import { electionPaths } from '../../src/sources/zookeeper/paths.js';
import { sessionIdHex } from '../../src/sources/zookeeper/calls.js';
import { encodeLeaderInformation } from '../support/leader-info-encoder.js';
import { useZooKeeper } from '../support/zookeeper-fixture.js';

const zk = useZooKeeper();
const connect = (): Promise<Client> => zk.connect(4000);

function call<T>(fn: (cb: (err: unknown, v: T) => void) => void): Promise<T> {
  // node-zookeeper-client fails with Errors; anything else is wrapped with its text as it comes.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(v))));
}
const mkdirp = (c: Client, p: string) => call<string>((cb) => c.mkdirp(p, cb));
const create = (c: Client, p: string, data: Buffer, mode: number) => call<string>((cb) => c.create(p, data, mode, cb));
const setData = (c: Client, p: string, data: Buffer) => call<unknown>((cb) => c.setData(p, data, -1, cb));
const remove = (c: Client, p: string) => call<unknown>((cb) => c.remove(p, -1, (e) => cb(e, undefined)));

/** A watcher on a fresh cluster-id, with a queue of what it reported. */
async function watcherFor(clusterId: string) {
  const paths = electionPaths({ root: '/flink', clusterId, latchDir: '/leaderlatch', leaderDir: '/leader' });
  const seen: LayoutObservation[][] = [];
  const waiters: { pred: (o: LayoutObservation[]) => boolean; resolve: (o: LayoutObservation[]) => void }[] = [];
  const watcher = new ElectionWatcher({
    paths,
    onObserved: (o) => {
      seen.push(o);
      for (const w of [...waiters]) {
        if (w.pred(o)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(o);
        }
      }
    },
    onReadFailed: (err) => assert.fail(`unexpected read failure ${err.code} at ${err.path}`),
  });
  const reader = await connect();
  watcher.watch(reader);
  const next = (what: string, pred: (o: LayoutObservation[]) => boolean, timeoutMs = 10_000) => {
    const last = seen.at(-1);
    if (last && pred(last)) return Promise.resolve(last);
    return new Promise<LayoutObservation[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; last: ${JSON.stringify(seen.at(-1))}`)), timeoutMs);
      waiters.push({
        pred,
        resolve: (o) => {
          clearTimeout(timer);
          resolve(o);
        },
      });
    });
  };
  return { paths, watcher, seen, next, p15: paths.find((p) => p.layout === '1.15')! };
}

const l15 = (o: LayoutObservation[]) => o.find((x) => x.layout === '1.15')!;

describe('ElectionWatcher on a real ZooKeeper', () => {
  it('reports an empty picture for a cluster that does not exist yet, then nodes as they appear', async () => {
    const w = await watcherFor(`/ew-${randomUUID().slice(0, 8)}`);
    const first = await w.next('first picture', () => true);
    assert.equal(first.length, 3);
    for (const o of first) {
      assert.equal(o.latchExists, false);
      assert.deepEqual(o.participants, []);
      assert.deepEqual(o.leaderInfo, { kind: 'absent' });
    }
    const jm = await connect();
    await mkdirp(jm, w.p15.latchPath);
    await w.next('latch node exists', (o) => l15(o).latchExists);
    const child = await create(
      jm,
      `${w.p15.latchPath}/_c_${randomUUID()}-latch-`,
      Buffer.alloc(0),
      zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
    );
    const withChild = await w.next('one contender', (o) => l15(o).participants.length === 1);
    assert.equal(l15(withChild).participants[0]!.node, child.slice(child.lastIndexOf('/') + 1));
    assert.equal(l15(withChild).participants[0]!.owner, sessionIdHex(jm.getSessionId()));

    await mkdirp(jm, w.p15.leaderInfoPath.slice(0, w.p15.leaderInfoPath.lastIndexOf('/')));
    await create(
      jm,
      w.p15.leaderInfoPath,
      encodeLeaderInformation('http://10.0.0.5:8081', '00000000-0000-0001-0000-000000000002'),
      zookeeper.CreateMode.EPHEMERAL,
    );
    const info = l15(await w.next('published', (o) => l15(o).leaderInfo.kind === 'published')).leaderInfo;
    assert.deepEqual(info, {
      kind: 'published',
      owner: sessionIdHex(jm.getSessionId()),
      address: 'http://10.0.0.5:8081',
      sessionId: '00000000-0000-0001-0000-000000000002',
      // Looked up later, between the watcher and the store (src/sources/leader-target.ts).
      target: null,
    });
    w.watcher.stop();
  });

  it('re-arms its one-shot watches: 25 successive changes of the leader information are all seen', async () => {
    const w = await watcherFor(`/ew-${randomUUID().slice(0, 8)}`);
    const jm = await connect();
    await mkdirp(jm, w.p15.leaderInfoPath.slice(0, w.p15.leaderInfoPath.lastIndexOf('/')));
    await create(jm, w.p15.leaderInfoPath, Buffer.alloc(0), zookeeper.CreateMode.EPHEMERAL);
    await w.next('empty', (o) => l15(o).leaderInfo.kind === 'empty');
    for (let i = 0; i < 25; i++) {
      const address = `http://10.0.0.${i + 1}:8081`;
      await setData(jm, w.p15.leaderInfoPath, encodeLeaderInformation(address, randomUUID()));
      await w.next(`change ${i}`, (o) => {
        const li = l15(o).leaderInfo;
        return li.kind === 'published' && li.address === address;
      });
    }
    // Deleted and created again: the existence watch after the deletion is armed too.
    await remove(jm, w.p15.leaderInfoPath);
    await w.next('absent after delete', (o) => l15(o).leaderInfo.kind === 'absent');
    await create(jm, w.p15.leaderInfoPath, Buffer.from('not java'), zookeeper.CreateMode.EPHEMERAL);
    const bad = l15(await w.next('undecodable', (o) => l15(o).leaderInfo.kind === 'undecodable')).leaderInfo;
    assert.match(bad.kind === 'undecodable' ? bad.error : '', /stream magic/);
    w.watcher.stop();
  });

  it('orders contenders by sequence number, ignores other children, and follows them leaving', async () => {
    const w = await watcherFor(`/ew-${randomUUID().slice(0, 8)}`);
    const [a, b] = [await connect(), await connect()];
    await mkdirp(a, w.p15.latchPath);
    // The uuid prefixes sort the other way round from the sequence numbers.
    const first = await create(
      a,
      `${w.p15.latchPath}/_c_ffffffff-${randomUUID().slice(9)}-latch-`,
      Buffer.alloc(0),
      zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
    );
    await create(
      b,
      `${w.p15.latchPath}/_c_00000000-${randomUUID().slice(9)}-latch-`,
      Buffer.alloc(0),
      zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
    );
    await create(b, `${w.p15.latchPath}/not-a-latch-child`, Buffer.alloc(0), zookeeper.CreateMode.EPHEMERAL);
    const two = l15(await w.next('two contenders', (o) => l15(o).participants.length === 2)).participants;
    assert.deepEqual(
      two.map((p) => p.owner),
      [sessionIdHex(a.getSessionId()), sessionIdHex(b.getSessionId())],
    );
    assert.ok(two[0]!.sequence < two[1]!.sequence);
    await remove(a, first);
    const one = l15(await w.next('one contender left', (o) => l15(o).participants.length === 1)).participants;
    assert.equal(one[0]!.owner, sessionIdHex(b.getSessionId()));
    w.watcher.stop();
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LeaderTargetLookup, lookUpLeaderTarget, type ResolveHost } from '../../src/sources/leader-target.js';

const resolveHost: ResolveHost = (host) =>
  host === 'jm-0.test' ? Promise.resolve(['10.0.0.5']) : Promise.reject(new Error(`getaddrinfo ENOTFOUND ${host}`));

describe('lookUpLeaderTarget', () => {
  it('takes an IP literal as its own address, without asking the resolver', async () => {
    const never: ResolveHost = () => assert.fail('an IP literal must not be looked up');
    assert.deepEqual(await lookUpLeaderTarget('http://10.0.0.6:8081', never), {
      endpoint: { scheme: 'http', host: '10.0.0.6', port: 8081 },
      resolvedAddresses: ['10.0.0.6'],
    });
    assert.deepEqual((await lookUpLeaderTarget('https://[FD00::1]:8443', never)).resolvedAddresses, ['fd00::1']);
  });

  it('resolves a name, and reports a name that does not resolve as such', async () => {
    assert.deepEqual((await lookUpLeaderTarget('http://jm-0.test:8081', resolveHost)).resolvedAddresses, ['10.0.0.5']);
    const failed = await lookUpLeaderTarget('http://jm-9.test:8081', resolveHost);
    assert.equal(failed.resolvedAddresses, null);
    assert.match(failed.resolveError ?? '', /ENOTFOUND jm-9\.test/);
    assert.deepEqual(failed.endpoint, { scheme: 'http', host: 'jm-9.test', port: 8081 });
  });

  it('gives no endpoint for what is not an http(s) URL', async () => {
    for (const address of ['pekko.tcp://flink@10.0.0.5:6123/user/rpc/dispatcher_1', 'not a url', 'http://:8081']) {
      assert.equal((await lookUpLeaderTarget(address, resolveHost)).endpoint, null, address);
    }
  });
});

describe('LeaderTargetLookup', () => {
  /** A lookup whose answers the test releases one by one, in any order. */
  function controlled(newestOnly = true) {
    const pending = new Map<string, (addresses: string[]) => void>();
    const emitted: { picture: string[]; atMs: number }[] = [];
    const lookup = new LeaderTargetLookup<string[]>({
      newestOnly,
      resolveHost: (host) => new Promise((resolve) => pending.set(host, resolve)),
      fill: async (picture, lookUp) => Promise.all(picture.map(async (a) => `${a}=${(await lookUp(a)).resolvedAddresses?.join('|')}`)),
      emit: (picture, atMs) => emitted.push({ picture, atMs }),
    });
    const settle = () => new Promise((r) => setImmediate(r));
    return { pending, emitted, lookup, settle };
  }

  it('passes each picture on with the time it was observed, once its names are looked up', async () => {
    const c = controlled();
    c.lookup.report(['http://a.test:1', 'http://10.0.0.1:2'], 500);
    await c.settle();
    assert.deepEqual(c.emitted, [], 'nothing before the name is resolved');
    c.pending.get('a.test')!(['10.0.0.9']);
    await c.settle();
    assert.deepEqual(c.emitted, [{ picture: ['http://a.test:1=10.0.0.9', 'http://10.0.0.1:2=10.0.0.1'], atMs: 500 }]);
  });

  it('never passes on an older picture after a newer one, whatever order the lookups finish in', async () => {
    const c = controlled();
    c.lookup.report(['http://old.test:1'], 100);
    c.lookup.report(['http://new.test:1'], 200);
    await c.settle();
    c.pending.get('new.test')!(['10.0.0.2']);
    await c.settle();
    c.pending.get('old.test')!(['10.0.0.1']);
    await c.settle();
    assert.deepEqual(c.emitted, [{ picture: ['http://new.test:1=10.0.0.2'], atMs: 200 }]);
  });

  it('passes on every picture in the order reported when not newestOnly', async () => {
    const c = controlled(false);
    c.lookup.report(['http://old.test:1'], 100);
    c.lookup.report(['http://10.0.0.3:1'], 150);
    c.lookup.report(['http://new.test:1'], 200);
    await c.settle();
    c.pending.get('old.test')!(['10.0.0.1']);
    await c.settle();
    await c.settle();
    await c.settle();
    c.pending.get('new.test')!(['10.0.0.2']);
    await c.settle();
    assert.deepEqual(c.emitted, [
      { picture: ['http://old.test:1=10.0.0.1'], atMs: 100 },
      { picture: ['http://10.0.0.3:1=10.0.0.3'], atMs: 150 },
      { picture: ['http://new.test:1=10.0.0.2'], atMs: 200 },
    ]);
  });

  it('emits nothing after stop()', async () => {
    const c = controlled();
    c.lookup.report(['http://a.test:1'], 100);
    c.lookup.stop();
    c.pending.get('a.test')!(['10.0.0.1']);
    await c.settle();
    assert.deepEqual(c.emitted, []);
  });
});

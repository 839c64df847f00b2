import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSharedHost, matchLeader, normalizeHost, parseLeaderEndpoint, type LocalIdentity } from '../../src/core/identity.js';

describe('normalizeHost', () => {
  const cases: [string, string][] = [
    ['10.0.0.5', '10.0.0.5'],
    ['JM-0.Flink.SVC', 'jm-0.flink.svc'],
    ['jm-0.flink.svc.cluster.local.', 'jm-0.flink.svc.cluster.local'],
    ['[fd00::1]', 'fd00::1'],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::ffff:10.0.0.5', '10.0.0.5'],
    ['[::ffff:a00:5]', '10.0.0.5'],
    ['fe80::1%eth0', 'fe80::1'],
  ];
  for (const [input, expected] of cases) {
    it(`${input} -> ${expected}`, () => assert.equal(normalizeHost(input), expected));
  }
});

describe('parseLeaderEndpoint', () => {
  it('takes scheme, host and port apart', () => {
    assert.deepEqual(parseLeaderEndpoint('http://10.0.0.5:8081'), { scheme: 'http', host: '10.0.0.5', port: 8081 });
    assert.deepEqual(parseLeaderEndpoint('https://[FD00::1]:8443'), { scheme: 'https', host: 'fd00::1', port: 8443 });
  });
  it('fills in the default port of the scheme', () => {
    assert.deepEqual(parseLeaderEndpoint('https://jm.example'), { scheme: 'https', host: 'jm.example', port: 443 });
    assert.deepEqual(parseLeaderEndpoint('http://jm.example/'), { scheme: 'http', host: 'jm.example', port: 80 });
  });
  it('rejects what is not an http(s) URL', () => {
    for (const s of ['pekko.tcp://flink@10.0.0.5:6123/user/rpc/dispatcher_1', '10.0.0.5:8081', '', 'http://', 'ftp://x:21']) {
      assert.equal(parseLeaderEndpoint(s), null, s);
    }
  });
});

describe('isSharedHost', () => {
  for (const h of ['localhost', 'LOCALHOST', 'jm.localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]', '0.0.0.0', '::', '0:0::0']) {
    it(`${h} names every machine alike`, () => assert.equal(isSharedHost(h), true));
  }
  for (const h of ['10.0.0.5', 'fd00::1', 'jm-0.flink', '128.0.0.1']) {
    it(`${h} names one machine`, () => assert.equal(isSharedHost(h), false));
  }
});

describe('matchLeader', () => {
  const pod: LocalIdentity = { explicitHosts: null, interfaceAddresses: ['127.0.0.1', '::1', '10.0.0.5', 'fd00::5'], restPort: 8081 };
  const explicit = (...hosts: string[]): LocalIdentity => ({ ...pod, explicitHosts: hosts });
  const ep = (url: string) => {
    const e = parseLeaderEndpoint(url);
    assert.ok(e, url);
    return e;
  };
  const cases: { name: string; url: string; resolved: string[] | null; identity: LocalIdentity; expected: string }[] = [
    { name: 'own pod IP', url: 'http://10.0.0.5:8081', resolved: ['10.0.0.5'], identity: pod, expected: 'ours' },
    { name: 'own IPv6, bracketed, other spelling', url: 'http://[FD00:0::5]:8081', resolved: ['fd00::5'], identity: pod, expected: 'ours' },
    { name: 'another pod IP', url: 'http://10.0.0.6:8081', resolved: ['10.0.0.6'], identity: pod, expected: 'theirs' },
    { name: 'own IP but another port', url: 'http://10.0.0.5:8082', resolved: ['10.0.0.5'], identity: pod, expected: 'theirs' },
    { name: 'https on the same port is still ours', url: 'https://10.0.0.5:8081', resolved: ['10.0.0.5'], identity: pod, expected: 'ours' },
    { name: 'name resolving to us', url: 'http://jm-0.jm:8081', resolved: ['10.0.0.5'], identity: pod, expected: 'ours' },
    { name: 'name resolving to another pod', url: 'http://jm-1.jm:8081', resolved: ['10.0.0.6'], identity: pod, expected: 'theirs' },
    {
      name: 'name resolving to us and others',
      url: 'http://jm:8081',
      resolved: ['10.0.0.5', '10.0.0.6'],
      identity: pod,
      expected: 'ambiguous',
    },
    { name: 'name that does not resolve', url: 'http://jm-9.jm:8081', resolved: null, identity: pod, expected: 'unresolved' },
    {
      name: 'localhost without an explicit address',
      url: 'http://localhost:8081',
      resolved: ['127.0.0.1'],
      identity: pod,
      expected: 'ambiguous',
    },
    {
      name: '127.0.0.1 without an explicit address',
      url: 'http://127.0.0.1:8081',
      resolved: ['127.0.0.1'],
      identity: pod,
      expected: 'ambiguous',
    },
    {
      name: '0.0.0.0 without an explicit address',
      url: 'http://0.0.0.0:8081',
      resolved: ['0.0.0.0'],
      identity: pod,
      expected: 'ambiguous',
    },
    {
      name: 'localhost set explicitly',
      url: 'http://localhost:8081',
      resolved: ['127.0.0.1'],
      identity: explicit('localhost'),
      expected: 'ours',
    },
    {
      name: 'localhost while another host is explicit',
      url: 'http://localhost:8081',
      resolved: ['127.0.0.1'],
      identity: explicit('10.0.0.5'),
      expected: 'ambiguous',
    },
    {
      name: 'explicit address wins over interfaces',
      url: 'http://10.0.0.5:8081',
      resolved: ['10.0.0.5'],
      identity: explicit('10.0.0.7'),
      expected: 'theirs',
    },
    {
      name: 'explicit address matches',
      url: 'http://10.0.0.7:8081',
      resolved: ['10.0.0.7'],
      identity: explicit('10.0.0.7'),
      expected: 'ours',
    },
    {
      name: 'localhost on another port is still ambiguous',
      url: 'http://localhost:9999',
      resolved: ['127.0.0.1'],
      identity: pod,
      expected: 'ambiguous',
    },
    {
      name: 'explicit 127.0.0.1 on another port is another JM',
      url: 'http://127.0.0.1:9999',
      resolved: ['127.0.0.1'],
      identity: explicit('127.0.0.1'),
      expected: 'theirs',
    },
    {
      name: 'explicit 127.0.0.1 on our port',
      url: 'http://127.0.0.1:8081',
      resolved: ['127.0.0.1'],
      identity: explicit('127.0.0.1'),
      expected: 'ours',
    },
    {
      name: 'explicit name matches by name even unresolved',
      url: 'http://jm-0.jm:8081',
      resolved: null,
      identity: explicit('jm-0.jm'),
      expected: 'ours',
    },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.url} is ${c.expected}`, () => {
      const m = matchLeader(ep(c.url), c.resolved, c.identity, 'ENOTFOUND');
      assert.equal(m.kind, c.expected);
      if (m.kind === 'ambiguous' || m.kind === 'unresolved') assert.match(m.detail, /\S/);
    });
  }
  it('the ambiguity detail tells the operator what to set', () => {
    const m = matchLeader(ep('http://localhost:8081'), ['127.0.0.1'], pod);
    assert.equal(m.kind, 'ambiguous');
    assert.match(m.kind === 'ambiguous' ? m.detail : '', /rest\.address.*POD_IP/s);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSecretName, mask, MASK, maskJsonLine } from '../../src/secrets.js';

describe('secret names', () => {
  it('are those that contain password, secret, key, token, credential or authorization, in any case', () => {
    for (const name of [
      'password',
      'flinkRestTruststorePassword',
      'clientSecret',
      'apiKey',
      'KEY',
      'tokenFile',
      'credentials',
      'Authorization',
    ]) {
      assert.equal(isSecretName(name), true, name);
    }
    for (const name of ['host', 'port', 'module', 'auth', 'leaderAddress']) assert.equal(isSecretName(name), false, name);
  });
});

describe('masking', () => {
  it('masks password, secret, key, token and credential at any depth, and keeps null', () => {
    assert.deepEqual(
      mask({
        a: 1,
        password: 'p',
        nested: { apiKey: 'k', list: [{ clientSecret: 's' }], fine: 'x', deeper: { a: { b: { c: { token: 't' } } } } },
        tokenFile: '/t',
        credentials: 'c',
        keyFile: null,
      }),
      {
        a: 1,
        password: MASK,
        nested: { apiKey: MASK, list: [{ clientSecret: MASK }], fine: 'x', deeper: { a: { b: { c: { token: MASK } } } } },
        tokenFile: MASK,
        credentials: MASK,
        keyFile: null,
      },
    );
  });

  it('masks whole values, objects and arrays too', () => {
    assert.deepEqual(mask({ authorization: [{ scheme: 'digest', auth: 'u:p' }], secrets: { a: 'b' } }), {
      authorization: MASK,
      secrets: MASK,
    });
  });

  it('changes nothing in place, and returns what holds no secret as it came', () => {
    const list = [{ host: 'a' }];
    const given = { host: 'h', port: 1, list, inner: { password: 'p' } };
    const masked = mask(given);
    assert.equal(given.inner.password, 'p');
    assert.notEqual(masked, given);
    assert.equal(masked.list, list);
    assert.equal(masked.inner.password, MASK);
    const clean = { host: 'h', nested: { port: 1 }, list };
    assert.equal(mask(clean), clean);
  });

  it('masks a JSON line by its keys, and returns a line without secret names as it came', () => {
    const clean = '{"level":"info","msg":"listening","port":8090}\n';
    assert.equal(maskJsonLine(clean), clean);
    const named = '{"level":"info","msg":"the token file is set","auth":"bearer"}\n';
    assert.equal(maskJsonLine(named), named);
    const line = '{"level":"warn","zk":{"auth":[{"password":"p"}]},"__proto__":{"token":"t"},"n":1.5}\n';
    const masked = maskJsonLine(line);
    assert.ok(masked.endsWith('}\n'));
    assert.ok(!masked.includes('"p"') && !masked.includes('"t"'), masked);
    assert.deepEqual(
      JSON.parse(masked),
      JSON.parse('{"level":"warn","zk":{"auth":[{"password":"******"}]},"__proto__":{"token":"******"},"n":1.5}'),
    );
  });
});

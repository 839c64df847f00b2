import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/log.js';
import { MASK } from '../../src/secrets.js';

/** A logger at `level` whose lines are collected, parsed, as they are written. */
function collectingLogger(level = 'info') {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw.push(chunk.toString());
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger(level, destination), lines, raw };
}

describe('the logger', () => {
  it('writes JSON lines with the level by name, an ISO time and the name', () => {
    const { log, lines } = collectingLogger();
    log.info({ port: 8090 }, 'listening');
    log.debug('not at info');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.level, 'info');
    assert.equal(lines[0]!.name, 'flink-ha-sidecar');
    assert.equal(lines[0]!.msg, 'listening');
    assert.equal(lines[0]!.port, 8090);
    assert.match(String(lines[0]!.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('masks secret-named fields at any depth, in bindings too, and leaves the caller its object', () => {
    const { log, lines, raw } = collectingLogger();
    const fields = {
      password: 'hunter2',
      zookeeper: { authorization: [{ scheme: 'digest', auth: 'flink:s3cret' }], host: 'zk-0' },
      tls: { truststore: { file: '/etc/ts.p12', storePassword: 'changeit' } },
      deep: { a: { b: { c: { token: 'tok-123' } } } },
    };
    log.child({ module: 'test', apiKey: 'k-456' }).warn(fields, 'with secrets');
    assert.equal(raw.length, 1);
    for (const secret of ['hunter2', 's3cret', 'changeit', 'tok-123', 'k-456']) assert.ok(!raw[0]!.includes(secret), secret);
    const line = lines[0]!;
    assert.equal(line.module, 'test');
    assert.equal(line.apiKey, MASK);
    assert.equal(line.password, MASK);
    assert.deepEqual(line.zookeeper, { authorization: MASK, host: 'zk-0' });
    assert.deepEqual(line.tls, { truststore: { file: '/etc/ts.p12', storePassword: MASK } });
    assert.deepEqual(line.deep, { a: { b: { c: { token: MASK } } } });
    assert.equal(fields.password, 'hunter2');
    assert.equal(fields.tls.truststore.storePassword, 'changeit');
  });

  it('serializes an error with its message and stack, its secret-named fields masked', () => {
    const { log, lines, raw } = collectingLogger();
    const err = Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED', password: 'pw-789' });
    log.error({ err }, 'failed');
    const logged = lines[0]!.err as Record<string, unknown>;
    assert.equal(logged.type, 'Error');
    assert.equal(logged.message, 'connection refused');
    assert.match(String(logged.stack), /connection refused/);
    assert.equal(logged.code, 'ECONNREFUSED');
    assert.equal(logged.password, MASK);
    assert.ok(!raw[0]!.includes('pw-789'));
    assert.equal(err.password, 'pw-789');
  });
});

/**
 * Covers src/flink-conf/version-rules.ts: once the JobManager names its version, the differences
 * between what it reads and what the sidecar read (a stale flink-conf.yaml beside a 2.x config.yaml,
 * config.yaml for a JM up to 1.18, high-availability.type before 1.17, security.ssl.enabled in 2.x),
 * and the facts the settings (src/config/load.ts) record from the directory.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, type LoadOptions } from '../../src/config/index.js';
import { confWarnings, parseFlinkVersion, type FlinkConfFacts } from '../../src/flink-conf/version-rules.js';

const NONE: FlinkConfFacts = { format: null, shadowsStandardFile: false, setsHaTypeOnly: false, restSslFromSharedKeyOnly: false };
const v = (text: string) => {
  const parsed = parseFlinkVersion(text);
  assert.ok(parsed, text);
  return parsed;
};

describe('Flink versions', () => {
  it('parses what GET /config names, and nothing else', () => {
    assert.deepEqual(parseFlinkVersion('1.20.5'), { major: 1, minor: 20 });
    assert.deepEqual(parseFlinkVersion('2.3.0'), { major: 2, minor: 3 });
    assert.deepEqual(parseFlinkVersion('1.19-SNAPSHOT'), { major: 1, minor: 19 });
    assert.equal(parseFlinkVersion('<unknown>'), null);
    assert.equal(parseFlinkVersion('1'), null);
  });
});

describe('what a JobManager of a version reads differently', () => {
  const table: { name: string; version: string; facts: Partial<FlinkConfFacts>; warning: RegExp | null }[] = [
    {
      name: '2.x with a stale flink-conf.yaml beside config.yaml',
      version: '2.3.0',
      facts: { format: 'legacy', shadowsStandardFile: true },
      warning: /reads only config\.yaml, but the sidecar read the flink-conf\.yaml beside it/,
    },
    {
      name: '2.x with flink-conf.yaml alone',
      version: '2.0.1',
      facts: { format: 'legacy' },
      warning: /ignores the flink-conf\.yaml the sidecar read/,
    },
    {
      name: '1.20 with both files (it reads flink-conf.yaml, as the sidecar)',
      version: '1.20.5',
      facts: { format: 'legacy', shadowsStandardFile: true },
      warning: null,
    },
    {
      name: '1.18 with config.yaml only',
      version: '1.18.1',
      facts: { format: 'yaml' },
      warning: /Flink 1\.18 reads only flink-conf\.yaml/,
    },
    { name: '1.19 with config.yaml', version: '1.19.3', facts: { format: 'yaml' }, warning: null },
    {
      name: '1.16 with high-availability.type',
      version: '1.16.3',
      facts: { format: 'legacy', setsHaTypeOnly: true },
      warning: /no high-availability\.type/,
    },
    { name: '1.17 with high-availability.type', version: '1.17.2', facts: { format: 'legacy', setsHaTypeOnly: true }, warning: null },
    {
      name: '2.x with REST TLS from security.ssl.enabled',
      version: '2.3.0',
      facts: { format: 'yaml', restSslFromSharedKeyOnly: true },
      warning: /no longer falls back to security\.ssl\.enabled/,
    },
    {
      name: '1.20 with REST TLS from security.ssl.enabled',
      version: '1.20.5',
      facts: { format: 'yaml', restSslFromSharedKeyOnly: true },
      warning: null,
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const warnings = confWarnings(v(row.version), { ...NONE, ...row.facts });
      if (row.warning === null) assert.deepEqual(warnings, []);
      else assert.ok(warnings.length === 1 && row.warning.test(warnings[0] ?? ''), warnings.join('; '));
    });
  }
});

describe('the facts the settings record', () => {
  const io = (files: Record<string, string>): LoadOptions => ({
    readFile: (path) => {
      const text = files[path.replace('/conf/', '')];
      if (text === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return text;
    },
    isDirectory: (path) => path === '/conf',
  });
  const facts = (files: Record<string, string>) => {
    const result = loadConfig([], { FLINK_CONF_DIR: '/conf', ZOOKEEPER_QUORUM: 'zk:2181' }, '1.0.0', io(files));
    assert.equal(result.kind, 'run');
    return result.kind === 'run' ? result.config.flinkConfFacts : NONE;
  };

  it('a flink-conf.yaml that shadows a config.yaml', () => {
    assert.deepEqual(facts({ 'flink-conf.yaml': 'rest.port: 8081\n', 'config.yaml': 'rest.port: 8082\n' }), {
      ...NONE,
      format: 'legacy',
      shadowsStandardFile: true,
    });
  });

  it('high-availability.type alone, and REST TLS from the shared key alone', () => {
    assert.deepEqual(facts({ 'config.yaml': 'high-availability.type: zookeeper\nsecurity.ssl.enabled: true\n' }), {
      format: 'yaml',
      shadowsStandardFile: false,
      setsHaTypeOnly: true,
      restSslFromSharedKeyOnly: true,
    });
    assert.deepEqual(
      facts({ 'config.yaml': 'high-availability: zookeeper\nsecurity.ssl.rest.enabled: true\nsecurity.ssl.enabled: true\n' }),
      {
        ...NONE,
        format: 'yaml',
      },
    );
  });
});

/**
 * Covers src/flink-conf/read-flink-conf.ts on real temporary directories: which file is read when
 * (flink-conf.yaml before config.yaml, as Flink 1.19 and 1.20), missing directories and files,
 * unreadable files, and that only the keys asked for leave the module.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readFlinkConf, type FlinkConfIo } from '../../src/flink-conf/read-flink-conf.js';

const ROOT = mkdtempSync(join(tmpdir(), 'flink-conf-selection-'));
after(() => rmSync(ROOT, { recursive: true, force: true }));
const FIXTURES = join(__dirname, '..', 'fixtures', 'flink-conf');

let dirs = 0;
/** A fresh directory holding `files` (name -> content). */
function confDir(files: Record<string, string>): string {
  const dir = join(ROOT, `conf-${++dirs}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const KEYS = (key: string): boolean => key === 'high-availability.cluster-id' || key === 'rest.port';

describe('Flink configuration file selection', () => {
  it('reads flink-conf.yaml with the legacy parser when it is alone', () => {
    const dir = confDir({ 'flink-conf.yaml': 'rest.port: 8082\nhigh-availability.cluster-id: "a"\n' });
    const read = readFlinkConf(dir, KEYS);
    assert.equal(read.kind, 'read');
    assert.ok(read.kind === 'read');
    assert.equal(read.path, join(dir, 'flink-conf.yaml'));
    assert.equal(read.format, 'legacy');
    // The legacy parser keeps quotes.
    assert.equal(read.entries.get('high-availability.cluster-id')?.value, '"a"');
  });

  it('reads config.yaml as standard YAML when it is alone', () => {
    const dir = confDir({ 'config.yaml': 'rest:\n  port: 8082\nhigh-availability.cluster-id: "a"\n' });
    const read = readFlinkConf(dir, KEYS);
    assert.ok(read.kind === 'read');
    assert.deepEqual([read.path, read.format, read.entries.get('rest.port')?.value], [join(dir, 'config.yaml'), 'yaml', '8082']);
    assert.equal(read.entries.get('high-availability.cluster-id')?.value, 'a');
  });

  it('reads flink-conf.yaml and ignores config.yaml when both exist, as Flink 1.19 and 1.20 do', () => {
    const dir = join(FIXTURES, 'both-files');
    const read = readFlinkConf(dir, KEYS);
    assert.ok(read.kind === 'read');
    assert.equal(read.path, join(dir, 'flink-conf.yaml'));
    assert.equal(read.entries.get('high-availability.cluster-id')?.value, 'from-flink-conf');
  });

  it('takes config.yaml when flink-conf.yaml is a dangling symbolic link (File#exists is false)', () => {
    const dir = confDir({ 'config.yaml': 'rest.port: 8083\n' });
    symlinkSync(join(dir, 'nowhere.yaml'), join(dir, 'flink-conf.yaml'));
    const read = readFlinkConf(dir, KEYS);
    assert.ok(read.kind === 'read');
    assert.equal(read.format, 'yaml');
  });

  it('follows a symbolic link to the file, as a ConfigMap mount has', () => {
    const dir = confDir({ '..data-config.yaml': 'rest.port: 8084\n' });
    symlinkSync(join(dir, '..data-config.yaml'), join(dir, 'config.yaml'));
    const read = readFlinkConf(dir, KEYS);
    assert.ok(read.kind === 'read');
    assert.equal(read.entries.get('rest.port')?.value, '8084');
  });

  it('reports neither file in an existing directory', () => {
    const dir = confDir({ 'log4j.properties': 'rootLogger.level = INFO\n' });
    assert.deepEqual(readFlinkConf(dir, KEYS), { kind: 'missing', dir, dirExists: true });
  });

  it('reports a missing directory, and a "directory" that is a file', () => {
    const missing = join(ROOT, 'no-such-dir');
    assert.deepEqual(readFlinkConf(missing, KEYS), { kind: 'missing', dir: missing, dirExists: false });
    const file = join(confDir({ 'x.txt': 'x' }), 'x.txt');
    assert.deepEqual(readFlinkConf(file, KEYS), { kind: 'missing', dir: file, dirExists: false });
  });

  it('calls a directory named flink-conf.yaml unreadable: Flink takes it for the file, then fails', () => {
    const dir = confDir({ 'config.yaml': 'rest.port: 8085\n' });
    mkdirSync(join(dir, 'flink-conf.yaml'));
    assert.deepEqual(readFlinkConf(dir, KEYS), {
      kind: 'unreadable',
      path: join(dir, 'flink-conf.yaml'),
      reason: 'it is a directory (EISDIR)',
    });
  });

  it('reports a file it may not read (injected: root reads anything)', () => {
    const io: FlinkConfIo = {
      readFile: () => {
        throw Object.assign(new Error("EACCES: permission denied, open '/conf/flink-conf.yaml'"), { code: 'EACCES' });
      },
      isDirectory: () => true,
    };
    assert.deepEqual(readFlinkConf('/conf', KEYS, io), {
      kind: 'unreadable',
      path: '/conf/flink-conf.yaml',
      reason: 'permission denied (EACCES)',
    });
  });

  it('keeps only the keys asked for, and only their skipped lines', () => {
    const dir = confDir({
      'flink-conf.yaml': 'rest.port: 8081\ns3.secret-key: hidden\nhigh-availability.cluster-id:x\nother:y\n',
    });
    const read = readFlinkConf(dir, KEYS);
    assert.ok(read.kind === 'read');
    assert.deepEqual([...read.entries.keys()], ['rest.port']);
    assert.deepEqual(read.skipped, [{ line: 3, reason: 'no-separator', key: 'high-availability.cluster-id' }]);
    assert.ok(!JSON.stringify([...read.entries.values()]).includes('hidden'));
  });

  it('passes the YAML problems on with the file', () => {
    const dir = confDir({ 'config.yaml': 'a: 1\na: 2\n' });
    const read = readFlinkConf(dir, KEYS);
    assert.ok(read.kind === 'read');
    assert.deepEqual(read.problems, [{ line: 2, column: 1, description: 'Map keys must be unique' }]);
  });
});

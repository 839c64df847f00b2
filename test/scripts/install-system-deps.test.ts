/**
 * Covers scripts/install-system-deps.sh on the path only a fresh machine takes: nothing installed,
 * apt-get called, the packages verified afterwards, and the temporary apt log removed on exit
 * (that exit once failed with "log: unbound variable"). apt-get is a shim that records its
 * arguments and "installs" into a throwaway directory; PATH holds only the tools the script uses.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

const SCRIPT = resolve(__dirname, '..', '..', 'scripts', 'install-system-deps.sh');
const TOOLS = ['mktemp', 'tr', 'sed', 'tail', 'rm', 'touch', 'cat', 'mkdir', 'chmod'];
const JARS = ['zookeeper.jar', 'zookeeper-jute.jar', 'curator-recipes.jar', 'curator-framework.jar', 'curator-client.jar', 'slf4j-nop.jar'];
const isRoot = process.getuid?.() === 0;

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Machine {
  bin: string;
  javaDir: string;
  tmp: string;
  aptCalls: () => string[];
}

/** A machine with none of the packages: apt-get succeeds (or fails) and installs what it is asked for. */
function freshMachine(aptFails = false): Machine {
  const root = mkdtempSync(join(tmpdir(), 'install-deps-test-'));
  dirs.push(root);
  const bin = join(root, 'bin');
  const javaDir = join(root, 'java');
  const tmp = join(root, 'tmp');
  for (const d of [bin, javaDir, tmp]) mkdirSync(d);
  for (const tool of TOOLS) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    symlinkSync(found, join(bin, tool));
  }
  const calls = join(root, 'apt-calls');
  writeFileSync(
    join(bin, 'apt-get'),
    `#!/bin/bash
echo "$*" >> '${calls}'
${aptFails ? 'echo "E: Unable to locate package zookeeper"; exit 100' : ''}
if [[ " $* " == *" install "* ]]; then
  for jar in ${JARS.join(' ')}; do touch '${javaDir}'/$jar; done
  for tool in javac mvn promtool amtool; do printf '#!/bin/bash\\n' > '${bin}'/$tool; chmod +x '${bin}'/$tool; done
fi
`,
  );
  chmodSync(join(bin, 'apt-get'), 0o755);
  return {
    bin,
    javaDir,
    tmp,
    aptCalls: () => {
      try {
        return readFileSync(calls, 'utf8').trim().split('\n');
      } catch {
        return [];
      }
    },
  };
}

function run(machine: Machine) {
  return spawnSync('/bin/bash', [SCRIPT], {
    encoding: 'utf8',
    env: { PATH: machine.bin, TMPDIR: machine.tmp, INSTALL_SYSTEM_DEPS_JAVA_DIR: machine.javaDir },
  });
}

describe('install-system-deps.sh on a fresh machine', { skip: isRoot ? false : 'needs root (apt-get path)' }, () => {
  it('installs every missing package with apt-get, verifies them and exits 0 without an unbound variable', () => {
    const machine = freshMachine();
    const result = run(machine);
    assert.equal(result.status, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /unbound variable/);
    assert.match(
      result.stdout,
      /installing zookeeper libcurator-recipes-java default-jdk-headless maven prometheus prometheus-alertmanager$/m,
    );
    assert.match(result.stdout, /install-system-deps: done/);
    const calls = machine.aptCalls();
    assert.equal(calls.length, 2);
    assert.match(calls[0] ?? '', /^update/);
    assert.match(
      calls[1] ?? '',
      /install -y -qq --no-install-recommends zookeeper libcurator-recipes-java default-jdk-headless maven prometheus prometheus-alertmanager$/,
    );
    assert.deepEqual(readdirSync(machine.tmp), [], 'the apt log is removed on exit');
    // The second run finds everything and calls apt-get no more.
    const again = run(machine);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /already present/);
    assert.equal(machine.aptCalls().length, 2);
  });

  it("fails with apt-get's own output when apt-get fails, and still removes its log", () => {
    const machine = freshMachine(true);
    const result = run(machine);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /E: Unable to locate package zookeeper/);
    assert.match(result.stderr, /apt-get failed installing: zookeeper/);
    assert.doesNotMatch(result.stderr, /unbound variable/);
    assert.deepEqual(readdirSync(machine.tmp), []);
  });
});

/**
 * The sidecar reads a real JobManager's conf dir as that JobManager does, proven against real Flink:
 * - config.yaml's YAML 1.2 edge values: Flink's own GlobalConfiguration (1.19, 1.20, 2.x) reads the
 *   edge fixture exactly as test/fixtures/flink-conf/yaml-1.2-edge/flink-values.json records, and so
 *   does the sidecar; edge values as cluster-id and path root (1_234567, 010, yes, a date, quoted
 *   and not): the sidecar watches exactly the path the real JobManager writes, and is ready;
 * - REST over TLS from Flink's own security.ssl.rest.* (PKCS12 keystore and truststore made here, a
 *   certificate for DNS names only): the chain is verified against the CA from Flink's truststore
 *   and the host name is not; a certificate from another CA is refused; a required server name is
 *   checked; the passwords never reach the sidecar's log or debug output;
 * - ZooKeeper digest authorization with a creator ACL (Flink 1.20+): the sidecar authenticates with
 *   the JobManager's own credentials and reads the nodes an unauthenticated client cannot; the
 *   credentials never reach the sidecar's log or debug output.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type zookeeper from 'node-zookeeper-client';
import { parseStandardFlinkConf } from '../../src/flink-conf/parse-yaml.js';
import { decodeLeaderInformation } from '../../src/sources/zookeeper/leader-info.js';
import {
  dumpFlinkConfig,
  fetchFlink,
  flinkAtLeast,
  FLINK_VERSIONS,
  startFlinkJobManager,
  writeFlinkConfDir,
  type FlinkConfDir,
  type FlinkJobManager,
} from '../support/flink-jobmanager.js';
import { SidecarProcess } from '../support/sidecar-process.js';
import { makeThrowawayPki, type ThrowawayPki } from '../support/throwaway-ca.js';
import { connectClient, waitForZnode } from '../support/znodes.js';
import { findFreePort, sharedZooKeeper, type ZooKeeperServer } from '../support/zookeeper-server.js';

const FIXTURE = join(__dirname, '..', 'fixtures', 'flink-conf', 'yaml-1.2-edge');
/** The versions that read config.yaml as standard YAML. */
const YAML_VERSIONS = FLINK_VERSIONS.filter((v) => flinkAtLeast(v, 1, 19));
/** The newest of each major line, for the scenarios that start JobManagers. */
const NEWEST = [FLINK_VERSIONS.filter((v) => v.startsWith('1.')).at(-1)!, FLINK_VERSIONS.filter((v) => v.startsWith('2.')).at(-1)!];
const FETCH_TIMEOUT_MS = 15 * 60_000;
const TEST_TIMEOUT_MS = 4 * 60_000;

let zk: ZooKeeperServer;
let client: zookeeper.Client;
const started: { jm: FlinkJobManager; sidecar?: SidecarProcess; conf: FlinkConfDir }[] = [];

before(
  async () => {
    for (const version of FLINK_VERSIONS) await fetchFlink(version);
    zk = await sharedZooKeeper();
    client = await connectClient(zk.connectString);
  },
  { timeout: FETCH_TIMEOUT_MS },
);

after(async () => {
  await Promise.all(
    started.map(async ({ jm, sidecar }) => {
      await sidecar?.stop();
      await jm.kill('SIGKILL');
    }),
  );
  await Promise.all(started.map(({ conf }) => conf.remove()));
  client?.close();
  await zk?.destroy();
});

const unique = (): string => randomBytes(4).toString('hex');

/** One JobManager on `conf` and a sidecar reading the same conf dir. */
async function jobManagerWithSidecar(
  conf: FlinkConfDir,
  env: Record<string, string> = {},
): Promise<{ jm: FlinkJobManager; sidecar: SidecarProcess }> {
  const jm = await startFlinkJobManager({ version: conf.version, confDir: conf });
  const entry: (typeof started)[number] = { jm, conf };
  started.push(entry);
  const sidecar = await SidecarProcess.start({ confDir: conf.dir, env });
  entry.sidecar = sidecar;
  return { jm, sidecar };
}

/** A second sidecar on the same conf dir, with some settings overridden by variables. */
async function extraSidecar(conf: FlinkConfDir, env: Record<string, string>): Promise<SidecarProcess> {
  const sidecar = await SidecarProcess.start({ confDir: conf.dir, env });
  started.push({ jm: started.find((s) => s.conf === conf)!.jm, conf, sidecar });
  return sidecar;
}

describe("config.yaml's YAML 1.2 edge values, read by Flink's own GlobalConfiguration", () => {
  const recorded = JSON.parse(readFileSync(join(FIXTURE, 'flink-values.json'), 'utf8')) as Record<string, string>;
  const sidecar = Object.fromEntries(
    [...parseStandardFlinkConf(readFileSync(join(FIXTURE, 'config.yaml'), 'utf8')).entries.values()].map((e) => [e.key, e.value]),
  );
  for (const version of YAML_VERSIONS) {
    test(`Flink ${version} reads the edge fixture as recorded, and as the sidecar does`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const flink = await dumpFlinkConfig(version, FIXTURE);
      assert.deepEqual(flink, recorded);
      assert.deepEqual(sidecar, flink);
    });
  }
});

describe('YAML 1.2 edge values as cluster-id and path root: the sidecar watches the path the JobManager writes', () => {
  // Unquoted, each is something else under YAML 1.1 (an int, a bool, a date); quoted, a string in both.
  const CASES: { clusterId: string; root: string }[] = [
    { clusterId: '1_234567', root: '010' },
    { clusterId: 'yes', root: '2024-06-01' },
    { clusterId: "'010'", root: 'on' },
  ];
  for (const version of NEWEST) {
    test(`Flink ${version}`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
      await Promise.all(
        CASES.map(async ({ clusterId, root }) => {
          const conf = await writeFlinkConfDir({
            version,
            zookeeperQuorum: zk.connectString,
            fileName: 'config.yaml',
            clusterId,
            pathRoot: root,
          });
          const flink = await dumpFlinkConfig(version, conf.dir);
          const path = `/${flink['high-availability.zookeeper.path.root']}/${flink['high-availability.cluster-id']}/leader/rest_server/connection_info`;
          const { jm, sidecar } = await jobManagerWithSidecar(conf);
          // Matched by this JobManager's own address: a node another version's run left has another port.
          const written = await waitForZnode(
            client,
            path,
            (s) => s.data !== undefined && decodeLeaderInformation(s.data)?.address === conf.restUrl,
            60_000,
          );
          assert.ok(written.exists);
          await sidecar.waitUntilReady(60_000);
          t.diagnostic(`${version}: cluster-id ${clusterId} under root ${root} → ${path}; pid ${jm.pid}`);
          await sidecar.stop();
          await jm.kill('SIGTERM');
          await jm.exited;
        }),
      );
    });
  }
});

describe("REST over TLS configured once, in Flink's own security.ssl.rest.*", () => {
  const SERVICE = 'flink-jobmanager.flink.svc';
  const KEYSTORE_PASSWORD = `ks-${unique()}-secret`;
  const TRUSTSTORE_PASSWORD = `ts-${unique()}-secret`;
  let pki: ThrowawayPki;
  let otherPki: ThrowawayPki;

  before(() => {
    pki = makeThrowawayPki([`DNS:${SERVICE}`, 'DNS:flink-jobmanager']);
    otherPki = makeThrowawayPki([`DNS:${SERVICE}`]);
    // The JobManager's keystore: its key and a certificate for DNS names only, signed by the CA.
    execFileSync(
      'openssl',
      [
        'pkcs12',
        '-export',
        '-in',
        pki.serverCertFile,
        '-inkey',
        pki.serverKeyFile,
        '-certfile',
        pki.caFile,
        '-name',
        'rest',
        '-out',
        join(pki.dir, 'rest.keystore.p12'),
        '-passout',
        `pass:${KEYSTORE_PASSWORD}`,
      ],
      { stdio: 'pipe' },
    );
    pki.pkcs12Truststore(TRUSTSTORE_PASSWORD);
  });
  after(() => {
    pki.remove();
    otherPki.remove();
  });

  for (const version of NEWEST) {
    test(
      `Flink ${version}: chain verified, host name not; another CA refused; a required server name checked`,
      { timeout: TEST_TIMEOUT_MS },
      async (t) => {
        const conf = await writeFlinkConfDir({
          version,
          zookeeperQuorum: zk.connectString,
          clusterId: `tls-${unique()}`,
          extra: {
            'security.ssl.rest.enabled': 'true',
            'security.ssl.rest.keystore': join(pki.dir, 'rest.keystore.p12'),
            'security.ssl.rest.keystore-password': KEYSTORE_PASSWORD,
            'security.ssl.rest.key-password': KEYSTORE_PASSWORD,
            'security.ssl.rest.truststore': join(pki.dir, 'truststore.p12'),
            'security.ssl.rest.truststore-password': TRUSTSTORE_PASSWORD,
          },
        });
        const { sidecar } = await jobManagerWithSidecar(conf);
        await sidecar.waitUntilReady(60_000);
        const named = await extraSidecar(conf, { FLINK_REST_SERVER_NAME: SERVICE });
        await named.waitUntilReady(60_000);

        const foreign = await extraSidecar(conf, { FLINK_REST_CA_FILE: otherPki.caFile });
        const wrongName = await extraSidecar(conf, { FLINK_REST_SERVER_NAME: 'other.flink.svc' });
        const refusedCa = await foreign.waitForVerbose(/jobmanager failed: connection-error \(.*certificate/i, 60_000);
        await wrongName.waitForVerbose(/jobmanager failed: connection-error \(.*other\.flink\.svc/i, 60_000);
        assert.equal(foreign.isReady, false);
        assert.equal(wrongName.isReady, false);
        t.diagnostic(`${version}: ${refusedCa.split('\n').find((l) => l.includes('jobmanager'))}`);

        for (const s of [sidecar, named, foreign, wrongName]) {
          const text = s.lines.map((l) => JSON.stringify(l)).join('\n') + s.stderr;
          assert.ok(!text.includes(KEYSTORE_PASSWORD) && !text.includes(TRUSTSTORE_PASSWORD), 'a password reached the log');
        }
      },
    );
  }
});

describe('ZooKeeper digest authorization with a creator ACL (Flink 1.20+)', () => {
  const SECRET = `zk-${unique()}-secret`;
  for (const version of NEWEST.filter((v) => flinkAtLeast(v, 1, 20))) {
    test(
      `Flink ${version}: the sidecar reads the nodes with the JobManager's own credentials, and never shows them`,
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const clusterId = `auth-${unique()}`;
        const conf = await writeFlinkConfDir({
          version,
          zookeeperQuorum: zk.connectString,
          clusterId,
          fileName: 'config.yaml',
          extra: {
            'high-availability.zookeeper.client.acl': 'creator',
            'high-availability.zookeeper.client.authorization': `"digest:'flink:${SECRET}'"`,
          },
        });
        const debugPort = await findFreePort();
        const { sidecar } = await jobManagerWithSidecar(conf, { SIDECAR_DEBUG_PORT: String(debugPort), SIDECAR_DEBUG_HOST: '127.0.0.1' });
        await sidecar.waitUntilReady(60_000);

        // The ACL is real: a client without the credentials may not read what the JobManager wrote.
        const path = `/flink/${clusterId}/leader/rest_server/connection_info`;
        const denied = await new Promise<string>((resolve) => client.getData(path, (err) => resolve(String(err))));
        assert.match(denied, /NO_AUTH/);

        const debug = await Promise.all(
          ['/debug/config', '/debug/state'].map(async (p) => (await fetch(`http://127.0.0.1:${debugPort}${p}`)).text()),
        );
        const everything = [...debug, ...sidecar.lines.map((l) => JSON.stringify(l)), sidecar.stderr].join('\n');
        assert.match(debug[0]!, /zookeeperAuthorization/);
        assert.ok(!everything.includes(SECRET), 'the digest credentials reached the log or debug output');
      },
    );
  }
});

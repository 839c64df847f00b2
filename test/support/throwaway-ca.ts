import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ThrowawayPki {
  dir: string;
  /** PEM file paths and their contents. */
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  read: (file: string) => Buffer;
  /** The CA in a PKCS12 truststore made by Java's keytool, as Flink's docs make one. */
  pkcs12Truststore: (password: string) => string;
  remove: () => void;
}

/**
 * A CA made for one test run with the openssl command line, a server certificate (for 127.0.0.1,
 * or for the names given as subjectAltName entries such as 'DNS:flink-jobmanager.flink.svc') and
 * a client certificate, both signed by it. Short-lived and thrown away afterwards.
 */
export function makeThrowawayPki(serverAltNames: readonly string[] = ['IP:127.0.0.1']): ThrowawayPki {
  const dir = mkdtempSync(join(tmpdir(), 'flink-ha-sidecar-pki-'));
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=flink-ha-sidecar test CA',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
  );
  const issue = (name: string, cn: string, ext: string) => {
    openssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.csr`),
    );
    writeFileSync(f(`${name}.ext`), ext);
    openssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
      '-out',
      f(`${name}.pem`),
    );
  };
  const serverCn = (serverAltNames[0] ?? 'IP:127.0.0.1').replace(/^[A-Z]+:/, '');
  issue('server', serverCn, `subjectAltName=${serverAltNames.join(',')}\nextendedKeyUsage=serverAuth\n`);
  issue('client', 'flink-ha-sidecar', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caFile: f('ca.pem'),
    serverCertFile: f('server.pem'),
    serverKeyFile: f('server.key'),
    clientCertFile: f('client.pem'),
    clientKeyFile: f('client.key'),
    read: (file) => readFileSync(file),
    pkcs12Truststore: (password) => {
      const store = f('truststore.p12');
      rmSync(store, { force: true });
      execFileSync(
        'keytool',
        [
          '-importcert',
          '-noprompt',
          '-alias',
          'ca',
          '-file',
          f('ca.pem'),
          '-keystore',
          store,
          '-storetype',
          'PKCS12',
          '-storepass',
          password,
        ],
        { stdio: 'pipe' },
      );
      return store;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

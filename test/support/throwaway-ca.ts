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

/** A CA in `dir` and the certificates it issues: each `<name>.pem` with its key `<name>.key`. */
export interface TestCa {
  caFile: string;
  /** Issues `<name>.pem` and `<name>.key` for `subject` (`/O=.../CN=...`) with these X.509v3 extension lines. */
  issue: (name: string, subject: string, extensions: readonly string[]) => { certFile: string; keyFile: string };
}

/** An EC P-256 CA, valid for two days, made with the openssl command line in `dir`. */
export function makeTestCa(dir: string, name: string): TestCa {
  const f = (file: string) => join(dir, file);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  writeFileSync(
    f('ca.cnf'),
    [
      '[req]',
      'distinguished_name=dn',
      'x509_extensions=ca',
      'prompt=no',
      '[dn]',
      `CN=${name}`,
      '[ca]',
      'basicConstraints=critical,CA:TRUE',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
      'subjectKeyIdentifier=hash',
      '',
    ].join('\n'),
  );
  openssl('req', '-x509', ...ecKey, '-days', '2', '-config', f('ca.cnf'), '-keyout', f('ca.key'), '-out', f('ca.pem'));
  return {
    caFile: f('ca.pem'),
    issue: (cert, subject, extensions) => {
      openssl('req', ...ecKey, '-subj', subject, '-keyout', f(`${cert}.key`), '-out', f(`${cert}.csr`));
      writeFileSync(
        f(`${cert}.ext`),
        ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'authorityKeyIdentifier=keyid', ...extensions, ''].join('\n'),
      );
      const caArgs = ['-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial'];
      openssl('x509', '-req', '-in', f(`${cert}.csr`), ...caArgs, '-days', '2', '-extfile', f(`${cert}.ext`), '-out', f(`${cert}.pem`));
      return { certFile: f(`${cert}.pem`), keyFile: f(`${cert}.key`) };
    },
  };
}

/**
 * A CA made for one test run with the openssl command line, a server certificate (for 127.0.0.1,
 * or for the names given as subjectAltName entries such as 'DNS:flink-jobmanager.flink.svc') and
 * a client certificate, both signed by it. Short-lived and thrown away afterwards.
 */
export function makeThrowawayPki(serverAltNames: readonly string[] = ['IP:127.0.0.1']): ThrowawayPki {
  const dir = mkdtempSync(join(tmpdir(), 'flink-ha-sidecar-pki-'));
  const f = (name: string) => join(dir, name);
  const ca = makeTestCa(dir, 'flink-ha-sidecar test CA');
  const serverCn = (serverAltNames[0] ?? 'IP:127.0.0.1').replace(/^[A-Z]+:/, '');
  const server = ca.issue('server', `/CN=${serverCn}`, [`subjectAltName=${serverAltNames.join(',')}`, 'extendedKeyUsage=serverAuth']);
  const client = ca.issue('client', '/CN=flink-ha-sidecar', ['extendedKeyUsage=clientAuth']);
  return {
    dir,
    caFile: ca.caFile,
    serverCertFile: server.certFile,
    serverKeyFile: server.keyFile,
    clientCertFile: client.certFile,
    clientKeyFile: client.keyFile,
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
          ca.caFile,
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

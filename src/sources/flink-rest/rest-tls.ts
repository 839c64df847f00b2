/**
 * TLS for the local JobManager's REST API (security.ssl.rest.enabled), verified the way Flink's own
 * REST client verifies it (SSLUtils#createRestClientSSLEngineFactory, docs/design.md "REST over
 * TLS"): the certificate chain must lead to a trusted CA, but the host name is not checked. The
 * sidecar calls https://127.0.0.1:<port>, while a JobManager's certificate names its DNS names or
 * pod IP, so a host-name check would fail every time.
 */
import { readFileSync } from 'node:fs';
import type https from 'node:https';
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { FlinkRestTls } from '../../config/index.js';
import { ConfigError } from '../../errors.js';

/** The first four bytes of a Java KeyStore (JKS) file. */
const JKS_MAGIC = 0xfeedfeed;

/**
 * Agent options for the REST checker: the CA (a PEM bundle, or the certificates of Flink's PKCS12
 * truststore), the client certificate and key, and the identity check. Reads the files once, at
 * start-up; keys and passwords stay in memory only. Throws ConfigError for a truststore that cannot
 * be read; its message never holds the password.
 */
export function loadRestTls(tls: FlinkRestTls): https.AgentOptions {
  const ca = tls.caFile !== null ? readFileSync(tls.caFile) : tls.truststore !== null ? readTruststore(tls.truststore) : undefined;
  const serverName = tls.serverName;
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(tls.certFile ? { cert: readFileSync(tls.certFile) } : {}),
    ...(tls.keyFile ? { key: readFileSync(tls.keyFile) } : {}),
    ...(serverName === null
      ? { checkServerIdentity: (): undefined => undefined }
      : {
          // SNI carries names only (RFC 6066); an IP address is checked without it.
          ...(isIP(serverName) === 0 ? { servername: serverName } : {}),
          checkServerIdentity: (_host: string, cert: PeerCertificate): Error | undefined => checkServerIdentity(serverName, cert),
        }),
  };
}

/** The certificates of a PKCS12 truststore, as PEM. */
export function readTruststore(store: { file: string; password: string }): string[] {
  const problem = (what: string): ConfigError => new ConfigError([`the REST truststore ${JSON.stringify(store.file)} ${what}`]);
  const bytes = readFileSync(store.file);
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === JKS_MAGIC) {
    throw problem(
      'is a JKS keystore; only PKCS12 can be read: convert it (keytool -importkeystore -deststoretype PKCS12) or give FLINK_REST_CA_FILE',
    );
  }
  // Loaded here only: most sidecars never read a truststore, and the library is large.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy load, as said above
  const forge = require('node-forge') as typeof import('node-forge');
  let certificates: string[];
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(bytes.toString('binary')));
    const p12 = forge.pkcs12.pkcs12FromAsn1(asn1, true, store.password);
    const certBag = forge.pki.oids.certBag as string;
    const bags = p12.getBags({ bagType: certBag })[certBag] ?? [];
    // node-forge builds certificate objects for RSA keys only and keeps the raw ASN.1 of others (EC).
    certificates = bags.flatMap((bag) => {
      const asn1Cert = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : bag.asn1;
      if (asn1Cert === undefined) return [];
      const der = Buffer.from(forge.asn1.toDer(asn1Cert).getBytes(), 'binary');
      return [`-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`];
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    if (/MAC could not be verified/.test(message)) throw problem('cannot be opened: wrong password');
    throw problem('is not a PKCS12 truststore that can be read');
  }
  if (certificates.length === 0) throw problem('holds no certificates');
  return certificates;
}

/**
 * The JM check over HTTPS (security.ssl.rest.enabled), with a CA and client certificate made for
 * the test: mutual TLS; the chain verified and not the host name, as Flink's REST client does; an
 * optional server name required; the CA taken from a PKCS12 truststore made by keytool.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import https from 'node:https';
import { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FlinkRestTls } from '../../src/config/index.js';
import type { SidecarEvent } from '../../src/core/model.js';
import { ConfigError } from '../../src/errors.js';
import { JobManagerChecker } from '../../src/sources/flink-rest/jobmanager-checker.js';
import { loadRestTls } from '../../src/sources/flink-rest/rest-tls.js';
import { makeThrowawayPki, type ThrowawayPki } from '../support/throwaway-ca.js';

type CheckEvent = Extract<SidecarEvent, { type: 'restCheckSucceeded' | 'restCheckFailed' }>;

let pki: ThrowawayPki;
let server: https.Server;
let url: URL;
const clientNames: string[] = [];

before(async () => {
  pki = makeThrowawayPki();
  server = https.createServer(
    {
      cert: pki.read(pki.serverCertFile),
      key: pki.read(pki.serverKeyFile),
      ca: pki.read(pki.caFile),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      assert.ok(req.socket instanceof TLSSocket);
      const peer = req.socket.getPeerCertificate();
      clientNames.push(String(peer.subject?.CN ?? ''));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"flink-version":"1.20.0"}');
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}/`);
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  pki.remove();
});

const tlsFiles = (given: Partial<FlinkRestTls>): FlinkRestTls => ({
  caFile: null,
  certFile: null,
  keyFile: null,
  truststore: null,
  serverName: null,
  ...given,
});

async function firstCheck(tls: https.AgentOptions | undefined, target: URL = url): Promise<CheckEvent> {
  return new Promise((resolve) => {
    const checker = new JobManagerChecker({
      restUrl: target,
      intervalMs: 60_000,
      timeoutMs: 2000,
      clock: () => performance.now(),
      ...(tls ? { tls } : {}),
      onEvent: (e) => {
        if (e.type === 'restCheckSucceeded' || e.type === 'restCheckFailed') {
          checker.stop();
          resolve(e);
        }
      },
    });
    checker.start();
  });
}

describe('JobManagerChecker over HTTPS', () => {
  it('is healthy with the CA bundle and a client certificate from PEM files', async () => {
    const e = await firstCheck(loadRestTls(tlsFiles({ caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile })));
    assert.equal(e.type, 'restCheckSucceeded');
    assert.equal(clientNames.at(-1), 'flink-ha-sidecar');
  });

  it('fails with a clear reason when the server is not trusted, and never shows key material', async () => {
    const e = await firstCheck(loadRestTls(tlsFiles({ certFile: pki.clientCertFile, keyFile: pki.clientKeyFile })));
    assert.equal(e.type, 'restCheckFailed');
    assert.equal(e.type === 'restCheckFailed' && e.reason, 'connection-error');
    const detail = e.type === 'restCheckFailed' ? e.detail : '';
    assert.match(detail, /certificate/i);
    assert.ok(!detail.includes('PRIVATE KEY'));
  });

  it('fails when the server requires a client certificate and none is given', async () => {
    const e = await firstCheck(loadRestTls(tlsFiles({ caFile: pki.caFile })));
    assert.equal(e.type, 'restCheckFailed');
  });
});

describe('JobManagerChecker over HTTPS: chain, not host name, as Flink verifies', () => {
  const SERVICE = 'flink-jobmanager.flink.svc';
  let servicePki: ThrowawayPki;
  let otherPki: ThrowawayPki;
  let serviceServer: https.Server;
  let serviceUrl: URL;

  before(async () => {
    servicePki = makeThrowawayPki([`DNS:${SERVICE}`, 'DNS:flink-jobmanager']);
    otherPki = makeThrowawayPki([`DNS:${SERVICE}`]);
    serviceServer = https.createServer(
      { cert: servicePki.read(servicePki.serverCertFile), key: servicePki.read(servicePki.serverKeyFile) },
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"flink-version":"1.20.5"}');
      },
    );
    await new Promise<void>((r) => serviceServer.listen(0, '127.0.0.1', r));
    serviceUrl = new URL(`https://127.0.0.1:${(serviceServer.address() as AddressInfo).port}/`);
  });
  after(async () => {
    serviceServer.closeAllConnections();
    await new Promise<void>((r) => serviceServer.close(() => r()));
    servicePki.remove();
    otherPki.remove();
  });

  it('accepts a certificate for DNS names only, reached at 127.0.0.1, when its chain leads to the CA', async () => {
    const e = await firstCheck(loadRestTls(tlsFiles({ caFile: servicePki.caFile })), serviceUrl);
    assert.equal(e.type, 'restCheckSucceeded');
  });

  it('refuses the same certificate against another CA', async () => {
    const e = await firstCheck(loadRestTls(tlsFiles({ caFile: otherPki.caFile })), serviceUrl);
    assert.equal(e.type, 'restCheckFailed');
    assert.match(e.type === 'restCheckFailed' ? e.detail : '', /certificate/i);
  });

  it('requires the server name when one is set', async () => {
    const good = await firstCheck(loadRestTls(tlsFiles({ caFile: servicePki.caFile, serverName: SERVICE })), serviceUrl);
    assert.equal(good.type, 'restCheckSucceeded');
    const bad = await firstCheck(loadRestTls(tlsFiles({ caFile: servicePki.caFile, serverName: 'other.flink.svc' })), serviceUrl);
    assert.equal(bad.type, 'restCheckFailed');
    assert.match(bad.type === 'restCheckFailed' ? bad.detail : '', /other\.flink\.svc/);
  });

  it("takes the CA from Flink's PKCS12 truststore, and refuses a wrong password without showing it", async () => {
    const password = 'truststore-secret-p4ss';
    const file = servicePki.pkcs12Truststore(password);
    const e = await firstCheck(loadRestTls(tlsFiles({ truststore: { file, password } })), serviceUrl);
    assert.equal(e.type, 'restCheckSucceeded');
    const other = otherPki.pkcs12Truststore(password);
    const refused = await firstCheck(loadRestTls(tlsFiles({ truststore: { file: other, password } })), serviceUrl);
    assert.equal(refused.type, 'restCheckFailed');
    assert.throws(
      () => loadRestTls(tlsFiles({ truststore: { file, password: 'wrong-password-123' } })),
      (error: unknown) =>
        error instanceof ConfigError && /wrong password/.test(error.message) && !error.message.includes('wrong-password-123'),
    );
  });

  it('refuses a JKS truststore and a file that is no truststore, with a clear message', () => {
    assert.throws(() => loadRestTls(tlsFiles({ truststore: { file: servicePki.caFile, password: 'x' } })), /is not a PKCS12 truststore/);
    const jks = join(servicePki.dir, 'truststore.jks');
    execFileSync(
      'keytool',
      [
        '-importcert',
        '-noprompt',
        '-alias',
        'ca',
        '-file',
        servicePki.caFile,
        '-keystore',
        jks,
        '-storetype',
        'JKS',
        '-storepass',
        'changeit',
      ],
      { stdio: 'pipe' },
    );
    assert.throws(() => loadRestTls(tlsFiles({ truststore: { file: jks, password: 'changeit' } })), /is a JKS keystore; only PKCS12/);
  });
});

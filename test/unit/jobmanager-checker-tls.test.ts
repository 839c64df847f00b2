/** The JM check over HTTPS (security.ssl.rest.enabled), with a CA and client certificate made for the test. */
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { SidecarEvent } from '../../src/core/model.js';
import { JobManagerChecker, loadRestTls } from '../../src/sources/flink-rest/jobmanager-checker.js';
import { makeThrowawayPki, type ThrowawayPki } from '../support/throwaway-ca.js';

type CheckEvent = Extract<SidecarEvent, { type: 'restCheckSucceeded' | 'restCheckFailed' }>;

let pki: ThrowawayPki;
let server: https.Server;
let url: URL;
const clientNames: string[] = [];

before(async () => {
  pki = makeThrowawayPki();
  server = https.createServer(
    { cert: pki.read(pki.serverCertFile), key: pki.read(pki.serverKeyFile), ca: pki.read(pki.caFile), requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
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

async function firstCheck(tls: https.AgentOptions | undefined): Promise<CheckEvent> {
  return new Promise((resolve) => {
    const checker = new JobManagerChecker({
      restUrl: url,
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
    const e = await firstCheck(loadRestTls({ caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile }));
    assert.equal(e.type, 'restCheckSucceeded');
    assert.equal(clientNames.at(-1), 'flink-ha-sidecar');
  });

  it('fails with a clear reason when the server is not trusted, and never shows key material', async () => {
    const e = await firstCheck(loadRestTls({ caFile: null, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile }));
    assert.equal(e.type, 'restCheckFailed');
    assert.equal(e.type === 'restCheckFailed' && e.reason, 'connection-error');
    const detail = e.type === 'restCheckFailed' ? e.detail : '';
    assert.match(detail, /certificate/i);
    assert.ok(!detail.includes('PRIVATE KEY'));
  });

  it('fails when the server requires a client certificate and none is given', async () => {
    const e = await firstCheck(loadRestTls({ caFile: pki.caFile, certFile: null, keyFile: null }));
    assert.equal(e.type, 'restCheckFailed');
  });
});

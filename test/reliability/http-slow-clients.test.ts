/**
 * Regression (found by the reliability suite): the probe server meant to give a client 5 s to
 * send its headers, but Node looks for expired ones only every 30 s by default, so a client that
 * trickled its headers held its connection for up to 35 s. Now it is cut off within about 6 s.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Server } from 'node:http';
import { listen } from '../../src/http/listen.js';
import { trickleHeaders } from './lib/raw-http.js';

let server: Server | undefined;
after(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

describe('the probe server and slow clients', () => {
  it('cuts off a client that trickles its headers within the headers timeout and one check interval', async () => {
    const started = await listen((_req, res) => res.end('ok'), '127.0.0.1', 0);
    server = started.server;
    const slow = await trickleHeaders(started.port, 200, 40_000);
    assert.ok(slow.openMs < 5000 + 1000 + 1000, `the slow client was cut off after ${Math.round(slow.openMs)} ms`);
    assert.ok(slow.openMs >= 4900, `cut off before the headers timeout: ${Math.round(slow.openMs)} ms`);
    assert.ok(slow.status === null || slow.status === 408, `answered ${slow.status}`);
  });
});

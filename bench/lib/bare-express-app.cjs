// The baseline the benches measure the sidecar against: a bare express 5 app answering
// GET /readyz 200 with the body in $BODY, as small as an express app gets. It prints one JSON line
// once it listens: its port and the time (performance.timeOrigin + performance.now(), the scale of
// the sidecar's own `atMs`).
'use strict';
const express = require('express');

const app = express();
app.disable('x-powered-by');
app.disable('etag');
const body = process.env.BODY ?? '{"status":"ready"}';
app.get('/readyz', (_req, res) => {
  res.set('Cache-Control', 'no-store');
  res.type('application/json').status(200).send(body);
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const listeningAtMs = performance.timeOrigin + performance.now();
  process.stdout.write(`${JSON.stringify({ port: server.address().port, listeningAtMs })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));

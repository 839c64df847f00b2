/**
 * A probe flood from its own process, so that the flooding client's own work does not delay the
 * test's sampled probes: `node --import tsx flood.ts <port> <keepAliveClients> <requestsEach>
 * <closingClients> <requestsEach>`. Kept-alive clients reuse one connection each; closing clients
 * connect for every request. Every request is bounded by a 5 s timeout. Prints one JSON line:
 * `{ total, ms, statuses: { "<status>": count } }` (status -1: no answer).
 */
import http from 'node:http';

const PATHS = ['/readyz', '/livez', '/leader', '/standby', '/readyz?verbose', '/readyz?standbyok=true', '/jobmanager/livez', '/nope'];

async function client(port: number, agent: http.Agent, count: number, statuses: Map<number, number>): Promise<void> {
  for (let i = 0; i < count; i++) {
    const status = await new Promise<number>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: PATHS[i % PATHS.length], agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.setTimeout(5000, () => req.destroy());
      req.on('error', () => resolve(-1));
    });
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
}

async function main(): Promise<void> {
  const [port, keepAliveClients, keepAliveEach, closingClients, closingEach] = process.argv.slice(2).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const statuses = new Map<number, number>();
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: keepAliveClients });
  const closing = new http.Agent({ keepAlive: false, maxSockets: Math.max(1, closingClients) });
  const started = performance.now();
  await Promise.all([
    ...Array.from({ length: keepAliveClients }, () => client(port, keepAlive, keepAliveEach, statuses)),
    ...Array.from({ length: closingClients }, () => client(port, closing, closingEach, statuses)),
  ]);
  keepAlive.destroy();
  closing.destroy();
  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  process.stdout.write(
    `${JSON.stringify({ total, ms: Math.round(performance.now() - started), statuses: Object.fromEntries(statuses) })}\n`,
  );
}

void main();

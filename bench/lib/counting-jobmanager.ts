/**
 * A leading "JobManager" for the benchmarks, in this process: a ZooKeeper session that holds a
 * Curator-style latch node and publishes rest_server leader information as Flink does (layout
 * 1.15), and a REST API on 127.0.0.1 that answers GET /config and counts every request it gets,
 * so a benchmark can show that probes cause none.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import zookeeper, { type Client } from 'node-zookeeper-client';
import { electionPaths } from '../../src/sources/zookeeper/paths.js';
import { encodeLeaderInformation } from '../../test/support/leader-info-encoder.js';

export interface CountingJobManager {
  restUrl: string;
  clusterId: string;
  /** Requests the REST API has answered so far. */
  restHits(): number;
  close(): Promise<void>;
}

function call<T>(fn: (cb: (err: unknown, v: T) => void) => void): Promise<T> {
  // node-zookeeper-client fails with Errors; anything else is wrapped with its text as it comes.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(v))));
}

/** Starts the REST API, joins the latch (alone, so it leads) and publishes its address. */
export async function startLeadingJobManager(
  connectString: string,
  clusterId = `/bench-${randomUUID().slice(0, 8)}`,
): Promise<CountingJobManager> {
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"flink-version":"1.20.0"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const restUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client: Client = zookeeper.createClient(connectString, { sessionTimeout: 10_000 });
  await new Promise<void>((resolve) => {
    client.once('connected', () => resolve());
    client.connect();
  });
  const paths = electionPaths({ root: '/flink', clusterId, latchDir: '/leaderlatch', leaderDir: '/leader' }).find(
    (p) => p.layout === '1.15',
  )!;
  await call<string>((cb) => client.mkdirp(paths.latchPath, cb));
  await call<string>((cb) =>
    client.create(`${paths.latchPath}/_c_${randomUUID()}-latch-`, Buffer.alloc(0), zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL, cb),
  );
  await call<string>((cb) => client.mkdirp(paths.leaderInfoPath.slice(0, paths.leaderInfoPath.lastIndexOf('/')), cb));
  await call<string>((cb) =>
    client.create(paths.leaderInfoPath, encodeLeaderInformation(restUrl, randomUUID()), zookeeper.CreateMode.EPHEMERAL, cb),
  );
  return {
    restUrl,
    clusterId,
    restHits: () => hits,
    close: async () => {
      client.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** ZooKeeper's own packet counters, from the `srvr` four-letter word. */
export function parseSrvr(answer: string): { received: number; sent: number } {
  const received = Number(/^Received: (\d+)/m.exec(answer)?.[1] ?? NaN);
  const sent = Number(/^Sent: (\d+)/m.exec(answer)?.[1] ?? NaN);
  return { received, sent };
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The machine, for the results table: CPU model, cores, Node version. */
export function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}`;
}

import zookeeper, { type Client } from 'node-zookeeper-client';
import type { Config } from '../config/index.js';
import { escapeText } from '../core/printable.js';
import { describeElection, withHexSessionIds, type ElectionView } from '../core/election-view.js';
import { ZooKeeperError } from '../errors.js';
import { readElectionOnce } from '../sources/zookeeper/election-watcher.js';
import { allElectionPaths, joinZkPath } from '../sources/zookeeper/paths.js';
import { addAuthorization } from '../sources/zookeeper/session.js';

/** Exit codes of `flink-ha-sidecar status`, as documented in --help and docs/endpoints.md. */
export const STATUS_EXIT = { current: 0, noCurrentLeader: 1, failed: 2 } as const;

/** How long the status command waits for ZooKeeper before it says it is unreachable. */
export const STATUS_CONNECT_TIMEOUT_MS = 15_000;

export interface StatusResult {
  exitCode: number;
  output: string;
}

/**
 * `flink-ha-sidecar status`: reads the leader election from ZooKeeper once, with the sidecar's
 * settings, and describes every component (like `patronictl list`); for Kubernetes HA, the
 * ConfigMaps instead (status-kubernetes.ts). Exit 0 when rest_server has a
 * current leader, 1 when not, 2 when ZooKeeper cannot be reached within `connectTimeoutMs` or a
 * read fails.
 */
export async function runStatus(config: Config, json: boolean, connectTimeoutMs = STATUS_CONNECT_TIMEOUT_MS): Promise<StatusResult> {
  if (config.leaderSource === 'kubernetes') {
    // Loaded only for this source: it brings the Kubernetes client.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runKubernetesStatus } = require('./status-kubernetes.js') as typeof import('./status-kubernetes.js');
    return runKubernetesStatus(config, json, connectTimeoutMs);
  }
  const namespace = joinZkPath(config.zookeeperRoot, config.clusterId);
  const connectString = config.zookeeperQuorum?.connectString ?? '';
  let client: Client | null = null;
  try {
    client = await connect(connectString, connectTimeoutMs, config.zookeeperAuthorization);
    const paths = allElectionPaths(
      {
        root: config.zookeeperRoot,
        clusterId: config.clusterId,
        latchDir: config.zookeeperLatchPath,
        leaderDir: config.zookeeperLeaderPath,
      },
      config.layout,
    );
    const view = describeElection(await readElectionOnce(client, paths), config.layout);
    const exitCode = view.hasCurrentRestLeader ? STATUS_EXIT.current : STATUS_EXIT.noCurrentLeader;
    const shown = { ...view, components: withHexSessionIds(view.components) };
    return { exitCode, output: json ? `${JSON.stringify({ namespace, ...shown }, null, 2)}\n` : formatView(namespace, shown) };
  } catch (err) {
    const message = describeFailure(err, connectString);
    return { exitCode: STATUS_EXIT.failed, output: json ? `${JSON.stringify({ namespace, error: message })}\n` : `error: ${message}\n` };
  } finally {
    client?.close();
  }
}

function connect(connectString: string, timeoutMs: number, authorization: Config['zookeeperAuthorization']): Promise<Client> {
  const client = zookeeper.createClient(connectString, { sessionTimeout: Math.max(timeoutMs, 4000), spinDelay: 500, retries: 0 });
  addAuthorization(client, authorization);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.close();
      reject(new ZooKeeperError(`no connection to ZooKeeper at ${connectString} within ${timeoutMs} ms`, 'CONNECTION_TIMEOUT'));
    }, timeoutMs);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.connect();
  });
}

function describeFailure(err: unknown, connectString: string): string {
  if (err instanceof ZooKeeperError && err.code === 'NO_AUTH') {
    return `ZooKeeper refused to read ${err.path ?? 'the election'} (NOAUTH): the znodes need SASL, which this client lacks`;
  }
  if (err instanceof ZooKeeperError) return `${err.message}${err.path ? ` (${err.path})` : ''}`;
  return `reading ZooKeeper at ${connectString} failed: ${err instanceof Error ? err.message : String(err)}`;
}

/** A table per component, then the latch participants in order (session ids already 0x-prefixed). */
export function formatView(namespace: string, view: ElectionView): string {
  if (view.layout === null) {
    return `${namespace}: no leader election found in ZooKeeper (no contenders, no leader information in any layout)\n`;
  }
  const lines = [`${namespace} (Flink HA layout ${view.layout})`, ''];
  const rows = view.components.map((c) => {
    const info = c.leaderInfo;
    return [
      c.component,
      c.state,
      info.kind === 'published' ? info.address : `(${info.kind === 'undecodable' ? `undecodable: ${info.error}` : info.kind})`,
      info.kind === 'published' ? info.sessionId : '-',
      'owner' in info ? info.owner : '-',
    ];
  });
  lines.push(...table(['COMPONENT', 'STATE', 'LEADER', 'LEADER SESSION ID', 'ZK SESSION'], rows), '');
  const latches = new Map(view.components.map((c) => [c.latchPath, c.participants]));
  for (const [latchPath, participants] of latches) {
    lines.push(`latch ${latchPath}: ${participants.length === 0 ? 'no contenders' : ''}`.trimEnd());
    participants.forEach((p, i) =>
      lines.push(`  ${i + 1}. ${escapeText(p.node)}  ZK session ${p.owner}${p.leads ? '  (holds the latch)' : ''}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Columns padded to their widest cell; every cell escaped, since znode names and leader information are anyone's text. */
export function table(header: string[], rawRows: string[][]): string[] {
  const rows = rawRows.map((r) => r.map(escapeText));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)];
}

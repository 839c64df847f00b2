import zookeeper, { type Client } from 'node-zookeeper-client';
import type { ZooKeeperAuth } from '../../config/index.js';
import { ZooKeeperError } from '../../errors.js';
import { addAuthorization } from './session.js';

export interface SessionGrantOptions {
  connectString: string;
  /** What the JobManagers ask for: Flink's high-availability.zookeeper.client.session-timeout. */
  requestedMs: number;
  authorization: readonly ZooKeeperAuth[] | null;
  /** Bound on the whole measurement, in ms. */
  timeoutMs: number;
  createClient?: (connectString: string, options: Partial<zookeeper.Option>) => Client;
}

/**
 * The session timeout the servers grant a JobManager. A server clamps every request to between 2
 * and 20 ticks (its minSessionTimeout and maxSessionTimeout), so Flink's 60 s default often becomes
 * 40 s. The servers tell no one their bounds, so this asks for a session exactly as a JobManager
 * does, reads what was granted and closes it at once. Rejects with a ZooKeeperError on no answer.
 */
export function measureGrantedSessionTimeout(options: SessionGrantOptions): Promise<number> {
  const create = options.createClient ?? zookeeper.createClient;
  const client = create(options.connectString, { sessionTimeout: options.requestedMs, spinDelay: 1000, retries: 0 });
  addAuthorization(client, options.authorization);
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.close();
      reject(new ZooKeeperError(`no session granted within ${options.timeoutMs} ms`, 'CONNECTION_TIMEOUT'));
    }, options.timeoutMs);
    client.once('connected', () => {
      clearTimeout(timer);
      const grantedMs = client.getSessionTimeout();
      client.close();
      resolve(grantedMs);
    });
    client.connect();
  });
}

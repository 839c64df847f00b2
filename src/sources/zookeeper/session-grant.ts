import zookeeper, { type Client } from 'node-zookeeper-client';
import type { Logger } from 'pino';
import type { ZooKeeperAuth } from '../../config/index.js';
import type { SidecarEvent } from '../../core/model.js';
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

/**
 * Measures the granted session timeout once the sidecar's own session is connected, and again on
 * a later connection for as long as no measurement has worked; reports it as an event.
 */
export class FlinkSessionGrant {
  private state: 'pending' | 'running' | 'done' = 'pending';

  constructor(
    private readonly options: Omit<SessionGrantOptions, 'createClient'> & {
      clock: () => number;
      logger: Logger;
      onEvent: (event: SidecarEvent) => void;
    },
  ) {}

  /** Call on every connection of the sidecar's session. */
  onConnected(): void {
    if (this.state !== 'pending') return;
    this.state = 'running';
    const { clock, logger, onEvent, requestedMs } = this.options;
    measureGrantedSessionTimeout(this.options).then(
      (grantedMs) => {
        this.state = 'done';
        logger.info({ requestedMs, grantedMs }, "the ZooKeeper servers grant the JobManagers' session timeout");
        onEvent({ type: 'flinkSessionTimeoutMeasured', atMs: clock(), grantedMs });
      },
      (err: unknown) => {
        this.state = 'pending';
        logger.warn(
          { err: err instanceof Error ? err.message : String(err) },
          "could not measure the JobManagers' granted session timeout; nothing is held until it is known",
        );
      },
    );
  }
}

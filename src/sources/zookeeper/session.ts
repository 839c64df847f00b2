import zookeeper, { type Client, type State } from 'node-zookeeper-client';
import type { Logger } from 'pino';
import type { ZooKeeperAuth } from '../../config/index.js';
import type { SidecarEvent } from '../../core/model.js';
import { realTimers, type TimerHandle, type Timers } from '../../timers.js';
import { exists, sessionIdHex } from './calls.js';

export interface ZooKeeperSessionOptions {
  connectString: string;
  sessionTimeoutMs: number;
  /** Monotonic milliseconds. */
  clock: () => number;
  /** What pings, their timeouts and reconnection backoffs are scheduled with; the real timers by default. */
  timers?: Timers;
  logger: Logger;
  onEvent: (event: SidecarEvent) => void;
  /** Called on every (re)connection: the caller re-reads and re-arms its watches with this client. */
  onConnected: (client: Client) => void;
  /** First and largest delay before a new client after an expired session or an unresponsive server. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  createClient?: (connectString: string, options: Partial<zookeeper.Option>) => Client;
  /** Added to every new client before it connects, as Flink's JobManagers add theirs. */
  authorization?: readonly ZooKeeperAuth[] | null;
}

/** Adds each authentication; node-zookeeper-client sends them again on every reconnection. */
export function addAuthorization(client: Client, authorization: readonly ZooKeeperAuth[] | null | undefined): void {
  for (const { scheme, credentials } of authorization ?? []) client.addAuthInfo(scheme, Buffer.from(credentials, 'utf8'));
}

/** The name of the heartbeat this supervisor ticks; /livez fails when it stops. */
export const ZOOKEEPER_LOOP = 'zookeeper-supervisor';

/**
 * Keeps one ZooKeeper session alive for the sidecar and reports its state as events.
 *
 * node-zookeeper-client is dead for good after its session expires, and it does not notice a
 * silent network partition, so this supervisor (a) replaces an expired client with a new one,
 * with exponential backoff and jitter, never in a storm, and (b) pings the server itself (an
 * `exists` on the root) with its own timeout, and treats a missing answer as a lost connection.
 */
export class ZooKeeperSession {
  private client: Client | null = null;
  private pingTimer: TimerHandle | null = null;
  private reconnectTimer: TimerHandle | null = null;
  private pingInFlight = false;
  /** When the current client was last seen connected (or was made); see pingCycle. */
  private lastConnectedMs = 0;
  private failures = 0;
  private closed = false;
  private readonly pingIntervalMs: number;
  private readonly pingTimeoutMs: number;
  private readonly timers: Timers;

  constructor(private readonly options: ZooKeeperSessionOptions) {
    this.timers = options.timers ?? realTimers;
    // A ping every quarter of the session timeout, given half of it to answer: a silent
    // partition is noticed within three quarters of the timeout, before the server expires us.
    this.pingIntervalMs = Math.max(250, Math.floor(options.sessionTimeoutMs / 4));
    this.pingTimeoutMs = Math.max(500, Math.floor(options.sessionTimeoutMs / 2));
  }

  start(): void {
    this.connectNewClient();
    this.schedulePing();
    this.tick();
  }

  /** The live client, if connected; for reads that are not watch-driven. */
  get current(): Client | null {
    return this.client;
  }

  /** Closes the session, so the server removes this client's watches at once. */
  close(): void {
    this.closed = true;
    if (this.pingTimer) this.timers.clearTimeout(this.pingTimer);
    this.pingTimer = null;
    if (this.reconnectTimer) this.timers.clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = null;
    client?.close();
    this.options.onEvent({ type: 'zookeeperClosed', atMs: this.options.clock() });
  }

  private connectNewClient(): void {
    const { connectString, sessionTimeoutMs } = this.options;
    const create = this.options.createClient ?? zookeeper.createClient;
    // spinDelay spaces out the client's own reconnection attempts between servers.
    const client = create(connectString, { sessionTimeout: sessionTimeoutMs, spinDelay: 1000, retries: 0 });
    addAuthorization(client, this.options.authorization);
    this.client = client;
    this.pingInFlight = false;
    this.lastConnectedMs = this.options.clock();
    client.on('state', (state: State) => this.onState(client, state));
    this.options.onEvent({ type: 'zookeeperConnecting', atMs: this.options.clock() });
    client.connect();
  }

  private onState(client: Client, state: State): void {
    if (client !== this.client || this.closed) return;
    const atMs = this.options.clock();
    const log = this.options.logger;
    const S = zookeeper.State;
    if (state === S.SYNC_CONNECTED || state === S.CONNECTED_READ_ONLY) {
      const sessionId = sessionIdHex(client.getSessionId());
      const readOnly = state === S.CONNECTED_READ_ONLY;
      log.info({ sessionId: `0x${sessionId}`, readOnly }, 'ZooKeeper connected');
      this.failures = 0;
      this.lastConnectedMs = atMs;
      this.options.onEvent({ type: 'zookeeperConnected', atMs, sessionId, readOnly });
      this.options.onConnected(client);
    } else if (state === S.DISCONNECTED) {
      log.warn('ZooKeeper connection lost; reconnecting');
      this.options.onEvent({ type: 'zookeeperDisconnected', atMs, detail: 'connection to ZooKeeper lost; reconnecting' });
    } else if (state === S.EXPIRED) {
      log.warn('ZooKeeper session expired; starting a new session');
      this.options.onEvent({ type: 'zookeeperSessionExpired', atMs });
      this.replaceClient();
    } else if (state === S.AUTH_FAILED) {
      log.error('ZooKeeper authentication failed');
      this.options.onEvent({ type: 'zookeeperAuthFailed', atMs, detail: 'ZooKeeper rejected the authentication' });
      this.replaceClient();
    }
  }

  /** Drops the current client and makes a new one after a backoff that grows with each failure. */
  private replaceClient(): void {
    const old = this.client;
    this.client = null;
    old?.close();
    if (this.closed || this.reconnectTimer) return;
    const initial = this.options.backoffInitialMs ?? 1000;
    const max = this.options.backoffMaxMs ?? 30_000;
    const base = Math.min(max, initial * 2 ** this.failures);
    const delayMs = Math.round(base * (0.8 + Math.random() * 0.4));
    this.failures += 1;
    this.options.logger.info({ delayMs }, 'new ZooKeeper session after backoff');
    this.reconnectTimer = this.timers.setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.closed) this.connectNewClient();
    }, delayMs);
  }

  /** Every pingIntervalMs, like an interval: the next cycle is set before this one runs. */
  private schedulePing(): void {
    this.pingTimer = this.timers.setTimeout(() => {
      if (this.closed) return;
      this.schedulePing();
      this.pingCycle();
    }, this.pingIntervalMs);
  }

  private pingCycle(): void {
    this.tick();
    const client = this.client;
    if (!client) return;
    const state = client.getState();
    const nowMs = this.options.clock();
    if (state !== zookeeper.State.SYNC_CONNECTED && state !== zookeeper.State.CONNECTED_READ_ONLY) {
      // node-zookeeper-client drops its connect timeout once TCP connects, so a connection that
      // is accepted but never answered (a partition right after the handshake, a proxy or a
      // starting server that swallows the request) leaves it connecting for good. After a whole
      // session timeout without a connection the server has expired the session anyway: start
      // afresh. At most once per session timeout, so never a storm.
      if (nowMs - this.lastConnectedMs > this.options.sessionTimeoutMs) {
        this.options.logger.warn(
          { notConnectedMs: Math.round(nowMs - this.lastConnectedMs) },
          'no ZooKeeper connection for a session timeout; starting a new client',
        );
        this.client = null;
        client.close();
        this.connectNewClient();
      }
      return;
    }
    this.lastConnectedMs = nowMs;
    if (this.pingInFlight) return;
    this.pingInFlight = true;
    const timer = this.timers.setTimeout(() => {
      if (client !== this.client || this.closed) return;
      const detail = `ZooKeeper did not answer a ping within ${this.pingTimeoutMs} ms`;
      this.options.logger.warn(detail);
      this.options.onEvent({ type: 'zookeeperUnresponsive', atMs: this.options.clock(), detail });
      this.replaceClient();
    }, this.pingTimeoutMs);
    exists(client, '/')
      .then(
        () => {
          if (client === this.client) this.options.onEvent({ type: 'zookeeperAnswered', atMs: this.options.clock() });
        },
        () => undefined, // a failed ping is the client's own disconnect, reported through its state
      )
      .finally(() => {
        this.timers.clearTimeout(timer);
        if (client === this.client) this.pingInFlight = false;
      });
  }

  private tick(): void {
    this.options.onEvent({
      type: 'loopTicked',
      atMs: this.options.clock(),
      loop: ZOOKEEPER_LOOP,
      maxSilenceMs: this.pingIntervalMs * 3 + 5000,
    });
  }
}

/**
 * The ZooKeeper set-up of a test file in one call, at the top of the file (or of a describe): a
 * server started before the tests; after them, every clean-up registered here (the latest first,
 * failures ignored), then the server destroyed. The server is the one the file's tests share with
 * each other (sharedZooKeeper) unless the file stops, starts or kills it (`own: true`). It is
 * always destroyed: a shared server left running keeps the test process from exiting.
 *
 * node:test runs `after` hooks in the order they were registered, so teardown that must happen
 * while ZooKeeper is still up (JobManagers, sidecars, clients) is registered with `cleanup`, not
 * in an `after` of the file's own. And Node 20 starts a file's top-level `before` hooks together,
 * without waiting for one to end before the next: a top-level hook of the file's own that needs
 * the server awaits `ready()` first (hooks inside a describe run after the top-level ones).
 */
import { after, before } from 'node:test';
import type zookeeper from 'node-zookeeper-client';
import { connectClient } from './znodes.js';
import { sharedZooKeeper, startZooKeeper, type ZooKeeperServer, type ZooKeeperServerOptions } from './zookeeper-server.js';

export interface ZooKeeperFixture {
  /** The server, once started: in tests, and in hooks after `ready()`. */
  readonly server: ZooKeeperServer;
  /** Resolves once the server serves (starting it if no hook has yet). */
  ready: () => Promise<ZooKeeperServer>;
  /** The server's connect string. */
  readonly connectString: string;
  /** Runs `fn` after the tests, before the server goes. */
  cleanup: (fn: () => unknown) => void;
  /** A client connected to the server, closed after the tests. */
  connect: (sessionTimeoutMs?: number) => Promise<zookeeper.Client>;
}

export interface ZooKeeperFixtureOptions {
  /** A server of the file's own, for a file that stops, starts or kills it. */
  own?: boolean;
  server?: ZooKeeperServerOptions;
}

export function useZooKeeper(opts: ZooKeeperFixtureOptions = {}): ZooKeeperFixture {
  let server: ZooKeeperServer | undefined;
  let starting: Promise<ZooKeeperServer> | undefined;
  const cleanups: (() => unknown)[] = [];
  const ready = (): Promise<ZooKeeperServer> =>
    (starting ??= (opts.own ? startZooKeeper(opts.server) : sharedZooKeeper(opts.server)).then((started) => (server = started)));
  before(async () => {
    await ready();
  });
  after(async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        // Teardown of what a test may already have stopped or killed; the server must go regardless.
      }
    }
    await server?.destroy();
  });
  const fixture: ZooKeeperFixture = {
    get server(): ZooKeeperServer {
      if (server === undefined) throw new Error('useZooKeeper(): the server is not started yet; a before hook awaits ready() first');
      return server;
    },
    ready,
    get connectString(): string {
      return fixture.server.connectString;
    },
    cleanup: (fn) => void cleanups.push(fn),
    connect: async (sessionTimeoutMs) => {
      const client = await connectClient(fixture.connectString, sessionTimeoutMs);
      cleanups.push(() => client.close());
      return client;
    },
  };
  return fixture;
}

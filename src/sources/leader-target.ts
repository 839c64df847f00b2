import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { normalizeHost, parseLeaderEndpoint, type LeaderTarget } from '../core/identity.js';

export type ResolveHost = (host: string) => Promise<string[]>;

/**
 * Resolves a host name to all its addresses through the system resolver (as Flink's own JVM
 * would), giving up after `timeoutMs` so a slow DNS server cannot hold a verdict back for long.
 */
export function createHostResolver(timeoutMs: number): ResolveHost {
  return async (host) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const answers = await Promise.race([lookup(host, { all: true, verbatim: true }), timeout]);
      return answers.map((a) => normalizeHost(a.address));
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * Takes a published leader address apart (the one place it is parsed) and finds the addresses
 * behind its host: the host itself for an IP literal (no lookup, so the common case adds no delay
 * to a failover), else the resolver's answer, or the error it gave.
 */
export async function lookUpLeaderTarget(address: string, resolveHost: ResolveHost): Promise<LeaderTarget> {
  const endpoint = parseLeaderEndpoint(address);
  if (endpoint === null) return { endpoint, resolvedAddresses: [] };
  if (isIP(endpoint.host) !== 0) return { endpoint, resolvedAddresses: [endpoint.host] };
  try {
    return { endpoint, resolvedAddresses: await resolveHost(endpoint.host) };
  } catch (err) {
    return { endpoint, resolvedAddresses: null, resolveError: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Between a source's watcher and the store: looks up the leader addresses in each picture the
 * watcher reports, then passes the picture on with the time it was observed. Source-neutral:
 * `fill` knows where a source keeps its addresses.
 * - `newestOnly` (ZooKeeper: each picture is complete): lookups run at once and may finish out of
 *   order; a picture is passed on only while no newer one was reported, so the store never goes
 *   back to an older picture.
 * - otherwise (Kubernetes: what a version proves depends on the one before): every picture is
 *   passed on, in the order reported.
 */
export class LeaderTargetLookup<T> {
  private reported = 0;
  /** Bumped by stop(): pictures reported before it are never passed on. */
  private generation = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: {
      resolveHost: ResolveHost;
      newestOnly: boolean;
      /** Returns the picture with every leader address's target filled in. */
      fill: (picture: T, lookUp: (address: string) => Promise<LeaderTarget>) => Promise<T>;
      emit: (picture: T, observedAtMs: number) => void;
    },
  ) {}

  /** A new picture, observed at `observedAtMs`. */
  report(picture: T, observedAtMs: number): void {
    const seq = ++this.reported;
    const generation = this.generation;
    const lookUp = (address: string) => lookUpLeaderTarget(address, this.options.resolveHost);
    const current = () => generation === this.generation && (!this.options.newestOnly || seq === this.reported);
    if (this.options.newestOnly) {
      void this.options.fill(picture, lookUp).then((filled) => {
        if (current()) this.options.emit(filled, observedAtMs);
      });
      return;
    }
    this.chain = this.chain
      .then(() => this.options.fill(picture, lookUp))
      .then((filled) => {
        if (current()) this.options.emit(filled, observedAtMs);
      });
  }

  /** Drops the pictures still being looked up: none of them is passed on. */
  stop(): void {
    this.generation += 1;
  }
}

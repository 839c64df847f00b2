import { parseLeaderEndpoint, type LeaderTarget } from '../../src/core/identity.js';
import type { LayoutObservation } from '../../src/core/model.js';

/**
 * The target the sidecar's lookup makes of `address`, for pictures built by hand: parsed as the
 * sidecar parses it, with `resolvedAddresses` as given (the URL's host for an IP literal by default).
 */
export function targetOf(address: string, resolvedAddresses?: readonly string[] | null, resolveError?: string): LeaderTarget {
  const endpoint = parseLeaderEndpoint(address);
  return {
    endpoint,
    resolvedAddresses: resolvedAddresses === undefined ? (endpoint === null ? [] : [endpoint.host]) : resolvedAddresses,
    ...(resolveError === undefined ? {} : { resolveError }),
  };
}

/**
 * A ZooKeeper election picture in the 1.15 layout whose rest_server latch `owner` holds and whose
 * leader information `owner` wrote: `http://<host>:8081` is the current leader.
 */
export function currentRestServerLeader(
  host: string,
  owner: string,
  sessionId = '6d1f0d7c-0000-4000-8000-000000000001',
): LayoutObservation[] {
  const address = `http://${host}:8081`;
  return [
    {
      layout: '1.15',
      component: 'rest_server',
      latchPath: '/flink/default/leader/latch',
      leaderInfoPath: '/flink/default/leader/rest_server/connection_info',
      latchExists: true,
      participants: [{ node: `_c_${owner}-latch-0000000001`, sequence: 1, owner }],
      leaderInfo: { kind: 'published', owner, address, sessionId, target: targetOf(address) },
    },
  ];
}

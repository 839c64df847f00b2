import { parseLeaderEndpoint, type LeaderTarget } from '../../src/core/identity.js';

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

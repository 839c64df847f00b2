import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { normalizeHost, parseLeaderEndpoint } from '../core/identity.js';

/**
 * Resolves a host name to all its addresses through the system resolver (as Flink's own JVM
 * would), giving up after `timeoutMs` so a slow DNS server cannot hold a verdict back for long.
 */
export function createHostResolver(timeoutMs: number): (host: string) => Promise<string[]> {
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
 * The addresses behind a leader URL's host: the host itself for an IP literal (no lookup, so the
 * common case adds no delay to a failover), else the resolver's answer, or the error it gave.
 */
export async function resolveAddressHost(
  address: string,
  resolveHost: (host: string) => Promise<string[]>,
): Promise<{ resolvedAddresses: string[] | null; resolveError?: string }> {
  const endpoint = parseLeaderEndpoint(address);
  if (endpoint === null) return { resolvedAddresses: [] };
  if (isIP(endpoint.host) !== 0) return { resolvedAddresses: [endpoint.host] };
  try {
    return { resolvedAddresses: await resolveHost(endpoint.host) };
  } catch (err) {
    return { resolvedAddresses: null, resolveError: err instanceof Error ? err.message : String(err) };
  }
}

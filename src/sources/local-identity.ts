import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { normalizeHost, type LocalIdentity } from '../core/identity.js';

/**
 * Builds the local JM's identity at start-up: the explicit hosts (with the addresses the names
 * among them resolve to), else the pod's interface addresses; the REST port from the URL the
 * sidecar checks, since the JM publishes the port its REST server is bound to.
 */
export async function buildIdentity(
  explicitHosts: readonly string[] | null,
  restUrl: URL,
  resolveHost: (host: string) => Promise<string[]>,
): Promise<LocalIdentity> {
  const restPort = restUrl.port === '' ? (restUrl.protocol === 'https:' ? 443 : 80) : Number(restUrl.port);
  let explicit: string[] | null = null;
  if (explicitHosts !== null) {
    explicit = [];
    for (const host of explicitHosts.map(normalizeHost)) {
      explicit.push(host);
      if (isIP(host) !== 0) continue;
      // A name that does not resolve yet (its DNS record may come later) still matches by name.
      const addresses = await resolveHost(host).catch(() => []);
      explicit.push(...addresses);
    }
    explicit = [...new Set(explicit)];
  }
  return { explicitHosts: explicit, interfaceAddresses: interfaceAddresses(), restPort };
}

/** Every address of every interface of this pod (shared by the JM: same network namespace). */
export function interfaceAddresses(): string[] {
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  return [...new Set(all.map((i) => normalizeHost(i.address)))];
}

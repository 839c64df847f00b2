import { isIP } from 'node:net';

/**
 * Who the local JobManager is, as far as the sidecar can tell without asking anyone.
 *
 * Flink publishes the rest_server leader address as `http(s)://<host>:<port>`. The sidecar shares
 * its pod's network namespace, so the local JM's host is one of the pod's addresses, unless the
 * operator names it explicitly (POD_IP / --advertised-address), which then wins.
 */
export interface LocalIdentity {
  /**
   * Hosts set explicitly by the operator (normalised), plus the addresses that the names among
   * them resolved to at start-up; null when nothing was set.
   */
  explicitHosts: readonly string[] | null;
  /** The pod's own interface addresses (normalised), used when nothing was set explicitly. */
  interfaceAddresses: readonly string[];
  /** The port the local JM's REST server listens on (from the REST URL the sidecar checks). */
  restPort: number;
}

/** A leader REST URL taken apart and normalised for comparison. */
export interface LeaderEndpoint {
  scheme: 'http' | 'https';
  /** Lowercase; IPv6 without brackets and in canonical compressed form. */
  host: string;
  port: number;
}

/**
 * A published leader address as identity matching needs it: parsed once and its host looked up,
 * by the adapters (src/sources/leader-target.ts), so that the core never waits on DNS.
 */
export interface LeaderTarget {
  /** null when the address is not an http(s) URL with a host. */
  endpoint: LeaderEndpoint | null;
  /** Addresses the host resolved to (the host itself for an IP literal); null when the lookup failed. */
  resolvedAddresses: readonly string[] | null;
  resolveError?: string;
}

/**
 * The verdict on "is this leader URL ours?".
 * - ours / theirs: decided.
 * - ambiguous: the URL could belong to any JM (loopback, unspecified, a name that resolves to ours
 *   and others): claiming it could make two JMs Ready, so nobody claims it.
 * - unresolved: the host name could not be resolved, so nothing can be said.
 */
export type IdentityMatch =
  { kind: 'ours' } | { kind: 'theirs' } | { kind: 'ambiguous'; detail: string } | { kind: 'unresolved'; detail: string };

/**
 * Parses a leader address as Flink publishes it for rest_server. Returns null for anything that is
 * not an absolute http(s) URL with a host (RPC addresses such as `pekko.tcp://...` included).
 */
export function parseLeaderEndpoint(address: string): LeaderEndpoint | null {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return null;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return null;
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const port = url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port);
  return { scheme, host: normalizeHost(url.hostname), port };
}

/**
 * Normalises a host for comparison: lowercase, IPv6 brackets removed and the address written in
 * the canonical form (WHATWG URL serialisation), IPv4-mapped IPv6 written as IPv4, trailing dot
 * of a fully-qualified name dropped.
 */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.') && isIP(h) === 0) h = h.slice(0, -1);
  if (isIP(h) === 6) {
    // The URL parser writes IPv6 in RFC 5952 form, so '0:0::1' and '::1' compare equal.
    const canonical = new URL(`http://[${h.replace(/%.*$/, '')}]/`).hostname.slice(1, -1);
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(canonical) ?? mappedHexToIpv4(canonical);
    return typeof mapped === 'string' ? mapped : mapped ? mapped[1]! : canonical;
  }
  return h;
}

function mappedHexToIpv4(canonical: string): string | null {
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!m) return null;
  const hi = parseInt(m[1]!, 16);
  const lo = parseInt(m[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** True for hosts that name "this machine" on every JM alike: loopback and unspecified addresses. */
export function isSharedHost(host: string): boolean {
  const h = normalizeHost(host);
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::' || h === '::1' || h === '0.0.0.0') return true;
  return isIP(h) === 4 && (h.startsWith('127.') || h.startsWith('0.'));
}

/**
 * Decides whether `leader` is the local JM's endpoint.
 *
 * `resolvedAddresses` are the addresses the leader's host resolved to (the host itself when it is an
 * IP literal), or null with `resolveError` when resolution failed. Ports must be equal; the
 * scheme only sets the default port, because a JM that publishes https is still the same JM.
 * Explicit hosts replace the interface addresses rather than add to them.
 */
export function matchLeader(
  leader: LeaderEndpoint,
  resolvedAddresses: readonly string[] | null,
  identity: LocalIdentity,
  resolveError?: string,
): IdentityMatch {
  const explicit = identity.explicitHosts;
  const samePort = leader.port === identity.restPort;
  // A loopback or unspecified host names no JM in particular, whatever the port: only an
  // operator who set exactly that host may claim it.
  if (isSharedHost(leader.host)) {
    if (explicit?.includes(leader.host)) return samePort ? { kind: 'ours' } : { kind: 'theirs' };
    return {
      kind: 'ambiguous',
      detail:
        `the leader publishes ${leader.host}, which every JobManager would publish alike; ` +
        `set rest.address (or jobmanager.rpc.address) to the pod IP in Flink, or set POD_IP ` +
        `(--advertised-address) to ${leader.host} if this really is the only JobManager`,
    };
  }

  if (!samePort) return { kind: 'theirs' };
  if (explicit?.includes(leader.host)) return { kind: 'ours' };
  if (resolvedAddresses === null) {
    return { kind: 'unresolved', detail: `cannot resolve ${leader.host}: ${resolveError ?? 'unknown error'}` };
  }
  const own = new Set(explicit ?? identity.interfaceAddresses);
  const resolved = resolvedAddresses.map(normalizeHost);
  const mine = resolved.filter((a) => own.has(a));
  if (mine.length === 0) return { kind: 'theirs' };
  if (mine.length === resolved.length) return { kind: 'ours' };
  return {
    kind: 'ambiguous',
    detail:
      `${leader.host} resolves to this pod (${mine.join(', ')}) and to other addresses ` +
      `(${resolved.filter((a) => !own.has(a)).join(', ')}), so it cannot tell JobManagers apart`,
  };
}

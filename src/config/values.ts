/**
 * The values of settings: each parser takes the raw text of a flag, a variable or a Flink key and
 * returns the normalised value or the problems, worded to follow the setting's name (precedence.ts
 * adds "--flag / VARIABLE: ", flink-sources.ts the Flink key and file).
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { parseFlinkDuration } from '../flink-conf/flink-duration.js';
import { FlinkMapSyntaxError, parseFlinkMap } from '../flink-conf/flink-map.js';
import type { ZooKeeperAuth, ZooKeeperQuorum } from './types.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: string[] };

export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const fail = <T>(...problems: string[]): Parsed<T> => ({ ok: false, problems });

/** Quotes a value for a problem line; JSON escaping makes control characters and spaces visible. */
export const show = (value: string): string => JSON.stringify(value);

export const DECIMAL_DIGITS = /^[0-9]+$/;

/** Plain decimal digits only: '1e3', '10s', '-5', ' 5' and '0x10' all mean something else to someone. */
export function parseMs(min: number, max: number): (raw: string) => Parsed<number> {
  return (raw) => {
    if (!DECIMAL_DIGITS.test(raw)) {
      return fail(`${show(raw)} is not a whole number of milliseconds (digits only)`);
    }
    const value = Number(raw);
    if (value < min || value > max) return fail(`${show(raw)} is outside ${min}..${max} milliseconds`);
    return ok(value);
  };
}

export function parsePortNumber(raw: string): number | null {
  if (!DECIMAL_DIGITS.test(raw)) return null;
  const value = Number(raw);
  return value >= 1 && value <= 65535 ? value : null;
}

export function parsePort(raw: string): Parsed<number> {
  const port = parsePortNumber(raw);
  return port === null ? fail(`${show(raw)} is not a port number (1-65535)`) : ok(port);
}

/** A port to listen on: 1 to 65535, or 0 for any free port (the server says which once it listens). */
export function parseListenPort(raw: string): Parsed<number> {
  if (raw === '0') return ok(0);
  const port = parsePortNumber(raw);
  return port === null ? fail(`${show(raw)} is not a port number (0-65535)`) : ok(port);
}

export function parseOneOf<T extends string>(choices: readonly T[], hint: string, caseInsensitive = false) {
  return (raw: string): Parsed<T> => {
    const wanted = caseInsensitive ? raw.toLowerCase() : raw;
    const match = choices.find((c) => c === wanted);
    return match === undefined ? fail(`${show(raw)} is not one of ${choices.join(', ')}${hint}`) : ok(match);
  };
}

// --- ZooKeeper paths ---------------------------------------------------------------------------
//
// What Flink does (read in apache/flink, flink-runtime/.../runtime/util/ZooKeeperUtils.java):
// - Flink 1.14 and later: generateZookeeperPath(String... parts) trims ALL leading and trailing
//   slashes of each part, drops parts that become empty, and joins the rest with '/' behind a
//   leading '/'. So 'flink/' -> '/flink', '//flink//' -> '/flink', '/' or '' -> '/' (the part
//   vanishes: root '/' + cluster-id 'default' is '/default'). Slashes INSIDE a part are kept:
//   '//a//b/' -> '/a//b'. startCuratorFramework then hands Curator the namespace without its
//   leading slash, and Curator's NamespaceImpl validates '/' + namespace with ZooKeeper's path
//   rules ("empty node name specified"), so a Flink with '/a//b' does not start.
// - Flink 1.5 to 1.13: generateZookeeperPath(root, namespace) added a leading '/' to the
//   cluster-id if missing and removed ONE trailing '/' from each, then concatenated. For every
//   value that version accepts, the result equals the newer one.
// - 1.13 latch/leader directories are concatenated with '/<component>_lock' as configured.
// We normalize with the newer rule and reject what Curator or ZooKeeper would reject (empty
// segments, '.' and '..' segments, characters ZooKeeper forbids), so the sidecar looks exactly
// where a working Flink writes, and refuses settings with which Flink itself could not run.

/** Trims every leading and trailing '/', as Flink's ZooKeeperUtils.trimSlashes. */
export function trimSlashes(path: string): string {
  let start = 0;
  let end = path.length;
  while (start < end && path[start] === '/') start++;
  while (end > start && path[end - 1] === '/') end--;
  return path.slice(start, end);
}

/**
 * Characters ZooKeeper's PathUtils.validatePath refuses (its ranges, closed here, and the
 * C0/C1 controls); node-zookeeper-client does not check them, the server does.
 */
export function forbiddenPathCharacter(path: string): string | null {
  for (const char of path) {
    const code = char.codePointAt(0) ?? 0;
    const forbidden =
      code <= 0x1f ||
      (code >= 0x7f && code <= 0x9f) ||
      (code >= 0xd800 && code <= 0xf8ff) ||
      (code >= 0xfff0 && code <= 0xffff) ||
      code > 0xffff; // a Java char sees these as surrogates, which ZooKeeper refuses
    if (forbidden) return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return null;
}

/** Problems of an absolute path under ZooKeeper's rules ('/' alone is valid). */
export function zooKeeperPathProblems(path: string): string[] {
  const problems: string[] = [];
  const segments = path === '/' ? [] : path.slice(1).split('/');
  if (path.length > 1 && path.endsWith('/')) problems.push('ends with "/"');
  if (segments.slice(0, -1).some((s) => s === '')) problems.push('has an empty segment ("//")');
  if (segments.some((s) => s === '.' || s === '..')) problems.push('has a "." or ".." segment');
  const char = forbiddenPathCharacter(path);
  if (char !== null) problems.push(`contains ${char}, which ZooKeeper does not allow in paths`);
  return problems;
}

/** A Flink path setting: slashes trimmed and one leading '/' added, then ZooKeeper's rules. */
export function parseFlinkPath(raw: string): Parsed<string> {
  const trimmed = trimSlashes(raw);
  const path = `/${trimmed}`;
  const problems = zooKeeperPathProblems(path);
  return problems.length === 0 ? ok(path) : fail(...problems.map((p) => `${show(raw)} ${p}`));
}

// --- hosts --------------------------------------------------------------------------------------

export const HOSTNAME_LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/**
 * DNS name: labels of letters, digits, '-' and '_' (seen in real zones). An all-numeric last label
 * is a mistyped IPv4 address such as 999.1.1.1, not a name.
 */
export function isHostname(host: string): boolean {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  return labels.every((l) => HOSTNAME_LABEL.test(l)) && !/^[0-9]+$/.test(labels[labels.length - 1] ?? '');
}

/** The WHATWG URL parser prints IPv6 in RFC 5952 form: the form a host parsed from Flink's leader URL has. */
export function canonicalIPv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/**
 * One host without a port: IPv4, IPv6 (brackets optional), or a DNS name. Returns the normalized
 * host (lowercase, IPv6 canonical and unbracketed), or a problem worded to follow the host's name.
 */
export function normalizeHost(raw: string): Parsed<string> {
  const host = raw.toLowerCase();
  const unbracketed = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (unbracketed.includes('%') && isIPv6(unbracketed)) {
    return fail('has an IPv6 zone index, which is not supported');
  }
  if (isIPv6(unbracketed)) return ok(canonicalIPv6(unbracketed));
  if (unbracketed !== host) return fail('is in brackets, which only an IPv6 address takes');
  if (isIPv4(host) || isHostname(host)) return ok(host);
  if (/^[^:]+:[0-9]*$/.test(host) || /^\[.*\]:[0-9]*$/.test(host)) {
    return fail('has a port; give the host only');
  }
  return fail('is not a host name or IP address');
}

/** A host setting on its own: the problem names the value. */
export function parseHost(raw: string): Parsed<string> {
  const host = normalizeHost(raw);
  return host.ok ? host : fail(...host.problems.map((p) => `${show(raw)} ${p}`));
}

/** Comma-separated hosts; blanks around entries and empty entries are ignored, duplicates dropped. */
export function parseHostList(raw: string): Parsed<string[]> {
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) return fail(`${show(raw)} names no host`);
  const hosts: string[] = [];
  const problems: string[] = [];
  for (const entry of entries) {
    const host = parseHost(entry);
    if (!host.ok) problems.push(...host.problems);
    else if (!hosts.includes(host.value)) hosts.push(host.value);
  }
  return problems.length === 0 ? ok(hosts) : fail(...problems);
}

// --- ZooKeeper quorum ---------------------------------------------------------------------------

export const ZOOKEEPER_DEFAULT_PORT = 2181;

export type Server = ZooKeeperQuorum['servers'][number];

/** Splits 'host', 'host:port', '[v6]' or '[v6]:port'; a bare IPv6 address is ambiguous and refused. */
export function parseServer(entry: string): Parsed<Server> {
  const bracketed = /^(\[[^\]]*\])(?::(.*))?$/.exec(entry);
  let hostText: string;
  let portText: string | undefined;
  if (bracketed !== null) {
    hostText = bracketed[1] ?? '';
    portText = bracketed[2];
  } else if (entry.indexOf(':') !== entry.lastIndexOf(':')) {
    return isIPv6(entry)
      ? fail(`server ${show(entry)}: write an IPv6 address in brackets, then its port: [fd00::1]:2181`)
      : fail(`server ${show(entry)} is not host, host:port or [IPv6]:port`);
  } else {
    const colon = entry.indexOf(':');
    hostText = colon === -1 ? entry : entry.slice(0, colon);
    portText = colon === -1 ? undefined : entry.slice(colon + 1);
  }
  const problems: string[] = [];
  const host = normalizeHost(hostText);
  const subject = hostText === entry ? `server ${show(entry)}` : `server ${show(entry)}: host ${show(hostText)}`;
  if (!host.ok) problems.push(...host.problems.map((p) => `${subject} ${p}`));
  const port = portText === undefined ? ZOOKEEPER_DEFAULT_PORT : parsePortNumber(portText);
  if (port === null) {
    problems.push(`server ${show(entry)}: ${show(portText ?? '')} is not a port number (1-65535)`);
  }
  return host.ok && port !== null ? ok({ host: host.value, port }) : fail(...problems);
}

/** The chroot as ZooKeeper's ConnectStringParser reads it: '/' alone is none, anything else is validated as is. */
export function parseChroot(chroot: string): Parsed<string | null> {
  if (chroot === '/') return ok(null);
  const problems = zooKeeperPathProblems(chroot);
  return problems.length === 0 ? ok(chroot) : fail(...problems.map((p) => `chroot ${show(chroot)} ${p}`));
}

export function formatServer({ host, port }: Server): string {
  return `${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/**
 * 'host[:port][,host[:port]...][/chroot]' like Flink's high-availability.zookeeper.quorum; as in
 * ZooKeeper's own parser, the chroot starts at the first '/', blanks around servers and empty
 * entries are ignored, and a missing port is 2181.
 */
export function parseQuorum(raw: string): Parsed<ZooKeeperQuorum> {
  const text = raw.trim();
  const slash = text.indexOf('/');
  const serverText = slash === -1 ? text : text.slice(0, slash);
  const chroot = slash === -1 ? ok(null) : parseChroot(text.slice(slash));
  const entries = serverText
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  const problems: string[] = entries.length === 0 ? [`${show(raw)} names no server`] : [];
  const servers: Server[] = [];
  for (const entry of entries) {
    const server = parseServer(entry);
    if (!server.ok) problems.push(...server.problems);
    else if (isIPv6(server.value.host)) {
      // node-zookeeper-client splits each server at every ':', so it cannot reach an IPv6 literal.
      problems.push(`server ${show(entry)}: IPv6 addresses are not supported by the ZooKeeper client; use a DNS name that resolves to it`);
    } else servers.push(server.value);
  }
  if (!chroot.ok) problems.push(...chroot.problems);
  if (problems.length > 0 || !chroot.ok) return fail(...problems);
  const connectString = servers.map(formatServer).join(',') + (chroot.value ?? '');
  return ok({ servers, chroot: chroot.value, connectString });
}

// --- Flink REST URL -------------------------------------------------------------------------------

/**
 * Replaces the user name and password so that a problem line never prints them: a token is often
 * given as the user name alone (`http://TOKEN@host`).
 */
export function redactCredentials(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  if (copy.username !== '') copy.username = '***';
  if (copy.password !== '') copy.password = '***';
  return copy.href;
}

export function parseRestUrl(raw: string): Parsed<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    const hint = raw.includes('://') ? '' : ` (include the scheme, e.g. http://${raw})`;
    return fail(`${show(raw)} is not a URL${hint}`);
  }
  const shown = show(redactCredentials(url));
  const problems: string[] = [];
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.push(`${shown} is not an http or https URL`);
  }
  if (url.username !== '' || url.password !== '') {
    problems.push(`${shown} must not contain credentials`);
  }
  if (url.search !== '' || url.hash !== '' || /[?#]/.test(raw)) {
    problems.push(`${shown} must not have a query or fragment`);
  }
  if (problems.length > 0) return fail(...problems);
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return ok(url);
}

// --- booleans, durations, files ----------------------------------------------------------------

/** Flink's ConfigurationUtils#convertToBoolean: 'true' or 'false' in any case, nothing else ('yes' and '1' fail the JobManager too). */
export function parseBoolean(raw: string): Parsed<boolean> {
  const lower = raw.toLowerCase();
  if (lower === 'true') return ok(true);
  if (lower === 'false') return ok(false);
  return fail(`${show(raw)} is not true or false`);
}

/** Flink's session timeout is an int of milliseconds; 2^31-1 is also the longest timer Node keeps. */
export const MAX_INT_MS = 2_147_483_647;

/** A Flink duration ('60 s', '60000', '1 min') in milliseconds, 1..2^31-1. */
export function parseFlinkSessionTimeout(raw: string): Parsed<number> {
  const duration = parseFlinkDuration(raw);
  if (!duration.ok) return fail(duration.problem);
  if (duration.ms < 1 || duration.ms > MAX_INT_MS) {
    return fail(`${show(raw)} is ${duration.ms} ms, outside 1..${MAX_INT_MS} milliseconds`);
  }
  return ok(duration.ms);
}

/** A parser from a function that lists problems (none: the raw text is the value). */
export function checkedBy(problems: (raw: string) => string[]): (raw: string) => Parsed<string> {
  return (raw) => {
    const found = problems(raw);
    return found.length === 0 ? ok(raw) : fail(...found);
  };
}

export function parseDirectory(raw: string): Parsed<string> {
  return raw === '' ? fail('"" names no directory') : ok(raw);
}

/** Any text but the empty one; problems never quote it, since it may be a password. */
export function parseNonEmpty(raw: string): Parsed<string> {
  return raw === '' ? fail('must not be empty') : ok(raw);
}

/**
 * A path to a readable regular file: opened and closed, never read, so that a private key stays out
 * of the sidecar's memory until the REST client loads it.
 */
export function parseReadableFile(raw: string): Parsed<string | null> {
  if (raw === '') return fail('"" names no file');
  let fd: number | undefined;
  try {
    fd = openSync(raw, 'r');
    if (!fstatSync(fd).isFile()) return fail(`${show(raw)} is not a regular file`);
    return ok(raw);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') return fail(`${show(raw)} does not exist`);
    if (code === 'EACCES' || code === 'EPERM') return fail(`${show(raw)} cannot be read (permission denied)`);
    return fail(`${show(raw)} cannot be read (${typeof code === 'string' ? code : String(error)})`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The shortest debug token taken: 32 characters of a random token are beyond guessing. */
export const MIN_DEBUG_TOKEN_LENGTH = 32;

/**
 * A file holding the debug endpoints' bearer token: readable, and its content (surrounding
 * whitespace trimmed, as the server trims it) at least MIN_DEBUG_TOKEN_LENGTH characters without
 * whitespace, since a token with a space inside could never be sent in an Authorization header.
 * The token is read here only to be checked; it is never kept in the settings nor quoted.
 */
export function parseTokenFile(raw: string): Parsed<string | null> {
  const readable = parseReadableFile(raw);
  if (!readable.ok) return readable;
  let token: string;
  try {
    token = readFileSync(raw, 'utf8').trim();
  } catch (error) {
    return fail(`${show(raw)} cannot be read (${String((error as { code?: unknown }).code ?? error)})`);
  }
  if (token === '') return fail(`${show(raw)} is empty: it must hold the token`);
  if (/\s/.test(token)) return fail(`${show(raw)}: the token has whitespace inside, which an Authorization header cannot carry`);
  if (token.length < MIN_DEBUG_TOKEN_LENGTH) {
    return fail(
      `${show(raw)}: the token has ${token.length} characters; use at least ${MIN_DEBUG_TOKEN_LENGTH} (e.g. openssl rand -hex 32)`,
    );
  }
  return ok(raw);
}

// --- Flink's REST endpoint --------------------------------------------------------------------------
//
// Where the local JobManager's REST server listens (apache/flink RestOptions, RestServerEndpoint,
// NetUtils#getPortRangeFromString, SSLUtils#isRestSSLEnabled):
// - port: rest.bind-port, falling back to rest.port, then the old web.port and jobmanager.web.port;
//   default 8081. rest.bind-port may be a list or ranges ('8081-8090,8095'): the server binds the
//   first free port of them in order. The sidecar cannot see which one that was, so it takes the
//   first; a JobManager that found it busy is only reachable through an explicit FLINK_REST_URL.
//   Port 0 lets the server take any free port: refused, for the same reason.
// - scheme: https when security.ssl.rest.enabled is true (falling back to the deprecated
//   security.ssl.enabled).
// - host: the sidecar shares the JobManager's network namespace, so 127.0.0.1, unless
//   rest.bind-address (or web.address, jobmanager.web.address) binds the server to one address
//   other than a wildcard or localhost: then only that address answers.

export const REST_SSL_KEYS = ['security.ssl.rest.enabled', 'security.ssl.enabled'] as const;
export const REST_BIND_PORT_KEYS = ['rest.bind-port', 'rest.port', 'web.port', 'jobmanager.web.port'] as const;
export const REST_BIND_ADDRESS_KEYS = ['rest.bind-address', 'web.address', 'jobmanager.web.address'] as const;
export const REST_ADDRESS_KEYS = ['rest.address', 'jobmanager.rpc.address'] as const;
export const REST_AUTHENTICATION_KEY = 'security.ssl.rest.authentication-enabled';
/** SSLUtils#getTrustManagerFactory: the REST key, else the shared one (a fallback, not a deprecated name). */
export const REST_TRUSTSTORE_KEYS = ['security.ssl.rest.truststore', 'security.ssl.truststore'] as const;
export const REST_TRUSTSTORE_PASSWORD_KEYS = ['security.ssl.rest.truststore-password', 'security.ssl.truststore-password'] as const;
export const REST_TRUSTSTORE_TYPE_KEY = 'security.ssl.rest.truststore-type';
export const DEFAULT_REST_PORT = 8081;

/** The first port of Flink's port list/range syntax: '8081', '8081-8090', '8081,8082', '50100-50200,50300'. */
export function parseBindPort(raw: string): Parsed<number> {
  // Java's split drops trailing empty strings; NetUtils trims each entry but not around the '-'.
  const entries = raw.trim().split(',');
  while (entries.length > 1 && entries[entries.length - 1] === '') entries.pop();
  const ranges: [number, number][] = [];
  for (const entry of entries.map((e) => e.trim())) {
    const match = /^([0-9]+)(?:-([0-9]+))?$/.exec(entry);
    const start = match === null ? NaN : Number(match[1]);
    const end = match?.[2] === undefined ? start : Number(match[2]);
    if (!(start <= 65535 && end <= 65535)) {
      return fail(`${show(raw)} is not a port, a port range (8081-8090) or a comma-separated list of them`);
    }
    if (start > end) return fail(`${show(raw)}: the range ${show(entry)} is empty`);
    ranges.push([start, end]);
  }
  const first = ranges[0]?.[0] ?? 0;
  if (first === 0) {
    return fail(
      `${show(raw)} lets the JobManager take any free port, which the sidecar cannot know; set --flink-rest-url / FLINK_REST_URL`,
    );
  }
  return ok(first);
}

export const WILDCARD_OR_LOCAL = new Set(['0.0.0.0', '::', 'localhost']);

/** The host to reach a REST server bound to `raw`: 127.0.0.1 for wildcards and localhost, else the address itself. */
export function parseBindHost(raw: string): Parsed<string> {
  const host = normalizeHost(raw);
  if (!host.ok) return fail(...host.problems.map((p) => `${show(raw)} ${p}`));
  return ok(WILDCARD_OR_LOCAL.has(host.value) ? '127.0.0.1' : host.value);
}

/**
 * Flink 1.20's high-availability.zookeeper.client.authorization: a map of scheme to credentials,
 * each added to the ZooKeeper connection as Curator's AuthInfo(scheme, credentials as UTF-8 bytes).
 */
export const ZOOKEEPER_AUTHORIZATION_KEY = 'high-availability.zookeeper.client.authorization';

/** Scheme and credential pairs as ZooKeeper authentications; problems never show the credentials. */
export function zooKeeperAuths(pairs: readonly (readonly [string, string])[]): Parsed<ZooKeeperAuth[]> {
  const problems: string[] = [];
  const auths: ZooKeeperAuth[] = [];
  for (const [scheme, credentials] of pairs) {
    if (scheme !== 'digest') {
      problems.push(`scheme ${show(scheme)} is not supported: only digest (the ZooKeeper client library has no SASL)`);
    } else if (!/^[^:]+:.+$/s.test(credentials)) {
      problems.push('digest credentials must be user:password');
    } else {
      auths.push({ scheme, credentials });
    }
  }
  if (auths.length === 0 && problems.length === 0) problems.push('names no scheme');
  return problems.length > 0 ? fail(...problems) : ok(auths);
}

/** Flink's map syntax: digest:'user:password' (quotes around a value that holds ':'). */
export function parseZooKeeperAuthorization(raw: string): Parsed<ZooKeeperAuth[]> {
  try {
    return zooKeeperAuths(parseFlinkMap(raw));
  } catch (error) {
    if (error instanceof FlinkMapSyntaxError) return fail(`is not a Flink map (${error.message})`);
    throw error;
  }
}

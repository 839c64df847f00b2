/**
 * Settings: the one place that reads flags and environment variables, validates them and reports
 * every problem at once. Nothing here touches `process`; main.ts passes argv and env in.
 *
 * Precedence: flag, then environment variable, then default. An empty environment variable counts
 * as unset (Kubernetes renders an unset downward-API field or an empty ConfigMap value as ""); an
 * empty flag value is a value and is validated like any other.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { parseArgs } from 'node:util';
import { ConfigError } from './errors.js';

/** ZooKeeper znode layout, named by the Flink line that introduced it (DESIGN.md section 2). */
export type HaLayout = 'auto' | '1.15' | '1.14' | '1.13';

export type SettingSource = 'flag' | 'environment' | 'default';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface ZooKeeperQuorum {
  /** In the order given. Hosts are lowercase, IPv6 addresses canonical (RFC 5952) and unbracketed. */
  servers: { host: string; port: number }[];
  /** Validated chroot such as '/flink-chroot'; null when absent or '/' (ZooKeeper treats '/' as none). */
  chroot: string | null;
  /**
   * 'h1:2181,h2:2181/chroot', every port explicit, IPv6 hosts bracketed as ZooKeeper's own client
   * expects. Caution: node-zookeeper-client 1.1.3 splits each server on every ':', so it cannot
   * parse a bracketed IPv6 server from this string; a caller that must reach IPv6 literals has to
   * hand it `servers` another way.
   */
  connectString: string;
}

export interface Config {
  zookeeperQuorum: ZooKeeperQuorum;
  /**
   * high-availability.zookeeper.path.root, normalized like Flink: '/flink', or '/' when empty. Join
   * parts with their slashes trimmed as Flink does, never by concatenation ('/' + '/default').
   */
  zookeeperRoot: string;
  /** high-availability.cluster-id, normalized like the root: '/default'. */
  clusterId: string;
  layout: HaLayout;
  /** 1.13 layout only: high-availability.zookeeper.path.latch, normalized like the root. */
  zookeeperLatchPath: string;
  /** 1.13 layout only: high-availability.zookeeper.path.leader, normalized like the root. */
  zookeeperLeaderPath: string;
  /**
   * The local JobManager's REST API: http or https, no credentials, query or fragment. Its path
   * always ends with '/', so `new URL('overview', flinkRestUrl)` keeps a path prefix.
   */
  flinkRestUrl: URL;
  /**
   * Hosts the local JobManager advertises: lowercase, IPv6 canonical and unbracketed, no duplicates.
   * null = not set (use the pod's interface addresses).
   */
  advertisedAddresses: string[] | null;
  /** Listen address, normalized like advertisedAddresses; null = not set (listen on '::', falling back to 0.0.0.0). */
  host: string | null;
  /** Listen port, 1..65535. */
  port: number;
  zookeeperSessionTimeoutMs: number;
  jobmanagerCheckIntervalMs: number;
  /** Always below jobmanagerCheckIntervalMs. */
  jobmanagerCheckTimeoutMs: number;
  shutdownTimeoutMs: number;
  logLevel: LogLevel;
  /** Where each setting came from, for /debug/config. */
  sources: Record<SettingName, SettingSource>;
}

export type SettingName = Exclude<keyof Config, 'sources'>;

export type LoadResult =
  | { kind: 'run'; config: Config }
  | { kind: 'help'; text: string }
  | { kind: 'version'; text: string };

// ---------------------------------------------------------------------------------------------
// Values: each parser takes the raw text and returns the value or the problems (without the
// "--flag / VARIABLE: " prefix, which the loader adds so that every line names both).

type Parsed<T> = { ok: true; value: T } | { ok: false; problems: string[] };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(...problems: string[]): Parsed<T> => ({ ok: false, problems });

/** Quotes a value for a problem line; JSON escaping makes control characters and spaces visible. */
const show = (value: string): string => JSON.stringify(value);

const DECIMAL_DIGITS = /^[0-9]+$/;

/** Plain decimal digits only: '1e3', '10s', '-5', ' 5' and '0x10' all mean something else to someone. */
function parseMs(min: number, max: number): (raw: string) => Parsed<number> {
  return (raw) => {
    if (!DECIMAL_DIGITS.test(raw)) {
      return fail(`${show(raw)} is not a whole number of milliseconds (digits only)`);
    }
    const value = Number(raw);
    if (value < min || value > max) return fail(`${show(raw)} is outside ${min}..${max} milliseconds`);
    return ok(value);
  };
}

function parsePortNumber(raw: string): number | null {
  if (!DECIMAL_DIGITS.test(raw)) return null;
  const value = Number(raw);
  return value >= 1 && value <= 65535 ? value : null;
}

function parsePort(raw: string): Parsed<number> {
  const port = parsePortNumber(raw);
  return port === null ? fail(`${show(raw)} is not a port number (1-65535)`) : ok(port);
}

function parseOneOf<T extends string>(choices: readonly T[], hint: string, caseInsensitive = false) {
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
function trimSlashes(path: string): string {
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
function forbiddenPathCharacter(path: string): string | null {
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
function zooKeeperPathProblems(path: string): string[] {
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
function parseFlinkPath(raw: string): Parsed<string> {
  const trimmed = trimSlashes(raw);
  const path = `/${trimmed}`;
  const problems = zooKeeperPathProblems(path);
  return problems.length === 0 ? ok(path) : fail(...problems.map((p) => `${show(raw)} ${p}`));
}

// --- hosts --------------------------------------------------------------------------------------

const HOSTNAME_LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/**
 * DNS name: labels of letters, digits, '-' and '_' (seen in real zones). An all-numeric last label
 * is a mistyped IPv4 address such as 999.1.1.1, not a name.
 */
function isHostname(host: string): boolean {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  return labels.every((l) => HOSTNAME_LABEL.test(l)) && !/^[0-9]+$/.test(labels[labels.length - 1] ?? '');
}

/** The WHATWG URL parser prints IPv6 in RFC 5952 form: the form a host parsed from Flink's leader URL has. */
function canonicalIPv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/**
 * One host without a port: IPv4, IPv6 (brackets optional), or a DNS name. Returns the normalized
 * host (lowercase, IPv6 canonical and unbracketed), or a problem worded to follow the host's name.
 */
function normalizeHost(raw: string): Parsed<string> {
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
function parseHost(raw: string): Parsed<string> {
  const host = normalizeHost(raw);
  return host.ok ? host : fail(...host.problems.map((p) => `${show(raw)} ${p}`));
}

/** Comma-separated hosts; blanks around entries and empty entries are ignored, duplicates dropped. */
function parseHostList(raw: string): Parsed<string[]> {
  const entries = raw.split(',').map((e) => e.trim()).filter((e) => e !== '');
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

const ZOOKEEPER_DEFAULT_PORT = 2181;

type Server = ZooKeeperQuorum['servers'][number];

/** Splits 'host', 'host:port', '[v6]' or '[v6]:port'; a bare IPv6 address is ambiguous and refused. */
function parseServer(entry: string): Parsed<Server> {
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
function parseChroot(chroot: string): Parsed<string | null> {
  if (chroot === '/') return ok(null);
  const problems = zooKeeperPathProblems(chroot);
  return problems.length === 0 ? ok(chroot) : fail(...problems.map((p) => `chroot ${show(chroot)} ${p}`));
}

function formatServer({ host, port }: Server): string {
  return `${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/**
 * 'host[:port][,host[:port]...][/chroot]' like Flink's high-availability.zookeeper.quorum; as in
 * ZooKeeper's own parser, the chroot starts at the first '/', blanks around servers and empty
 * entries are ignored, and a missing port is 2181.
 */
function parseQuorum(raw: string): Parsed<ZooKeeperQuorum> {
  const text = raw.trim();
  const slash = text.indexOf('/');
  const serverText = slash === -1 ? text : text.slice(0, slash);
  const chroot = slash === -1 ? ok(null) : parseChroot(text.slice(slash));
  const entries = serverText.split(',').map((e) => e.trim()).filter((e) => e !== '');
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

/** Replaces a password so that a problem line never prints one. */
function redactPassword(url: URL): string {
  if (url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.password = '***';
  return copy.href;
}

function parseRestUrl(raw: string): Parsed<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    const hint = raw.includes('://') ? '' : ` (include the scheme, e.g. http://${raw})`;
    return fail(`${show(raw)} is not a URL${hint}`);
  }
  const shown = show(redactPassword(url));
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

// ---------------------------------------------------------------------------------------------
// The settings table: one entry per setting drives parsing, precedence, sources and --help.

interface SettingSpec<T> {
  /** Long flag name without the leading '--'. */
  readonly flag: string;
  readonly env: string;
  /** Placeholder shown in --help, e.g. '<ms>'. */
  readonly valueHint: string;
  /**
   * When neither flag nor variable is set: raw text parsed like user input (so a default obeys the
   * same rules), a fixed value described for --help, or required (with an example for the problem).
   */
  readonly unset:
    | { readonly raw: string }
    | { readonly value: T; readonly help: string }
    | { readonly example: string };
  readonly section: string;
  /** Meaning, for --help; lines are wrapped by hand. */
  readonly help: readonly string[];
  readonly parse: (raw: string) => Parsed<T>;
}

type SettingSpecs = { readonly [K in SettingName]: SettingSpec<Config[K]> };

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const LAYOUTS: readonly HaLayout[] = ['auto', '1.15', '1.14', '1.13'];
const MAX_MS = 600_000;

/** In --help order. */
const SETTINGS: SettingSpecs = {
  zookeeperQuorum: {
    flag: 'zookeeper-quorum',
    env: 'ZOOKEEPER_QUORUM',
    valueHint: '<host:port,...[/chroot]>',
    unset: { example: 'zk-0:2181,zk-1:2181,zk-2:2181' },
    section: 'ZooKeeper',
    help: [
      "The ZooKeeper servers, as in Flink's high-availability.zookeeper.quorum, e.g.",
      'zk-0:2181,zk-1:2181,zk-2:2181/flink-chroot. A server without a port uses 2181, like',
      "ZooKeeper's own client. IPv6 servers need a DNS name (the client cannot use IPv6 literals). An optional",
      'chroot follows the last server.',
    ],
    parse: parseQuorum,
  },
  zookeeperRoot: {
    flag: 'zookeeper-root',
    env: 'ZOOKEEPER_ROOT',
    valueHint: '<path>',
    unset: { raw: '/flink' },
    section: 'ZooKeeper',
    help: [
      "Flink's high-availability.zookeeper.path.root. Leading and trailing slashes are trimmed",
      "as Flink does ('flink/' is '/flink')."],
    parse: parseFlinkPath,
  },
  clusterId: {
    flag: 'cluster-id',
    env: 'FLINK_CLUSTER_ID',
    valueHint: '<path>',
    unset: { raw: '/default' },
    section: 'ZooKeeper',
    help: ["Flink's high-availability.cluster-id, trimmed like the root ('default' is '/default')."],
    parse: parseFlinkPath,
  },
  layout: {
    flag: 'layout',
    env: 'FLINK_HA_LAYOUT',
    valueHint: '<layout>',
    unset: { raw: 'auto' },
    section: 'ZooKeeper',
    help: [
      "Where Flink keeps its leader election in ZooKeeper: 1.15 (Flink 1.15 and later), 1.14",
      '(Flink 1.14, and 1.15/1.16 with high-availability.use-old-ha-services), 1.13 (Flink 1.5',
      'to 1.13), or auto to find out from the znodes present.',
    ],
    parse: parseOneOf(LAYOUTS, ' (1.15 also covers every later Flink)'),
  },
  zookeeperLatchPath: {
    flag: 'zookeeper-latch-path',
    env: 'ZOOKEEPER_LATCH_PATH',
    valueHint: '<path>',
    unset: { raw: '/leaderlatch' },
    section: 'ZooKeeper',
    help: ["1.13 layout only: Flink's high-availability.zookeeper.path.latch."],
    parse: parseFlinkPath,
  },
  zookeeperLeaderPath: {
    flag: 'zookeeper-leader-path',
    env: 'ZOOKEEPER_LEADER_PATH',
    valueHint: '<path>',
    unset: { raw: '/leader' },
    section: 'ZooKeeper',
    help: ["1.13 layout only: Flink's high-availability.zookeeper.path.leader."],
    parse: parseFlinkPath,
  },
  zookeeperSessionTimeoutMs: {
    flag: 'zookeeper-session-timeout-ms',
    env: 'ZOOKEEPER_SESSION_TIMEOUT_MS',
    valueHint: '<ms>',
    unset: { raw: '10000' },
    section: 'ZooKeeper',
    help: [
      "The sidecar's own ZooKeeper session timeout, 2000 to 600000. The server grants between 2",
      'and 20 times its tickTime (often 2000 or 3000 ms), so the session it grants may differ.',
    ],
    parse: parseMs(2000, MAX_MS),
  },
  flinkRestUrl: {
    flag: 'flink-rest-url',
    env: 'FLINK_REST_URL',
    valueHint: '<url>',
    unset: { raw: 'http://127.0.0.1:8081' },
    section: 'Flink JobManager',
    help: [
      "The local JobManager's REST API: http or https, without credentials, query or fragment;",
      'a path is kept as a prefix.',
    ],
    parse: parseRestUrl,
  },
  advertisedAddresses: {
    flag: 'advertised-address',
    env: 'POD_IP',
    valueHint: '<host,...>',
    unset: { value: null, help: "the pod's interface addresses" },
    section: 'Flink JobManager',
    help: [
      'Comma-separated hosts the local JobManager advertises in its leader address (IP addresses',
      'or names; IPv6 with or without brackets), e.g. the pod IP from the downward API.',
    ],
    parse: parseHostList,
  },
  jobmanagerCheckIntervalMs: {
    flag: 'jobmanager-check-interval-ms',
    env: 'JOBMANAGER_CHECK_INTERVAL_MS',
    valueHint: '<ms>',
    unset: { raw: '2000' },
    section: 'Flink JobManager',
    help: ["How often the local JobManager's REST API is checked, 100 to 600000."],
    parse: parseMs(100, MAX_MS),
  },
  jobmanagerCheckTimeoutMs: {
    flag: 'jobmanager-check-timeout-ms',
    env: 'JOBMANAGER_CHECK_TIMEOUT_MS',
    valueHint: '<ms>',
    unset: { raw: '1000' },
    section: 'Flink JobManager',
    help: ['Timeout of one check, 1 to 600000 and below the check interval.'],
    parse: parseMs(1, MAX_MS),
  },
  host: {
    flag: 'host',
    env: 'SIDECAR_HOST',
    valueHint: '<host>',
    unset: { value: null, help: ':: with fallback to 0.0.0.0' },
    section: 'Probe server',
    help: ['Listen address of the probe server (an IP address or a name; IPv6 brackets optional).'],
    parse: parseHost,
  },
  port: {
    flag: 'port',
    env: 'SIDECAR_PORT',
    valueHint: '<port>',
    unset: { raw: '8090' },
    section: 'Probe server',
    help: ['Listen port of the probe server, 1 to 65535.'],
    parse: parsePort,
  },
  shutdownTimeoutMs: {
    flag: 'shutdown-timeout-ms',
    env: 'SHUTDOWN_TIMEOUT_MS',
    valueHint: '<ms>',
    unset: { raw: '10000' },
    section: 'Probe server',
    help: [
      'How long SIGTERM waits for in-flight requests before closing them, 0 to 600000. Keep it',
      "below the pod's terminationGracePeriodSeconds.",
    ],
    parse: parseMs(0, MAX_MS),
  },
  logLevel: {
    flag: 'log-level',
    env: 'LOG_LEVEL',
    valueHint: '<level>',
    unset: { raw: 'info' },
    section: 'Logging',
    help: [`Log level: ${LOG_LEVELS.join(', ')} (any case).`],
    parse: parseOneOf(LOG_LEVELS, '', true),
  },
};

const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

const label = (spec: SettingSpec<unknown>): string => `--${spec.flag} / ${spec.env}`;

const SPEC_BY_FLAG = new Map<string, SettingSpec<unknown>>(
  SETTING_NAMES.map((name) => [SETTINGS[name].flag, SETTINGS[name]]),
);

/** The flag and, for a setting, its variable too: the operator may be looking at either. */
const flagLabel = (flag: string): string => {
  const spec = SPEC_BY_FLAG.get(flag);
  return spec === undefined ? `--${flag}` : label(spec);
};

// ---------------------------------------------------------------------------------------------
// Arguments

interface ArgScan {
  /** Values by long flag name, in order given (more than one is a problem). */
  readonly values: Map<string, string[]>;
  help: boolean;
  version: boolean;
  readonly positionals: string[];
  readonly problems: string[];
}

type ParseOptions = Record<string, { type: 'string' | 'boolean'; short?: string }>;

const PARSE_OPTIONS: ParseOptions = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  ...Object.fromEntries(SETTING_NAMES.map((name) => [SETTINGS[name].flag, { type: 'string' as const }])),
};

/**
 * parseArgs runs non-strict with tokens: strict mode throws at the first mistake, and we want every
 * mistake in one report. The checks strict mode would make are made here on the tokens instead.
 */
function scanArgs(args: readonly string[], scan: ArgScan): void {
  const { tokens } = parseArgs({
    args: [...args],
    options: PARSE_OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind === 'positional') scan.positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const option = PARSE_OPTIONS[token.name];
    if (option === undefined) {
      scan.problems.push(`unknown flag ${token.rawName} (see --help)`);
    } else if (option.type === 'boolean') {
      if (token.value !== undefined) scan.problems.push(`${token.rawName} does not take a value`);
      else if (token.name === 'help') scan.help = true;
      else scan.version = true;
    } else if (token.value === undefined) {
      scan.problems.push(`${flagLabel(token.name)}: ${token.rawName} needs a value`);
    } else if (!token.inlineValue && token.value.startsWith('-') && token.value !== '-') {
      // Non-strict parseArgs took the next flag as this one's value; strict mode calls that
      // ambiguous. Report it, then read the rest again so that the next flag still counts.
      scan.problems.push(
        `${flagLabel(token.name)}: ${token.rawName} needs a value (one starting with "-" is written ${token.rawName}=-...)`,
      );
      scanArgs(args.slice(token.index + 1), scan);
      return;
    } else {
      const seen = scan.values.get(token.name) ?? [];
      scan.values.set(token.name, [...seen, token.value]);
    }
  }
}

function positionalProblems(positionals: readonly string[]): string[] {
  return positionals.map((value, i) =>
    i === 0
      ? `unknown command ${show(value)} (settings are flags, see --help)`
      : `unexpected argument ${show(value)} (settings are flags, see --help)`,
  );
}

// ---------------------------------------------------------------------------------------------
// Resolution

type Env = Readonly<Record<string, string | undefined>>;

type Resolved<T> = { source: SettingSource } & Parsed<T>;

function resolveSetting<K extends SettingName>(name: K, scan: ArgScan, env: Env): Resolved<Config[K]> {
  const spec: SettingSpec<Config[K]> = SETTINGS[name];
  const flagValues = scan.values.get(spec.flag) ?? [];
  const envValue = env[spec.env];
  if (flagValues.length > 1) {
    const given = flagValues.map(show).join(', ');
    const problem = `${label(spec)}: --${spec.flag} is given ${flagValues.length} times (${given}); give it once`;
    return { source: 'flag', ...fail(problem) };
  }
  const prefix = (parsed: Parsed<Config[K]>): Parsed<Config[K]> =>
    parsed.ok ? parsed : fail(...parsed.problems.map((p) => `${label(spec)}: ${p}`));
  const flagValue = flagValues[0];
  if (flagValue !== undefined) return { source: 'flag', ...prefix(spec.parse(flagValue)) };
  if (envValue !== undefined && envValue !== '') {
    return { source: 'environment', ...prefix(spec.parse(envValue)) };
  }
  const unset = spec.unset;
  if ('example' in unset) {
    return { source: 'default', ...fail(`${label(spec)}: required, e.g. ${unset.example}`) };
  }
  if ('value' in unset) return { source: 'default', ...ok(unset.value) };
  return { source: 'default', ...prefix(spec.parse(unset.raw)) };
}

type PartialConfig = { -readonly [K in SettingName]?: Config[K] };

function crossCheckProblems(values: PartialConfig): string[] {
  const { jobmanagerCheckTimeoutMs: timeout, jobmanagerCheckIntervalMs: interval } = values;
  if (timeout === undefined || interval === undefined || timeout < interval) return [];
  return [
    `${label(SETTINGS.jobmanagerCheckTimeoutMs)}: ${show(String(timeout))} must be below ` +
      `${label(SETTINGS.jobmanagerCheckIntervalMs)} (${interval})`,
  ];
}

/**
 * Reads the settings from command-line arguments (without the node and script paths) and the
 * environment; flags beat variables, variables beat defaults, empty variables count as unset.
 * --help/-h and --version/-v win over everything, problems included, so that they work in a
 * misconfigured pod. Durations are in milliseconds.
 * @param version shown by --version.
 * @throws ConfigError listing every problem found, each naming the flag and the variable.
 */
export function loadConfig(argv: readonly string[], env: Env, version: string): LoadResult {
  const scan: ArgScan = { values: new Map(), help: false, version: false, positionals: [], problems: [] };
  scanArgs(argv, scan);
  if (scan.help) return { kind: 'help', text: helpText() };
  if (scan.version) return { kind: 'version', text: `flink-ha-sidecar ${version}` };

  const problems = [...scan.problems, ...positionalProblems(scan.positionals)];
  const values: PartialConfig = {};
  const sources = {} as Record<SettingName, SettingSource>;
  const resolveInto = <K extends SettingName>(name: K): void => {
    const resolved = resolveSetting(name, scan, env);
    sources[name] = resolved.source;
    if (resolved.ok) values[name] = resolved.value;
    else problems.push(...resolved.problems);
  };
  SETTING_NAMES.forEach(resolveInto);
  problems.push(...crossCheckProblems(values));
  if (problems.length > 0) throw new ConfigError(problems);
  // Every setting resolved without a problem, so every key is present.
  return { kind: 'run', config: { ...(values as Required<PartialConfig>), sources } };
}

// ---------------------------------------------------------------------------------------------
// Help

function defaultHelp(spec: SettingSpec<unknown>): string {
  if ('example' in spec.unset) return 'required';
  if ('raw' in spec.unset) return `default ${spec.unset.raw}`;
  return `default: ${spec.unset.help}`;
}

function settingHelp(spec: SettingSpec<unknown>): string[] {
  const head = [`  --${spec.flag} ${spec.valueHint}`, `      ${spec.env}, ${defaultHelp(spec)}`];
  return [...head, ...spec.help.map((line) => `      ${line}`)];
}

/** The --help text: every flag with its variable, default and meaning, then the exit codes. Ends with a newline. */
export function helpText(): string {
  const lines = [
    'Usage: flink-ha-sidecar [flags]',
    '',
    'Readiness for Apache Flink JobManagers in ZooKeeper high-availability mode: reads the leader',
    "election from ZooKeeper and the local JobManager's health from its REST API; only the",
    'healthy leader is Ready.',
    '',
    'Each flag has an environment variable; the flag wins over the variable, and an empty',
    'variable counts as unset. Write --flag=value or --flag value.',
  ];
  let section = '';
  for (const name of SETTING_NAMES) {
    const spec = SETTINGS[name];
    if (spec.section !== section) {
      section = spec.section;
      lines.push('', `${section}:`);
    }
    lines.push(...settingHelp(spec));
  }
  lines.push(
    '',
    'Other:',
    '  -h, --help       Show this help and exit.',
    '  -v, --version    Show the version and exit.',
    '',
    'Exit codes:',
    '  0  help or version shown, or stopped cleanly',
    '  1  failure at run time (the log says which)',
    '  2  invalid settings (every problem is listed on stderr)',
  );
  return `${lines.join('\n')}\n`;
}

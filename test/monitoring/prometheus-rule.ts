/**
 * Keeps the monitoring files in step with their sources, manifests/monitoring/flink-ha-sidecar.rules.yaml
 * (a plain Prometheus rule file) and manifests/monitoring/flink-ha-sidecar-dashboard.json (a Grafana
 * dashboard), so that nobody keeps copies in step by hand:
 *
 * - manifests/monitoring/prometheus-rule.yaml, the Prometheus Operator's PrometheusRule, is generated
 *   from the rule file;
 * - every `runbook_url` (in the rule file, and in the alerts test/monitoring/alerts.test.yaml expects)
 *   is RUNBOOK_BASE_URL, then `#` and the anchor of the alert's section in docs/operations.md. Only
 *   the part before the `#` is rewritten: each alert names its own anchor;
 * - the `for:` of the alerts that a crashed leader trips (FAILOVER_ALERTS) is derived from one input,
 *   LEADER_LOSS_SECONDS (see failoverFor), and written into the rule file;
 * - manifests/monitoring/grafana-dashboard.yaml, a ConfigMap labelled for Grafana's dashboard sidecar,
 *   carries the dashboard's JSON.
 *
 *   npm run monitoring:generate            rewrite whichever of the files is out of date
 *   npm run monitoring:generate -- --check exit 1 when one of them is out of date
 *
 * The rules are copied as text, indented under `spec:`, so their comments survive; a uniform
 * indent never changes what YAML means. test/integration/alerts.test.ts,
 * test/unit/monitoring-generate.test.ts and test/unit/runbook-links.test.ts check the result.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parse } from 'yaml';

/**
 * Where every alert's runbook_url points, before the `#`: docs/operations.md as the repository's
 * web page shows it, an absolute URL that Alertmanager, Grafana or a pager can open. The one place
 * this repository sets it; change it here and run `npm run monitoring:generate`. A deployment that
 * keeps the runbook elsewhere overrides it in its own Kustomize overlay instead (docs/operations.md,
 * "Runbook links").
 */
export const RUNBOOK_BASE_URL = 'https://github.com/flink-ha-sidecar/flink-ha-sidecar/blob/main/docs/operations.md';

const PROJECT_ROOT = resolve(__dirname, '..', '..');
export const MONITORING_DIR = join(PROJECT_ROOT, 'manifests', 'monitoring');
export const RULES_FILE = join(MONITORING_DIR, 'flink-ha-sidecar.rules.yaml');
export const PROMETHEUS_RULE_FILE = join(MONITORING_DIR, 'prometheus-rule.yaml');
export const ALERT_TESTS_FILE = join(PROJECT_ROOT, 'test', 'monitoring', 'alerts.test.yaml');
export const POD_MONITOR_FILE = join(MONITORING_DIR, 'pod-monitor.yaml');
export const DASHBOARD_FILE = join(MONITORING_DIR, 'flink-ha-sidecar-dashboard.json');
export const DASHBOARD_CONFIGMAP_FILE = join(MONITORING_DIR, 'grafana-dashboard.yaml');
/** The key of the dashboard in its ConfigMap: Grafana's sidecar writes it as a file of this name. */
export const DASHBOARD_KEY = 'flink-ha-sidecar.json';

/**
 * The one input of the failover alerts' `for:`: how long, at most, a crashed leader keeps its
 * leadership, in seconds. With ZooKeeper HA that is Flink's
 * `high-availability.zookeeper.client.session-timeout` (60 s by default; the ZooKeeper server may
 * grant less, never more), with Kubernetes HA `high-availability.kubernetes.leader-election.lease-duration`
 * plus `...retry-period` (15 s + 5 s by default). 60 covers Flink's defaults for both and the
 * shipped manifests (30 s, and 15 s + 5 s). Raise it if your clusters wait longer, then run
 * `npm run monitoring:generate`; docs/operations.md states the formula.
 */
export const LEADER_LOSS_SECONDS = 60;
/**
 * Room for the successor's election and publication and the sidecars' reading it (about 2 s in
 * the failover tests), with slack for a slow JobManager or API server.
 */
export const FAILOVER_MARGIN_SECONDS = 15;
/** The alerts a crash of the leader trips until its leadership runs out: their `for:` is failoverFor(). */
export const FAILOVER_ALERTS = ['FlinkHANoLeader', 'FlinkHALeaderJobManagerDown'] as const;

/** A Prometheus duration of whole seconds, minutes or hours (`15s`, `1m`), in seconds. */
export function durationSeconds(text: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(text);
  if (m === null) throw new Error(`${text}: not a duration of whole s, m or h`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
}

/** The PodMonitor's scrape interval in seconds (every endpoint's; they must agree). */
export function scrapeIntervalSeconds(podMonitorText: string = readFileSync(POD_MONITOR_FILE, 'utf8')): number {
  const monitor = parse(podMonitorText) as { spec: { podMetricsEndpoints: { interval?: string }[] } };
  const intervals = new Set(monitor.spec.podMetricsEndpoints.map((e) => e.interval ?? ''));
  if (intervals.size !== 1) throw new Error(`the PodMonitor's endpoints have intervals ${[...intervals].join(', ')}: expected one`);
  return durationSeconds([...intervals][0]!);
}

/**
 * The `for:` of FAILOVER_ALERTS: the leader-loss time, plus one scrape interval (the series can
 * show a spell up to one interval longer than it was: its first sample may come right after it
 * began and the next one up to an interval after it ended), plus the margin. Flink's default
 * 60 s session timeout and the 15 s scrape interval give 90s: a crash no longer pages, a cluster
 * that stays without a working leader does, 90 s after it began to show.
 */
export function failoverFor(lossSeconds: number = LEADER_LOSS_SECONDS, scrapeSeconds: number = scrapeIntervalSeconds()): string {
  return `${lossSeconds + scrapeSeconds + FAILOVER_MARGIN_SECONDS}s`;
}

const HEADER = `# Generated from flink-ha-sidecar.rules.yaml by \`npm run monitoring:generate\`: edit that file, not this one.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: flink-ha-sidecar
  labels:
    app.kubernetes.io/name: flink-ha-sidecar
    app.kubernetes.io/component: monitoring
spec:
`;

/**
 * A `runbook_url: "<base>#<anchor>"` line: the indent and key, the base, and the rest from the `#`.
 * Spaces and tabs only around it, never a line break: the lines around it stay as they are.
 */
const RUNBOOK_LINE = /^([ \t]*runbook_url:[ \t]*)"([^"#]*)(#[^"]*")[ \t]*$/gm;

/** The text with the base of every quoted `runbook_url` that has an anchor set to `base`. */
export function withRunbookBase(text: string, base: string = RUNBOOK_BASE_URL): string {
  return text.replace(RUNBOOK_LINE, (_line, key: string, _oldBase: string, anchor: string) => `${key}"${base}${anchor}`);
}

/** The lines of an alert's rule in a rule file's text: from its `- alert:` line to the next rule. */
function alertBlock(lines: string[], alert: string): { start: number; end: number } {
  const start = lines.findIndex((line) => new RegExp(`^\\s*- alert: ${alert}\\s*$`).test(line));
  if (start < 0) throw new Error(`the rule file has no alert ${alert}`);
  const next = lines.findIndex((line, i) => i > start && /^\s*- (alert|record): /.test(line));
  return { start, end: next < 0 ? lines.length : next };
}

/** The rule file's text with the `for:` of every alert of FAILOVER_ALERTS set to `forValue`. */
export function withFailoverFor(text: string, forValue: string = failoverFor()): string {
  const lines = text.split('\n');
  for (const alert of FAILOVER_ALERTS) {
    const { start, end } = alertBlock(lines, alert);
    const at = lines.findIndex((line, i) => i > start && i < end && /^\s*for: /.test(line));
    if (at < 0) throw new Error(`${alert} has no for: line`);
    lines[at] = lines[at]!.replace(/^(\s*for: ).*$/, `$1${forValue}`);
  }
  return lines.join('\n');
}

/**
 * The ConfigMap that provisions the dashboard through Grafana's dashboard sidecar (the label
 * `grafana_dashboard: "1"`, as the Grafana Helm chart and kube-prometheus-stack look for it). A fixed
 * name, no content hash: no pod mounts it, and Grafana's sidecar would delete the dashboard's file
 * when an old hashed ConfigMap was pruned after the new one had written it.
 */
export function renderDashboardConfigMap(dashboardJson: string): string {
  const body = dashboardJson
    .replace(/\n*$/, '')
    .split('\n')
    .map((line) => (line === '' ? '' : `    ${line}`))
    .join('\n');
  return `# Generated from flink-ha-sidecar-dashboard.json by \`npm run monitoring:generate\`: edit that file, not this one.
# Grafana's dashboard sidecar loads every ConfigMap labelled grafana_dashboard: "1" in the namespaces
# it watches (docs/operations.md, "Dashboard").
apiVersion: v1
kind: ConfigMap
metadata:
  name: flink-ha-sidecar-dashboard
  labels:
    grafana_dashboard: "1"
    app.kubernetes.io/name: flink-ha-sidecar
    app.kubernetes.io/component: monitoring
data:
  ${DASHBOARD_KEY}: |
${body}
`;
}

/**
 * The PrometheusRule text for a rule file's text: the file's leading comment block is dropped
 * (it describes the source file) and everything from the first non-comment line on is indented
 * by two spaces under `spec:`.
 */
export function renderPrometheusRule(rulesText: string): string {
  const lines = rulesText.split('\n');
  const first = lines.findIndex((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  if (first < 0) throw new Error('the rule file has no content');
  const body = lines
    .slice(first)
    .map((line) => (line === '' ? '' : `  ${line}`))
    .join('\n');
  return HEADER + body.replace(/\n*$/, '\n');
}

/** Each generated file with the content it should have, from the rule file as it is now. */
export function expectedFiles(): Map<string, string> {
  const rules = withFailoverFor(withRunbookBase(readFileSync(RULES_FILE, 'utf8')));
  return new Map([
    [RULES_FILE, rules],
    [PROMETHEUS_RULE_FILE, renderPrometheusRule(rules)],
    [ALERT_TESTS_FILE, withRunbookBase(readFileSync(ALERT_TESTS_FILE, 'utf8'))],
    [DASHBOARD_CONFIGMAP_FILE, renderDashboardConfigMap(readFileSync(DASHBOARD_FILE, 'utf8'))],
  ]);
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return ''; // missing counts as out of date
  }
}

function main(): void {
  const stale = [...expectedFiles()].filter(([file, text]) => readOrEmpty(file) !== text);
  const name = (file: string): string => relative(PROJECT_ROOT, file);
  if (process.argv.includes('--check')) {
    for (const [file] of stale) process.stderr.write(`${name(file)} is out of date: run npm run monitoring:generate\n`);
    if (stale.length > 0) process.exit(1);
    return;
  }
  for (const [file, text] of stale) {
    writeFileSync(file, text);
    process.stdout.write(`wrote ${name(file)}\n`);
  }
  if (stale.length === 0) process.stdout.write('the monitoring files are up to date\n');
}

if (require.main === module) main();

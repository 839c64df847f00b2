/**
 * The alerting rules in manifests/monitoring/ checked by Prometheus's own tool: `promtool check
 * rules` on the plain rule file and on the spec of the generated PrometheusRule, `promtool test
 * rules` on test/monitoring/alerts.test.yaml (every alert fires when it should and stays silent
 * when it should not; a crash of the leader, which keeps its leadership for the session timeout,
 * pages no one), and the manifests' consistency with each other and with the README and
 * docs/operations.md (each alert's runbook_url is RUNBOOK_BASE_URL and the anchor of its section).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import {
  ALERT_TESTS_FILE,
  FAILOVER_ALERTS,
  MONITORING_DIR,
  PROMETHEUS_RULE_FILE,
  RULES_FILE,
  RUNBOOK_BASE_URL,
  expectedFiles,
  failoverFor,
  renderPrometheusRule,
} from '../monitoring/prometheus-rule.js';

const PROJECT_ROOT = resolve(__dirname, '..', '..');
const PROMTOOL = '/usr/bin/promtool';
const ALERT_TESTS = ALERT_TESTS_FILE;
const README = join(PROJECT_ROOT, 'README.md');
const OPERATIONS = join(PROJECT_ROOT, 'docs', 'operations.md');
const PROMTOOL_TIMEOUT_MS = 30_000;

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface AlertTestFile {
  rule_files: string[];
  tests: { alert_rule_test: { eval_time: string; alertname: string; exp_alerts?: { exp_labels: Record<string, string> }[] }[] }[];
}

const run = promisify(execFile);

/** Runs promtool; resolves with its output, rejects with its output when it exits non-zero. */
async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { timeout: PROMTOOL_TIMEOUT_MS });
    return stdout + stderr;
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${stdout}${stderr}`, { cause: err });
  }
}

function readYaml(file: string): unknown {
  return parse(readFileSync(file, 'utf8'));
}

const rules = (): Rule[] => (readYaml(RULES_FILE) as RuleFile).groups.flatMap((g) => g.rules);
const alerts = (): Rule[] => rules().filter((r) => r.alert !== undefined);
/** The group of alerts that only feed Alertmanager's inhibition (alertmanager-inhibition.yaml). */
const INHIBITION_GROUP = 'flink-ha-sidecar-inhibition';
const inhibitionSources = (): string[] =>
  (readYaml(RULES_FILE) as RuleFile).groups.filter((g) => g.name === INHIBITION_GROUP).flatMap((g) => g.rules.map((r) => r.alert!));
/** Alerts about all sidecars at once, with no cluster to name. */
const GLOBAL_ALERTS = ['FlinkHASidecarMetricsAbsent'];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function githubAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

let scratch: string;
before(async () => {
  assert.ok(existsSync(PROMTOOL), `${PROMTOOL} is missing: run scripts/install-system-deps.sh as root (Debian package prometheus)`);
  scratch = await mkdtemp(join(tmpdir(), 'flink-ha-sidecar-alerts-'));
});
after(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('promtool', () => {
  it('check rules passes on the plain rule file, with every alert', async () => {
    const out = await promtool('check', 'rules', RULES_FILE);
    assert.match(out, new RegExp(`SUCCESS: ${rules().length} rules found`));
    assert.deepEqual(
      alerts().map((r) => r.alert),
      [
        'FlinkHANoLeader',
        'FlinkHAMultipleLeaders',
        'FlinkHALeadershipFlapping',
        'FlinkHASidecarLeaderSourceDisconnected',
        'FlinkHALeaderInfoStale',
        'FlinkHALeaderJobManagerDown',
        'FlinkHAIdentityAmbiguous',
        'FlinkHASidecarDown',
        'FlinkHASidecarsMissing',
        'FlinkHASidecarMetricsAbsent',
        'FlinkHAStandbyJobManager',
      ],
    );
    assert.deepEqual(inhibitionSources(), ['FlinkHAStandbyJobManager']);
  });

  it('check rules passes on the spec of the PrometheusRule', async () => {
    const resource = readYaml(PROMETHEUS_RULE_FILE) as { kind: string; spec: RuleFile };
    assert.equal(resource.kind, 'PrometheusRule');
    const extracted = join(scratch, 'from-prometheus-rule.yaml');
    await writeFile(extracted, stringify(resource.spec));
    const out = await promtool('check', 'rules', extracted);
    assert.match(out, new RegExp(`SUCCESS: ${rules().length} rules found`));
  });

  it('test rules passes: each alert fires when it should and stays silent when it should not', async () => {
    const out = await promtool('test', 'rules', ALERT_TESTS);
    assert.match(out, /SUCCESS/);
  });
});

describe('the alert unit tests cover every alert', () => {
  it('reads the rule file the manifests hold', () => {
    const file = readYaml(ALERT_TESTS) as AlertTestFile;
    assert.deepEqual(
      file.rule_files.map((f) => resolve(join(PROJECT_ROOT, 'test', 'monitoring'), f)),
      [RULES_FILE],
    );
  });

  for (const rule of alerts()) {
    it(`${rule.alert}: tested firing and tested silent`, () => {
      const cases = (readYaml(ALERT_TESTS) as AlertTestFile).tests
        .flatMap((t) => t.alert_rule_test)
        .filter((c) => c.alertname === rule.alert);
      assert.ok(
        cases.some((c) => (c.exp_alerts ?? []).length > 0),
        'no test where it fires',
      );
      assert.ok(
        cases.some((c) => (c.exp_alerts ?? []).length === 0),
        'no test where it stays silent',
      );
    });
  }
});

describe('every alert is actionable', () => {
  const operations = readFileSync(OPERATIONS, 'utf8');
  const runbook = operations.split(/^## Runbook$/m)[1]?.split(/^## /m)[0] ?? '';
  const runbookAnchors = new Set([...runbook.matchAll(/^### (.+)$/gm)].map((m) => githubAnchor(m[1]!)));

  for (const rule of alerts()) {
    it(`${rule.alert}: severity, summary, description, an absolute runbook_url to its section in docs/operations.md; grouped by namespace and cluster_id`, () => {
      // `none`: an inhibition source, never to be delivered (alertmanager-inhibition.yaml routes it nowhere).
      const severities = inhibitionSources().includes(rule.alert!) ? /^none$/ : /^(critical|warning)$/;
      assert.match(rule.labels?.['severity'] ?? '', severities);
      assert.ok((rule.annotations?.['summary'] ?? '').length > 20, 'summary');
      assert.ok((rule.annotations?.['description'] ?? '').length > 50, 'description');
      const url = rule.annotations?.['runbook_url'] ?? '';
      assert.equal(url, `${RUNBOOK_BASE_URL}#${githubAnchor(rule.alert!)}`);
      assert.ok(runbookAnchors.has(githubAnchor(rule.alert!)), `docs/operations.md has no "### ${rule.alert}" under "## Runbook"`);
      if (GLOBAL_ALERTS.includes(rule.alert!)) {
        assert.match(rule.expr, /^absent\(flink_ha_sidecar_build_info\)\s*$/);
        return;
      }
      assert.match(rule.expr, /by \(namespace, cluster_id(, pod)?(, [a-z_]+)?\)/);
      // The cluster comes from build_info: joined on the target's labels, or its last hour's samples.
      assert.match(
        rule.expr,
        /group_left \(cluster_id(, [a-z_]+)?\) flink_ha_sidecar_build_info|last_over_time\(flink_ha_sidecar_build_info\[1h\]\)/,
      );
    });
  }
});

describe('the failover alerts outlast a crashed leader', () => {
  for (const name of FAILOVER_ALERTS) {
    it(`${name}: for: is failoverFor(), ${failoverFor()} with the shipped inputs, and longer than the 1m that paged on every crash`, () => {
      const rule = alerts().find((r) => r.alert === name);
      assert.ok(rule, name);
      assert.equal(rule.for, failoverFor());
      assert.equal(rule.for, '90s');
    });
  }
});

describe('manifests', () => {
  it('the PrometheusRule is generated from the rule file, and the runbook URLs carry RUNBOOK_BASE_URL: all up to date', () => {
    for (const [file, expected] of expectedFiles()) {
      assert.equal(readFileSync(file, 'utf8'), expected, `${file} is out of date: run npm run monitoring:generate`);
    }
    assert.equal(readFileSync(PROMETHEUS_RULE_FILE, 'utf8'), renderPrometheusRule(readFileSync(RULES_FILE, 'utf8')));
    const resource = readYaml(PROMETHEUS_RULE_FILE) as { apiVersion: string; spec: RuleFile };
    assert.equal(resource.apiVersion, 'monitoring.coreos.com/v1');
    assert.deepEqual(resource.spec, readYaml(RULES_FILE) as RuleFile);
  });

  it("the PodMonitor scrapes /metrics on the sidecar's named port, as the README wires it", () => {
    const monitor = readYaml(join(MONITORING_DIR, 'pod-monitor.yaml')) as {
      apiVersion: string;
      kind: string;
      spec: { podMetricsEndpoints: { port: string; path: string }[] };
    };
    assert.equal(monitor.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(monitor.kind, 'PodMonitor');
    assert.deepEqual(
      monitor.spec.podMetricsEndpoints.map((e) => [e.port, e.path]),
      [['ha-probes', '/metrics']],
    );
    assert.match(readFileSync(README, 'utf8'), /ports: \[\{ name: ha-probes, containerPort: 8090 \}\]/);
  });

  it('the kustomization lists the PodMonitor, the PrometheusRule and the dashboard ConfigMap', () => {
    const k = readYaml(join(MONITORING_DIR, 'kustomization.yaml')) as { kind: string; resources: string[] };
    assert.equal(k.kind, 'Kustomization');
    assert.deepEqual([...k.resources].sort(), ['grafana-dashboard.yaml', 'pod-monitor.yaml', 'prometheus-rule.yaml']);
    for (const r of k.resources) assert.ok(existsSync(join(MONITORING_DIR, r)), r);
  });

  it('kubectl kustomize builds it (where kubectl is installed)', async (t) => {
    const kubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => existsSync(p));
    if (kubectl === undefined) {
      t.skip('kubectl is not installed');
      return;
    }
    const { stdout } = await run(kubectl, ['kustomize', MONITORING_DIR], { timeout: PROMTOOL_TIMEOUT_MS });
    const kinds = stdout
      .split(/^---$/m)
      .map((doc) => (parse(doc) as { kind: string }).kind)
      .sort();
    assert.deepEqual(kinds, ['ConfigMap', 'PodMonitor', 'PrometheusRule']);
  });
});

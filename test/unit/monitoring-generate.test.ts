/**
 * Covers what `npm run monitoring:generate` derives (test/monitoring/prometheus-rule.ts): the
 * failover alerts' `for:` from LEADER_LOSS_SECONDS and the PodMonitor's scrape interval, written
 * into the alerts it names and nowhere else, and stated in docs/operations.md; and the Grafana
 * dashboard's ConfigMap, labelled for Grafana's dashboard sidecar and carrying the dashboard JSON
 * as it is. The dashboard's queries themselves run against a real Prometheus in
 * test/integration/prometheus.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  DASHBOARD_CONFIGMAP_FILE,
  DASHBOARD_FILE,
  DASHBOARD_KEY,
  FAILOVER_ALERTS,
  FAILOVER_MARGIN_SECONDS,
  LEADER_LOSS_SECONDS,
  RULES_FILE,
  durationSeconds,
  failoverFor,
  renderDashboardConfigMap,
  scrapeIntervalSeconds,
  withFailoverFor,
} from '../monitoring/prometheus-rule.js';

const OPERATIONS = join(resolve(__dirname, '..', '..'), 'docs', 'operations.md');

interface Rule {
  alert?: string;
  for?: string;
}

const forOf = (text: string): Map<string, string | undefined> =>
  new Map(
    (parse(text) as { groups: { rules: Rule[] }[] }).groups
      .flatMap((g) => g.rules)
      .filter((r) => r.alert !== undefined)
      .map((r) => [r.alert!, r.for]),
  );

describe("the failover alerts' for:", () => {
  it("is the leader-loss time plus one scrape interval plus the margin: Flink's default 60 s session timeout and the PodMonitor's 15 s give 90s", () => {
    assert.equal(LEADER_LOSS_SECONDS, 60);
    assert.equal(FAILOVER_MARGIN_SECONDS, 15);
    assert.equal(scrapeIntervalSeconds(), 15);
    assert.equal(failoverFor(), '90s');
    // Kubernetes HA's defaults, lease-duration 15 s plus retry-period 5 s; a 30 s session timeout.
    assert.equal(failoverFor(20, 15), '50s');
    assert.equal(failoverFor(30, 30), '75s');
  });

  it("reads the PodMonitor's interval, which every endpoint must share", () => {
    const monitor = (intervals: string[]): string =>
      `spec:\n  podMetricsEndpoints:\n${intervals.map((i) => `    - port: ha-probes\n      interval: ${i}\n`).join('')}`;
    assert.equal(scrapeIntervalSeconds(monitor(['30s'])), 30);
    assert.equal(scrapeIntervalSeconds(monitor(['1m', '1m'])), 60);
    assert.throws(() => scrapeIntervalSeconds(monitor(['15s', '30s'])), /expected one/);
    assert.equal(durationSeconds('2h'), 7200);
    assert.throws(() => durationSeconds('1m30s'), /not a duration/);
  });

  it('is written into the for: of FlinkHANoLeader and FlinkHALeaderJobManagerDown only', () => {
    const text = readFileSync(RULES_FILE, 'utf8');
    const before = forOf(text);
    const after = forOf(withFailoverFor(text, '7m'));
    assert.deepEqual([...FAILOVER_ALERTS], ['FlinkHANoLeader', 'FlinkHALeaderJobManagerDown']);
    for (const [alert, value] of before) {
      assert.equal(after.get(alert), (FAILOVER_ALERTS as readonly string[]).includes(alert) ? '7m' : value, alert);
    }
    // Nothing but those lines changes.
    const changed = withFailoverFor(text, '7m')
      .split('\n')
      .filter((line, i) => line !== text.split('\n')[i]);
    assert.deepEqual(changed, ['        for: 7m', '        for: 7m']);
    assert.throws(() => withFailoverFor(text.replace('- alert: FlinkHANoLeader', '- alert: Renamed')), /no alert FlinkHANoLeader/);
  });

  it('docs/operations.md states the formula, its input and its result', () => {
    const docs = readFileSync(OPERATIONS, 'utf8');
    assert.ok(docs.includes('`LEADER_LOSS_SECONDS`'), 'names the input');
    assert.ok(docs.includes(`\`for: ${failoverFor()}\``), `states for: ${failoverFor()}`);
    assert.ok(
      docs.includes(
        `${LEADER_LOSS_SECONDS} s + ${scrapeIntervalSeconds()} s + ${FAILOVER_MARGIN_SECONDS} s = ${durationSeconds(failoverFor())} s`,
      ),
      'works the default through',
    );
  });
});

describe('the Grafana dashboard ConfigMap', () => {
  const dashboardText = readFileSync(DASHBOARD_FILE, 'utf8');
  const dashboard = JSON.parse(dashboardText) as {
    uid: string;
    title: string;
    panels: { id: number; type: string; title: string; datasource?: { uid: string }; targets?: { expr: string }[] }[];
    templating: { list: { name: string; type: string }[] };
  };

  it('is labelled for the dashboard sidecar and carries the dashboard file as it is', () => {
    const cm = parse(readFileSync(DASHBOARD_CONFIGMAP_FILE, 'utf8')) as {
      apiVersion: string;
      kind: string;
      metadata: { name: string; labels: Record<string, string> };
      data: Record<string, string>;
    };
    assert.equal(cm.apiVersion, 'v1');
    assert.equal(cm.kind, 'ConfigMap');
    assert.equal(cm.metadata.name, 'flink-ha-sidecar-dashboard');
    assert.equal(cm.metadata.labels['grafana_dashboard'], '1');
    assert.deepEqual(Object.keys(cm.data), [DASHBOARD_KEY]);
    assert.equal(cm.data[DASHBOARD_KEY], dashboardText);
    // JSON survives the block scalar, blank lines and YAML's own characters included.
    const awkward = '{\n\n  "a": "- x",\n  "b": "#: |"\n}\n';
    assert.equal((parse(renderDashboardConfigMap(awkward)) as { data: Record<string, string> }).data[DASHBOARD_KEY], awkward);
  });

  it('has a stable uid, a data source variable, and namespace and cluster variables that every query uses', () => {
    assert.equal(dashboard.uid, 'flink-ha-sidecar');
    assert.deepEqual(
      dashboard.templating.list.map((v) => [v.name, v.type]),
      [
        ['datasource', 'datasource'],
        ['namespace', 'query'],
        ['cluster_id', 'query'],
      ],
    );
    const panels = dashboard.panels.filter((p) => p.type !== 'row');
    assert.equal(new Set(dashboard.panels.map((p) => p.id)).size, dashboard.panels.length, 'panel ids are unique');
    assert.ok(panels.length >= 10);
    for (const p of panels) {
      assert.equal(p.datasource?.uid, '${datasource}', p.title);
      assert.ok((p.targets ?? []).length > 0, `${p.title}: no query`);
      for (const t of p.targets ?? []) {
        assert.match(t.expr, /namespace=~"\$namespace"/, p.title);
        assert.match(t.expr, /cluster_id=~"\$cluster_id"/, p.title);
      }
    }
  });
});

/**
 * End to end through a real Prometheus server: two sidecars over a real ZooKeeper, with
 * Flink-like JobManagers contending through Curator's LeaderLatch, are scraped every second, with
 * the PodMonitor's own relabeling; a failover moves `is_leader` and raises
 * `leadership_changes_total`, as Prometheus's query API shows. The same Prometheus evaluates the
 * alert rules against the real series (no errors; only the inhibition source fires, for the
 * standby), runs every query of the Grafana dashboard with its variables set (each returns
 * series), a real scrape passes `promtool check metrics`, no scrape reaches the sidecars' logs, and
 * when the sidecars stop, the expressions of FlinkHASidecarDown, FlinkHASidecarsMissing and
 * FlinkHASidecarMetricsAbsent find them gone.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { DASHBOARD_FILE, POD_MONITOR_FILE, RULES_FILE } from '../monitoring/prometheus-rule.js';
import { FakeJobManager } from '../support/fake-jobmanager.js';
import { isReady, startTestSidecar, type TestSidecar } from '../support/sidecar-harness.js';
import { useZooKeeper } from '../support/zookeeper-fixture.js';
import { findFreePort, readTail, terminate, trackChild } from '../support/zookeeper-server.js';

const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
const NAMESPACE = 'it';
const PODS = ['jm-a', 'jm-b'] as const;
/** The JobManager Deployment the pods belong to, as the PodMonitor's relabeling finds it. */
const DEPLOYMENT = 'flink-jobmanager';
const START_TIMEOUT_MS = 20_000;
/**
 * Scrapes every second, so a change shows in queries within a few seconds; the very first scrape
 * comes about 5 s after start, when Prometheus's target discovery first hands over its targets.
 */
const QUERY_TIMEOUT_MS = 15_000;
const POLL_MS = 200;

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

interface RuleFile {
  groups: { rules: { alert?: string; expr: string }[] }[];
}

/** The expression of an alert of the shipped rule file. */
function alertExpr(name: string): string {
  const rule = (parse(readFileSync(RULES_FILE, 'utf8')) as RuleFile).groups.flatMap((g) => g.rules).find((r) => r.alert === name);
  assert.ok(rule, `no alert ${name}`);
  return rule.expr;
}

/** The PodMonitor's relabelings as Prometheus's relabel_configs (the Operator's translation: the same fields, snake_case). */
function podMonitorRelabelConfigs(): Record<string, unknown>[] {
  const monitor = parse(readFileSync(POD_MONITOR_FILE, 'utf8')) as {
    spec: { podMetricsEndpoints: { relabelings?: Record<string, unknown>[] }[] };
  };
  const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return monitor.spec.podMetricsEndpoints
    .flatMap((e) => e.relabelings ?? [])
    .map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [snake(k), v])));
}

interface RunningPrometheus {
  url: string;
  logFile: string;
  stop: () => Promise<void>;
}

/** Starts Prometheus on loopback with a throwaway data directory; resolves once /-/ready answers 200. */
async function startPrometheus(dir: string, config: unknown): Promise<RunningPrometheus> {
  const configFile = join(dir, 'prometheus.yml');
  const logFile = join(dir, 'prometheus.log');
  await writeFile(configFile, stringify(config));
  const port = await findFreePort();
  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ];
  // As for the JVMs: where setpriv exists, the kernel kills Prometheus if this process dies abruptly.
  const [command, commandArgs] = existsSync('/usr/bin/setpriv')
    ? ['/usr/bin/setpriv', ['--pdeathsig', 'SIGKILL', '--', PROMETHEUS, ...args]]
    : [PROMETHEUS, args];
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, commandArgs, { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  trackChild(child);
  const url = `http://127.0.0.1:${port}`;
  const stop = () => terminate(child, 'SIGTERM');
  const deadline = performance.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${await readTail(logFile)}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { url, logFile, stop };
    if (performance.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready after ${START_TIMEOUT_MS} ms:\n${await readTail(logFile)}`);
    }
    // /-/ready is the only readiness signal Prometheus offers.
    await delay(POLL_MS);
  }
}

const zk = useZooKeeper();
let scratch: string;
let prometheus: RunningPrometheus | undefined;
const jms: FakeJobManager[] = [];
const sidecars: TestSidecar[] = [];
const logLines: string[] = [];

async function query(promql: string): Promise<Sample[]> {
  const res = await fetch(`${prometheus!.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: Sample[] } };
  if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error}`);
  return body.data.result;
}

/** Value of `promql` per pod label, e.g. { 'jm-a': 1, 'jm-b': 0 }. */
async function byPod(promql: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of await query(promql)) out[s.metric['pod'] ?? '?'] = Number(s.value[1]);
  return out;
}

/** Asks Prometheus until `check` holds for the answer; fails after timeoutMs with the last answer. */
async function eventually<T>(what: string, ask: () => Promise<T>, check: (v: T) => boolean, timeoutMs = QUERY_TIMEOUT_MS): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await ask();
    if (check(v)) return v;
    if (performance.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; last answer ${JSON.stringify(v)}\n` +
          `prometheus log:\n${await readTail(prometheus!.logFile)}`,
      );
    }
    // Prometheus has no change notification for query results; it scrapes every second.
    await delay(POLL_MS);
  }
}

before(async () => {
  assert.ok(existsSync(PROMETHEUS), `${PROMETHEUS} is missing: run scripts/install-system-deps.sh as root (Debian package prometheus)`);
  await zk.ready();
  scratch = await mkdtemp(join(tmpdir(), 'flink-ha-sidecar-prometheus-'));
  const clusterId = `/it-prom-${randomUUID().slice(0, 8)}`;
  for (let i = 0; i < 2; i++) {
    const jm = await FakeJobManager.start({ zookeeper: zk.connectString, layout: '1.15', clusterId, sessionTimeoutMs: 4000 });
    jms.push(jm);
    // The first JM leads before the second joins.
    if (i === 0) await jm.waitFor(/^leader rest_server /);
  }
  for (const jm of jms) {
    sidecars.push(
      await startTestSidecar({
        zookeeper: zk.connectString,
        clusterId,
        restUrl: jm.restUrl,
        layout: 'auto',
        advertised: ['127.0.0.1'],
        // Every level, so that any logged request would show.
        logLevel: 'trace',
        logDestination: { write: (line: string) => void logLines.push(line) },
      }),
    );
  }
  await sidecars[0]!.waitFor('sidecar a ready', isReady);

  prometheus = await startPrometheus(scratch, {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: [RULES_FILE],
    scrape_configs: [
      {
        job_name: 'flink-ha-sidecar',
        // The labels a PodMonitor would give: the alert rules join on them. Kubernetes service
        // discovery's meta labels for a pod of a Deployment's ReplicaSet, from which the
        // PodMonitor's relabeling takes `deployment`.
        static_configs: sidecars.map((s, i) => ({
          targets: [`127.0.0.1:${s.running.address.port}`],
          labels: {
            namespace: NAMESPACE,
            pod: PODS[i],
            __meta_kubernetes_pod_controller_kind: 'ReplicaSet',
            __meta_kubernetes_pod_controller_name: `${DEPLOYMENT}-5d8f7c9b4`,
          },
        })),
        relabel_configs: podMonitorRelabelConfigs(),
      },
    ],
  });
});

zk.cleanup(async () => {
  await prometheus?.stop();
  for (const s of sidecars) await s.stop().catch(() => undefined);
  for (const jm of jms) await jm.stop().catch(() => undefined);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('a real Prometheus scraping two sidecars', () => {
  it('sees the leader, then sees is_leader move and leadership_changes_total rise after a failover', async () => {
    await eventually(
      'both targets up',
      () => byPod('up{job="flink-ha-sidecar"}'),
      (v) => v['jm-a'] === 1 && v['jm-b'] === 1,
    );
    await eventually(
      'jm-a leads, jm-b does not',
      () => byPod('flink_ha_sidecar_is_leader'),
      (v) => v['jm-a'] === 1 && v['jm-b'] === 0,
    );
    await eventually(
      'jm-b scraped as a standby',
      () => byPod('flink_ha_sidecar_is_standby'),
      (v) => v['jm-b'] === 1,
    );
    const before = await byPod('flink_ha_sidecar_leadership_changes_total');
    assert.deepEqual(before, { 'jm-a': 0, 'jm-b': 0 });

    await jms[0]!.send('resign');
    await jms[1]!.waitFor(/^leader rest_server /);
    await sidecars[1]!.waitFor('sidecar b ready', isReady);

    const leaders = await eventually(
      'jm-b leads, jm-a does not',
      () => byPod('flink_ha_sidecar_is_leader'),
      (v) => v['jm-a'] === 0 && v['jm-b'] === 1,
    );
    assert.deepEqual(leaders, { 'jm-a': 0, 'jm-b': 1 });
    // Both sidecars count the same failover once.
    const changes = await eventually(
      'leadership_changes_total risen on both',
      () => byPod('flink_ha_sidecar_leadership_changes_total'),
      (v) => v['jm-a'] === 1 && v['jm-b'] === 1,
    );
    assert.deepEqual(changes, { 'jm-a': 1, 'jm-b': 1 });
    const ready = await eventually(
      'ready follows',
      () => byPod('flink_ha_sidecar_ready'),
      (v) => v['jm-a'] === 0 && v['jm-b'] === 1,
    );
    assert.deepEqual(ready, { 'jm-a': 0, 'jm-b': 1 });
    const stamped = await byPod('flink_ha_sidecar_last_leadership_change_timestamp_seconds');
    for (const pod of PODS) assert.ok(Math.abs(stamped[pod]! - Date.now() / 1000) < 60, `${pod} change stamped ${stamped[pod]}`);
  });

  it('joins every series to its cluster through build_info, as the alerts do', async () => {
    const joined = await query('flink_ha_sidecar_is_leader * on (namespace, pod) group_left (cluster_id) flink_ha_sidecar_build_info');
    assert.equal(joined.length, 2);
    const clusterId = sidecars[0]!.config.clusterId.replace(/^\/+/, '');
    for (const s of joined) assert.equal(s.metric['cluster_id'], clusterId);
    const leaders = await query(
      'sum by (namespace, cluster_id) (flink_ha_sidecar_is_leader * on (namespace, pod) group_left (cluster_id) flink_ha_sidecar_build_info)',
    );
    assert.deepEqual(
      leaders.map((s) => [s.metric['namespace'], s.metric['cluster_id'], s.value[1]]),
      [[NAMESPACE, clusterId, '1']],
    );
  });

  it("the PodMonitor's relabeling gives every series the pod's Deployment", async () => {
    const labelled = await byPod(`flink_ha_sidecar_build_info{deployment="${DEPLOYMENT}"}`);
    assert.deepEqual(labelled, { 'jm-a': 1, 'jm-b': 1 });
    // Kubernetes service discovery's meta labels are gone after relabeling.
    const meta = await query('{__name__="flink_ha_sidecar_build_info", __meta_kubernetes_pod_controller_kind!=""}');
    assert.deepEqual(meta, []);
  });

  it('evaluates every alert rule on the real series without errors; only the inhibition source fires, for the healthy standby', async () => {
    type RuleState = { name: string; health: string; lastError?: string; lastEvaluation: string };
    const ruleCount = (parse(readFileSync(RULES_FILE, 'utf8')) as RuleFile).groups.flatMap((g) => g.rules).length;
    const rulesNow = async (): Promise<RuleState[]> => {
      const body = (await (await fetch(`${prometheus!.url}/api/v1/rules`)).json()) as { data: { groups: { rules: RuleState[] }[] } };
      return body.data.groups.flatMap((g) => g.rules);
    };
    const evaluated = await eventually(
      'every rule evaluated',
      rulesNow,
      (rules) => rules.length === ruleCount && rules.every((r) => !r.lastEvaluation.startsWith('0001-')),
    );
    assert.ok(ruleCount >= 11, `${ruleCount} rules`);
    for (const r of evaluated) assert.equal(r.health, 'ok', `${r.name}: ${r.lastError}`);
    type Alert = { labels: Record<string, string>; state: string };
    const firing = await eventually(
      'FlinkHAStandbyJobManager firing for jm-a',
      async () => {
        const body = (await (await fetch(`${prometheus!.url}/api/v1/alerts`)).json()) as { data: { alerts: Alert[] } };
        return body.data.alerts.filter((a) => a.state === 'firing').map((a) => a.labels);
      },
      // Until the rules are evaluated after the failover, it is jm-b that fires.
      (labels) => labels.map((l) => l['pod']).join() === 'jm-a',
    );
    const clusterId = sidecars[0]!.config.clusterId.replace(/^\/+/, '');
    assert.deepEqual(firing, [
      {
        alertname: 'FlinkHAStandbyJobManager',
        severity: 'none',
        namespace: NAMESPACE,
        cluster_id: clusterId,
        pod: 'jm-a',
        deployment: DEPLOYMENT,
      },
    ]);
  });

  it("every query of the Grafana dashboard returns series, with the dashboard's variables set from Prometheus as Grafana would", async () => {
    interface Dashboard {
      panels: { type: string; title: string; targets?: { expr: string }[] }[];
      templating: { list: { name: string; type: string; query?: string; multi?: boolean; includeAll?: boolean }[] };
    }
    const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
    // Grafana's built-in variables, at values a short-lived Prometheus has data for; the dashboard's
    // own as Grafana formats a multi-value variable for Prometheus: (a|b), regex-escaped.
    const vars = new Map<string, string>([
      ['__rate_interval', '1m'],
      ['__interval', '15s'],
      ['__range', '1h'],
    ]);
    const substitute = (text: string): string => {
      const done = text.replace(/\$(\w+)/g, (whole, name: string) => vars.get(name) ?? whole);
      assert.doesNotMatch(done, /\$/, `a variable is left in ${done}`);
      return done;
    };
    // A backslash doubled, as in Grafana: the PromQL string literal turns it into the regex's one.
    const escape = (v: string): string => v.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&');
    for (const v of dashboard.templating.list.filter((t) => t.type === 'query')) {
      const m = /^label_values\((.+),\s*(\w+)\)$/.exec(substitute(v.query ?? ''));
      assert.ok(m, `${v.name}: ${v.query} is not label_values(selector, label)`);
      const res = await fetch(`${prometheus!.url}/api/v1/label/${m[2]}/values?match[]=${encodeURIComponent(m[1]!)}`);
      const values = ((await res.json()) as { data: string[] }).data;
      assert.ok(values.length > 0, `variable ${v.name} has no values`);
      vars.set(v.name, `(${values.map(escape).join('|')})`);
    }
    assert.equal(vars.get('namespace'), `(${NAMESPACE})`);
    assert.equal(vars.get('cluster_id'), `(${escape(sidecars[0]!.config.clusterId.replace(/^\/+/, ''))})`);

    const empty: string[] = [];
    let queries = 0;
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      for (const target of panel.targets ?? []) {
        queries++;
        const series = await query(substitute(target.expr));
        if (series.length === 0) empty.push(`${panel.title}: ${target.expr}`);
      }
    }
    assert.ok(queries >= 15, `${queries} queries`);
    assert.deepEqual(empty, [], 'queries that return no series');
  });

  it('a real scrape passes promtool check metrics', async () => {
    const res = await fetch(`${sidecars[1]!.url}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^flink_ha_sidecar_jobmanager_check_duration_seconds_count [1-9]/m);
    const child = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.once('error', reject);
      child.once('close', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
      child.stdin.end(text);
    });
    assert.equal(code, 0, `promtool check metrics failed:\n${output}`);
  });

  it('scrapes never reach the logs', async () => {
    // Several scrapes of each sidecar, counted by Prometheus itself.
    const scraped = await eventually(
      'three scrapes of each sidecar',
      () => byPod('count_over_time(up{job="flink-ha-sidecar"}[5m])'),
      (v) => PODS.every((pod) => (v[pod] ?? 0) >= 3),
    );
    for (const pod of PODS) assert.ok(scraped[pod]! >= 3, `${pod} scraped ${scraped[pod]} times`);
    assert.ok(logLines.length > 0, 'the sidecars logged nothing at all: the capture is broken');
    assert.deepEqual(
      logLines.filter((l) => /\/metrics|"GET"|"req"|"url"/.test(l)),
      [],
    );
  });

  it('once the sidecars stop, FlinkHASidecarDown finds each, then FlinkHASidecarsMissing the cluster and FlinkHASidecarMetricsAbsent all (their expressions)', async () => {
    const clusterId = sidecars[0]!.config.clusterId.replace(/^\/+/, '');
    const labels = (samples: Sample[]): Record<string, string>[] =>
      samples.map((s) => s.metric).sort((a, b) => (a['pod'] ?? '').localeCompare(b['pod'] ?? ''));
    assert.deepEqual(await query(alertExpr('FlinkHASidecarDown')), []);
    assert.deepEqual(await query(alertExpr('FlinkHASidecarsMissing')), []);

    await sidecars[0]!.stop();
    const down = await eventually(
      'jm-a down',
      () => query(alertExpr('FlinkHASidecarDown')),
      (v) => v.length > 0,
    );
    assert.deepEqual(labels(down), [{ namespace: NAMESPACE, cluster_id: clusterId, pod: 'jm-a' }]);
    // jm-b is still scraped: the cluster is not missing.
    assert.deepEqual(await query(alertExpr('FlinkHASidecarsMissing')), []);

    await sidecars[1]!.stop();
    const missing = await eventually(
      'the cluster missing',
      () => query(alertExpr('FlinkHASidecarsMissing')),
      (v) => v.length > 0,
    );
    assert.deepEqual(labels(missing), [{ namespace: NAMESPACE, cluster_id: clusterId }]);
    assert.deepEqual(labels(await query(alertExpr('FlinkHASidecarDown'))), [
      { namespace: NAMESPACE, cluster_id: clusterId, pod: 'jm-a' },
      { namespace: NAMESPACE, cluster_id: clusterId, pod: 'jm-b' },
    ]);
    assert.equal((await query(alertExpr('FlinkHASidecarMetricsAbsent'))).length, 1);
  });
});

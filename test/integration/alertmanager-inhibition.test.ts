/**
 * manifests/monitoring/alertmanager-inhibition.yaml against Alertmanager itself (Debian's
 * prometheus-alertmanager, 0.25): `amtool check-config` accepts it, its route delivers the
 * inhibition source FlinkHAStandbyJobManager nowhere and everything else to the default receiver,
 * and a real Alertmanager started with it, sent alerts through its API as Prometheus sends them,
 * inhibits exactly the generic alerts about a healthy standby (its Deployment's replica alerts, its
 * pod's readiness) and the per-pod FlinkHASidecarDown of a cluster that is missing altogether, and
 * nothing else: other Deployments, other namespaces, the leader's pod, and targets without a
 * Deployment when the source has none either.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { MONITORING_DIR } from '../monitoring/prometheus-rule.js';
import { findFreePort, readTail, terminate, trackChild } from '../support/zookeeper-server.js';

const AMTOOL = '/usr/bin/amtool';
const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
const CONFIG = join(MONITORING_DIR, 'alertmanager-inhibition.yaml');
const START_TIMEOUT_MS = 20_000;
const SETTLE_TIMEOUT_MS = 15_000;
const POLL_MS = 200;

const run = promisify(execFile);

async function amtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(AMTOOL, args, { timeout: 30_000 });
    return stdout + stderr;
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`amtool ${args.join(' ')} failed:\n${stdout}${stderr}`, { cause: err });
  }
}

interface ApiAlert {
  labels: Record<string, string>;
  status: { state: string; inhibitedBy: string[] };
  fingerprint: string;
}

let scratch: string;
let url: string;
let logFile: string;
let child: ChildProcess | undefined;

before(async () => {
  for (const tool of [AMTOOL, ALERTMANAGER]) {
    assert.ok(existsSync(tool), `${tool} is missing: run scripts/install-system-deps.sh as root (Debian package prometheus-alertmanager)`);
  }
  scratch = await mkdtemp(join(tmpdir(), 'flink-ha-sidecar-alertmanager-'));
  logFile = join(scratch, 'alertmanager.log');
  const port = await findFreePort();
  const args = [
    `--config.file=${CONFIG}`,
    `--storage.path=${join(scratch, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    // No gossip with peers: a single instance on loopback.
    '--cluster.listen-address=',
    '--log.level=warn',
  ];
  // As for Prometheus: where setpriv exists, the kernel kills Alertmanager if this process dies abruptly.
  const [command, commandArgs] = existsSync('/usr/bin/setpriv')
    ? ['/usr/bin/setpriv', ['--pdeathsig', 'SIGKILL', '--', ALERTMANAGER, ...args]]
    : [ALERTMANAGER, args];
  const fd = openSync(logFile, 'a');
  try {
    child = spawn(command, commandArgs, { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  trackChild(child);
  url = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`alertmanager exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${await readTail(logFile)}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (performance.now() > deadline) throw new Error(`alertmanager not ready after ${START_TIMEOUT_MS} ms:\n${await readTail(logFile)}`);
    // /-/ready is the only readiness signal Alertmanager offers.
    await delay(POLL_MS);
  }
});

after(async () => {
  if (child) await terminate(child, 'SIGTERM');
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('amtool', () => {
  it('check-config accepts the file: a route, 2 receivers, 3 inhibit rules', async () => {
    const out = await amtool('check-config', CONFIG);
    assert.match(out, /SUCCESS/);
    assert.match(out, / - 3 inhibit rules/);
    assert.match(out, / - 2 receivers/);
  });

  it('routes the inhibition source to the receiver that sends nothing, and every other alert to the default one', async () => {
    const route = async (...labels: string[]): Promise<string> =>
      (await amtool('config', 'routes', 'test', `--config.file=${CONFIG}`, ...labels))
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.startsWith('Warning:'))
        .join('\n');
    assert.equal(await route('alertname=FlinkHAStandbyJobManager', 'namespace=flink', 'pod=jm-1'), 'null');
    assert.equal(await route('alertname=FlinkHANoLeader', 'namespace=flink'), 'default');
    assert.equal(await route('alertname=KubeDeploymentReplicasMismatch', 'namespace=flink'), 'default');
  });
});

describe('a real Alertmanager with the inhibition', () => {
  // The labels Prometheus would send: kube-state-metrics' alerts carry its own pod and job too.
  const ksm = { job: 'kube-state-metrics', pod: 'kube-state-metrics-6d4b9c7f5-x2x9k', container: 'kube-state-metrics' };
  const sources: Record<string, string>[] = [
    {
      alertname: 'FlinkHAStandbyJobManager',
      severity: 'none',
      namespace: 'flink',
      cluster_id: 'orders',
      pod: 'flink-jobmanager-5d8f7c9b4-b7k2p',
      deployment: 'flink-jobmanager',
    },
    // A standby that no Deployment owns.
    { alertname: 'FlinkHAStandbyJobManager', severity: 'none', namespace: 'solo', cluster_id: 'solo', pod: 'jm-1' },
    { alertname: 'FlinkHASidecarsMissing', severity: 'critical', namespace: 'flink', cluster_id: 'orders' },
  ];
  const inhibited: Record<string, string>[] = [
    { alertname: 'KubeDeploymentReplicasMismatch', severity: 'warning', namespace: 'flink', deployment: 'flink-jobmanager', ...ksm },
    { alertname: 'KubeDeploymentRolloutStuck', severity: 'warning', namespace: 'flink', deployment: 'flink-jobmanager', ...ksm },
    { alertname: 'KubePodNotReady', severity: 'warning', namespace: 'flink', pod: 'flink-jobmanager-5d8f7c9b4-b7k2p' },
    {
      alertname: 'FlinkHASidecarDown',
      severity: 'warning',
      namespace: 'flink',
      cluster_id: 'orders',
      pod: 'flink-jobmanager-5d8f7c9b4-b7k2p',
    },
  ];
  const active: Record<string, string>[] = [
    // Another Deployment in the namespace, the same Deployment name in another namespace.
    { alertname: 'KubeDeploymentReplicasMismatch', severity: 'warning', namespace: 'flink', deployment: 'orders-api', ...ksm },
    { alertname: 'KubeDeploymentReplicasMismatch', severity: 'warning', namespace: 'staging', deployment: 'flink-jobmanager', ...ksm },
    // The leader's pod.
    { alertname: 'KubePodNotReady', severity: 'warning', namespace: 'flink', pod: 'flink-jobmanager-5d8f7c9b4-q9w4z' },
    // No `deployment` on either side: Alertmanager would take them as equal without the source's guard.
    { alertname: 'KubeDeploymentReplicasMismatch', severity: 'warning', namespace: 'solo', ...ksm },
    // Another cluster's sidecar.
    { alertname: 'FlinkHASidecarDown', severity: 'warning', namespace: 'flink', cluster_id: 'payments', pod: 'payments-jm-0' },
    // The Flink HA alerts themselves.
    { alertname: 'FlinkHANoLeader', severity: 'critical', namespace: 'flink', cluster_id: 'orders' },
  ];

  it("inhibits the standby's Deployment and pod alerts and a missing cluster's sidecar alerts, and nothing else", async () => {
    const now = Date.now();
    const body = [...sources, ...inhibited, ...active].map((labels) => ({
      labels,
      startsAt: new Date(now - 60_000).toISOString(),
      endsAt: new Date(now + 3_600_000).toISOString(),
      generatorURL: 'http://prometheus.example/graph',
    }));
    const posted = await fetch(`${url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(posted.status, 200, await posted.text());

    const key = (labels: Record<string, string>): string => JSON.stringify(Object.entries(labels).sort());
    const want = new Map<string, string>([
      ...sources.map((l) => [key(l), 'active'] as const),
      ...inhibited.map((l) => [key(l), 'suppressed'] as const),
      ...active.map((l) => [key(l), 'active'] as const),
    ]);
    // The inhibitor learns of its sources as they arrive; poll until the states settle.
    const deadline = performance.now() + SETTLE_TIMEOUT_MS;
    let alerts: ApiAlert[] = [];
    let states = new Map<string, string>();
    for (;;) {
      alerts = (await (await fetch(`${url}/api/v2/alerts`)).json()) as ApiAlert[];
      states = new Map(alerts.map((a) => [key(a.labels), a.status.state]));
      if (alerts.length === want.size && [...want].every(([k, s]) => states.get(k) === s)) break;
      if (performance.now() > deadline) break;
      // The API has no change notification.
      await delay(POLL_MS);
    }
    assert.deepEqual(new Map([...states].sort()), new Map([...want].sort()), await readTail(logFile));

    // Each suppressed alert names the source that inhibits it.
    const fingerprint = (labels: Record<string, string>): string => alerts.find((a) => key(a.labels) === key(labels))!.fingerprint;
    const by = (labels: Record<string, string>): string[] => alerts.find((a) => key(a.labels) === key(labels))!.status.inhibitedBy;
    for (const target of inhibited.slice(0, 3)) assert.deepEqual(by(target), [fingerprint(sources[0]!)], target['alertname']);
    assert.deepEqual(by(inhibited[3]!), [fingerprint(sources[2]!)]);
  });
});

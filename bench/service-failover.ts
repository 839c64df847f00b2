/**
 * Service failover end to end, per routing mode: from a leader change in ZooKeeper until the
 * leader Service's EndpointSlices list only the new leader as ready.
 *
 * Everything real but the kubelet and Flink: etcd, kube-apiserver and kube-controller-manager (its
 * EndpointSlice controller) from test/support/control-plane.ts, ZooKeeper, two sidecar processes
 * (dist/main.js, label mode with the pod's projected token), the manifests' leader Service, and the
 * kubelet stand-in of test/support/kubelet-standin.ts probing each sidecar with the rendered probe
 * (periodSeconds 1, timeoutSeconds 1, failureThreshold 2) and writing each pod's Ready condition.
 * The JobManagers are Curator stand-ins; a failover is a clean handover (the leader resigns, as on
 * a graceful stop), started after a random pause of up to one probe period so that it falls on any
 * phase of the probes, as failovers do. Times are taken in this process: when the new leader's
 * stand-in reports its leader information written, and when the EndpointSlice watch delivers the
 * version that lists the new leader alone.
 *
 *   npm run build && node --import tsx bench/service-failover.ts [--failovers 20] [--mode both|readiness|label]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { ensureControlPlaneBinaries, startControlPlane } from '../test/support/control-plane.js';
import { isPodReady, ServiceScenario, type RoutingMode } from '../test/support/kubelet-standin.js';
import { sharedZooKeeper } from '../test/support/zookeeper-server.js';

const { values } = parseArgs({
  options: { failovers: { type: 'string', default: '20' }, mode: { type: 'string', default: 'both' } },
});
const FAILOVERS = Number(values.failovers);
const MODES: RoutingMode[] = values.mode === 'both' ? ['readiness', 'label'] : [values.mode as RoutingMode];
const JM_SESSION_TIMEOUT_MS = 6000;
const SETTLE_MS = 30_000;

interface Sample {
  /** New leader's information written -> the Service lists it alone. */
  electedToServiceMs: number;
  /** The old leader's resign sent -> the Service lists the new one alone. */
  resignToServiceMs: number;
  /** New leader's information written -> its pod changed in the API (Ready written, or labelled leader). */
  electedToPodMs: number;
  /** Longest spell with two ready addresses during this failover; 0 if none. */
  doubleMs: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function summary(xs: readonly number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${percentile(s, 50).toFixed(0)} ms, p99 ${percentile(s, 99).toFixed(0)} ms, max ${s.at(-1)!.toFixed(0)} ms`;
}

async function benchMode(mode: RoutingMode, cp: Awaited<ReturnType<typeof startControlPlane>>, zookeeper: string): Promise<Sample[]> {
  const s = await ServiceScenario.start({
    cp,
    zookeeper,
    mode,
    jmSessionTimeoutMs: JM_SESSION_TIMEOUT_MS,
    podIps: mode === 'readiness' ? ['10.244.1.11', '10.244.1.12'] : ['10.244.2.11', '10.244.2.12'],
  });
  const samples: Sample[] = [];
  try {
    for (let i = 0; i < FAILOVERS; i++) {
      const [leader, standby] = s.pods[0].jm.isLeader() ? s.pods : [s.pods[1], s.pods[0]];
      // Any phase of the probes: failovers do not wait for the kubelet.
      await new Promise((r) => setTimeout(r, Math.random() * s.probe.periodSeconds * 1000));
      const since = standby.jm.events.length;
      const podEvents = s.podInformer.events.length;
      const setsFrom = s.readySets.length;
      const resignAtMs = performance.now();
      await leader.jm.send('resign');
      await standby.jm.waitFor(/^leader rest_server /, JM_SESSION_TIMEOUT_MS * 5, since);
      const electedAtMs = standby.jm.events.slice(since).find((e) => e.line.startsWith('leader rest_server '))!.atMs;
      const onlyAtMs = await s.waitForOnlyReady(standby, SETTLE_MS);
      const podChanged = s.podInformer.events
        .slice(podEvents)
        .find(
          (e) =>
            e.object.metadata.name === standby.name &&
            (mode === 'label' ? e.object.metadata.labels?.['flink-ha-sidecar/role'] === 'leader' : isPodReady(e.object)),
        );
      const sets = s.readySets.slice(setsFrom);
      let doubleMs = 0;
      sets.forEach((set, k) => {
        if (set.ready.length > 1) doubleMs = Math.max(doubleMs, (sets[k + 1]?.atMs ?? onlyAtMs) - set.atMs);
      });
      samples.push({
        electedToServiceMs: onlyAtMs - electedAtMs,
        resignToServiceMs: onlyAtMs - resignAtMs,
        electedToPodMs: (podChanged?.atMs ?? Number.NaN) - electedAtMs,
        doubleMs,
      });
      process.stderr.write(
        `${mode} ${i + 1}/${FAILOVERS}: ${(onlyAtMs - electedAtMs).toFixed(0)} ms${doubleMs > 0 ? ` (two ready for ${doubleMs.toFixed(0)} ms)` : ''}\n`,
      );
      await leader.jm.send('join');
      await s.waitForHealthyStandby(leader, SETTLE_MS);
    }
    return samples;
  } finally {
    await s.stop();
  }
}

async function main(): Promise<void> {
  await ensureControlPlaneBinaries();
  const [cp, zk] = await Promise.all([startControlPlane(), sharedZooKeeper()]);
  const results = new Map<RoutingMode, Sample[]>();
  try {
    for (const mode of MODES) results.set(mode, await benchMode(mode, cp, zk.connectString));
  } finally {
    await cp.stop();
    await zk.destroy();
  }
  const cpus = os.cpus();
  console.log(
    `\nService failover, ${FAILOVERS} clean handovers per mode (${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, Node ${process.version})\n`,
  );
  const rows: [string, (s: Sample) => number][] = [
    ['new leader written -> Service lists only it', (s) => s.electedToServiceMs],
    ['resign sent -> Service lists only the new leader', (s) => s.resignToServiceMs],
    ['new leader written -> its pod Ready (readiness) / labelled leader (label)', (s) => s.electedToPodMs],
  ];
  const header = ['', ...MODES.map((m) => `${m} mode`)];
  const table = [header, ...rows.map(([name, f]) => [name, ...MODES.map((m) => summary(results.get(m)!.map(f)))])];
  table.push([
    'failovers with two ready addresses (longest)',
    ...MODES.map((m) => {
      const d = results
        .get(m)!
        .map((s) => s.doubleMs)
        .filter((ms) => ms > 0);
      return `${d.length} of ${FAILOVERS}${d.length > 0 ? ` (${Math.max(...d).toFixed(0)} ms)` : ''}`;
    }),
  ]);
  const widths = header.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  for (const r of table) console.log(`| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

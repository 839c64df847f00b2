/**
 * The Kubernetes source against a real API server: two contenders that elect as Flink does
 * (test/support/configmap-lock-contender.ts) and a sidecar process beside each, reading with a
 * ServiceAccount allowed get, list and watch on configmaps.
 *
 * - Leader changes: the leader stops gracefully (it removes its leader information and releases
 *   the lock); the other acquires and publishes. Measured: the new leader's publishing update sent
 *   to the API server → its sidecar ready (the `atMs` of its transition); beside it, the baseline
 *   the API server sets: the same update sent → its answer back to the contender.
 * - API calls per probe: the API server's audit log counts the sidecars' requests over an idle
 *   window and over a flood of /readyz probes of the same length. Probes answer from memory: both
 *   windows show no request (the sidecars' watches were opened before).
 *
 *   npm run bench:kubernetes -- [--changes 30] [--probes 20000]
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { ConfigMapLockContender } from '../test/support/configmap-lock-contender.js';
import { startControlPlane, type ControlPlane } from '../test/support/control-plane.js';
import { monotonicNow, SidecarProcess } from '../test/support/sidecar-process.js';
import { machine, percentile } from './lib/counting-jobmanager.js';

const { values } = parseArgs({
  options: {
    changes: { type: 'string', default: '30' },
    probes: { type: 'string', default: '20000' },
  },
});
const CHANGES = Number(values.changes);
const PROBES = Number(values.probes);
const TIMINGS = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };
const READER = 'ha-reader';

async function restStandIn(): Promise<string> {
  const server = createServer((_req, res) => res.end('{"flink-version":"2.3.0"}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function readerKubeconfig(cp: ControlPlane, namespace: string): Promise<string> {
  const ok = async (path: string, body: unknown) => {
    const res = await cp.request('POST', path, { body });
    if (res.status >= 300) throw new Error(`POST ${path}: ${res.status} ${res.body}`);
    return JSON.parse(res.body) as { status?: { token: string } };
  };
  await ok(`/api/v1/namespaces/${namespace}/serviceaccounts`, { metadata: { name: READER } });
  await ok(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, {
    metadata: { name: READER },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
  });
  await ok(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
    metadata: { name: READER },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: READER },
    subjects: [{ kind: 'ServiceAccount', name: READER, namespace }],
  });
  const token = await ok(`/api/v1/namespaces/${namespace}/serviceaccounts/${READER}/token`, { spec: { expirationSeconds: 3600 } });
  return cp.writeTokenKubeconfig(token.status!.token);
}

/** Requests by `user` in the audit log: one RequestReceived event each. */
function auditedRequests(path: string, user: string): number {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return 0;
  }
  return text.split('\n').filter((l) => l.includes('"stage":"RequestReceived"') && l.includes(`"username":"${user}"`)).length;
}

interface Member {
  restUrl: string;
  sidecar: SidecarProcess;
  contender: ConfigMapLockContender;
  /** When its contender last sent a leader information update (monotonic ms). */
  publishSentMs: number;
}

/** `count` GET /readyz with 16 in flight; the statuses seen. */
async function flood(url: string, count: number): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      request(`${url}/readyz`, (res) => {
        res.resume();
        res.on('end', () => {
          statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
          resolve();
        });
      })
        .on('error', reject)
        .end();
    });
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) {
        next += 1;
        await one();
      }
    }),
  );
  return statuses;
}

async function main(): Promise<void> {
  const dir = join(process.env.TMPDIR ?? '/tmp', `audit-${process.pid}`);
  const policy = `${dir}-policy.yaml`;
  const auditLog = `${dir}.log`;
  writeFileSync(policy, 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n');
  const cp = await startControlPlane({ apiServerArgs: [`--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`] });
  try {
    const namespace = await cp.createNamespace('bench');
    const kubeconfig = await readerKubeconfig(cp, namespace);
    const clusterId = 'bench';
    const contenderFor = (m: Pick<Member, 'restUrl' | 'publishSentMs'>) =>
      new ConfigMapLockContender({
        kubeconfigPath: cp.kubeconfigPath,
        namespace,
        clusterId,
        restAddress: m.restUrl,
        ...TIMINGS,
        interpose: (step) => {
          if (step.op === 'data-update') m.publishSentMs = monotonicNow();
        },
      });
    const members: Member[] = [];
    for (let i = 0; i < 2; i++) {
      const restUrl = await restStandIn();
      const sidecar = await SidecarProcess.start({
        restUrl,
        env: { LEADER_SOURCE: 'kubernetes', KUBERNETES_CLUSTER_ID: clusterId, KUBERNETES_NAMESPACE: namespace, KUBECONFIG: kubeconfig },
      });
      const member = { restUrl, sidecar, publishSentMs: 0 } as Member;
      member.contender = contenderFor(member);
      members.push(member);
    }
    members[0]!.contender.start();
    await members[0]!.sidecar.waitUntilReady(30_000);
    members[1]!.contender.start();

    const toReady: number[] = [];
    const toAnswer: number[] = [];
    let leader = 0;
    for (let change = 0; change < CHANGES; change++) {
      const old = members[leader]!;
      const next = members[1 - leader]!;
      const since = next.sidecar.lines.length;
      await old.contender.stop({ release: true, removeLeaderInfo: true });
      await next.contender.waitForPublished(30_000);
      const answeredMs = monotonicNow();
      const ready = await next.sidecar.waitForTransition('ready', (t) => t.ready, 30_000, since);
      toReady.push(ready.atMs - next.publishSentMs);
      toAnswer.push(answeredMs - next.publishSentMs);
      // The stopped JobManager comes back, as a kubelet restarts its container, and stands by.
      old.contender = contenderFor(old);
      old.contender.start();
      await delay(200);
      leader = 1 - leader;
    }
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    const row = (label: string, xs: number[]) => {
      const s = sorted(xs);
      console.log(
        `  ${label.padEnd(58)} p50 ${percentile(s, 50).toFixed(1)} ms   p99 ${percentile(s, 99).toFixed(1)} ms   max ${s.at(-1)!.toFixed(1)} ms`,
      );
    };
    console.log(`Kubernetes source, ${CHANGES} graceful leader changes, ${machine()}`);
    row("publishing update sent -> the new leader's sidecar ready", toReady);
    row('baseline: the same update sent -> API server answered', toAnswer);

    const user = `system:serviceaccount:${namespace}:${READER}`;
    const url = members[leader]!.sidecar.url;
    const before = auditedRequests(auditLog, user);
    const idleStart = monotonicNow();
    await delay(5000);
    const idle = auditedRequests(auditLog, user) - before;
    const idleMs = monotonicNow() - idleStart;
    const floodStart = monotonicNow();
    const statuses = await flood(url, PROBES);
    const floodMs = monotonicNow() - floodStart;
    await delay(1000);
    const during = auditedRequests(auditLog, user) - before - idle;
    console.log(`API server requests by the sidecars (audit log, user ${user}):`);
    console.log(
      `  idle ${Math.round(idleMs)} ms: ${idle}   flood of ${PROBES} probes in ${Math.round(floodMs)} ms (${[...statuses].map(([s, n]) => `${n} x ${s}`).join(', ')}): ${during}`,
    );
    for (const m of members) {
      m.contender.kill();
      await m.sidecar.stop();
    }
    if (during > idle) {
      console.error('probes caused API server requests');
      process.exitCode = 1;
    }
  } finally {
    await cp.stop();
  }
}

void main();

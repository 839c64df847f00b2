/**
 * The real Kubernetes control plane of test/support/control-plane.ts (etcd, kube-apiserver,
 * kube-controller-manager and kubectl built from source): objects applied with the built kubectl,
 * the real EndpointSlice controller following a Pod's readiness, ServiceAccount tokens from the
 * TokenRequest API held to RBAC, a ValidatingAdmissionPolicy enforced, and nothing left running
 * afterwards, whether stop() was called or the test process just exited.
 *
 * A cold machine builds the binaries first (minutes, with progress on stderr); see
 * scripts/build-control-plane.sh.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { ensureControlPlaneBinaries, startControlPlane, type ControlPlane, type KubeObject } from '../support/control-plane.js';

const PROJECT_ROOT = resolve(__dirname, '..', '..');
const HELPER = join(PROJECT_ROOT, 'test', 'support', 'control-plane.ts');
const WAIT_MS = 30_000;
const POLL_MS = 100;

interface EndpointSlice extends KubeObject {
  endpoints?: {
    addresses: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    nodeName?: string;
    targetRef?: { kind: string; name: string };
  }[];
  ports?: { name?: string; port?: number }[];
}

/**
 * Retries `attempt` until it returns true. Only for what the apiserver gives no event for: its
 * authorizer and admission caches catching up with objects that were just created.
 */
async function eventually(what: string, attempt: () => Promise<boolean>, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await attempt()) return;
    await delay(POLL_MS);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

/** True once nothing accepts connections on 127.0.0.1:port. */
function portClosed(port: number): Promise<boolean> {
  return new Promise((resolveClosed) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolveClosed(false);
    });
    socket.once('error', () => resolveClosed(true));
  });
}

/**
 * Whether pid names a live process. A zombie waiting to be reaped counts as gone once its last
 * thread has exited: a killed Go process's main thread turns zombie before the others (which still
 * hold its sockets) are done.
 */
function alive(pid: number): boolean {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const state = /^State:\s+(\S)/m.exec(status)?.[1];
    const threads = Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 1);
    return !(state === 'Z' && threads <= 1);
  } catch {
    return false;
  }
}

/** Processes whose command line mentions `text` (every component's flags name its temp directory). */
function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text) && alive(Number(entry))) found.push(Number(entry));
    } catch {
      // Exited between readdir and read.
    }
  }
  return found;
}

describe('a real Kubernetes control plane', () => {
  let cp: ControlPlane;

  before(async () => {
    // Built apart from the start so that the start's bound does not have to cover a cold build.
    await ensureControlPlaneBinaries();
    const started = performance.now();
    cp = await startControlPlane();
    process.stderr.write(`control plane at ${cp.server} started in ${Math.round(performance.now() - started)} ms\n`);
  });

  after(async () => {
    await cp?.stop();
  });

  it('applies objects server-side with the built kubectl, and the EndpointSlice controller follows Pod readiness', async () => {
    const ns = `jm-${process.pid}`;
    const node = `${ns}-node`;
    const podIp = '10.244.1.7';
    await cp.kubectlOk(['apply', '--server-side', '--field-manager=control-plane-test', '-f', '-'], {
      input: `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`,
    });
    // ServiceAccount admission refuses Pods until the controller has made the default account.
    await cp.waitFor(`/api/v1/namespaces/${ns}/serviceaccounts`, (sa) => sa.metadata.name === 'default');

    // No kubelet registers Nodes here, and the controller skips Pods on a Node it does not know.
    await cp.kubectlOk(['apply', '--server-side', '--field-manager=control-plane-test', '-f', '-'], {
      input: `
apiVersion: v1
kind: Node
metadata:
  name: ${node}
  labels:
    topology.kubernetes.io/zone: zone-a
---
apiVersion: v1
kind: Pod
metadata:
  name: jobmanager-0
  namespace: ${ns}
  labels:
    app: jobmanager
spec:
  nodeName: ${node}
  automountServiceAccountToken: false
  containers:
    - name: jobmanager
      image: flink:2.0
      ports:
        - name: rest
          containerPort: 8081
---
apiVersion: v1
kind: Service
metadata:
  name: jobmanager
  namespace: ${ns}
spec:
  selector:
    app: jobmanager
  ports:
    - name: rest
      port: 8081
      targetPort: rest
`,
    });

    const setReady = (ready: boolean) =>
      cp.kubectlOk([
        'patch',
        'pod',
        'jobmanager-0',
        '-n',
        ns,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({
          status: {
            phase: 'Running',
            podIP: podIp,
            podIPs: [{ ip: podIp }],
            conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
          },
        }),
      ]);
    const slices =
      `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=` +
      encodeURIComponent('kubernetes.io/service-name=jobmanager');
    const endpointFor = (slice: EndpointSlice) => slice.endpoints?.find((e) => e.addresses.includes(podIp));

    await setReady(true);
    const readySlice = await cp.waitFor<EndpointSlice>(slices, (s) => endpointFor(s)?.conditions?.ready === true);
    const endpoint = endpointFor(readySlice);
    assert.equal(endpoint?.nodeName, node);
    assert.deepEqual(endpoint?.targetRef && { kind: endpoint.targetRef.kind, name: endpoint.targetRef.name }, {
      kind: 'Pod',
      name: 'jobmanager-0',
    });
    assert.deepEqual(
      readySlice.ports?.map((p) => [p.name, p.port]),
      [['rest', 8081]],
    );

    await setReady(false);
    const notReady = await cp.waitFor<EndpointSlice>(slices, (s) => endpointFor(s)?.conditions?.ready === false);
    assert.equal(endpointFor(notReady)?.conditions?.serving, false);

    // The same state read back through kubectl.
    const viaKubectl = JSON.parse(
      await cp.kubectlOk(['get', 'endpointslices', '-n', ns, '-l', 'kubernetes.io/service-name=jobmanager', '-o', 'json']),
    ) as { items: EndpointSlice[] };
    assert.deepEqual(
      viaKubectl.items.flatMap((s) => s.endpoints ?? []).map((e) => [e.addresses, e.conditions?.ready]),
      [[[podIp], false]],
    );
  });

  it('issues ServiceAccount tokens through TokenRequest that authenticate as the account, held to RBAC', async () => {
    const ns = await cp.createNamespace('sa');
    await cp.kubectlOk(['apply', '--server-side', '--field-manager=control-plane-test', '-f', '-'], {
      input: `
apiVersion: v1
kind: ServiceAccount
metadata:
  name: reader
  namespace: ${ns}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: pod-reader
  namespace: ${ns}
rules:
  - apiGroups: [""]
    resources: [pods]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: reader-reads-pods
  namespace: ${ns}
subjects:
  - kind: ServiceAccount
    name: reader
    namespace: ${ns}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: pod-reader
`,
    });

    const token = (await cp.kubectlOk(['create', 'token', 'reader', '-n', ns, '--duration=10m'])).trim();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'a JWT');
    const asReader = await cp.writeTokenKubeconfig(token);

    const review = JSON.parse(await cp.kubectlOk(['auth', 'whoami', '-o', 'json'], { kubeconfig: asReader })) as {
      status: { userInfo: { username: string; groups: string[] } };
    };
    assert.equal(review.status.userInfo.username, `system:serviceaccount:${ns}:reader`);
    assert.ok(review.status.userInfo.groups.includes(`system:serviceaccounts:${ns}`), JSON.stringify(review));

    // The RBAC authorizer reads Roles from an informer: the binding may take a moment to count.
    await eventually(
      'the RoleBinding lets the account list pods',
      async () => (await cp.kubectl(['get', 'pods', '-n', ns], { kubeconfig: asReader })).code === 0,
    );

    const secrets = await cp.kubectl(['get', 'secrets', '-n', ns], { kubeconfig: asReader });
    assert.notEqual(secrets.code, 0);
    assert.match(secrets.stderr, /forbidden/i);
    const raw = await cp.request('GET', `/api/v1/namespaces/${ns}/secrets`, { token });
    assert.equal(raw.status, 403, raw.body);
    const forged = await cp.request('GET', `/api/v1/namespaces/${ns}/pods`, { token: `${token.slice(0, -4)}AAAA` });
    assert.equal(forged.status, 401, forged.body);
  });

  it('enforces a ValidatingAdmissionPolicy', async () => {
    const ns = await cp.createNamespace('vap');
    const policy = `${ns}-no-forbidden-key`;
    await cp.kubectlOk(['apply', '--server-side', '--field-manager=control-plane-test', '-f', '-'], {
      input: `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: ${policy}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: [""]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [configmaps]
  validations:
    - expression: "!has(object.data) || !('forbidden' in object.data)"
      message: no key named forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: ${policy}
spec:
  policyName: ${policy}
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: ${ns}
`,
    });
    const create = (key: string) =>
      cp.kubectl(['create', 'configmap', `with-${key}`, '-n', ns, `--from-literal=${key}=1`, '--dry-run=server']);
    // The admission plugin compiles policies from an informer, a moment after they are stored.
    await eventually('the policy denies', async () => {
      const denied = await create('forbidden');
      return denied.code !== 0 && denied.stderr.includes('no key named forbidden');
    });
    assert.equal((await create('allowed')).code, 0);
  });

  it('stop() closes every port, removes its directory and leaves no process behind', async () => {
    const { ports, pids, dir } = cp;
    assert.ok(pids.every(alive), 'all three components run before stop()');
    await cp.stop();
    for (const [name, port] of Object.entries(ports)) {
      assert.ok(await portClosed(port), `${name} port ${port} still accepts connections`);
    }
    assert.deepEqual(pids.filter(alive), []);
    assert.deepEqual(processesMentioning(dir), []);
    assert.equal(existsSync(dir), false);
    await cp.stop();
  });
});

describe('a control plane whose test process exits without stop()', () => {
  it('is killed and removed by the exit handler', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'flink-ha-sidecar-kube-exit-'));
    try {
      const script = join(scratch, 'start-and-exit.ts');
      await writeFile(
        script,
        `
import { startControlPlane } from ${JSON.stringify(HELPER)};
startControlPlane().then((cp) => {
  process.stdout.write(JSON.stringify({ dir: cp.dir, pids: cp.pids, ports: cp.ports }) + '\\n');
  process.exit(0);
}, (err) => {
  console.error(err);
  process.exit(1);
});
`,
      );
      const child = spawn(process.execPath, ['--import', 'tsx', script], {
        cwd: PROJECT_ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      const code = await new Promise<number | null>((resolveCode) => child.once('close', resolveCode));
      assert.equal(code, 0, stdout);
      const started = JSON.parse(stdout) as Pick<ControlPlane, 'dir' | 'pids' | 'ports'>;
      assert.equal(started.pids.length, 3);

      // SIGKILL is sent during exit; the kernel finishes the processes a moment later.
      await eventually('the components are gone', () => Promise.resolve(started.pids.every((pid) => !alive(pid))), 10_000);
      assert.deepEqual(processesMentioning(started.dir), []);
      await eventually(
        'their ports are closed',
        async () => (await Promise.all(Object.values(started.ports).map(portClosed))).every(Boolean),
        10_000,
      );
      assert.equal(existsSync(started.dir), false);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});

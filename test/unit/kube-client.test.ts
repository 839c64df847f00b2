/**
 * The KubeClient on @kubernetes/client-node 1.4.0 against the fake Kubernetes API: GET, LIST with a
 * label selector, JSON merge patches (content type, set and remove, resourceVersion preconditions),
 * errors by reason (401, 403, 404, 409, 5xx, timeout, refused), and the in-cluster configuration
 * over https with a throwaway CA and a token file. Also the fake's own behaviour the tests rely on.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKubeClient, loadInClusterKubeConfig, type KubeClient } from '../../src/sources/kubernetes/kube-client.js';
import { KubernetesError } from '../../src/sources/kubernetes/kubernetes-error.js';
import { SERVICE_ACCOUNT_DIR } from '../../src/config/index.js';
import { kubeClientFor, parseSelector, startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { makeThrowawayPki, type ThrowawayPki } from '../support/throwaway-ca.js';

const ROLE = 'flink-ha-sidecar/role';
const CLUSTER = 'app.kubernetes.io/instance';

async function rejection(p: Promise<unknown>): Promise<KubernetesError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof KubernetesError, `expected a KubernetesError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('KubeClient over http against the fake API', () => {
  let api: FakeKubeApi;
  let client: KubeClient;
  before(async () => {
    api = await startFakeKubeApi({ token: 'sekret' });
    client = kubeClientFor(api, { token: 'sekret', requestTimeoutMs: 500 });
  });
  after(() => api.close());

  it('reads a pod: name, labels and resourceVersion', async () => {
    const created = api.addPod('jm-read', { [CLUSTER]: 'c1', other: 'x' });
    const pod = await client.getPod('jm-read');
    assert.deepEqual(pod, { name: 'jm-read', resourceVersion: created.resourceVersion, labels: { [CLUSTER]: 'c1', other: 'x' } });
    const last = api.requests.at(-1)!;
    assert.equal(last.path, '/api/v1/namespaces/flink/pods/jm-read');
  });

  it('lists by an equality-based selector (all terms must hold)', async () => {
    api.addPod('jm-l1', { [ROLE]: 'leader', [CLUSTER]: 'list' });
    api.addPod('jm-l2', { [ROLE]: 'standby', [CLUSTER]: 'list' });
    api.addPod('jm-l3', { [ROLE]: 'leader', [CLUSTER]: 'another' });
    api.addPod('jm-l4', { [ROLE]: 'leader', [CLUSTER]: 'list' }, 'other-namespace');
    const pods = await client.listPods(`${ROLE}=leader,${CLUSTER}=list`);
    assert.deepEqual(
      pods.map((p) => p.name),
      ['jm-l1'],
    );
    assert.equal(new URLSearchParams(api.requests.at(-1)!.query).get('labelSelector'), `${ROLE}=leader,${CLUSTER}=list`);
  });

  it('patches labels with a JSON merge patch: a string sets, null removes, others stay', async () => {
    const versionBefore = api.addPod('jm-patch', { [ROLE]: 'standby', keep: 'me' }).resourceVersion;
    const set = await client.patchPodLabels('jm-patch', { [ROLE]: 'leader' });
    assert.deepEqual(set.labels, { [ROLE]: 'leader', keep: 'me' });
    assert.notEqual(set.resourceVersion, versionBefore);
    const req = api.requests.at(-1)!;
    assert.equal(req.method, 'PATCH');
    assert.equal(req.contentType, 'application/merge-patch+json');
    assert.deepEqual(JSON.parse(req.body), { metadata: { labels: { [ROLE]: 'leader' } } });
    const removed = await client.patchPodLabels('jm-patch', { [ROLE]: null });
    assert.deepEqual(removed.labels, { keep: 'me' });
    assert.deepEqual(api.pod('jm-patch')!.labels, { keep: 'me' });
  });

  it('a patch with a resourceVersion applies to that version only (409 conflict otherwise)', async () => {
    const pod = api.addPod('jm-rv', { [ROLE]: 'leader' });
    const stale = pod.resourceVersion;
    await client.patchPodLabels('jm-rv', { other: 'bump' });
    const err = await rejection(client.patchPodLabels('jm-rv', { [ROLE]: null }, { resourceVersion: stale }));
    assert.equal(err.reason, 'conflict');
    assert.equal(err.httpStatus, 409);
    assert.match(err.message, /the object has been modified/);
    assert.equal(api.pod('jm-rv')!.labels[ROLE], 'leader');
    const current = api.pod('jm-rv')!.resourceVersion;
    await client.patchPodLabels('jm-rv', { [ROLE]: null }, { resourceVersion: current });
    assert.equal(api.pod('jm-rv')!.labels[ROLE], undefined);
  });

  const failures: {
    name: string;
    arrange: () => void;
    call: () => Promise<unknown>;
    reason: string;
    status: number | null;
    message: RegExp;
  }[] = [
    {
      name: '403 without RBAC names the verb',
      arrange: () => api.deny('patch'),
      call: () => client.patchPodLabels('jm-err', { [ROLE]: 'leader' }),
      reason: 'forbidden',
      status: 403,
      message: /cannot patch resource "pods"/,
    },
    {
      name: '404 for a pod that does not exist',
      arrange: () => undefined,
      call: () => client.getPod('jm-missing'),
      reason: 'not-found',
      status: 404,
      message: /pods "jm-missing" not found/,
    },
    {
      name: '5xx injected',
      arrange: () => api.inject({ verb: 'list', status: 503, times: 1 }),
      call: () => client.listPods(`${ROLE}=leader`),
      reason: 'http-5xx',
      status: 503,
      message: /HTTP 503/,
    },
    {
      name: 'no answer within the request timeout',
      arrange: () => api.setLatencyMs(1500),
      call: () => client.getPod('jm-err'),
      reason: 'timeout',
      status: null,
      message: /no answer within 500 ms/,
    },
  ];
  for (const f of failures) {
    it(`errors by reason: ${f.name}`, async () => {
      api.addPod('jm-err', {});
      f.arrange();
      try {
        const err = await rejection(f.call());
        assert.equal(err.reason, f.reason);
        assert.equal(err.httpStatus, f.status);
        assert.match(err.message, f.message);
      } finally {
        api.allowAll();
        api.clearFailures();
        api.setLatencyMs(0);
      }
    });
  }

  it('a wrong token is 401 (unauthorized)', async () => {
    api.addPod('jm-auth', {});
    const err = await rejection(kubeClientFor(api, { token: 'wrong' }).getPod('jm-auth'));
    assert.equal(err.reason, 'unauthorized');
    assert.equal(err.httpStatus, 401);
  });

  it('nothing listening is a connection error', async () => {
    const gone = await startFakeKubeApi();
    await gone.close();
    const err = await rejection(kubeClientFor(gone).getPod('x'));
    assert.equal(err.reason, 'connection-error');
    assert.equal(err.httpStatus, null);
    assert.match(err.message, /ECONNREFUSED/);
  });
});

describe('the fake API itself', () => {
  let api: FakeKubeApi;
  before(async () => {
    api = await startFakeKubeApi();
    api.addPod('jm-0', { a: 'b' });
  });
  after(() => api.close());

  const patch = (contentType: string, body: unknown) =>
    fetch(`${api.url}/api/v1/namespaces/flink/pods/jm-0`, {
      method: 'PATCH',
      headers: { 'content-type': contentType },
      body: JSON.stringify(body),
    });

  for (const contentType of ['application/json-patch+json', 'application/strategic-merge-patch+json', 'application/json']) {
    it(`answers 415 to a patch in ${contentType}`, async () => {
      const res = await patch(contentType, { metadata: { labels: { a: 'c' } } });
      assert.equal(res.status, 415);
      const body = (await res.json()) as { kind: string; reason: string };
      assert.equal(body.kind, 'Status');
      assert.equal(body.reason, 'UnsupportedMediaType');
      assert.equal(api.pod('jm-0')!.labels.a, 'b');
    });
  }

  it('does not bump the resourceVersion for a patch that changes nothing', async () => {
    const rv = api.pod('jm-0')!.resourceVersion;
    const res = await patch('application/merge-patch+json; charset=utf-8', { metadata: { labels: { a: 'b' } } });
    assert.equal(res.status, 200);
    assert.equal(api.pod('jm-0')!.resourceVersion, rv);
  });

  const selectors: { selector: string; labels: Record<string, string>; matches: boolean }[] = [
    { selector: 'a=b', labels: { a: 'b' }, matches: true },
    { selector: 'a==b', labels: { a: 'b' }, matches: true },
    { selector: 'a=b', labels: { a: 'c' }, matches: false },
    { selector: 'a!=b', labels: {}, matches: true },
    { selector: 'a!=b', labels: { a: 'b' }, matches: false },
    { selector: 'a', labels: { a: '' }, matches: true },
    { selector: '!a', labels: { a: 'x' }, matches: false },
    { selector: 'a=b,c=d', labels: { a: 'b' }, matches: false },
    {
      selector: 'x.io/role=leader,app.kubernetes.io/instance=c1',
      labels: { 'x.io/role': 'leader', 'app.kubernetes.io/instance': 'c1' },
      matches: true,
    },
    { selector: '', labels: {}, matches: true },
  ];
  for (const s of selectors) {
    it(`selector ${JSON.stringify(s.selector)} on ${JSON.stringify(s.labels)}: ${s.matches}`, () => {
      const parsed = parseSelector(s.selector);
      assert.ok(parsed.ok);
      assert.equal(parsed.matches(s.labels), s.matches);
    });
  }

  it('rejects set-based selectors, which it does not implement', () => {
    assert.equal(parseSelector('a in (b,c)').ok, false);
  });
});

describe('in-cluster configuration over https (KubeConfig.loadFromCluster)', () => {
  let pki: ThrowawayPki;
  let api: FakeKubeApi;
  let root: string;
  before(async () => {
    pki = makeThrowawayPki();
    api = await startFakeKubeApi({
      token: 'projected-token',
      tls: { cert: pki.read(pki.serverCertFile), key: pki.read(pki.serverKeyFile) },
    });
    api.addPod('jm-tls', { [ROLE]: 'standby' });
    root = mkdtempSync(join(tmpdir(), 'flink-ha-sidecar-sa-'));
    const dir = join(root, SERVICE_ACCOUNT_DIR);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'token'), 'projected-token');
    writeFileSync(join(dir, 'ca.crt'), pki.read(pki.caFile));
    writeFileSync(join(dir, 'namespace'), 'flink');
  });
  after(async () => {
    await api.close();
    pki.remove();
    rmSync(root, { recursive: true, force: true });
  });

  /** loadFromCluster reads these two variables from the process environment; set them for the call only. */
  function inCluster(host: string, port: number): KubeClient {
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    process.env.KUBERNETES_SERVICE_HOST = host;
    process.env.KUBERNETES_SERVICE_PORT = String(port);
    try {
      return createKubeClient(loadInClusterKubeConfig(root), 'flink', { requestTimeoutMs: 2000 });
    } finally {
      for (const [k, v] of [
        ['KUBERNETES_SERVICE_HOST', saved.host],
        ['KUBERNETES_SERVICE_PORT', saved.port],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  }

  it('verifies the API server with the service account CA and sends the token file', async () => {
    const client = inCluster('127.0.0.1', api.port);
    const pod = await client.patchPodLabels('jm-tls', { [ROLE]: 'leader' });
    assert.equal(pod.labels[ROLE], 'leader');
    assert.equal(api.requests.at(-1)!.contentType, 'application/merge-patch+json');
  });

  it('refuses a server its CA did not sign', async () => {
    const other = makeThrowawayPki();
    const impostor = await startFakeKubeApi({ tls: { cert: other.read(other.serverCertFile), key: other.read(other.serverKeyFile) } });
    try {
      const err = await rejection(inCluster('127.0.0.1', impostor.port).getPod('jm-tls'));
      assert.equal(err.reason, 'connection-error');
      assert.equal(impostor.requests.length, 0);
    } finally {
      await impostor.close();
      other.remove();
    }
  });
});

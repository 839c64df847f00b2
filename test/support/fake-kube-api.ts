/**
 * An in-process HTTP(S) server that behaves like the Kubernetes API for the calls label routing
 * makes, on 127.0.0.1 and a free port:
 *
 *   GET   /api/v1/namespaces/<ns>/pods/<name>
 *   GET   /api/v1/namespaces/<ns>/pods?labelSelector=<equality-based selector>
 *   PATCH /api/v1/namespaces/<ns>/pods/<name>   application/merge-patch+json only (else 415)
 *
 * As the real one does: every change bumps the pod's resourceVersion (a patch that changes nothing
 * does not); a patch that carries metadata.resourceVersion applies only to that version (else 409);
 * a merge patch sets labels with strings and removes them with null; errors are Status objects.
 * Switches: a bearer token (401 without it), RBAC per verb (403), injected failures (any status)
 * and latency. Every pod change is recorded with its time, and listeners hear of it, so tests can
 * wait for a label instead of sleeping and can measure how long two pods were labelled leader.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createKubeClient, loadClientNode, type KubeClient } from '../../src/sources/kubernetes/kube-client.js';

export type KubeVerb = 'get' | 'list' | 'patch';

export interface FakePod {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  resourceVersion: string;
  uid: string;
}

export interface RecordedRequest {
  /** performance.now() when the request arrived. */
  atMs: number;
  method: string;
  path: string;
  query: string;
  verb: KubeVerb | null;
  pod: string | null;
  contentType: string | null;
  body: string;
  status: number;
}

export interface PodChange {
  /** performance.now() when the change was made. */
  atMs: number;
  pod: string;
  /** The labels after the change. */
  labels: Readonly<Record<string, string>>;
}

export interface FakeKubeApiOptions {
  /** Bearer token every request must present; null for none. Default null. */
  token?: string | null;
  /** PEM server certificate and key: serve https instead of http. */
  tls?: { cert: Buffer | string; key: Buffer | string };
}

/** A failure to inject: which requests it hits and how. */
export interface InjectedFailure {
  verb?: KubeVerb;
  pod?: string;
  status: number;
  /** How many matching requests fail; Infinity until cleared. */
  times: number;
}

export interface FakeKubeApi {
  url: string;
  port: number;
  /** Every request, oldest first. */
  readonly requests: RecordedRequest[];
  /** Every change of a pod (creation included), oldest first. */
  readonly changes: PodChange[];
  addPod: (name: string, labels?: Record<string, string>, namespace?: string) => FakePod;
  deletePod: (name: string, namespace?: string) => void;
  pod: (name: string, namespace?: string) => FakePod | undefined;
  /** Names of the pods whose label `key` has `value`, sorted. */
  podsWithLabel: (key: string, value: string, namespace?: string) => string[];
  /** Verbs answered 403 as for a service account without RBAC for them. */
  deny: (...verbs: KubeVerb[]) => void;
  allowAll: () => void;
  inject: (failure: InjectedFailure) => void;
  clearFailures: () => void;
  /** Every answer waits this long first (0 for none). */
  setLatencyMs: (ms: number) => void;
  /** Resolves once `predicate` holds after some change (or now); rejects after timeoutMs naming `what`. */
  waitFor: (what: string, predicate: () => boolean, timeoutMs?: number) => Promise<void>;
  close: () => Promise<void>;
}

export const DEFAULT_NAMESPACE = 'flink';
const MERGE_PATCH = 'application/merge-patch+json';

/** Starts the fake API server on 127.0.0.1 and a free port. */
export async function startFakeKubeApi(options: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
  const pods = new Map<string, FakePod>();
  const key = (ns: string, name: string): string => `${ns}/${name}`;
  const requests: RecordedRequest[] = [];
  const changes: PodChange[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(100);
  const denied = new Set<KubeVerb>();
  let failures: InjectedFailure[] = [];
  let latencyMs = 0;
  let version = 100;
  let uid = 0;

  const record = (pod: FakePod): void => {
    changes.push({ atMs: performance.now(), pod: pod.name, labels: { ...pod.labels } });
    events.emit('change');
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const answer = (): void => {
        const result = route(req, body);
        const url = new URL(req.url ?? '/', 'http://fake');
        requests.push({
          atMs: performance.now(),
          method: req.method ?? '',
          path: url.pathname,
          query: url.search,
          verb: result.verb,
          pod: result.pod,
          contentType: req.headers['content-type'] ?? null,
          body,
          status: result.status,
        });
        res.writeHead(result.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(result.body));
      };
      if (latencyMs > 0) setTimeout(answer, latencyMs);
      else answer();
    });
  };

  interface Routed {
    status: number;
    body: unknown;
    verb: KubeVerb | null;
    pod: string | null;
  }

  function route(req: http.IncomingMessage, body: string): Routed {
    const url = new URL(req.url ?? '/', 'http://fake');
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?$/.exec(url.pathname);
    if (m === null)
      return { ...status(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`), verb: null, pod: null };
    const ns = decodeURIComponent(m[1] ?? '');
    const name = m[2] === undefined ? null : decodeURIComponent(m[2]);
    const verb: KubeVerb | null =
      req.method === 'GET' ? (name === null ? 'list' : 'get') : req.method === 'PATCH' && name !== null ? 'patch' : null;
    const fail = (s: { status: number; body: unknown }): Routed => ({ ...s, verb, pod: name });
    if (verb === null) return fail(status(405, 'MethodNotAllowed', `the fake API does not serve ${req.method} here`));

    if (options.token) {
      if (req.headers.authorization !== `Bearer ${options.token}`) return fail(status(401, 'Unauthorized', 'Unauthorized'));
    }
    if (denied.has(verb)) {
      const what = name === null ? 'pods' : `pods "${name}"`;
      return fail(
        status(
          403,
          'Forbidden',
          `${what} is forbidden: User "system:serviceaccount:${ns}:default" cannot ${verb} resource "pods" in API group "" in the namespace "${ns}"`,
        ),
      );
    }
    const injected = failures.find(
      (f) => f.times > 0 && (f.verb === undefined || f.verb === verb) && (f.pod === undefined || f.pod === name),
    );
    if (injected) {
      injected.times -= 1;
      return fail(
        status(injected.status, injected.status >= 500 ? 'InternalError' : 'BadRequest', `injected failure (HTTP ${injected.status})`),
      );
    }

    if (verb === 'list') {
      const selector = parseSelector(url.searchParams.get('labelSelector') ?? '');
      if (!selector.ok) return fail(status(400, 'BadRequest', `unable to parse requirement: ${selector.problem}`));
      const items = [...pods.values()]
        .filter((p) => p.namespace === ns && selector.matches(p.labels))
        .sort((a, b) => a.name.localeCompare(b.name))
        .map(podJson);
      return {
        status: 200,
        body: { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: String(version) }, items },
        verb,
        pod: null,
      };
    }

    const pod = pods.get(key(ns, name ?? ''));
    if (pod === undefined) return fail(status(404, 'NotFound', `pods "${name}" not found`));
    if (verb === 'get') return { status: 200, body: podJson(pod), verb, pod: name };

    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (contentType !== MERGE_PATCH) {
      return fail(
        status(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: ${MERGE_PATCH} (this fake), got ${JSON.stringify(contentType)}`,
        ),
      );
    }
    let patch: unknown;
    try {
      patch = JSON.parse(body);
    } catch (err) {
      return fail(status(400, 'BadRequest', `error decoding patch: ${(err as Error).message}`));
    }
    const meta = (patch as { metadata?: { resourceVersion?: unknown; labels?: unknown } } | null)?.metadata;
    if (meta?.resourceVersion !== undefined && meta.resourceVersion !== pod.resourceVersion) {
      return fail(
        status(
          409,
          'Conflict',
          `Operation cannot be fulfilled on pods "${pod.name}": the object has been modified; please apply your changes to the latest version and try again`,
        ),
      );
    }
    const labels = meta?.labels;
    if (labels !== undefined && labels !== null) {
      if (typeof labels !== 'object' || Array.isArray(labels)) return fail(status(422, 'Invalid', 'metadata.labels must be an object'));
      for (const [k, v] of Object.entries(labels)) {
        if (v !== null && typeof v !== 'string') return fail(status(422, 'Invalid', `metadata.labels.${k}: must be a string`));
      }
    }
    const next: Record<string, string> = labels === null ? {} : mergeLabels(pod.labels, (labels ?? {}) as Record<string, string | null>);
    if (!sameLabels(next, pod.labels)) {
      pod.labels = next;
      pod.resourceVersion = String(++version);
      record(pod);
    }
    return { status: 200, body: podJson(pod), verb, pod: name };
  }

  const server = options.tls ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, handler) : http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    changes,
    addPod: (name, labels = {}, namespace = DEFAULT_NAMESPACE) => {
      const pod: FakePod = { name, namespace, labels: { ...labels }, resourceVersion: String(++version), uid: `uid-${++uid}` };
      pods.set(key(namespace, name), pod);
      record(pod);
      return pod;
    },
    deletePod: (name, namespace = DEFAULT_NAMESPACE) => {
      pods.delete(key(namespace, name));
      events.emit('change');
    },
    pod: (name, namespace = DEFAULT_NAMESPACE) => pods.get(key(namespace, name)),
    podsWithLabel: (k, v, namespace = DEFAULT_NAMESPACE) =>
      [...pods.values()]
        .filter((p) => p.namespace === namespace && p.labels[k] === v)
        .map((p) => p.name)
        .sort(),
    deny: (...verbs) => verbs.forEach((v) => denied.add(v)),
    allowAll: () => denied.clear(),
    inject: (failure) => failures.push({ ...failure }),
    clearFailures: () => {
      failures = [];
    },
    setLatencyMs: (ms) => {
      latencyMs = ms;
    },
    waitFor: (what, predicate, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        if (predicate()) {
          resolve();
          return;
        }
        const onChange = (): void => {
          if (!predicate()) return;
          clearTimeout(timer);
          events.off('change', onChange);
          resolve();
        };
        const timer = setTimeout(() => {
          events.off('change', onChange);
          const state = [...pods.values()].map((p) => `${p.name} ${JSON.stringify(p.labels)}`).join('; ');
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; pods: ${state}`));
        }, timeoutMs);
        events.on('change', onChange);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function podJson(p: FakePod): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: p.namespace, uid: p.uid, resourceVersion: p.resourceVersion, labels: { ...p.labels } },
    spec: { containers: [{ name: 'jobmanager', image: 'flink' }] },
    status: { phase: 'Running' },
  };
}

function status(code: number, reason: string, message: string): { status: number; body: unknown } {
  return { status: code, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code } };
}

/** RFC 7386 on a flat map: strings set, null removes, absent keys stay. */
function mergeLabels(labels: Readonly<Record<string, string>>, patch: Readonly<Record<string, string | null>>): Record<string, string> {
  const next = { ...labels };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete next[k];
    else next[k] = v;
  }
  return next;
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

type Selector = { ok: true; matches: (labels: Readonly<Record<string, string>>) => boolean } | { ok: false; problem: string };

/** Equality-based selectors as the API server reads them: `k=v`, `k==v`, `k!=v`, `k`, `!k`, comma-separated (all must hold). */
export function parseSelector(text: string): Selector {
  const terms = text.trim() === '' ? [] : text.split(',').map((t) => t.trim());
  const tests: ((labels: Readonly<Record<string, string>>) => boolean)[] = [];
  for (const term of terms) {
    let m: RegExpExecArray | null;
    if ((m = /^([^!=\s]+)\s*!=\s*([^!=\s]*)$/.exec(term))) {
      const [, k = '', v = ''] = m;
      tests.push((l) => l[k] !== v);
    } else if ((m = /^([^!=\s]+)\s*==?\s*([^!=\s]*)$/.exec(term))) {
      const [, k = '', v = ''] = m;
      tests.push((l) => l[k] === v);
    } else if ((m = /^!([^!=\s]+)$/.exec(term))) {
      const [, k = ''] = m;
      tests.push((l) => !(k in l));
    } else if ((m = /^([^!=\s()]+)$/.exec(term))) {
      const [, k = ''] = m;
      tests.push((l) => k in l);
    } else {
      return { ok: false, problem: `${JSON.stringify(term)} (the fake reads equality-based selectors only)` };
    }
  }
  return { ok: true, matches: (labels) => tests.every((t) => t(labels)) };
}

/**
 * A KubeClient of src/sources/kubernetes on @kubernetes/client-node, pointed at a fake API over
 * http (https goes through loadInClusterKubeConfig in the tests that need it).
 */
export function kubeClientFor(
  api: Pick<FakeKubeApi, 'url'>,
  opts: { namespace?: string; token?: string; requestTimeoutMs?: number } = {},
): KubeClient {
  const k8s = loadClientNode();
  const kc = new k8s.KubeConfig();
  // The library refuses plain http unless TLS verification is explicitly off.
  kc.loadFromClusterAndUser({ name: 'fake', server: api.url, skipTLSVerify: true }, { name: 'sidecar', token: opts.token ?? 'test-token' });
  return createKubeClient(kc, opts.namespace ?? DEFAULT_NAMESPACE, { requestTimeoutMs: opts.requestTimeoutMs ?? 2000 });
}

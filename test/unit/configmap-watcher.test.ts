/**
 * Covers src/sources/kubernetes-ha/configmap-watcher.ts against a stand-in of the two API calls:
 * what it reports after a list, during a watch, after a clean end, after 410 Gone and after a
 * failure, and that it never polls. The real API server is in test/kube/kubernetes-source.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import pino from 'pino';
import type { ConfigMapVersion } from '../../src/core/model.js';
import type { ConfigMapApi, WatchEvent } from '../../src/sources/kubernetes-ha/configmap-api.js';
import { ConfigMapWatcher } from '../../src/sources/kubernetes-ha/configmap-watcher.js';
import { LOCK_ANNOTATION, REST_SERVER_KEY, type ConfigMapLike } from '../../src/sources/kubernetes-ha/decode.js';
import { KubernetesError } from '../../src/sources/kubernetes/kubernetes-error.js';

const NAME = 'c-cluster-config-map';
const lock = JSON.stringify({ holderIdentity: 'a', leaseDuration: 15, acquireTime: null, renewTime: 't1', leaderTransitions: 0 });
const cm = (rv: string, address = 'http://10.0.0.5:8081'): ConfigMapLike => ({
  metadata: { name: NAME, resourceVersion: rv, annotations: { [LOCK_ANNOTATION]: lock } },
  data: { [REST_SERVER_KEY]: `6d1f0d7c-0000-4000-8000-00000000000a,${address}` },
});

/** The API as a script: each list and watch call takes the next answer the test queued. */
class ScriptedApi implements ConfigMapApi {
  readonly calls: string[] = [];
  lists: (() => Promise<{ configMap: ConfigMapLike | null; resourceVersion: string }>)[] = [];
  watches: ((onEvent: (e: WatchEvent) => void, onEnd: (err: KubernetesError | null) => void) => void)[] = [];

  list(name: string) {
    this.calls.push(`list ${name}`);
    const next = this.lists.shift();
    return next ? next() : new Promise<never>(() => undefined);
  }

  watch(name: string, rv: string, onEvent: (e: WatchEvent) => void, onEnd: (err: KubernetesError | null) => void) {
    this.calls.push(`watch ${name} from ${rv}`);
    const next = this.watches.shift();
    if (next) next(onEvent, onEnd);
    return Promise.resolve(() => undefined);
  }
}

function watcherOn(api: ScriptedApi) {
  const seen: { version: ConfigMapVersion | null; continuous: boolean }[] = [];
  const failed: string[] = [];
  const watcher = new ConfigMapWatcher({
    api,
    name: NAME,
    layout: '1.15',
    clock: () => 0,
    logger: pino({ level: 'silent' }),
    onObserved: (_atMs, version, continuous) => seen.push({ version, continuous }),
    onFailed: (_atMs, err) => failed.push(err.reason),
    initialBackoffMs: 1,
    maxBackoffMs: 4,
  });
  return { watcher, seen, failed };
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await tick();
};

describe('ConfigMapWatcher', () => {
  it('lists, then reports every watch event as continuous, and resumes from the last version after a clean end', async () => {
    const api = new ScriptedApi();
    api.lists.push(() => Promise.resolve({ configMap: cm('10'), resourceVersion: '10' }));
    api.watches.push((onEvent, onEnd) => {
      onEvent({ type: 'MODIFIED', object: cm('11', 'http://10.0.0.6:8081') });
      onEvent({ type: 'BOOKMARK', resourceVersion: '15' });
      onEnd(null);
    });
    api.watches.push((onEvent) => onEvent({ type: 'DELETED', object: cm('16') }));
    const { watcher, seen, failed } = watcherOn(api);
    watcher.start();
    await settle();
    watcher.stop();
    assert.deepEqual(api.calls, [`list ${NAME}`, `watch ${NAME} from 10`, `watch ${NAME} from 15`]);
    assert.deepEqual(
      seen.map((s) => [s.version?.resourceVersion ?? null, s.continuous]),
      [
        ['10', false],
        ['11', true],
        [null, true],
      ],
    );
    assert.equal(seen[1]!.version?.leaderInfo.kind === 'published' && seen[1]!.version.leaderInfo.address, 'http://10.0.0.6:8081');
    assert.deepEqual(failed, []);
  });

  it('lists again at once on 410 Gone, reporting nothing failed', async () => {
    const api = new ScriptedApi();
    api.lists.push(() => Promise.resolve({ configMap: cm('10'), resourceVersion: '10' }));
    api.watches.push((onEvent) => onEvent({ type: 'ERROR', code: 410, message: 'too old resource version' }));
    api.lists.push(() => Promise.resolve({ configMap: cm('20'), resourceVersion: '20' }));
    const { watcher, seen, failed } = watcherOn(api);
    watcher.start();
    await settle();
    watcher.stop();
    assert.deepEqual(api.calls, [`list ${NAME}`, `watch ${NAME} from 10`, `list ${NAME}`, `watch ${NAME} from 20`]);
    assert.deepEqual(
      seen.map((s) => s.continuous),
      [false, false],
    );
    assert.deepEqual(failed, []);
  });

  it('reports a failed watch and a failed list, and retries: at once first, then with backoff', async () => {
    const api = new ScriptedApi();
    api.lists.push(() => Promise.resolve({ configMap: null, resourceVersion: '10' }));
    api.watches.push((_onEvent, onEnd) => onEnd(new KubernetesError('reset', 'connection-error', null)));
    api.lists.push(() => Promise.reject(new KubernetesError('HTTP 403', 'forbidden', 403)));
    api.lists.push(() => Promise.resolve({ configMap: cm('30'), resourceVersion: '30' }));
    const { watcher, seen, failed } = watcherOn(api);
    watcher.start();
    await settle();
    await new Promise((r) => setTimeout(r, 30));
    watcher.stop();
    assert.deepEqual(failed, ['connection-error', 'forbidden']);
    assert.deepEqual(api.calls.slice(0, 4), [`list ${NAME}`, `watch ${NAME} from 10`, `list ${NAME}`, `list ${NAME}`]);
    assert.deepEqual(
      seen.map((s) => [s.version?.resourceVersion ?? null, s.continuous]),
      [
        [null, false],
        ['30', false],
      ],
    );
  });

  it('makes no call while a watch is open and quiet: it never polls', async () => {
    const api = new ScriptedApi();
    api.lists.push(() => Promise.resolve({ configMap: cm('10'), resourceVersion: '10' }));
    api.watches.push(() => undefined);
    const { watcher } = watcherOn(api);
    watcher.start();
    await new Promise((r) => setTimeout(r, 50));
    watcher.stop();
    assert.deepEqual(api.calls, [`list ${NAME}`, `watch ${NAME} from 10`]);
  });
});

/**
 * Readiness mode pays nothing for label routing: importing the sidecar and every label routing
 * module, and asking for label routing in readiness mode, never loads @kubernetes/client-node.
 * Its own file, so that no other test in the process has loaded the library first.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/log.js';
import { initialState } from '../../src/core/reduce.js';
import { testCoreSettings } from '../support/core-settings.js';
import { startSidecar } from '../../src/sidecar.js';
import { startLabelRouting } from '../../src/sources/kubernetes/label-routing.js';
import { PodLabeler } from '../../src/sources/kubernetes/pod-labeler.js';
import { DEFAULT_LABEL_ROUTING } from '../../src/sources/kubernetes/settings.js';
import { Store } from '../../src/store.js';

const isLoaded = (): boolean => Object.keys(require.cache).some((k) => k.includes('@kubernetes/client-node'));

describe('lazy loading of the Kubernetes client', () => {
  it('is not loaded by imports or by readiness mode', () => {
    assert.equal(typeof startSidecar, 'function');
    assert.equal(typeof PodLabeler, 'function');
    const store = new Store(initialState('auto', { explicitHosts: null, interfaceAddresses: [], restPort: 8081 }, 0, testCoreSettings()));
    assert.equal(
      startLabelRouting({ settings: DEFAULT_LABEL_ROUTING }, store, () => 0, createLogger('silent')),
      null,
    );
    assert.equal(isLoaded(), false);
  });

  it('is loaded (with require, on Node 20) once a client is made', async () => {
    const { loadClientNode } = await import('../../src/sources/kubernetes/kube-client.js');
    assert.equal(typeof loadClientNode().KubeConfig, 'function');
    assert.equal(isLoaded(), true, 'the check above can see the library when it is loaded');
  });
});

import type { CoreSettings } from '../../src/core/model.js';

/**
 * Complete core settings for tests of the pure core, with explicit values: readiness routing, no
 * tolerated suspension, no handover wait, and the liveness and label timeouts of the sidecar's own
 * defaults. `overrides` replaces any of them.
 */
export function testCoreSettings(overrides: Partial<Omit<CoreSettings, 'layoutSetting'>> = {}): Omit<CoreSettings, 'layoutSetting'> {
  return {
    routingMode: 'readiness',
    leaderSource: 'zookeeper',
    kubernetesClusterId: null,
    tolerateSuspendedMs: null,
    leaderHandoverDelayMs: 0,
    jobmanagerLivenessGraceMs: 60_000,
    jobmanagerStartupAllowanceMs: 180_000,
    labelFailureReadinessTimeoutMs: 30_000,
    ...overrides,
  };
}

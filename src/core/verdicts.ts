import type { Check, SidecarState } from './model.js';
import type { LoopReason, Reason } from './reasons.js';

/** The answer of one probe endpoint: pass or fail, with every check it looked at. */
export interface ProbeResult {
  ok: boolean;
  checks: readonly Check[];
}

/**
 * /readyz: the healthy, current leader with a live ZooKeeper session, and not shutting down. In
 * label mode a healthy standby passes too (the role label routes to the leader), and every pod
 * fails while its label updates have failed for longer than the timeout (check `label`).
 */
export function readiness(state: SidecarState): ProbeResult {
  return { ok: state.verdict.ready, checks: state.verdict.checks };
}

/** /leader: this JM is the current leader, whatever the local JM's health. */
export function leadership(state: SidecarState): ProbeResult {
  const v = state.verdict;
  const ok = v.role === 'leader';
  return { ok, checks: [{ name: 'leadership', ok, reason: v.roleReason, detail: v.roleDetail }] };
}

/** /standby: another JM is the current leader, ZooKeeper is connected and the local JM is healthy. */
export function standby(state: SidecarState): ProbeResult {
  const v = state.verdict;
  const checks = v.checks.map((c): Check => {
    if (c.name !== 'leadership') return c;
    return v.role === 'standby'
      ? { ...c, ok: true }
      : {
          ...c,
          ok: false,
          reason: v.role === 'leader' ? 'is-leader' : c.reason,
          detail: v.role === 'leader' ? 'this JobManager is the leader, not a standby' : c.detail,
        };
  });
  return { ok: checks.every((c) => c.ok), checks };
}

/**
 * /livez: every loop of the sidecar itself ticked recently. It never looks at ZooKeeper or Flink,
 * so that an outage of either cannot make Kubernetes restart the sidecar. `nowMs` is the same
 * monotonic clock the loops tick with.
 */
export function liveness(state: SidecarState, nowMs: number): ProbeResult {
  const checks = Object.entries(state.loops).map(([name, beat]): Check => {
    const silentMs = Math.max(0, Math.round(nowMs - beat.lastMs));
    return silentMs <= beat.maxSilenceMs
      ? { name, ok: true, reason: `${name}-running` as LoopReason, detail: null }
      : {
          name,
          ok: false,
          reason: `${name}-stuck` as LoopReason,
          detail: `${name} has not run for ${silentMs} ms (limit ${beat.maxSilenceMs} ms)`,
        };
  });
  return { ok: checks.every((c) => c.ok), checks };
}

/**
 * /readyz?standbyok=true: the healthy leader or a healthy standby, for a second Service or a
 * PodDisruptionBudget that must count every healthy JM.
 */
export function readinessStandbyOk(state: SidecarState): ProbeResult {
  return state.verdict.role === 'standby' && !state.shuttingDown ? standby(state) : readiness(state);
}

/**
 * /jobmanager/livez, for an opt-in liveness probe of the JM container: fails only when the local
 * JM has been dead (refused, timed out, 5xx, or saying "no leader" while ZooKeeper has one) for
 * longer than the grace after it was first seen healthy, or was never healthy within the start-up
 * allowance. `nowMs` is the clock the events are timed with.
 */
export function jobmanagerLiveness(state: SidecarState, nowMs: number): ProbeResult {
  const jm = state.jobmanager;
  const { jobmanagerLivenessGraceMs: graceMs, jobmanagerStartupAllowanceMs: startupMs } = state.settings;
  const check = (ok: boolean, reason: Reason, detail: string | null): ProbeResult => ({
    ok,
    checks: [{ name: 'jobmanager', ok, reason, detail }],
  });
  if (jm.deadSinceMs === null) return check(true, jm.status === 'unchecked' ? 'jm-not-checked-yet' : 'jm-alive', null);
  const why = jm.status === 'no-leader' ? 'jm-stuck-without-leader' : (jm.reason ?? 'jm-unhealthy');
  const deadMs = Math.round(nowMs - jm.deadSinceMs);
  if (jm.firstHealthyMs === null) {
    const sinceStartMs = Math.round(nowMs - state.startedAtMs);
    return sinceStartMs > startupMs
      ? check(
          false,
          'jm-never-healthy',
          `not healthy since the sidecar started ${sinceStartMs} ms ago (allowance ${startupMs} ms): ${jm.detail ?? why}`,
        )
      : check(true, 'jm-starting', `not healthy yet, ${startupMs - sinceStartMs} ms of the start-up allowance left`);
  }
  return deadMs > graceMs
    ? check(false, why, `dead for ${deadMs} ms (grace ${graceMs} ms): ${jm.detail ?? why}`)
    : check(true, 'jm-within-grace', `${why} for ${deadMs} ms, within the grace of ${graceMs} ms`);
}

/**
 * Label routing, the pure part: which role label the pod should carry, what the API server last
 * confirmed, and whether failing updates have lasted long enough to fail readiness. The adapter
 * (src/sources/kubernetes/pod-labeler.ts) performs the patches and reports them as events.
 */
import type { Check, PodLabelState, PodLabelValue, Role, SidecarEvent, SidecarState } from './model.js';

type DesiredLabel = PodLabelState['desired'];
type PodLabelEvent = Extract<
  SidecarEvent,
  { type: 'podLabelRead' | 'podLabelApplied' | 'podLabelPatchFailed' | 'staleLeaderLabelRemoved' }
>;

/** Before the first answer of the API server: nothing known, nothing failed. */
export function initialPodLabelState(): PodLabelState {
  return {
    desired: 'absent',
    applied: null,
    appliedAtMs: null,
    failingSinceMs: null,
    failureCount: 0,
    staleLeaderLabelsRemoved: 0,
    lastError: null,
  };
}

/**
 * The label the pod should carry: the role while it is known (a tolerated ZooKeeper suspension
 * keeps the role, so it keeps the label too), none while it is unknown or the sidecar is stopping,
 * so that a Service selecting the leader value never reaches a JM whose leadership is in doubt.
 */
export function desiredPodLabel(role: Role, isShuttingDown: boolean): DesiredLabel {
  if (isShuttingDown || role === 'unknown') return 'absent';
  return role;
}

/** Applies one label routing event to the label state. */
export function applyPodLabelEvent(label: PodLabelState, event: PodLabelEvent): PodLabelState {
  switch (event.type) {
    case 'podLabelRead':
      return { ...label, applied: event.value, appliedAtMs: event.atMs };
    case 'podLabelApplied':
      // Our own patch went through: whatever failed before, updates work again.
      return { ...label, applied: event.value, appliedAtMs: event.atMs, failingSinceMs: null };
    case 'podLabelPatchFailed': {
      const { type: _type, ...error } = event;
      return {
        ...label,
        failingSinceMs: label.failingSinceMs ?? event.atMs,
        failureCount: label.failureCount + 1,
        lastError: error,
      };
    }
    case 'staleLeaderLabelRemoved':
      return { ...label, staleLeaderLabelsRemoved: label.staleLeaderLabelsRemoved + 1 };
  }
}

/**
 * Records what the new verdict asks for. Once the pod already carries it nothing is left to do,
 * so an earlier failure stops counting (a role that came back to the label the pod kept, say).
 */
export function withDesiredPodLabel(label: PodLabelState, desired: DesiredLabel): PodLabelState {
  const isCurrent = label.applied === desired;
  if (label.desired === desired && !(isCurrent && label.failingSinceMs !== null)) return label;
  return { ...label, desired, failingSinceMs: isCurrent ? null : label.failingSinceMs };
}

/**
 * The `label` check of /readyz in label mode: passes while the pod carries the desired label,
 * while an update is under way, and while updates have been failing for at most `timeoutMs`;
 * fails after that, so that a pod whose label cannot be kept current stops taking traffic.
 * `desired` is the label the current verdict asks for; times are milliseconds on the events' clock.
 */
export function podLabelCheck(label: PodLabelState, desired: DesiredLabel, timeoutMs: number, nowMs: number): Check {
  if (label.applied === desired) {
    return { name: 'label', ok: true, reason: 'label-current', detail: `role label ${describe(desired)}` };
  }
  const step = `${describe(label.applied)} -> ${describe(desired)}`;
  if (label.failingSinceMs === null) {
    return { name: 'label', ok: true, reason: 'label-updating', detail: `updating the role label: ${step}` };
  }
  const failingMs = Math.max(0, Math.round(nowMs - label.failingSinceMs));
  const e = label.lastError;
  const why = e === null ? '' : `; last error: ${e.operation}${e.podName ? ` ${e.podName}` : ''}: ${e.reason}: ${e.detail}`;
  const detail = `updating the role label (${step}) has failed for ${failingMs} ms (limit ${timeoutMs} ms)${why}`;
  return failingMs <= timeoutMs
    ? { name: 'label', ok: true, reason: 'label-update-retrying', detail }
    : { name: 'label', ok: false, reason: 'label-update-failing', detail };
}

/**
 * When the `label` check will fail unless an update succeeds first: the wiring dispatches
 * `clockTicked` then, since no other event may come. null when nothing is pending or failing, not
 * in label mode, or when that moment has passed. Milliseconds on the events' clock.
 */
export function podLabelRecheckAtMs(state: Pick<SidecarState, 'settings' | 'podLabel' | 'nowMs'>): number | null {
  const label = state.podLabel;
  if (state.settings.routingMode !== 'label' || label.failingSinceMs === null || label.applied === label.desired) {
    return null;
  }
  const atMs = label.failingSinceMs + state.settings.labelFailureReadinessTimeoutMs + 1;
  return atMs > state.nowMs ? atMs : null;
}

function describe(value: PodLabelValue | null): string {
  return value === null ? 'not read yet' : value;
}

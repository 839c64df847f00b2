import type { LocalIdentity } from './identity.js';
import {
  MAX_RECENT_CHECKS,
  MAX_TRANSITIONS,
  type Check,
  type CoreSettings,
  type JobManagerCheck,
  type LayoutSetting,
  type SidecarEvent,
  type SidecarState,
  type Transition,
  type Verdict,
  type Role,
  type ZooKeeperStatus,
} from './model.js';
import type { Reason } from './reasons.js';
import {
  applyPodLabelEvent,
  desiredPodLabel,
  initialPodLabelState,
  podLabelCheck,
  podLabelRecheckAtMs,
  withDesiredPodLabel,
} from './pod-label.js';
import { applyConfigMapEvent, initialTrack, watchedConfigMaps } from './kubernetes-reading.js';
import { readLeaderSource } from './leader-source.js';
import { decideRole } from './role.js';

type Inputs = Omit<SidecarState, 'verdict' | 'transitions'>;

/** The state before any source reported anything: unknown role, not ready. */
export function initialState(
  layoutSetting: LayoutSetting,
  identity: LocalIdentity,
  nowMs: number,
  settings: Omit<CoreSettings, 'layoutSetting'>,
): SidecarState {
  const configMaps = settings.kubernetesClusterId === null ? [] : watchedConfigMaps(settings.kubernetesClusterId, layoutSetting);
  const inputs: Inputs = {
    settings: { ...settings, layoutSetting },
    otherLeaderSeenMs: null,
    layoutSetting,
    identity,
    startedAtMs: nowMs,
    nowMs,
    zookeeper: {
      status: 'connecting',
      sessionId: null,
      sinceMs: nowMs,
      detail: null,
      lastAnswerMs: null,
      lostSinceMs: null,
      flinkSessionGrantedMs: null,
    },
    election: { observedAtMs: null, observations: [], readError: null },
    kubernetes: Object.fromEntries(configMaps.map((c) => [c.name, initialTrack(c.name, c.layout, nowMs)])),
    jobmanager: {
      status: 'unchecked',
      flinkVersion: null,
      reason: 'jm-not-checked-yet',
      detail: null,
      httpStatus: null,
      atMs: null,
      durationMs: null,
      firstHealthyMs: null,
      deadSinceMs: null,
      recent: [],
    },
    loops: {},
    shuttingDown: false,
    podLabel: initialPodLabelState(),
  };
  return { ...inputs, verdict: decide(inputs), transitions: [] };
}

/**
 * Applies one event. Pure: the result depends only on the arguments. A transition is recorded
 * when the role, readiness or the leading reason changes, so each change is logged exactly once.
 */
export function reduce(state: SidecarState, event: SidecarEvent): SidecarState {
  const applied = apply(state, event);
  if (applied === state) return state;
  const nowMs = Math.max(state.nowMs, event.atMs);
  // Another JM led at least up to this event: a handover to us is timed from here.
  const otherLeaderSeenMs = state.verdict.role === 'standby' ? nowMs : state.otherLeaderSeenMs;
  const inputs: Inputs = { ...applied, nowMs, otherLeaderSeenMs };
  const verdict = decide(inputs);
  const jobmanager = withDeadSince(inputs.jobmanager, verdict, inputs.nowMs);
  const podLabel = withDesiredPodLabel(inputs.podLabel, desiredPodLabel(verdict.role, inputs.shuttingDown));
  const transition = transitionBetween(state.verdict, verdict, event.atMs);
  const transitions = transition === null ? state.transitions : [...state.transitions, transition].slice(-MAX_TRANSITIONS);
  return { ...inputs, jobmanager, podLabel, verdict, transitions };
}

function apply(state: SidecarState, event: SidecarEvent): Inputs | SidecarState {
  switch (event.type) {
    case 'zookeeperConnecting':
      return withZooKeeper(state, 'connecting', event.atMs, null, null);
    case 'zookeeperConnected':
      return withZooKeeper(
        state,
        event.readOnly ? 'read-only' : 'connected',
        event.atMs,
        event.sessionId,
        event.readOnly ? 'connected to a read-only server (partitioned from the quorum)' : null,
      );
    case 'zookeeperDisconnected':
      return withZooKeeper(state, 'disconnected', event.atMs, state.zookeeper.sessionId, event.detail);
    case 'zookeeperSessionExpired':
      return withZooKeeper(state, 'expired', event.atMs, null, 'the ZooKeeper session expired; starting a new one');
    case 'zookeeperUnresponsive':
      return withZooKeeper(state, 'unresponsive', event.atMs, null, event.detail);
    case 'zookeeperAuthFailed':
      return withZooKeeper(state, 'auth-failed', event.atMs, null, event.detail);
    case 'zookeeperClosed':
      return withZooKeeper(state, 'closed', event.atMs, null, null);
    case 'zookeeperAnswered':
      return { ...state, zookeeper: { ...state.zookeeper, lastAnswerMs: event.atMs } };
    case 'flinkSessionTimeoutMeasured':
      return { ...state, zookeeper: { ...state.zookeeper, flinkSessionGrantedMs: event.grantedMs } };
    case 'electionObserved':
      return {
        ...state,
        zookeeper: { ...state.zookeeper, lastAnswerMs: event.atMs },
        election: { observedAtMs: event.atMs, observations: event.observations, readError: null },
      };
    case 'electionReadFailed':
      return {
        ...state,
        election: {
          ...state.election,
          readError: { code: event.code, path: event.path, message: event.message, atMs: event.atMs },
        },
      };
    case 'configMapObserved':
    case 'configMapWatchFailed': {
      const track = state.kubernetes[event.name];
      if (track === undefined) return state;
      const next = applyConfigMapEvent(track, event);
      return next === track ? state : { ...state, kubernetes: { ...state.kubernetes, [event.name]: next } };
    }
    case 'restCheckSucceeded': {
      const checked = withCheck(state, event.atMs, event.durationMs, 'healthy', null, null, event.httpStatus);
      const flinkVersion = event.flinkVersion ?? state.jobmanager.flinkVersion;
      return { ...checked, jobmanager: { ...checked.jobmanager, flinkVersion } };
    }
    case 'restCheckFailed':
      return withCheck(
        state,
        event.atMs,
        event.durationMs,
        event.reason === 'jm-reports-no-leader' ? 'no-leader' : 'unhealthy',
        event.reason,
        event.detail,
        event.httpStatus,
      );
    case 'loopTicked':
      return { ...state, loops: { ...state.loops, [event.loop]: { lastMs: event.atMs, maxSilenceMs: event.maxSilenceMs } } };
    case 'clockTicked':
      return { ...state, nowMs: Math.max(state.nowMs, event.atMs) };
    case 'shutdownStarted':
      return state.shuttingDown ? state : { ...state, shuttingDown: true };
    case 'podLabelRead':
    case 'podLabelApplied':
    case 'podLabelPatchFailed':
    case 'staleLeaderLabelRemoved':
      return { ...state, podLabel: applyPodLabelEvent(state.podLabel, event) };
  }
}

function withZooKeeper(
  state: SidecarState,
  status: ZooKeeperStatus,
  atMs: number,
  sessionId: string | null,
  detail: string | null,
): Inputs | SidecarState {
  const zk = state.zookeeper;
  if (zk.status === status && zk.sessionId === sessionId && zk.detail === detail) return state;
  const connected = status === 'connected';
  // A read error belongs to the session it happened in; a new connection reads afresh.
  const election = connected ? { ...state.election, readError: null } : state.election;
  const lastAnswerMs = connected || status === 'read-only' ? atMs : zk.lastAnswerMs;
  // The loss is timed from the moment a working connection went away, through every retry.
  const lostSinceMs = connected ? null : (zk.lostSinceMs ?? (zk.status === 'connected' ? atMs : null));
  return {
    ...state,
    election,
    zookeeper: { status, sessionId, sinceMs: atMs, detail, lastAnswerMs, lostSinceMs, flinkSessionGrantedMs: zk.flinkSessionGrantedMs },
  };
}

function withCheck(
  state: SidecarState,
  atMs: number,
  durationMs: number,
  status: JobManagerCheck['status'],
  reason: Reason | null,
  detail: string | null,
  httpStatus: number | null,
): Inputs {
  const prev = state.jobmanager;
  const healthy = status === 'healthy';
  const record = { atMs, durationMs, healthy, reason, detail, httpStatus };
  return {
    ...state,
    jobmanager: {
      ...prev,
      status,
      reason,
      detail,
      httpStatus,
      atMs,
      durationMs,
      firstHealthyMs: prev.firstHealthyMs ?? (healthy ? atMs : null),
      recent: [...prev.recent, record].slice(-MAX_RECENT_CHECKS),
    },
  };
}

/**
 * A JM that answers "no leader" counts as alive only while ZooKeeper shows no current leader
 * either (or cannot tell): one that keeps saying so while ZooKeeper has a leader is stuck.
 */
function withDeadSince(jm: JobManagerCheck, verdict: Verdict, nowMs: number): JobManagerCheck {
  const alive = jm.status === 'unchecked' || jm.status === 'healthy' || (jm.status === 'no-leader' && verdict.currentLeader === null);
  const deadSinceMs = alive ? null : (jm.deadSinceMs ?? jm.atMs ?? nowMs);
  return deadSinceMs === jm.deadSinceMs ? jm : { ...jm, deadSinceMs };
}

/** Computes the verdict that every endpoint, metric and log line reads. */
export function decide(inputs: Inputs): Verdict {
  const source = readLeaderSource(inputs);
  const role = decideRole(source, inputs.identity);
  const jm = inputs.jobmanager;
  const checks: Check[] = [
    inputs.shuttingDown
      ? { name: 'shutdown', ok: false, reason: 'shutting-down', detail: 'the sidecar received SIGTERM' }
      : { name: 'shutdown', ok: true, reason: 'running', detail: null },
    source.check,
    // Label routing: the Service selects the leader by label, so readiness means "healthy" and a
    // standby passes this check too (/leader answers from the role itself).
    {
      name: 'leadership',
      ok: role.role === 'leader' || (inputs.settings.routingMode === 'label' && role.role === 'standby'),
      reason: role.roleReason,
      detail: role.roleDetail,
    },
    jm.status === 'healthy'
      ? { name: 'jobmanager', ok: true, reason: 'jm-healthy', detail: jm.httpStatus === null ? null : `HTTP ${jm.httpStatus}` }
      : { name: 'jobmanager', ok: false, reason: jm.reason ?? 'jm-unhealthy', detail: jm.detail },
  ];
  const isLabelMode = inputs.settings.routingMode === 'label';
  if (isLabelMode) {
    const desired = desiredPodLabel(role.role, inputs.shuttingDown);
    checks.push(podLabelCheck(inputs.podLabel, desired, inputs.settings.labelFailureReadinessTimeoutMs, inputs.nowMs));
  }
  const handoverUntilMs = isLabelMode ? null : handoverWaitUntil(inputs, role.role);
  if (handoverUntilMs !== null) checks.push(handoverCheck(inputs, handoverUntilMs));
  const ready = checks.every((c) => c.ok);
  const deadlines = [source.wakeAtMs, handoverUntilMs, podLabelRecheckAtMs(inputs)].filter((t): t is number => t !== null);
  return { ...role, checks, ready, holdUntilMs: source.holdUntilMs, wakeAtMs: deadlines.length === 0 ? null : Math.min(...deadlines) };
}

/**
 * Readiness routing: the kubelet marks the old leader's pod not ready only at its next failing
 * probe, up to a probe period (times failureThreshold, plus the timeout) after the old leader's
 * sidecar turned 503. A new leader that turned ready at once would be listed beside it meanwhile.
 * So a leader is held back until leaderHandoverDelayMs after another JM was last seen leading.
 */
function handoverWaitUntil(inputs: Inputs, role: Role): number | null {
  const delayMs = inputs.settings.leaderHandoverDelayMs;
  if (role !== 'leader' || delayMs <= 0 || inputs.otherLeaderSeenMs === null) return null;
  const until = inputs.otherLeaderSeenMs + delayMs;
  return inputs.nowMs < until ? until : null;
}

function handoverCheck(inputs: Inputs, untilMs: number): Check {
  return {
    name: 'handover',
    ok: false,
    reason: 'leader-handover-wait',
    detail:
      `another JobManager led ${Math.round(inputs.nowMs - (inputs.otherLeaderSeenMs ?? inputs.nowMs))} ms ago; ready in ` +
      `${Math.round(untilMs - inputs.nowMs)} ms, once the kubelet has seen its pod fail (leader-handover-delay-ms)`,
  };
}

function transitionBetween(from: Verdict, to: Verdict, atMs: number): Transition | null {
  const fromLead = leadingReason(from);
  const toLead = leadingReason(to);
  if (from.role === to.role && from.ready === to.ready && fromLead.reason === toLead.reason) return null;
  return {
    atMs,
    fromRole: from.role,
    toRole: to.role,
    fromReady: from.ready,
    toReady: to.ready,
    reason: toLead.reason,
    detail: toLead.detail,
    roleReason: to.roleReason,
  };
}

/** The reason that best explains a verdict: the first failing check, else the role's own reason. */
export function leadingReason(verdict: Verdict): { reason: Check['reason']; detail: string | null } {
  const failing = verdict.checks.find((c) => !c.ok);
  return failing ? { reason: failing.reason, detail: failing.detail } : { reason: verdict.roleReason, detail: verdict.roleDetail };
}

import type { LocalIdentity } from './identity.js';
import {
  MAX_TRANSITIONS,
  type Check,
  type LayoutSetting,
  type SidecarEvent,
  type SidecarState,
  type Transition,
  type Verdict,
} from './model.js';
import { decideRole } from './role.js';

type Inputs = Omit<SidecarState, 'verdict' | 'transitions'>;

/** The state before any source reported anything: unknown role, not ready. */
export function initialState(layoutSetting: LayoutSetting, identity: LocalIdentity, nowMs: number): SidecarState {
  const inputs: Inputs = {
    layoutSetting,
    identity,
    zookeeper: { status: 'connecting', sessionId: null, sinceMs: nowMs, detail: null, lastAnswerMs: null },
    election: { observedAtMs: null, observations: [], readError: null },
    jobmanager: { status: 'unchecked', reason: 'jm-not-checked-yet', detail: null, httpStatus: null, atMs: null, durationMs: null },
    loops: {},
    shuttingDown: false,
  };
  return { ...inputs, verdict: decide(inputs), transitions: [] };
}

/**
 * Applies one event. Pure: the result depends only on the arguments. A transition is recorded
 * when the role, readiness or the leading reason changes, so each change is logged exactly once.
 */
export function reduce(state: SidecarState, event: SidecarEvent): SidecarState {
  const inputs = apply(state, event);
  if (inputs === state) return state;
  const verdict = decide(inputs);
  const transition = transitionBetween(state.verdict, verdict, event.atMs);
  const transitions =
    transition === null ? state.transitions : [...state.transitions, transition].slice(-MAX_TRANSITIONS);
  return { ...inputs, verdict, transitions };
}

function apply(state: SidecarState, event: SidecarEvent): Inputs | SidecarState {
  switch (event.type) {
    case 'zookeeperConnecting':
      return withZooKeeper(state, 'connecting', event.atMs, null, null);
    case 'zookeeperConnected':
      return withZooKeeper(state, event.readOnly ? 'read-only' : 'connected', event.atMs, event.sessionId,
        event.readOnly ? 'connected to a read-only server (partitioned from the quorum)' : null);
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
    case 'restCheckSucceeded':
      return {
        ...state,
        jobmanager: {
          status: 'healthy',
          reason: null,
          detail: null,
          httpStatus: event.httpStatus,
          atMs: event.atMs,
          durationMs: event.durationMs,
        },
      };
    case 'restCheckFailed':
      return {
        ...state,
        jobmanager: {
          status: event.reason === 'jm-reports-no-leader' ? 'no-leader' : 'unhealthy',
          reason: event.reason,
          detail: event.detail,
          httpStatus: event.httpStatus,
          atMs: event.atMs,
          durationMs: event.durationMs,
        },
      };
    case 'loopTicked':
      return { ...state, loops: { ...state.loops, [event.loop]: { lastMs: event.atMs, maxSilenceMs: event.maxSilenceMs } } };
    case 'shutdownStarted':
      return state.shuttingDown ? state : { ...state, shuttingDown: true };
  }
}

function withZooKeeper(
  state: SidecarState,
  status: SidecarState['zookeeper']['status'],
  atMs: number,
  sessionId: string | null,
  detail: string | null,
): Inputs | SidecarState {
  const zk = state.zookeeper;
  if (zk.status === status && zk.sessionId === sessionId && zk.detail === detail) return state;
  // A read error belongs to the session it happened in; a new connection reads afresh.
  const election = status === 'connected' ? { ...state.election, readError: null } : state.election;
  const lastAnswerMs = status === 'connected' || status === 'read-only' ? atMs : zk.lastAnswerMs;
  return { ...state, election, zookeeper: { status, sessionId, sinceMs: atMs, detail, lastAnswerMs } };
}

/** Computes the verdict that every endpoint, metric and log line reads. */
export function decide(inputs: Inputs): Verdict {
  const role = decideRole(inputs);
  const zk = inputs.zookeeper;
  const jm = inputs.jobmanager;
  const checks: Check[] = [
    inputs.shuttingDown
      ? { name: 'shutdown', ok: false, reason: 'shutting-down', detail: 'the sidecar received SIGTERM' }
      : { name: 'shutdown', ok: true, reason: 'running', detail: null },
    zk.status === 'connected'
      ? { name: 'zookeeper', ok: true, reason: 'zookeeper-connected', detail: zk.sessionId === null ? null : `session 0x${zk.sessionId}` }
      : { name: 'zookeeper', ok: false, reason: `zookeeper-${zk.status}`, detail: zk.detail },
    { name: 'leadership', ok: role.role === 'leader', reason: role.roleReason, detail: role.roleDetail },
    jm.status === 'healthy'
      ? { name: 'jobmanager', ok: true, reason: 'jm-healthy', detail: jm.httpStatus === null ? null : `HTTP ${jm.httpStatus}` }
      : { name: 'jobmanager', ok: false, reason: jm.reason ?? 'jm-unhealthy', detail: jm.detail },
  ];
  return { ...role, checks, ready: checks.every((c) => c.ok) };
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
export function leadingReason(verdict: Verdict): { reason: string; detail: string | null } {
  const failing = verdict.checks.find((c) => !c.ok);
  return failing
    ? { reason: failing.reason, detail: failing.detail }
    : { reason: verdict.roleReason, detail: verdict.roleDetail };
}

import { describeZooKeeperSource } from './election-view.js';
import type { LeaderTarget } from './identity.js';
import type { Check, Layout, SidecarState } from './model.js';
import type { Reason } from './reasons.js';
import { describeKubernetesSource, readKubernetes } from './kubernetes-reading.js';
import { readZooKeeper } from './zookeeper-reading.js';

/** Leader information that the current holder of the lock wrote: the only kind that may name a leader. */
export interface LeaderClaim {
  address: string;
  /** The leader session id Flink published beside the address. */
  sessionId: string;
  /** Who holds the lock, as the source names it (a ZooKeeper session id, a Kubernetes holderIdentity). */
  holder: string;
  /** The address parsed and looked up by the adapters; null until then. */
  target: LeaderTarget | null;
}

/**
 * What a leader source says at one moment, in the terms the rest of the core reasons with: whether
 * the source can be trusted now, and the current leader or why there is none. Every source (one
 * module each, e.g. zookeeper-reading.ts) turns its own observations into this; the role, /readyz,
 * metrics and the HTTP layer see nothing else of it.
 */
export interface SourceReading {
  /** The /readyz check on the source's connection, named after the source (`zookeeper`, `kubernetes`). */
  check: Check;
  /** Whether the source is read live now (a tolerated loss passes the check but is not connected). */
  connected: boolean;
  /** While a lost connection is tolerated, until when the last reading holds; else null. */
  holdUntilMs: number | null;
  /** The layout of Flink's HA data the reading comes from, once one was found. */
  layout: Layout | null;
  leader: { kind: 'current'; claim: LeaderClaim } | { kind: 'none'; reason: Reason; detail: string | null };
  /** The next moment the reading changes by time alone (a hold ends, a lease runs out); null when none. */
  wakeAtMs: number | null;
}

export type SourceInputs = Omit<SidecarState, 'verdict' | 'transitions'>;

/** Reads the configured leader source. */
export function readLeaderSource(state: SourceInputs): SourceReading {
  return state.settings.leaderSource === 'kubernetes' ? readKubernetes(state) : readZooKeeper(state);
}

/** The configured leader source as people debugging it want to see it (/debug/state). */
export function describeLeaderSource(state: SourceInputs): Record<string, unknown> {
  const described = state.settings.leaderSource === 'kubernetes' ? describeKubernetesSource(state) : describeZooKeeperSource(state);
  return { source: state.settings.leaderSource, ...described };
}

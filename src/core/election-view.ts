import { isoTime } from './iso-time.js';
import type { Layout, LayoutObservation, LayoutSetting, SidecarState } from './model.js';
import { DECIDING_COMPONENT, selectObservation } from './zookeeper-reading.js';

/** One component's election, as people debugging a cluster want to read it. */
export interface ComponentView {
  component: string;
  latchPath: string;
  leaderInfoPath: string;
  /** absent / empty / undecodable, or the leader's published information. */
  leaderInfo:
    | { kind: 'absent' | 'empty' }
    | { kind: 'undecodable'; owner: string; error: string }
    | { kind: 'published'; address: string; sessionId: string; owner: string };
  /** current: its node's owner holds the lowest latch child; stale: someone else does. */
  state: 'current' | 'stale' | 'absent' | 'empty' | 'undecodable';
  participants: readonly { node: string; sequence: number; owner: string; leads: boolean }[];
}

export interface ElectionView {
  /** The layout in use (found by `auto`, or as set); null when no election was found. */
  layout: Layout | null;
  components: ComponentView[];
  /** True when rest_server, the component a Service exposes, has a current leader. */
  hasCurrentRestLeader: boolean;
}

/**
 * Describes every component's election in the layout the role decision uses (pure). The layout
 * comes from rest_server, the component that decides; the others are shown in the same layout.
 */
export function describeElection(observations: readonly LayoutObservation[], setting: LayoutSetting): ElectionView {
  const chosen = selectObservation(setting, observations);
  const layout = chosen?.layout ?? (setting === 'auto' ? null : setting);
  if (layout === null) return { layout: null, components: [], hasCurrentRestLeader: false };
  const components = observations.filter((o) => o.layout === layout).map(describeComponent);
  const rest = components.find((c) => c.component === DECIDING_COMPONENT);
  return { layout, components, hasCurrentRestLeader: rest?.state === 'current' };
}

function describeComponent(o: LayoutObservation): ComponentView {
  const holder = o.participants[0]?.owner;
  const info = o.leaderInfo;
  const participants = o.participants.map((p, i) => ({ ...p, leads: i === 0 }));
  const base = { component: o.component, latchPath: o.latchPath, leaderInfoPath: o.leaderInfoPath, participants };
  switch (info.kind) {
    case 'absent':
      return { ...base, leaderInfo: { kind: 'absent' }, state: 'absent' };
    case 'empty':
      return { ...base, leaderInfo: { kind: 'empty' }, state: 'empty' };
    case 'undecodable':
      return { ...base, leaderInfo: { kind: 'undecodable', owner: info.owner, error: info.error }, state: 'undecodable' };
    case 'published':
      return {
        ...base,
        leaderInfo: { kind: 'published', address: info.address, sessionId: info.sessionId, owner: info.owner },
        state: holder !== undefined && holder === info.owner ? 'current' : 'stale',
      };
  }
}

/** ZooKeeper session ids written as people see them elsewhere (zkCli, Flink logs): 0x + 16 hex. */
export function withHexSessionIds(components: readonly ComponentView[]): ComponentView[] {
  return components.map((c) => ({
    ...c,
    leaderInfo: 'owner' in c.leaderInfo ? { ...c.leaderInfo, owner: `0x${c.leaderInfo.owner}` } : c.leaderInfo,
    participants: c.participants.map((p) => ({ ...p, owner: `0x${p.owner}` })),
  }));
}

/** The ZooKeeper source for /debug/state: the layout in use, the session, and every component's election. */
export function describeZooKeeperSource(state: Pick<SidecarState, 'zookeeper' | 'election' | 'layoutSetting'>): Record<string, unknown> {
  const zk = state.zookeeper;
  const election = describeElection(state.election.observations, state.layoutSetting);
  return {
    layout: { setting: state.layoutSetting, inUse: election.layout },
    zookeeper: {
      status: zk.status,
      sessionId: zk.sessionId === null ? null : `0x${zk.sessionId}`,
      since: isoTime(zk.sinceMs),
      detail: zk.detail,
      lastAnswer: isoTime(zk.lastAnswerMs),
      lostSince: isoTime(zk.lostSinceMs),
      readError: state.election.readError,
      electionReadAt: isoTime(state.election.observedAtMs),
    },
    components: withHexSessionIds(election.components),
  };
}

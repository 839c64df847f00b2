import type { Layout } from '../../core/model.js';

/** Where one layout keeps the rest_server latch and leader information (docs/design.md, "What Flink writes to ZooKeeper"). */
export interface ElectionPaths {
  layout: Layout;
  component: string;
  latchPath: string;
  leaderInfoPath: string;
}

export interface NamespaceSettings {
  /** high-availability.zookeeper.path.root, e.g. '/flink'. */
  root: string;
  /** high-availability.cluster-id, e.g. '/default'. */
  clusterId: string;
  /** 1.13 layout: high-availability.zookeeper.path.latch, default '/leaderlatch'. */
  latchDir: string;
  /** 1.13 layout: high-availability.zookeeper.path.leader, default '/leader'. */
  leaderDir: string;
}

/** The component whose address a Service exposes to users, the CLI and the web UI. */
export const REST_COMPONENT = 'rest_server';
/** Every component Flink elects a leader for in a JobManager (jobs have their own, not watched). */
export const COMPONENTS = [REST_COMPONENT, 'dispatcher', 'resource_manager'] as const;

/** Joins path parts with single slashes, trimming each part's slashes, as Flink's ZooKeeperUtils does. */
export function joinZkPath(...parts: readonly string[]): string {
  const trimmed = parts.map((p) => p.replace(/^\/+|\/+$/g, '')).filter((p) => p !== '');
  return `/${trimmed.join('/')}`;
}

/** One component's election paths in every layout, newest layout first. */
export function electionPaths(ns: NamespaceSettings, component: string = REST_COMPONENT): ElectionPaths[] {
  const base = joinZkPath(ns.root, ns.clusterId);
  return [
    {
      layout: '1.15',
      component,
      latchPath: joinZkPath(base, 'leader', 'latch'),
      leaderInfoPath: joinZkPath(base, 'leader', component, 'connection_info'),
    },
    {
      layout: '1.14',
      component,
      latchPath: joinZkPath(base, 'leader', component, 'latch'),
      leaderInfoPath: joinZkPath(base, 'leader', component, 'connection_info'),
    },
    {
      layout: '1.13',
      component,
      latchPath: joinZkPath(base, ns.latchDir, `${component}_lock`),
      leaderInfoPath: joinZkPath(base, ns.leaderDir, `${component}_lock`),
    },
  ];
}

/** The election paths of every component in every layout (`layout` narrows to one layout). */
export function allElectionPaths(ns: NamespaceSettings, layout: Layout | 'auto' = 'auto'): ElectionPaths[] {
  return COMPONENTS.flatMap((c) => electionPaths(ns, c)).filter((p) => layout === 'auto' || p.layout === layout);
}

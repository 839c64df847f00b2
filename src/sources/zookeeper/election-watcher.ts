import type { Client } from 'node-zookeeper-client';
import type { LatchParticipant, LayoutObservation, LeaderInfoObservation } from '../../core/model.js';
import { ZooKeeperError } from '../../errors.js';
import { exists, getChildren, getData, isNoNode, sessionIdHex, type Watcher } from './calls.js';
import { decodeLeaderInformation } from './leader-info.js';
import type { ElectionPaths } from './paths.js';

/** Curator LeaderLatch children: `_c_<uuid>-latch-<10-digit sequence>`. */
const LATCH_CHILD = /-latch-(\d{10})$/;

type LatchState = { exists: boolean; participants: LatchParticipant[] };
type RawLeaderInfo = { kind: 'absent' } | { kind: 'present'; owner: string; data: Buffer | null };

export interface ElectionWatcherOptions {
  paths: readonly ElectionPaths[];
  /** The whole picture after each change; leader addresses are not looked up here (target null). */
  onObserved: (observations: LayoutObservation[]) => void;
  onReadFailed: (error: ZooKeeperError) => void;
}

/**
 * Watches the latch and leader information node of every given component and layout and reports
 * the whole picture after each change. Watch-driven: each read re-arms its one-shot watch, a missing
 * node gets an existence watch, so nodes that appear later (a cluster not started yet) are seen.
 */
export class ElectionWatcher {
  private client: Client | null = null;
  /** Bumped on every (re)start, so reads begun before it are ignored. */
  private generation = 0;
  private readonly latches = new Map<string, LatchState>();
  private readonly infos = new Map<string, RawLeaderInfo>();
  private readonly watchers = new Map<string, Watcher>();

  constructor(private readonly options: ElectionWatcherOptions) {}

  /** Starts (or restarts, after a reconnect) watching with this client: reads everything afresh. */
  watch(client: Client): void {
    // After a reconnect within the same session the client re-registers the watches it holds, so
    // the same watcher functions are reused: new ones would pile up as extra listeners per path.
    if (client !== this.client) this.watchers.clear();
    this.client = client;
    this.generation += 1;
    this.latches.clear();
    this.infos.clear();
    // In the 1.15 layout all components share one latch: read each path once.
    for (const path of new Set(this.options.paths.map((p) => p.latchPath))) this.readLatch(path);
    for (const path of new Set(this.options.paths.map((p) => p.leaderInfoPath))) this.readLeaderInfo(path);
  }

  stop(): void {
    this.client = null;
    this.generation += 1;
  }

  private watcherFor(kind: 'latch' | 'info', path: string): Watcher {
    const key = `${kind}:${path}`;
    let w = this.watchers.get(key);
    if (!w) {
      const client = this.client;
      w = () => {
        if (client !== this.client) return;
        if (kind === 'latch') this.readLatch(path);
        else this.readLeaderInfo(path);
      };
      this.watchers.set(key, w);
    }
    return w;
  }

  private readLatch(path: string): void {
    this.read(path, this.latches, (client) => readLatchState(client, path, this.watcherFor('latch', path)));
  }

  private readLeaderInfo(path: string): void {
    this.read(path, this.infos, (client) => readRawLeaderInfo(client, path, this.watcherFor('info', path)));
  }

  /** One read (which re-arms its watch); its result replaces the last one unless a restart came between. */
  private read<T>(path: string, results: Map<string, T>, reader: (client: Client) => Promise<T>): void {
    const client = this.client;
    if (!client) return;
    const generation = this.generation;
    reader(client).then(
      (result) => {
        if (generation !== this.generation) return;
        results.set(path, result);
        this.publish();
      },
      (err: unknown) => this.failed(generation, err, path),
    );
  }

  private failed(generation: number, err: unknown, path: string): void {
    if (generation !== this.generation) return;
    // A lost connection is the session's business: the reads start again on reconnect.
    if (err instanceof ZooKeeperError && (err.code === 'CONNECTION_LOSS' || err.code === 'SESSION_EXPIRED')) return;
    this.options.onReadFailed(err instanceof ZooKeeperError ? err : new ZooKeeperError(String(err), 'CLIENT_ERROR', path, { cause: err }));
  }

  /** Reports once every path has been read at least once, so no half-read picture is ever seen. */
  private publish(): void {
    const observations: LayoutObservation[] = [];
    for (const p of this.options.paths) {
      const latch = this.latches.get(p.latchPath);
      const info = this.infos.get(p.leaderInfoPath);
      if (!latch || !info) return;
      observations.push(toObservation(p, latch, info));
    }
    this.options.onObserved(observations);
  }
}

async function readLatchState(client: Client, path: string, watcher?: Watcher): Promise<LatchState> {
  let children: string[];
  try {
    children = await getChildren(client, path, watcher);
  } catch (err) {
    if (!isNoNode(err)) throw err;
    // Not created yet: wait for it. If it appeared in between, the existence watch is a data
    // watch now, so read the children again.
    if ((await exists(client, path, watcher)) === null || !watcher) return { exists: false, participants: [] };
    return readLatchState(client, path, watcher);
  }
  const candidates = children
    .map((node) => ({ node, m: LATCH_CHILD.exec(node) }))
    .filter((c): c is { node: string; m: RegExpExecArray } => c.m !== null)
    .map((c) => ({ node: c.node, sequence: Number(c.m[1]) }))
    .sort((a, b) => a.sequence - b.sequence);
  // The owners are read in parallel; a child that vanished meanwhile is left out (the children
  // watch has fired and a fresh read follows).
  const stats = await Promise.all(candidates.map((c) => exists(client, `${path}/${c.node}`)));
  const participants: LatchParticipant[] = [];
  candidates.forEach((c, i) => {
    const stat = stats[i];
    if (stat) participants.push({ node: c.node, sequence: c.sequence, owner: sessionIdHex(stat.ephemeralOwner) });
  });
  return { exists: true, participants };
}

async function readRawLeaderInfo(client: Client, path: string, watcher?: Watcher): Promise<RawLeaderInfo> {
  try {
    const { data, stat } = await getData(client, path, watcher);
    return { kind: 'present', owner: sessionIdHex(stat.ephemeralOwner), data };
  } catch (err) {
    if (!isNoNode(err)) throw err;
    if ((await exists(client, path, watcher)) === null || !watcher) return { kind: 'absent' };
    return readRawLeaderInfo(client, path, watcher);
  }
}

function decodeObservation(info: RawLeaderInfo): LeaderInfoObservation {
  if (info.kind === 'absent') return info;
  try {
    const decoded = decodeLeaderInformation(info.data);
    if (decoded === null) return { kind: 'empty', owner: info.owner };
    return { kind: 'published', owner: info.owner, ...decoded, target: null };
  } catch (err) {
    return { kind: 'undecodable', owner: info.owner, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Reads every given election once, without watches: for one-shot readers such as the status
 * command. Leader addresses are not looked up (target stays null).
 */
export async function readElectionOnce(client: Client, paths: readonly ElectionPaths[]): Promise<LayoutObservation[]> {
  const latchPaths = [...new Set(paths.map((p) => p.latchPath))];
  const infoPaths = [...new Set(paths.map((p) => p.leaderInfoPath))];
  const latches = new Map(await Promise.all(latchPaths.map(async (p) => [p, await readLatchState(client, p)] as const)));
  const infos = new Map(await Promise.all(infoPaths.map(async (p) => [p, await readRawLeaderInfo(client, p)] as const)));
  return paths.map((p) => toObservation(p, latches.get(p.latchPath)!, infos.get(p.leaderInfoPath)!));
}

function toObservation(p: ElectionPaths, latch: LatchState, info: RawLeaderInfo): LayoutObservation {
  return {
    layout: p.layout,
    component: p.component,
    latchPath: p.latchPath,
    leaderInfoPath: p.leaderInfoPath,
    latchExists: latch.exists,
    participants: latch.participants,
    leaderInfo: decodeObservation(info),
  };
}

import type { LeaderClaim, SourceInputs, SourceReading } from './leader-source.js';
import type { Check, Layout, LayoutObservation, SidecarState } from './model.js';
import { zookeeperReason, type Reason } from './reasons.js';

const LAYOUT_PREFERENCE: readonly Layout[] = ['1.15', '1.14', '1.13'];
/** The component whose address the Service exposes: the only one that decides the role. */
export const DECIDING_COMPONENT = 'rest_server';

type ZooKeeperInputs = Pick<SourceInputs, 'settings' | 'zookeeper' | 'election' | 'nowMs' | 'layoutSetting'>;

/**
 * The ZooKeeper source's reading: the connection check, and the current leader, which is the
 * published rest_server leader information only when its znode's owner (the session that wrote
 * it) holds the lowest latch child. Anything doubtful names no leader, with a reason.
 */
export function readZooKeeper(state: ZooKeeperInputs): SourceReading {
  const holdUntilMs = zookeeperHoldUntil(state);
  const check = zookeeperCheck(state.zookeeper, holdUntilMs, state.nowMs);
  const connected = state.zookeeper.status === 'connected';
  return { check, connected, holdUntilMs, wakeAtMs: holdUntilMs, ...judgeElection(state, holdUntilMs !== null) };
}

type Judgement = Pick<SourceReading, 'layout' | 'leader'>;

function none(reason: Reason, detail: string | null, layout: Layout | null = null): Judgement {
  return { layout, leader: { kind: 'none', reason, detail } };
}

function judgeElection(state: ZooKeeperInputs, held: boolean): Judgement {
  const zk = state.zookeeper;
  if (zk.status !== 'connected' && !held) return none(zookeeperReason(zk.status), zk.detail);
  const election = state.election;
  if (election.readError !== null) {
    const { code, path, message } = election.readError;
    if (code === 'NO_AUTH') {
      return none(
        'zookeeper-noauth',
        `ZooKeeper refused to read ${path} (NOAUTH): the znodes have ACLs that need SASL ` +
          `(high-availability.zookeeper.client.acl: creator), which this sidecar's ZooKeeper client ` +
          `cannot do; use the open ACL for Flink's HA znodes`,
      );
    }
    return none('zookeeper-read-failed', `reading ${path} failed: ${code}: ${message}`);
  }
  // Observations from before the current session started may miss changes made while the
  // sidecar was disconnected; a fresh read follows every (re)connect.
  // While a lost connection is tolerated, the observations from before the loss are the last word.
  if (election.observedAtMs === null || (!held && election.observedAtMs < zk.sinceMs)) {
    return none('election-not-read-yet', 'reading the leader election from ZooKeeper');
  }

  const obs = selectObservation(state.layoutSetting, election.observations);
  if (obs === null) {
    const where = election.observations
      .filter((o) => o.component === DECIDING_COMPONENT)
      .map((o) => o.latchPath)
      .join(', ');
    return none('cluster-not-started', `no leader election found in ZooKeeper (looked at ${where})`);
  }
  const layout = obs.layout;
  const holder = obs.participants[0];
  if (holder === undefined) {
    return none('no-contenders', `no JobManager contends for leadership at ${obs.latchPath}`, layout);
  }
  const info = obs.leaderInfo;
  switch (info.kind) {
    case 'absent':
      return none('no-leader-published', `${obs.leaderInfoPath} does not exist`, layout);
    case 'empty':
      return none('no-leader-published', `${obs.leaderInfoPath} is empty`, layout);
    case 'undecodable':
      return none('leader-info-undecodable', `${obs.leaderInfoPath}: ${info.error}`, layout);
    case 'published':
      break;
  }
  if (info.owner !== holder.owner) {
    return none(
      'leader-info-stale',
      `${info.address} was published by session 0x${info.owner}, but session 0x${holder.owner} ` + `holds the latch (${holder.node})`,
      layout,
    );
  }
  const claim: LeaderClaim = { address: info.address, sessionId: info.sessionId, holder: info.owner, target: info.target };
  return { layout, leader: { kind: 'current', claim } };
}

/**
 * Picks the layout whose znodes describe the running cluster. A fixed setting wins; `auto` takes
 * the newest layout that has latch contenders, else the newest with leader information, because
 * znodes of an older Flink version may linger beside the current ones after an upgrade.
 */
export function selectObservation(
  setting: SidecarState['layoutSetting'],
  observations: readonly LayoutObservation[],
): LayoutObservation | null {
  const rest = observations.filter((o) => o.component === DECIDING_COMPONENT);
  if (setting !== 'auto') return rest.find((o) => o.layout === setting) ?? null;
  const byPreference = LAYOUT_PREFERENCE.map((l) => rest.find((o) => o.layout === l)).filter(
    (o): o is LayoutObservation => o !== undefined,
  );
  return byPreference.find((o) => o.participants.length > 0) ?? byPreference.find((o) => o.leaderInfo.kind !== 'absent') ?? null;
}

/** Connection states a tolerated suspension may pass through; closing or failed auth end it. */
const TOLERABLE: ReadonlySet<string> = new Set(['disconnected', 'unresponsive', 'connecting', 'expired', 'read-only']);

/**
 * With tolerate-suspended-connections, Flink's leader keeps leading through a lost connection
 * until its own session times out: Flink's timeout as the servers granted it, which caps at their
 * maxSessionTimeout (20 ticks by default: a 60 s request gets 40 s with tickTime 2000). Returns
 * when the last verdict stops being trusted, while that is still ahead; null when the connection
 * is fine, the loss is not (or no longer) tolerated, or the granted timeout is not known yet
 * (nothing is held rather than held too long).
 */
function zookeeperHoldUntil(state: Pick<SidecarState, 'settings' | 'zookeeper' | 'nowMs'>): number | null {
  const tolerateMs = state.settings.tolerateSuspendedMs;
  const zk = state.zookeeper;
  if (tolerateMs === null || zk.flinkSessionGrantedMs === null || zk.lostSinceMs === null || !TOLERABLE.has(zk.status)) return null;
  const until = zk.lostSinceMs + Math.min(tolerateMs, zk.flinkSessionGrantedMs);
  return state.nowMs < until ? until : null;
}

function zookeeperCheck(zk: SidecarState['zookeeper'], holdUntilMs: number | null, nowMs: number): Check {
  if (zk.status === 'connected') {
    return {
      name: 'zookeeper',
      ok: true,
      reason: 'zookeeper-connected',
      detail: zk.sessionId === null ? null : `session 0x${zk.sessionId}`,
    };
  }
  if (holdUntilMs !== null) {
    return {
      name: 'zookeeper',
      ok: true,
      reason: 'zookeeper-suspended-tolerated',
      detail:
        `${zk.status} for ${Math.round(nowMs - (zk.lostSinceMs ?? nowMs))} ms; the last verdict holds for ` +
        `${Math.round(holdUntilMs - nowMs)} ms more (tolerate-suspended-connections)`,
    };
  }
  return { name: 'zookeeper', ok: false, reason: zookeeperReason(zk.status), detail: zk.detail };
}

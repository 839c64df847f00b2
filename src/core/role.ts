import { matchLeader, parseLeaderEndpoint } from './identity.js';
import type { Layout, LayoutObservation, SidecarState, Verdict } from './model.js';
import { zookeeperReason, type Reason } from './reasons.js';

export type RoleDecision = Pick<Verdict, 'role' | 'roleReason' | 'roleDetail' | 'layout' | 'currentLeader'>;

const LAYOUT_PREFERENCE: readonly Layout[] = ['1.15', '1.14', '1.13'];
/** The component whose address the Service exposes: the only one that decides the role. */
export const DECIDING_COMPONENT = 'rest_server';

function unknown(roleReason: Reason, roleDetail: string | null, layout: Layout | null = null): RoleDecision {
  return { role: 'unknown', roleReason, roleDetail, layout, currentLeader: null };
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
  return (
    byPreference.find((o) => o.participants.length > 0) ??
    byPreference.find((o) => o.leaderInfo.kind !== 'absent') ??
    null
  );
}

/**
 * Decides this JM's role from the state: leader only when the published rest_server leader
 * information is current (its node's owner holds the lowest latch child) and names this JM.
 * Anything doubtful is `unknown` with a reason, never `leader`.
 */
export function decideRole(state: Omit<SidecarState, 'verdict' | 'transitions'>): RoleDecision {
  const zk = state.zookeeper;
  const held = zk.status !== 'connected' && zookeeperHoldUntil(state) !== null;
  if (zk.status !== 'connected' && !held) {
    return unknown(zookeeperReason(zk.status), zk.detail);
  }
  const election = state.election;
  if (election.readError !== null) {
    const { code, path, message } = election.readError;
    if (code === 'NO_AUTH') {
      return unknown(
        'zookeeper-noauth',
        `ZooKeeper refused to read ${path} (NOAUTH): the znodes have ACLs that need SASL ` +
          `(high-availability.zookeeper.client.acl: creator), which this sidecar's ZooKeeper client ` +
          `cannot do; use the open ACL for Flink's HA znodes`,
      );
    }
    return unknown('zookeeper-read-failed', `reading ${path} failed: ${code}: ${message}`);
  }
  // Observations from before the current session started may miss changes made while the
  // sidecar was disconnected; a fresh read follows every (re)connect.
  // While a lost connection is tolerated, the observations from before the loss are the last word.
  if (election.observedAtMs === null || (!held && election.observedAtMs < zk.sinceMs)) {
    return unknown('election-not-read-yet', 'reading the leader election from ZooKeeper');
  }

  const obs = selectObservation(state.layoutSetting, election.observations);
  if (obs === null) {
    const where = election.observations
      .filter((o) => o.component === DECIDING_COMPONENT)
      .map((o) => o.latchPath)
      .join(', ');
    return unknown('cluster-not-started', `no leader election found in ZooKeeper (looked at ${where})`);
  }
  const layout = obs.layout;
  const holder = obs.participants[0];
  if (holder === undefined) {
    return unknown('no-contenders', `no JobManager contends for leadership at ${obs.latchPath}`, layout);
  }
  const info = obs.leaderInfo;
  switch (info.kind) {
    case 'absent':
      return unknown('no-leader-published', `${obs.leaderInfoPath} does not exist`, layout);
    case 'empty':
      return unknown('no-leader-published', `${obs.leaderInfoPath} is empty`, layout);
    case 'undecodable':
      return unknown('leader-info-undecodable', `${obs.leaderInfoPath}: ${info.error}`, layout);
    case 'published':
      break;
  }
  if (info.owner !== holder.owner) {
    return unknown(
      'leader-info-stale',
      `${info.address} was published by session 0x${info.owner}, but session 0x${holder.owner} ` +
        `holds the latch (${holder.node})`,
      layout,
    );
  }
  const currentLeader = { address: info.address, sessionId: info.sessionId, owner: info.owner };
  const endpoint = parseLeaderEndpoint(info.address);
  if (endpoint === null) {
    return {
      ...unknown('leader-address-invalid', `${JSON.stringify(info.address)} is not an http(s) URL`, layout),
      currentLeader,
    };
  }
  const match = matchLeader(endpoint, info.resolvedAddresses, state.identity, info.resolveError);
  switch (match.kind) {
    case 'ours':
      return { role: 'leader', roleReason: 'is-leader', roleDetail: info.address, layout, currentLeader };
    case 'theirs':
      return { role: 'standby', roleReason: 'other-jm-leads', roleDetail: info.address, layout, currentLeader };
    case 'ambiguous':
      return { ...unknown('identity-ambiguous', match.detail, layout), currentLeader };
    case 'unresolved':
      return { ...unknown('leader-host-unresolvable', match.detail, layout), currentLeader };
  }
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
export function zookeeperHoldUntil(state: Pick<SidecarState, 'settings' | 'zookeeper' | 'nowMs'>): number | null {
  const tolerateMs = state.settings.tolerateSuspendedMs;
  const zk = state.zookeeper;
  if (tolerateMs === null || zk.flinkSessionGrantedMs === null || zk.lostSinceMs === null || !TOLERABLE.has(zk.status)) return null;
  const until = zk.lostSinceMs + Math.min(tolerateMs, zk.flinkSessionGrantedMs);
  return state.nowMs < until ? until : null;
}

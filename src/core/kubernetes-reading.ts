/**
 * The Kubernetes source, the pure part: Flink's Kubernetes HA services keep the election in a
 * ConfigMap whose annotation is the lock and whose data holds the leader information (docs/design.md,
 * "What Flink writes for Kubernetes HA"). The adapter (src/sources/kubernetes-ha/) lists and watches
 * the ConfigMaps and reports each version; this module keeps what those versions prove and turns
 * it into a SourceReading.
 */
import type { LeaderClaim, SourceInputs, SourceReading } from './leader-source.js';
import type { Check, ConfigMapTrack, ConfigMapVersion, Layout, LayoutSetting, SidecarEvent } from './model.js';
import type { Reason } from './reasons.js';
import { isoTime } from './iso-time.js';

/** The ConfigMap holding the rest_server election, per layout (Flink's KubernetesUtils naming). */
export function haConfigMapName(clusterId: string, layout: Layout): string {
  return layout === '1.15' ? `${clusterId}-cluster-config-map` : `${clusterId}-restserver-leader`;
}

/** Kubernetes HA has two layouts: one ConfigMap for all components (1.15+), one per component (1.12–1.14). */
export const KUBERNETES_LAYOUTS: readonly Layout[] = ['1.15', '1.14'];

/** The ConfigMaps to watch for a layout setting, newest layout first. */
export function watchedConfigMaps(clusterId: string, setting: LayoutSetting): { name: string; layout: Layout }[] {
  const layouts = setting === 'auto' ? KUBERNETES_LAYOUTS : [setting];
  return layouts.map((layout) => ({ name: haConfigMapName(clusterId, layout), layout }));
}

export function initialTrack(name: string, layout: Layout, nowMs: number): ConfigMapTrack {
  return {
    name,
    layout,
    connection: { status: 'connecting', sinceMs: nowMs, detail: null },
    version: null,
    listed: false,
    writer: null,
    renewSeenAtMs: null,
    holderSinceMs: null,
  };
}

type TrackEvent = Extract<SidecarEvent, { type: 'configMapObserved' | 'configMapWatchFailed' }>;

/** Applies a watch or list result to the track of its ConfigMap. */
export function applyConfigMapEvent(track: ConfigMapTrack, event: TrackEvent): ConfigMapTrack {
  if (event.type === 'configMapWatchFailed') {
    const status = event.forbidden ? 'forbidden' : 'unreachable';
    if (track.connection.status === status && track.connection.detail === event.detail) return track;
    return { ...track, connection: { status, sinceMs: event.atMs, detail: event.detail } };
  }
  const connection =
    track.connection.status === 'connected' ? track.connection : { status: 'connected' as const, sinceMs: event.atMs, detail: null };
  return { ...observe(track, event.version, event.continuous, event.atMs), connection, listed: true };
}

function holderOf(version: ConfigMapVersion | null): string | null {
  return version?.lock.kind === 'record' ? version.lock.holder : null;
}
function renewTimeOf(version: ConfigMapVersion | null): string | null {
  return version?.lock.kind === 'record' ? version.lock.renewTime : null;
}
function leaderValue(version: ConfigMapVersion | null): string | null {
  const info = version?.leaderInfo;
  return info?.kind === 'published' ? `${info.sessionId},${info.address}` : null;
}

/**
 * The writer binding and the lease clock after one more version. The leader information's writer
 * is the holder of the version in which the value changed (Flink writes only through updates,
 * guarded by resourceVersion, of a version whose annotation names the writer). A value first seen
 * after a gap keeps a writer known from before only if it is exactly the value seen then (each
 * grant has its own session id); else its writer is unknown.
 */
function observe(track: ConfigMapTrack, version: ConfigMapVersion | null, continuous: boolean, atMs: number): ConfigMapTrack {
  const before = track.version;
  const value = leaderValue(version);
  const holder = holderOf(version);
  const sameValue = value !== null && value === leaderValue(before);
  let writer: string | null;
  if (sameValue) writer = track.writer;
  else if (continuous && value !== null && before !== null) writer = holder;
  else writer = null;

  const sameHolder = holder !== null && holder === holderOf(before);
  const renewed = sameHolder && renewTimeOf(version) !== renewTimeOf(before);
  // The lease is timed by the sidecar's clock from the last renewal it saw, never by the JMs'
  // clocks. A holder first seen is given one lease from that moment; a lock seen unchanged after a
  // gap keeps the time of its last renewal.
  const renewSeenAtMs = holder === null ? null : renewed || !sameHolder ? atMs : track.renewSeenAtMs;
  return {
    ...track,
    version,
    writer,
    renewSeenAtMs,
    holderSinceMs: holder === null ? null : sameHolder ? track.holderSinceMs : atMs,
  };
}

type KubernetesInputs = Pick<SourceInputs, 'kubernetes' | 'nowMs' | 'layoutSetting'>;
type Judgement = Pick<SourceReading, 'layout' | 'leader' | 'wakeAtMs'>;

function none(reason: Reason, detail: string | null, layout: Layout | null = null, wakeAtMs: number | null = null): Judgement {
  return { layout, leader: { kind: 'none', reason, detail }, wakeAtMs };
}

/**
 * The Kubernetes source's reading. The current leader is the leader information only while all of
 * this holds: the lock names a holder whose lease, timed by the sidecar's clock from the last
 * renewal it saw, has not run out; that holder wrote the information; and if the writer is unknown
 * (first sight after a start or relist), the holder has been seen holding and renewing for one
 * whole lease, the time Flink gives a new leader to publish, so a value left by the previous leader
 * is never taken for the new one's.
 */
export function readKubernetes(state: KubernetesInputs): SourceReading {
  const tracks = Object.values(state.kubernetes);
  const check = connectionCheck(tracks);
  return { check, connected: check.ok, holdUntilMs: null, ...judge(state, tracks, check) };
}

function connectionCheck(tracks: readonly ConfigMapTrack[]): Check & { reason: Reason } {
  const failing = tracks.find((t) => t.connection.status !== 'connected');
  if (failing === undefined) {
    return { name: 'kubernetes', ok: true, reason: 'kubernetes-connected', detail: tracks.map((t) => t.name).join(', ') };
  }
  const { status, detail } = failing.connection;
  const reason: Reason = `kubernetes-${status}`;
  return { name: 'kubernetes', ok: false, reason, detail: detail ?? `watching ConfigMap ${failing.name}` };
}

function judge(state: KubernetesInputs, tracks: readonly ConfigMapTrack[], check: Check & { reason: Reason }): Judgement {
  if (!check.ok) return none(check.reason, check.detail);
  const track = selectTrack(tracks);
  if (track === null) {
    return none('leader-configmap-absent', `no ConfigMap ${tracks.map((t) => t.name).join(' or ')} in the namespace`);
  }
  const { layout, name } = track;
  const version = track.version!;
  const lock = version.lock;
  if (lock.kind === 'absent') return none('no-contenders', `${name} has no lock annotation: no JobManager holds the lock`, layout);
  if (lock.kind === 'undecodable') return none('lock-undecodable', `${name}: ${lock.error}`, layout);
  if (lock.holder === null) return none('lock-released', `${name}: the lock was released (no holderIdentity)`, layout);

  const expiresAtMs = (track.renewSeenAtMs ?? state.nowMs) + lock.leaseDurationMs;
  if (state.nowMs >= expiresAtMs) {
    return none(
      'lease-expired',
      `${name}: holder ${lock.holder} last renewed ${Math.round(state.nowMs - (track.renewSeenAtMs ?? state.nowMs))} ms ago ` +
        `(seen by this sidecar), longer than its lease of ${lock.leaseDurationMs} ms`,
      layout,
    );
  }
  const info = version.leaderInfo;
  if (info.kind === 'absent') return none('no-leader-published', `${name} has no rest_server leader information`, layout, expiresAtMs);
  if (info.kind === 'undecodable') return none('leader-info-undecodable', `${name}: ${info.error}`, layout, expiresAtMs);

  if (track.writer === null) {
    // By then the holder has renewed at least once, or its lease (timed from the same first
    // sight) has run out above: a leftover lock of a dead JobManager never gets this far.
    const trustedAtMs = (track.holderSinceMs ?? state.nowMs) + lock.leaseDurationMs;
    if (state.nowMs < trustedAtMs) {
      return none(
        'leader-writer-unknown',
        `${info.address} was there when this sidecar started watching; it counts once holder ${lock.holder} has been ` +
          `seen holding for a whole lease (${lock.leaseDurationMs} ms) or the information changes`,
        layout,
        Math.min(expiresAtMs, trustedAtMs),
      );
    }
  } else if (track.writer !== lock.holder) {
    return none(
      'leader-info-stale',
      `${info.address} was written by holder ${track.writer}, but ${lock.holder} holds the lock`,
      layout,
      expiresAtMs,
    );
  }
  const claim: LeaderClaim = { address: info.address, sessionId: info.sessionId, holder: lock.holder, target: info.target };
  return { layout, leader: { kind: 'current', claim }, wakeAtMs: expiresAtMs };
}

/**
 * The ConfigMap that describes the running cluster: the newest layout whose lock names a holder,
 * else the newest that exists (ConfigMaps of an older Flink may linger after an upgrade).
 */
function selectTrack(tracks: readonly ConfigMapTrack[]): ConfigMapTrack | null {
  const existing = KUBERNETES_LAYOUTS.map((l) => tracks.find((t) => t.layout === l && t.version !== null)).filter(
    (t): t is ConfigMapTrack => t !== undefined,
  );
  return existing.find((t) => holderOf(t.version) !== null) ?? existing[0] ?? null;
}

/** The Kubernetes source for /debug/state: each watched ConfigMap, its lock, lease and writer binding. */
export function describeKubernetesSource(state: KubernetesInputs): Record<string, unknown> {
  const chosen = selectTrack(Object.values(state.kubernetes));
  return {
    layout: { setting: state.layoutSetting, inUse: chosen?.layout ?? null },
    kubernetes: Object.values(state.kubernetes).map((t) => {
      const lock = t.version?.lock;
      const leaseMs = lock?.kind === 'record' ? lock.leaseDurationMs : null;
      return {
        configMap: t.name,
        layout: t.layout,
        connection: { ...t.connection, since: isoTime(t.connection.sinceMs), sinceMs: undefined },
        exists: t.version !== null,
        resourceVersion: t.version?.resourceVersion ?? null,
        lock: lock ?? null,
        leaseAgeMs: t.renewSeenAtMs === null ? null : Math.round(state.nowMs - t.renewSeenAtMs),
        leaseExpiresInMs: t.renewSeenAtMs === null || leaseMs === null ? null : Math.round(t.renewSeenAtMs + leaseMs - state.nowMs),
        holderSeenSince: isoTime(t.holderSinceMs),
        leaderInfo: t.version?.leaderInfo ?? null,
        writer: t.writer,
      };
    }),
  };
}

/**
 * Decodes a Flink HA ConfigMap as the API server serves it: the lock annotation and the rest_server
 * leader information, in each layout (docs/design.md, "What Flink writes for Kubernetes HA").
 * Anything that is not what Flink writes is `undecodable` with the reason, never a leader.
 */
import type { ConfigMapLeaderInfo, ConfigMapVersion, Layout, LockObservation } from '../../core/model.js';

/** fabric8's ConfigMapLock annotation, which Flink's KubernetesLeaderElector uses. */
export const LOCK_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';
/** Flink 1.15+: the rest_server entry of `<cluster-id>-cluster-config-map`, `<session id>,<address>`. */
export const REST_SERVER_KEY = 'org.apache.flink.k8s.leader.restserver';

/** The parts of a ConfigMap that are read; everything else is ignored. */
export interface ConfigMapLike {
  metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> | null } | null;
  data?: Record<string, string> | null;
}

/** Longest lock annotation or leader value decoded; Flink's are a few hundred bytes. */
const MAX_TEXT = 64 * 1024;

export function decodeConfigMap(configMap: ConfigMapLike, layout: Layout): ConfigMapVersion {
  return {
    resourceVersion: configMap.metadata?.resourceVersion ?? '',
    lock: decodeLock(configMap.metadata?.annotations?.[LOCK_ANNOTATION]),
    leaderInfo: layout === '1.15' ? decodeCombined(configMap.data?.[REST_SERVER_KEY]) : decodeSeparate(configMap.data ?? {}),
  };
}

/**
 * The lock record as fabric8's LeaderElectionRecord serialises it: holderIdentity (null or empty
 * once released), leaseDuration a java.time.Duration, acquireTime and renewTime as RFC 3339 text,
 * leaderTransitions a count. fabric8 6 (Flink 1.x) writes the duration as decimal seconds
 * (`15.000000000`), fabric8 7 (Flink 2.x) as ISO-8601 text (`PT15S`).
 */
export function decodeLock(text: string | undefined): LockObservation {
  if (text === undefined) return { kind: 'absent' };
  if (text.length > MAX_TEXT) return { kind: 'undecodable', error: `the lock annotation is ${text.length} bytes, more than ${MAX_TEXT}` };
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch (err) {
    return { kind: 'undecodable', error: `the lock annotation is not JSON: ${(err as Error).message}` };
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    return { kind: 'undecodable', error: 'the lock annotation is not a JSON object' };
  }
  const r = record as Record<string, unknown>;
  const holder = r.holderIdentity;
  if (holder !== undefined && holder !== null && typeof holder !== 'string') {
    return { kind: 'undecodable', error: 'holderIdentity is not a string' };
  }
  const lease = leaseSeconds(r.leaseDuration);
  if (lease === null || lease <= 0 || lease > 86_400) {
    return {
      kind: 'undecodable',
      error: `leaseDuration ${JSON.stringify(r.leaseDuration)?.slice(0, 80)} is not a duration between 0 and 86400 s (seconds, or ISO-8601 such as PT15S)`,
    };
  }
  const text_ = (v: unknown): string | null | undefined => (v === undefined || v === null ? null : typeof v === 'string' ? v : undefined);
  const acquireTime = text_(r.acquireTime);
  const renewTime = text_(r.renewTime);
  if (acquireTime === undefined || renewTime === undefined) return { kind: 'undecodable', error: 'acquireTime or renewTime is not text' };
  const transitions = r.leaderTransitions;
  if (transitions !== undefined && transitions !== null && !Number.isInteger(transitions)) {
    return { kind: 'undecodable', error: 'leaderTransitions is not a whole number' };
  }
  return {
    kind: 'record',
    holder: typeof holder === 'string' && holder !== '' ? holder : null,
    leaseDurationMs: Math.round(lease * 1000),
    acquireTime,
    renewTime,
    leaderTransitions: typeof transitions === 'number' ? transitions : null,
  };
}

/** java.time.Duration#toString without its negative and day forms: PT15S, PT0.5S, PT1M30S, PT1H. */
const ISO_DURATION = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,9})?)S)?$/;

/** A lease duration in seconds from either serialisation; null when it is neither. */
function leaseSeconds(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string') return null;
  const m = ISO_DURATION.exec(value);
  if (m === null || value === 'PT') return null;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

/** Flink 1.15+: `<session id>,<address>`, split at the first comma (the address may hold commas). */
function decodeCombined(value: string | undefined): ConfigMapLeaderInfo {
  // Flink up to 1.17 clears the information of a revoked leader rather than removing it.
  if (value === undefined || value === '') return { kind: 'absent' };
  const comma = value.indexOf(',');
  if (comma < 0) return { kind: 'undecodable', error: `${REST_SERVER_KEY} has no "<session id>,<address>" (no comma)` };
  return published(value.slice(0, comma), value.slice(comma + 1), REST_SERVER_KEY);
}

/** Flink 1.12–1.14: `<cluster-id>-restserver-leader` with data `address` and `sessionId`. */
function decodeSeparate(data: Record<string, string>): ConfigMapLeaderInfo {
  const { address, sessionId } = data;
  // Absent, or cleared by a revoked leader (Flink 1.12 to 1.14).
  if ((address ?? '') === '' && (sessionId ?? '') === '') return { kind: 'absent' };
  if (address === undefined || sessionId === undefined) {
    return {
      kind: 'undecodable',
      error: `the data has ${address === undefined ? 'sessionId but no address' : 'address but no sessionId'}`,
    };
  }
  return published(sessionId, address, 'the data');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function published(sessionId: string, address: string, where: string): ConfigMapLeaderInfo {
  if (address.length > MAX_TEXT) return { kind: 'undecodable', error: `${where}: the address is ${address.length} bytes long` };
  if (!UUID.test(sessionId))
    return { kind: 'undecodable', error: `${where}: the session id ${JSON.stringify(sessionId.slice(0, 80))} is not a UUID` };
  if (address === '') return { kind: 'undecodable', error: `${where}: the address is empty` };
  return { kind: 'published', address, sessionId: sessionId.toLowerCase(), target: null };
}

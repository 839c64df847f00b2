import type { JobManagerFailure } from '../../core/model.js';

/** What one answer of `GET /config` says about the local JobManager. */
export type CheckOutcome =
  | { healthy: true; httpStatus: number; flinkVersion: string | null }
  | { healthy: false; reason: JobManagerFailure | 'jm-reports-no-leader'; detail: string; httpStatus: number | null };

/** Flink's LeaderRetrievalHandler answers every request with this while it knows no leader. */
const ELECTION_MESSAGE = /ongoing leader election/i;

/**
 * Classifies an HTTP answer of the local JM's `GET /config` (pure; the body is at most the
 * bytes the checker kept). 200 with a JSON object is healthy; 3xx is alive (Flink before 1.8
 * redirected standbys to the leader); the leader-election 503 means alive but leaderless.
 */
export function classifyAnswer(status: number, contentType: string | undefined, body: string): CheckOutcome {
  if (status >= 300 && status < 400) return { healthy: true, httpStatus: status, flinkVersion: null };
  if (status === 503 && ELECTION_MESSAGE.test(body)) {
    return {
      healthy: false,
      reason: 'jm-reports-no-leader',
      detail: 'the JobManager answers 503: it believes a leader election is ongoing',
      httpStatus: status,
    };
  }
  if (status >= 500) {
    return { healthy: false, reason: 'http-5xx', detail: `HTTP ${status}: ${excerpt(body)}`, httpStatus: status };
  }
  if (status !== 200) {
    return { healthy: false, reason: 'http-status', detail: `HTTP ${status}: ${excerpt(body)}`, httpStatus: status };
  }
  const json = jsonObject(body);
  if (json === null) {
    return {
      healthy: false,
      reason: 'invalid-response',
      detail: `HTTP 200 but not a JSON object (${contentType ?? 'no content type'}): ${excerpt(body)}`,
      httpStatus: status,
    };
  }
  return { healthy: true, httpStatus: status, flinkVersion: versionOf(json) };
}

/** GET /config's `flink-version` ('1.20.5'), when it is a short printable version string. */
function versionOf(json: Record<string, unknown>): string | null {
  const version = json['flink-version'];
  return typeof version === 'string' && /^[0-9A-Za-z.+-]{1,40}$/.test(version) ? version : null;
}

/** Classifies a request that got no HTTP answer. */
export function classifyError(err: unknown, timeoutMs: number, timedOut: boolean): CheckOutcome {
  if (timedOut) {
    return { healthy: false, reason: 'timeout', detail: `no answer within ${timeoutMs} ms`, httpStatus: null };
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ECONNREFUSED') {
    return { healthy: false, reason: 'refused', detail: `connection refused (${message})`, httpStatus: null };
  }
  return { healthy: false, reason: 'connection-error', detail: message, httpStatus: null };
}

function jsonObject(body: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A short, single-line, printable excerpt of a body for a reason detail. */
export function excerpt(body: string, max = 120): string {
  // eslint-disable-next-line no-control-regex
  const flat = body.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

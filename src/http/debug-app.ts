import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { isoTime as iso } from '../core/iso-time.js';
import { describeLeaderSource } from '../core/leader-source.js';
import type { SidecarState } from '../core/model.js';
import { JSON_CONTENT_TYPE, sendBody } from './send.js';

export interface DebugAppDeps {
  getState: () => SidecarState;
  /** The effective settings, each with where it came from; secrets already masked. */
  getConfig: () => readonly EffectiveSetting[];
  /** Bearer token that every request must present; null for none (loopback only). */
  token: string | null;
}

export interface EffectiveSetting {
  name: string;
  value: unknown;
  source: string;
}

/**
 * The debug endpoints, on their own port so that a NetworkPolicy can open probes and metrics
 * without them. Read-only, from memory, like the probes.
 */
export function createDebugApp(deps: DebugAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  if (deps.token !== null) app.use(requireBearer(deps.token));
  app.get('/debug/state', (_req, res) => sendJson(res, debugState(deps.getState())));
  app.get('/debug/config', (_req, res) => sendJson(res, { settings: deps.getConfig() }));
  app.use((req: Request, res: Response) => {
    res.status(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405);
    sendJson(res, { error: 'not-found', endpoints: ['/debug/state', '/debug/config'] });
  });
  return app;
}

/** Compares digests, so the time taken says nothing about the token, its length included. */
function requireBearer(token: string) {
  const expected = createHash('sha256').update(token).digest();
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.get('authorization') ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const given = createHash('sha256')
      .update(m?.[1] ?? '')
      .digest();
    if (m && timingSafeEqual(given, expected)) {
      next();
      return;
    }
    res.status(401).set('WWW-Authenticate', 'Bearer realm="flink-ha-sidecar debug"');
    sendJson(res, { error: 'unauthorized', message: 'send Authorization: Bearer <token from the debug token file>' });
  };
}

/** The whole state for people: role and why, the leader source, JM checks, transitions. */
export function debugState(state: SidecarState): Record<string, unknown> {
  const v = state.verdict;
  const jm = state.jobmanager;
  return {
    role: v.role,
    ready: v.ready,
    reason: v.roleReason,
    detail: v.roleDetail,
    currentLeader: v.currentLeader,
    checks: v.checks,
    // The source's own picture (for ZooKeeper: layout, session, every component's election).
    ...describeLeaderSource(state),
    identity: state.identity,
    jobmanager: {
      status: jm.status,
      reason: jm.reason,
      detail: jm.detail,
      firstHealthy: iso(jm.firstHealthyMs),
      deadSince: iso(jm.deadSinceMs),
      lastChecks: jm.recent.map((c) => ({ ...c, at: iso(c.atMs), atMs: undefined })),
    },
    loops: Object.fromEntries(Object.entries(state.loops).map(([k, b]) => [k, { last: iso(b.lastMs), maxSilenceMs: b.maxSilenceMs }])),
    labelRouting: labelRouting(state),
    shuttingDown: state.shuttingDown,
    transitions: state.transitions.map((t) => ({ at: iso(t.atMs), ...t, atMs: undefined })),
  };
}

/** Label routing: the role label wanted and confirmed, and how its updates go; only the mode in readiness mode. */
function labelRouting(state: SidecarState): Record<string, unknown> {
  const mode = state.settings.routingMode;
  if (mode !== 'label') return { mode };
  const l = state.podLabel;
  return {
    mode,
    desired: l.desired,
    applied: l.applied,
    appliedAt: iso(l.appliedAtMs),
    failingSince: iso(l.failingSinceMs),
    failureReadinessTimeoutMs: state.settings.labelFailureReadinessTimeoutMs,
    failures: l.failureCount,
    staleLeaderLabelsRemoved: l.staleLeaderLabelsRemoved,
    lastError: l.lastError === null ? null : { ...l.lastError, at: iso(l.lastError.atMs), atMs: undefined },
  };
}

function sendJson(res: Response, body: unknown): void {
  sendBody(res, JSON_CONTENT_TYPE, JSON.stringify(body, null, 2));
}

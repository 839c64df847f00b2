import express, { type Express, type Request, type Response } from 'express';
import type { SidecarState } from '../core/model.js';
import { escapeText } from '../core/printable.js';
import { jobmanagerLiveness, leadership, liveness, readiness, readinessStandbyOk, standby, type ProbeResult } from '../core/verdicts.js';
import { JSON_CONTENT_TYPE, sendBody, TEXT_CONTENT_TYPE } from './send.js';

export interface AppDeps {
  /** The current state; read once per request, never waited on. */
  getState: () => SidecarState;
  /** Monotonic milliseconds, the clock the sidecar's loops tick with. */
  clock: () => number;
  /** Serves GET /metrics when given: the exposition text and its content type. */
  metrics?: { contentType: string; render: () => Promise<string> };
}

type Probe = (state: SidecarState, nowMs: number, query: Request['query']) => ProbeResult;

/**
 * The probe endpoints, each answering GET and HEAD from the state in memory: 200 when the probe
 * passes, 503 when it fails, with a JSON body naming the role and every check with its reason
 * (or, with `?verbose`, one line per check as kube-apiserver does).
 */
export const PROBES: Readonly<Record<string, { probe: Probe; description: string }>> = {
  '/livez': { probe: (s, now) => liveness(s, now), description: "the sidecar's own loops are running" },
  '/readyz': {
    probe: (s, _now, q) => (q.standbyok === 'true' ? readinessStandbyOk(s) : readiness(s)),
    description: 'this JM is the healthy current leader (with ?standbyok=true: or a healthy standby)',
  },
  '/leader': { probe: (s) => leadership(s), description: 'this JM is the current leader' },
  '/standby': { probe: (s) => standby(s), description: 'another JM leads and this JM is a healthy standby' },
  '/jobmanager/livez': {
    probe: (s, now) => jobmanagerLiveness(s, now),
    description: 'the local JM has not been dead longer than the grace (for an opt-in JM livenessProbe)',
  },
};

/** Builds the express app without listening, so tests and main decide where it listens. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  for (const [path, { probe }] of Object.entries(PROBES)) {
    app.get(path, (req: Request, res: Response) => {
      const state = deps.getState();
      const result = probe(state, deps.clock(), req.query);
      res.status(result.ok ? 200 : 503);
      if (req.query.verbose !== undefined) sendVerbose(res, path, result);
      else sendJson(res, probeBody(state, result));
    });
    app.all(path, (req: Request, res: Response) => methodNotAllowed(req, res));
  }

  const metrics = deps.metrics;
  if (metrics) {
    app.get('/metrics', async (_req: Request, res: Response) => {
      const body = await metrics.render();
      sendBody(res, metrics.contentType, body);
    });
    app.all('/metrics', (req: Request, res: Response) => methodNotAllowed(req, res));
  }

  app.use((req: Request, res: Response) => {
    res.status(404);
    const endpoints = [...Object.keys(PROBES), ...(metrics ? ['/metrics'] : [])];
    sendJson(res, { error: 'not-found', message: `no endpoint at ${req.path}`, endpoints });
  });

  // Malformed requests (a bad URI, say) must answer, never take the sidecar down.
  app.use((err: Error & { status?: number; statusCode?: number }, _req: Request, res: Response, _next: unknown) => {
    const status = err.status ?? err.statusCode ?? 500;
    res.status(status >= 400 && status < 600 ? status : 500);
    sendJson(res, { error: status < 500 ? 'bad-request' : 'internal-error', message: err.message });
  });
  return app;
}

function methodNotAllowed(req: Request, res: Response): void {
  res.status(405).set('Allow', 'GET, HEAD');
  sendJson(res, { error: 'method-not-allowed', message: `${req.method} is not allowed; use GET or HEAD` });
}

function probeBody(state: SidecarState, result: ProbeResult): Record<string, unknown> {
  const v = state.verdict;
  const failing = result.checks.find((c) => !c.ok);
  return {
    status: result.ok ? 'ok' : 'fail',
    role: v.role,
    reason: failing ? failing.reason : v.roleReason,
    leader: v.currentLeader?.address ?? null,
    checks: result.checks.map((c) => ({ name: c.name, ok: c.ok, reason: c.reason, ...(c.detail ? { detail: c.detail } : {}) })),
  };
}

/** kube-apiserver's verbose health format: `[+]name ok` / `[-]name failed: reason`, then a summary. */
function sendVerbose(res: Response, path: string, result: ProbeResult): void {
  // Details may quote what the election holds: escaped, so that no line can be forged.
  const lines = result.checks.map((c) =>
    c.ok ? `[+]${c.name} ok` : `[-]${c.name} failed: ${c.reason}${c.detail ? ` (${escapeText(c.detail)})` : ''}`,
  );
  const name = path.replace(/^\//, '').replace(/\//g, ' ');
  lines.push(`${name} check ${result.ok ? 'passed' : 'failed'}`);
  sendBody(res, TEXT_CONTENT_TYPE, `${lines.join('\n')}\n`);
}

function sendJson(res: Response, body: unknown): void {
  sendBody(res, JSON_CONTENT_TYPE, JSON.stringify(body));
}

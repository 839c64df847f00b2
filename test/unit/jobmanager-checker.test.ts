import assert from 'node:assert/strict';
import type http from 'node:http';
import { once } from 'node:events';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { SidecarEvent } from '../../src/core/model.js';
import { JobManagerChecker } from '../../src/sources/flink-rest/jobmanager-checker.js';
import { listenLocal } from '../support/listen-local.js';

type CheckEvent = Extract<SidecarEvent, { type: 'restCheckSucceeded' | 'restCheckFailed' }>;

const ELECTION_503 = '{"errors":["Service temporarily unavailable due to an ongoing leader election. Please refresh."]}';

/** Runs a checker against `handler` and returns the first check outcome. */
async function firstOutcome(handler: http.RequestListener, timeoutMs = 500): Promise<CheckEvent> {
  const srv = await listenLocal(handler);
  const events = new EventEmitter();
  const checker = new JobManagerChecker({
    restUrl: new URL(srv.url),
    intervalMs: 60_000,
    timeoutMs,
    clock: () => performance.now(),
    onEvent: (e) => {
      if (e.type !== 'loopTicked') events.emit('check', e);
    },
  });
  try {
    const outcome = once(events, 'check');
    checker.start();
    const [event] = (await outcome) as [CheckEvent];
    return event;
  } finally {
    checker.stop();
    await srv.close();
  }
}

function json(status: number, body: string, type = 'application/json; charset=UTF-8'): http.RequestListener {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  };
}

/**
 * A checker against `url` that records every event it reports; `until(type)` resolves once an
 * event of that type was reported (at once if one was), or null after `timeoutMs`.
 */
function recordingChecker(url: string, intervalMs = 60_000, timeoutMs = 1000) {
  const events: SidecarEvent[] = [];
  const emitter = new EventEmitter();
  const checker = new JobManagerChecker({
    restUrl: new URL(url),
    intervalMs,
    timeoutMs,
    clock: () => performance.now(),
    onEvent: (e) => {
      events.push(e);
      emitter.emit(e.type, e);
    },
  });
  const until = (type: SidecarEvent['type'], waitMs = 10_000): Promise<SidecarEvent | null> => {
    const seen = events.find((e) => e.type === type);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        emitter.off(type, onEvent);
        resolve(null);
      }, waitMs);
      const onEvent = (e: SidecarEvent) => {
        clearTimeout(timer);
        resolve(e);
      };
      emitter.once(type, onEvent);
    });
  };
  return { checker, events, until };
}

describe('JobManagerChecker outcomes', () => {
  const cases: { name: string; handler: http.RequestListener; type: CheckEvent['type']; reason?: string; status: number | null }[] = [
    { name: '200 with JSON is healthy', handler: json(200, '{"flink-version":"1.20.0"}'), type: 'restCheckSucceeded', status: 200 },
    { name: 'the leader-election 503', handler: json(503, ELECTION_503), type: 'restCheckFailed', reason: 'jm-reports-no-leader', status: 503 },
    { name: 'another 503', handler: json(503, '{"errors":["overloaded"]}'), type: 'restCheckFailed', reason: 'http-5xx', status: 503 },
    { name: '500', handler: json(500, '{"errors":["Internal server error."]}'), type: 'restCheckFailed', reason: 'http-5xx', status: 500 },
    { name: '404', handler: json(404, '{"errors":["Not found"]}'), type: 'restCheckFailed', reason: 'http-status', status: 404 },
    { name: '200 with HTML', handler: json(200, '<html><body>hi</body></html>', 'text/html'), type: 'restCheckFailed', reason: 'invalid-response', status: 200 },
    { name: '200 with a JSON array', handler: json(200, '[1,2]'), type: 'restCheckFailed', reason: 'invalid-response', status: 200 },
    {
      name: '307 counts as alive (Flink before 1.8 redirected standbys)',
      handler: (_req, res) => {
        res.writeHead(307, { location: 'http://127.0.0.1:1/config' });
        res.end();
      },
      type: 'restCheckSucceeded',
      status: 307,
    },
    {
      name: 'a huge body is not Flink',
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`{"x":"${'a'.repeat(1024 * 1024)}"}`);
      },
      type: 'restCheckFailed',
      reason: 'invalid-response',
      status: 200,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const e = await firstOutcome(c.handler);
      assert.equal(e.type, c.type);
      assert.equal(e.httpStatus, c.status);
      if (e.type === 'restCheckFailed') {
        assert.equal(e.reason, c.reason);
        assert.match(e.detail, /\S/);
      }
    });
  }

  it("reports the version the JM names in GET /config, and only a plausible one", async () => {
    const named = await firstOutcome(json(200, '{"flink-version":"2.3.0","flink-revision":"abc"}'));
    assert.equal(named.type === 'restCheckSucceeded' && named.flinkVersion, '2.3.0');
    const odd = await firstOutcome(json(200, '{"flink-version":"1.20\\n[+]ok"}'));
    assert.equal(odd.type === 'restCheckSucceeded' && odd.flinkVersion, null);
    const none = await firstOutcome(json(200, '{}'));
    assert.equal(none.type === 'restCheckSucceeded' && none.flinkVersion, null);
  });

  it('asks GET /config and never follows a redirect', async () => {
    const seen: string[] = [];
    const e = await firstOutcome((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
    });
    assert.equal(e.type, 'restCheckSucceeded');
    assert.deepEqual(seen, ['GET /config']);
  });

  it('a hung JM times out within the timeout', async () => {
    const started = performance.now();
    const e = await firstOutcome(() => undefined, 300);
    assert.equal(e.type, 'restCheckFailed');
    assert.equal(e.type === 'restCheckFailed' && e.reason, 'timeout');
    assert.ok(performance.now() - started < 5000, 'bounded');
  });

  it('a closed port is refused', async () => {
    const srv = await listenLocal(() => undefined);
    const url = srv.url;
    await srv.close();
    const { checker, until } = recordingChecker(url);
    checker.start();
    const failed = await until('restCheckFailed');
    checker.stop();
    assert.equal(failed?.type === 'restCheckFailed' && failed.reason, 'refused');
  });
});

describe('JobManagerChecker scheduling', () => {
  it('never runs two checks at once, however often checkSoon is called', async () => {
    let active = 0;
    let maxActive = 0;
    let served = 0;
    let servedEnough: () => void = () => undefined;
    const fifteenServed = new Promise<void>((resolve) => (servedEnough = resolve));
    const srv = await listenLocal((_req, res) => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      setTimeout(() => {
        active -= 1;
        served += 1;
        if (served === 15) servedEnough();
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      }, 20);
    });
    const checker = new JobManagerChecker({ restUrl: new URL(srv.url), intervalMs: 30, timeoutMs: 250, clock: () => performance.now(), onEvent: () => undefined });
    checker.start();
    const spam = setInterval(() => checker.checkSoon(), 2);
    await fifteenServed;
    clearInterval(spam);
    checker.stop();
    await srv.close();
    assert.equal(maxActive, 1);
  });

  it('after checkSoon, an unhealthy JM is asked again quickly, not after a full interval', async () => {
    let answers = 0;
    const srv = await listenLocal((_req, res) => {
      answers += 1;
      // The first answer is the periodic check; the next two are the JM still catching up.
      if (answers <= 3) res.writeHead(503, { 'content-type': 'application/json' }).end(ELECTION_503);
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    const { checker, events, until } = recordingChecker(srv.url);
    checker.start();
    await until('restCheckFailed');
    checker.checkSoon();
    await until('restCheckSucceeded');
    checker.stop();
    await srv.close();
    assert.ok(events.some((e) => e.type === 'restCheckSucceeded'), 'healthy long before the 60 s interval');
    assert.equal(answers, 4);
  });

  it('while the JM stays unhealthy after checkSoon, asks again at least every 100 ms (no doubling past it)', async () => {
    const times: number[] = [];
    const srv = await listenLocal((_req, res) => {
      times.push(performance.now());
      res.writeHead(503, { 'content-type': 'application/json' }).end(ELECTION_503);
    });
    const { checker, until } = recordingChecker(srv.url);
    checker.start();
    await until('restCheckFailed');
    const soonAt = performance.now();
    checker.checkSoon();
    await new Promise((r) => setTimeout(r, 1500));
    checker.stop();
    await srv.close();
    // Doubling alone (25, 50, 100, 200, 400, 800 ms) would ask 6 times in 1.5 s; capped at 100 ms, about 16.
    const inBurst = times.filter((t) => t >= soonAt).length;
    assert.ok(inBurst >= 10, `${inBurst} checks in the first 1.5 s of the burst`);
  });
});

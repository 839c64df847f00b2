import assert from 'node:assert/strict';
import type http from 'node:http';
import { once } from 'node:events';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { SidecarEvent } from '../../src/core/model.js';
import { JobManagerChecker } from '../../src/sources/flink-rest/jobmanager-checker.js';
import { FakeTime } from '../support/fake-timers.js';
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
 * A checker against `url` on fake time: the delays between checks and each check's timeout run
 * only when the test advances the time, while the checks themselves are real HTTP requests.
 * `nextOutcome()` resolves with the next check's outcome; call it before what causes the check.
 */
function fakeTimeChecker(url: string, intervalMs = 60_000, timeoutMs = 1000) {
  const time = new FakeTime();
  const timers = time.timers();
  const events: SidecarEvent[] = [];
  const outcomes = new EventEmitter();
  const checker = new JobManagerChecker({
    restUrl: new URL(url),
    intervalMs,
    timeoutMs,
    clock: time.now,
    timers,
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'restCheckSucceeded' || e.type === 'restCheckFailed') outcomes.emit('outcome', e);
    },
  });
  const nextOutcome = async (): Promise<CheckEvent> => ((await once(outcomes, 'outcome')) as [CheckEvent])[0];
  return { checker, time, timers, events, nextOutcome };
}

/** Lets pending I/O callbacks run: one turn of the event loop, no waiting. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('JobManagerChecker outcomes', () => {
  const cases: { name: string; handler: http.RequestListener; type: CheckEvent['type']; reason?: string; status: number | null }[] = [
    { name: '200 with JSON is healthy', handler: json(200, '{"flink-version":"1.20.0"}'), type: 'restCheckSucceeded', status: 200 },
    {
      name: 'the leader-election 503',
      handler: json(503, ELECTION_503),
      type: 'restCheckFailed',
      reason: 'jm-reports-no-leader',
      status: 503,
    },
    { name: 'another 503', handler: json(503, '{"errors":["overloaded"]}'), type: 'restCheckFailed', reason: 'http-5xx', status: 503 },
    { name: '500', handler: json(500, '{"errors":["Internal server error."]}'), type: 'restCheckFailed', reason: 'http-5xx', status: 500 },
    { name: '404', handler: json(404, '{"errors":["Not found"]}'), type: 'restCheckFailed', reason: 'http-status', status: 404 },
    {
      name: '200 with HTML',
      handler: json(200, '<html><body>hi</body></html>', 'text/html'),
      type: 'restCheckFailed',
      reason: 'invalid-response',
      status: 200,
    },
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

  it('reports the version the JM names in GET /config, and only a plausible one', async () => {
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
    const srv = await listenLocal(() => undefined);
    const c = fakeTimeChecker(srv.url, 60_000, 300);
    try {
      const outcome = c.nextOutcome();
      c.checker.start();
      c.time.advance(299);
      await turn();
      assert.equal(c.events.filter((e) => e.type !== 'loopTicked').length, 0, 'no outcome before the timeout');
      c.time.advance(1);
      const e = await outcome;
      assert.equal(e.type, 'restCheckFailed');
      assert.equal(e.type === 'restCheckFailed' && e.reason, 'timeout');
      assert.equal(e.durationMs, 300, 'ended by its timeout');
    } finally {
      c.checker.stop();
      await srv.close();
    }
  });

  it('a closed port is refused', async () => {
    const srv = await listenLocal(() => undefined);
    const url = srv.url;
    await srv.close();
    const c = fakeTimeChecker(url);
    const outcome = c.nextOutcome();
    c.checker.start();
    const failed = await outcome;
    c.checker.stop();
    assert.equal(failed.type === 'restCheckFailed' && failed.reason, 'refused');
  });
});

describe('JobManagerChecker scheduling', { timeout: 20_000 }, () => {
  it('never runs two checks at once, however often checkSoon is called', async () => {
    let active = 0;
    let maxActive = 0;
    // The JM answers only when the test says, so that checks are in flight while checkSoon is called.
    const held: http.ServerResponse[] = [];
    const arrivals = new EventEmitter();
    const srv = await listenLocal((_req, res) => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      res.once('finish', () => (active -= 1));
      held.push(res);
      arrivals.emit('request');
    });
    const nextRequest = async (): Promise<http.ServerResponse> => {
      if (held.length === 0) await once(arrivals, 'request');
      return held.shift()!;
    };
    const c = fakeTimeChecker(srv.url, 30, 250);
    try {
      c.checker.start();
      for (let served = 0; served < 15; served++) {
        const res = await nextRequest();
        // checkSoon again and again, and time passing (short of the timeout), while this check is in flight.
        for (let i = 0; i < 20; i++) {
          c.checker.checkSoon();
          c.time.advance(10);
        }
        await turn();
        const outcome = c.nextOutcome();
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        assert.equal((await outcome).type, 'restCheckSucceeded');
        // The checkSoon calls ask for one more check at once; the interval would bring one too.
        c.time.advance(30);
      }
    } finally {
      c.checker.stop();
      for (const res of held) res.destroy();
      await srv.close();
    }
    assert.equal(maxActive, 1);
    // As the checker reports them: every check (a loop tick) starts after the previous one's outcome.
    let inFlight = 0;
    for (const e of c.events) {
      if (e.type === 'loopTicked') assert.equal(inFlight++, 0, 'a check started while another was in flight');
      else inFlight -= 1;
    }
  });

  it('after checkSoon, an unhealthy JM is asked again quickly, not after a full interval', async () => {
    let answers = 0;
    const srv = await listenLocal((_req, res) => {
      answers += 1;
      // The first answer is the periodic check; the next two are the JM still catching up.
      if (answers <= 3) res.writeHead(503, { 'content-type': 'application/json' }).end(ELECTION_503);
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    const c = fakeTimeChecker(srv.url);
    try {
      let outcome = c.nextOutcome();
      c.checker.start();
      assert.equal((await outcome).type, 'restCheckFailed');
      const soonAtMs = c.time.now();
      outcome = c.nextOutcome();
      c.checker.checkSoon();
      let e = await outcome;
      for (let i = 0; i < 10 && e.type === 'restCheckFailed'; i++) {
        const [delayMs] = c.timers.pending();
        outcome = c.nextOutcome();
        c.time.advance(delayMs!);
        e = await outcome;
      }
      assert.equal(e.type, 'restCheckSucceeded');
      assert.ok(c.time.now() - soonAtMs < 1000, `healthy ${c.time.now() - soonAtMs} ms after checkSoon, long before the 60 s interval`);
      assert.equal(answers, 4);
    } finally {
      c.checker.stop();
      await srv.close();
    }
  });

  it('while the JM stays unhealthy after checkSoon, asks again at least every 100 ms (no doubling past it)', async () => {
    const times: number[] = [];
    let now = (): number => 0;
    const srv = await listenLocal((_req, res) => {
      times.push(now());
      res.writeHead(503, { 'content-type': 'application/json' }).end(ELECTION_503);
    });
    const c = fakeTimeChecker(srv.url);
    now = c.time.now;
    try {
      let outcome = c.nextOutcome();
      c.checker.start();
      await outcome;
      const soonAtMs = c.time.now();
      outcome = c.nextOutcome();
      c.checker.checkSoon();
      await outcome;
      const delays: number[] = [];
      while (c.time.now() - soonAtMs < 1500) {
        const [delayMs] = c.timers.pending();
        delays.push(delayMs!);
        outcome = c.nextOutcome();
        c.time.advance(delayMs!);
        await outcome;
      }
      assert.deepEqual(delays.slice(0, 4), [25, 50, 100, 100], 'doubling from 25 ms, capped at 100');
      assert.ok(
        delays.every((d) => d <= 100),
        `delays ${delays.join(', ')}`,
      );
      // Doubling alone (25, 50, 100, 200, 400, 800 ms) would ask 6 times in 1.5 s; capped at 100 ms, about 16.
      const inBurst = times.filter((t) => t >= soonAtMs).length;
      assert.ok(inBurst >= 10, `${inBurst} checks in the first 1.5 s of the burst`);
    } finally {
      c.checker.stop();
      await srv.close();
    }
  });
});

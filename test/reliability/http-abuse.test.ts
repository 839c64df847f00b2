/**
 * The sidecar's HTTP server under abuse, as a real process beside a leading JobManager: slow
 * clients trickling headers, floods of probes (kept-alive and connection-per-request), oversized
 * headers and URLs, odd methods and paths. Other clients' probes are answered on time throughout,
 * every abusive request gets an answer or a closed connection (never a 500, never a hang), and the
 * process never crashes nor changes its verdict.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { monotonicNow } from '../support/sidecar-process.js';
import { useZooKeeper } from '../support/zookeeper-fixture.js';
import { BOUNDS } from './lib/bounds.js';
import { Cluster } from './lib/cluster.js';
import { rawRequest, trickleHeaders } from './lib/raw-http.js';
import { within } from './lib/report.js';

const FLOOD = join(__dirname, 'lib', 'flood.ts');
const zk = useZooKeeper();
let c: Cluster;
let port: number;
let transitionsBefore: number;

before(async () => {
  await zk.ready();
  c = await Cluster.start({ zookeeper: zk.connectString, tag: 'http', jobManagers: 1 });
  zk.cleanup(() => c.stop());
  port = c.sidecars[0]!.port;
  transitionsBefore = c.sidecars[0]!.transitions.length;
});

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] ?? 0;
}

/** The sampled probes' latencies in [from, to], as p99 and max, checked against the bounds. */
function othersOnTime(t: Parameters<typeof within>[0], what: string, fromMs: number, toMs: number): void {
  const lat = c.sampler.latencies('sidecar-0', fromMs, toMs);
  assert.ok(lat.length > 20, `only ${lat.length} probes sampled during ${what}`);
  within(t, 'HTTP abuse', `${what}: other probes p99`, p99(lat), BOUNDS.abuseProbeP99Ms);
  within(t, 'HTTP abuse', `${what}: other probes max`, Math.max(...lat), BOUNDS.abuseProbeMaxMs);
}

describe("the sidecar's HTTP server under abuse", () => {
  it('slow clients trickling headers: others are answered on time and the slow ones are cut off', async (t) => {
    const from = monotonicNow();
    const slow = await Promise.all(Array.from({ length: 200 }, () => trickleHeaders(port, 250, 60_000)));
    othersOnTime(t, '200 slow clients', from, monotonicNow());
    const longest = Math.max(...slow.map((s) => s.openMs));
    // listen.ts gives a client 5 s to send its headers; the server checks for expired ones every second.
    within(t, 'HTTP abuse', 'slow client cut off after', longest, 5000 + 1000 + 1500);
    assert.ok(
      slow.every((s) => s.status === null || s.status === 408),
      `statuses ${JSON.stringify([...new Set(slow.map((s) => s.status))])}`,
    );
  });

  it('a flood of probes, kept-alive and connection-per-request: every one answered, others on time', async (t) => {
    const from = monotonicNow();
    // From another process: the flooding client's own work must not delay the sampled probes.
    const { stdout: out } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', FLOOD, String(port), '64', '400', '16', '100'],
      {
        timeout: 120_000,
      },
    );
    const result = JSON.parse(out) as { total: number; ms: number; statuses: Record<string, number> };
    t.diagnostic(`flood: ${result.total} requests in ${result.ms} ms, statuses ${JSON.stringify(result.statuses)}`);
    assert.equal(result.total, 64 * 400 + 16 * 100);
    assert.deepEqual(
      Object.keys(result.statuses).sort(),
      ['200', '404', '503'],
      "only the probes' own answers (the leader fails /standby)",
    );
    othersOnTime(t, 'a flood of 27200 requests', from, monotonicNow());
  });

  it('oversized headers and URLs are refused with 431, never a crash', async () => {
    const cases: [string, string, number[]][] = [
      ['a 20 kB header', `GET /readyz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, [431]],
      ['1 MB of headers', `GET /readyz HTTP/1.1\r\nHost: x\r\n${'X-Many: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n'.repeat(32_000)}\r\n`, [431]],
      ['a 20 kB URL', `GET /readyz?${'q'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, [431]],
      // More than Node keeps (2000), within the size limit: the rest are dropped, the probe answers.
      ['2500 small headers', `GET /readyz HTTP/1.1\r\nHost: x\r\n${'X:1\r\n'.repeat(2500)}\r\n`, [200]],
    ];
    for (const [what, bytes, expected] of cases) {
      const a = await rawRequest(port, bytes, 3000);
      assert.ok(a.status !== null && expected.includes(a.status), `${what}: ${a.status} (${a.head.split('\r\n')[0]})`);
      assert.ok(a.ms < 2000, `${what}: took ${Math.round(a.ms)} ms`);
    }
  });

  it('odd methods, paths and bytes: 400, 404 or 405 (never 500), answered at once; the verdict unchanged', async (t) => {
    const req = (line: string, extra = '') => `${line}\r\nHost: 127.0.0.1\r\n${extra}Connection: close\r\n\r\n`;
    const cases: [string, string | Buffer, (number | null)[]][] = [
      ['POST /readyz', req('POST /readyz HTTP/1.1', 'Content-Length: 0\r\n'), [405]],
      ['DELETE /livez', req('DELETE /livez HTTP/1.1'), [405]],
      ['OPTIONS /readyz', req('OPTIONS /readyz HTTP/1.1'), [405]],
      ['TRACE /readyz', req('TRACE /readyz HTTP/1.1'), [405]],
      ['PROPFIND /readyz', req('PROPFIND /readyz HTTP/1.1'), [405]],
      ['an unknown method', req('BREW /readyz HTTP/1.1'), [400]],
      ['CONNECT', req('CONNECT 127.0.0.1:22 HTTP/1.1'), [400, null]],
      ['OPTIONS *', req('OPTIONS * HTTP/1.1'), [404]],
      ['/readyz/', req('GET /readyz/ HTTP/1.1'), [200]],
      ['//readyz', req('GET //readyz HTTP/1.1'), [404]],
      ['/READYZ', req('GET /READYZ HTTP/1.1'), [200, 404]],
      ['/%', req('GET /% HTTP/1.1'), [400, 404]],
      ['/%zz/%00', req('GET /%zz/%00 HTTP/1.1'), [400, 404]],
      ['/../../etc/passwd', req('GET /../../etc/passwd HTTP/1.1'), [404]],
      ['absolute-form', req('GET http://127.0.0.1/readyz HTTP/1.1'), [200]],
      ['repeated query keys', req('GET /readyz?standbyok=true&standbyok=false&verbose HTTP/1.1'), [200]],
      ['bracketed query', req('GET /readyz?standbyok[a]=1&verbose=%zz HTTP/1.1'), [200]],
      ['HTTP/1.0 without Host', 'GET /readyz HTTP/1.0\r\n\r\n', [200]],
      ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', [400, 505, null]],
      ['HTTP/9.9', req('GET /readyz HTTP/9.9'), [400, 505]],
      ['binary garbage', Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10]), [400]],
      ['a body on GET', req('GET /readyz HTTP/1.1', 'Content-Length: 5\r\n').replace(/\r\n\r\n$/, '\r\n\r\nhello'), [200]],
      ['bad Content-Length', req('POST /readyz HTTP/1.1', 'Content-Length: -1\r\n'), [400]],
      ['chunked garbage', req('POST /readyz HTTP/1.1', 'Transfer-Encoding: chunked\r\n') + 'zz\r\n', [400, 405]],
    ];
    for (const [what, bytes, expected] of cases) {
      const a = await rawRequest(port, bytes, 3000);
      assert.ok(
        expected.includes(a.status),
        `${what}: got ${a.status} (${JSON.stringify(a.head.split('\r\n')[0])}), expected ${JSON.stringify(expected)}`,
      );
      assert.ok(
        a.status === null ? a.closedByServer : a.ms < 1000,
        `${what}: ${a.status === null ? 'left hanging' : `took ${Math.round(a.ms)} ms`}`,
      );
    }
    // Blank lines before a request line are allowed (RFC 9112), so a client that sends only
    // those is a slow client: cut off with the others' timeout.
    const blank = await rawRequest(port, '\r\n\r\n', 10_000);
    assert.ok(blank.closedByServer && blank.ms < 5000 + 1000 + 500, `blank lines only: open for ${Math.round(blank.ms)} ms`);
    // The process answers as before and has not changed its mind about anything.
    const live = await rawRequest(port, req('GET /livez HTTP/1.1'));
    assert.equal(live.status, 200);
    assert.equal(
      c.sidecars[0]!.transitions.length,
      transitionsBefore,
      `the verdict changed during the abuse; ${c.sidecars[0]!.describe()}`,
    );
    assert.equal(c.sidecars[0]!.isReady, true);
    await c.verifySafety(t, 'HTTP abuse');
  });
});

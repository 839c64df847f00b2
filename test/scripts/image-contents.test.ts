/**
 * What the image's final stage holds runs on its own. The image cannot be built without a Docker
 * engine, so its /app is laid out here as the Dockerfile lays it out: dist/ as `npm run build`
 * makes it (scripts/build.ts, called directly), package.json and LICENSE, and no node_modules. In a
 * directory outside the repository, so no package can be found by walking up, the sidecar must
 * start, print its version and reject bad settings; every file of dist/ must be one the program
 * loads; and the stubs that stand in for what the sidecar never calls (packages, and Node's own
 * modules in some packages' files) must load the real ones when called, from /app's vendor files.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { build } from 'esbuild';
import { buildDist, BUNDLE_OPTIONS, splitPackages, VENDOR_FILES } from '../../scripts/build.js';

const PROJECT_ROOT = resolve(__dirname, '..', '..');

const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean; version?: string }>;
};

/**
 * Packages the bundled code requires inside a try block and works without (debug's colours,
 * node-fetch's legacy encodings, ws's native speed-ups). None is installed by `npm ci --omit=dev`,
 * so the image never had them.
 */
const OPTIONAL_PEERS = ['supports-color', 'encoding', 'bufferutil', 'utf-8-validate'];

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(dir, join(prefix, e.name)) : [join(prefix, e.name)],
  );
}

/** The literal specifiers of the `require("...")` calls in `code`. */
const requiredBy = (code: string): string[] => [...code.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!);

/** The image's /app, laid out as its final stage lays it out, under a directory of its own. */
let root: string;
let app: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'image-contents-'));
  app = join(root, 'app');
  await buildDist(join(app, 'dist'));
  copyFileSync(join(PROJECT_ROOT, 'package.json'), join(app, 'package.json'));
  copyFileSync(join(PROJECT_ROOT, 'LICENSE'), join(app, 'LICENSE'));
});

after(() => rmSync(root, { recursive: true, force: true }));

describe("the image's /app: dist/, package.json and LICENSE, no node_modules", () => {
  const node = (args: string[]) =>
    spawnSync(process.execPath, args, {
      cwd: app,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_ENV: 'production', FLINK_CONF_DIR: join(root, 'no-flink-conf') },
      timeout: 30_000,
    });

  it('finds no package from /app: the program carries what it needs', () => {
    const resolveFromApp = createRequire(join(app, 'package.json')).resolve;
    for (const name of [...Object.keys(pkg.dependencies), 'typescript', 'tsx', 'esbuild']) {
      assert.throws(() => resolveFromApp(name), { code: 'MODULE_NOT_FOUND' }, `${name} resolves from the image's /app`);
    }
  });

  it('requires only Node.js built-ins, its own vendor files, and optional packages it works without', () => {
    const builtins = new Set(builtinModules);
    const vendor = new Set(Object.values(VENDOR_FILES).map((f) => `./vendor/${f}`));
    for (const file of filesUnder(join(app, 'dist')).filter((f) => f.endsWith('.js'))) {
      for (const specifier of requiredBy(readFileSync(join(app, 'dist', file), 'utf8'))) {
        if (specifier.startsWith('node:') || builtins.has(specifier)) continue;
        if (file === 'main.js' && vendor.has(specifier)) continue;
        assert.ok(OPTIONAL_PEERS.includes(specifier), `dist/${file} requires ${specifier}`);
      }
    }
    for (const name of OPTIONAL_PEERS) {
      const installed = lock.packages[`node_modules/${name}`];
      assert.ok(installed === undefined || installed.dev === true, `${name} is a production package: bundle it instead`);
    }
  });

  it('ships no file the program does not load: every vendor file is required by dist/main.js and loads on its own', () => {
    const main = readFileSync(join(app, 'dist', 'main.js'), 'utf8');
    const required = new Set(requiredBy(main));
    const files = filesUnder(join(app, 'dist')).sort();
    assert.deepEqual(files, ['THIRD-PARTY-NOTICES.txt', 'main.js', ...Object.values(VENDOR_FILES).map((f) => join('vendor', f))].sort());
    for (const file of Object.values(VENDOR_FILES)) {
      assert.ok(required.has(`./vendor/${file}`), `dist/main.js never requires ./vendor/${file}`);
      const loaded = node(['-e', `require(${JSON.stringify(`./dist/vendor/${file}`)})`]);
      assert.equal(loaded.status, 0, `dist/vendor/${file}: ${loaded.stderr}`);
    }
  });

  it('names every bundled package and its licence in dist/THIRD-PARTY-NOTICES.txt', () => {
    const notices = readFileSync(join(app, 'dist', 'THIRD-PARTY-NOTICES.txt'), 'utf8');
    for (const name of Object.keys(pkg.dependencies)) {
      const version = lock.packages[`node_modules/${name}`]?.version;
      assert.ok(version, name);
      assert.match(notices, new RegExp(`^${name.replace(/[/.]/g, '\\$&')}@${version.replace(/\./g, '\\.')} \\(`, 'm'), name);
    }
    assert.match(notices, /^express@\S+ \(MIT\)\n\n[^=]*Permission is hereby granted/m);
  });

  it('starts: `node dist/main.js --version` prints the version', () => {
    const result = node(['dist/main.js', '--version']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), `flink-ha-sidecar ${pkg.version}`);
  });

  it('checks its settings: invalid settings exit 2', () => {
    const result = node(['dist/main.js', '--port=x']);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /--port \/ SIDECAR_PORT: "x" is not a port number/);
  });

  it('prints its help', () => {
    const result = node(['dist/main.js', '--help']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /SIDECAR_PORT/);
  });
});

describe('the stubs for the dependencies the sidecar never calls', () => {
  /** Beside /app, so that /app stays as the image has it: its own bundle, and /app's vendor files. */
  let stubApp: string;

  before(async () => {
    stubApp = join(root, 'stub-app');
    mkdirSync(stubApp);
    symlinkSync(join(app, 'dist', 'vendor'), join(stubApp, 'vendor'));
    // An express app that calls what the sidecar does not: a JSON body parser, static files,
    // sendFile, a content-type lookup, OpenTelemetry's API, prom-client's Pushgateway (gzipped, and
    // over https) and pino's transport resolution.
    mkdirSync(join(root, 'static'));
    writeFileSync(join(root, 'static', 'hello.txt'), 'hello from a file\n');
    const source = `const express = require('express');
const path = require('node:path');
const app = express();
app.post('/echo', express.json(), (req, res) => res.json({ got: req.body }));
app.use('/static', express.static(path.join(__dirname, '..', 'static')));
app.get('/file', (_req, res) => res.sendFile(path.join(__dirname, '..', 'static', 'hello.txt')));
app.get('/otel', (_req, res) => res.json({ startSpan: typeof require('@opentelemetry/api').trace.getTracer('t').startSpan }));
app.get('/type', (_req, res) => res.type('html').send('<p>hi</p>'));
let pushed = null;
app.post('/metrics/job/:job', express.text({ type: '*/*' }), (req, res) => { pushed = req.body; res.end(); });
app.get('/push', async (_req, res) => {
  const client = require('prom-client');
  const registry = new client.Registry();
  new client.Counter({ name: 'pushed_total', help: 'pushed', registers: [registry] }).inc();
  const gzipped = { headers: { 'Content-Encoding': 'gzip', 'Content-Type': 'text/plain' } };
  await new client.Pushgateway('http://127.0.0.1:' + server.address().port, gzipped, registry).pushAdd({ jobName: 'j' });
  const overHttps = await new client.Pushgateway('https://127.0.0.1:1', {}, registry).pushAdd({ jobName: 'j' }).catch((e) => e.code);
  res.json({ pushed, overHttps });
});
app.get('/pino-transport', (_req, res) => {
  try {
    require('pino').transport({ target: './no-such-transport.js' });
    res.json({ error: null });
  } catch (e) {
    res.json({ error: e.message });
  }
});
const server = app.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.once('SIGTERM', () => server.close());`;
    await build({
      ...BUNDLE_OPTIONS,
      stdin: { contents: source, resolveDir: PROJECT_ROOT, sourcefile: 'app.cjs' },
      outfile: join(stubApp, 'app.js'),
      plugins: [splitPackages],
    });
  });

  it("express.json(), express.static(), res.sendFile(), res.type(), OpenTelemetry's API, a Pushgateway and pino.transport() work from the bundle", async () => {
    const child = spawn(process.execPath, [join(stubApp, 'app.js')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((done, fail) => {
        child.stdout.once('data', (d: Buffer) => done(Number(d.toString().trim())));
        child.once('exit', (code) => fail(new Error(`the app exited (${code})`)));
      });
      const base = `http://127.0.0.1:${port}`;
      const echo = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":[1,2]}' });
      assert.deepEqual(await echo.json(), { got: { a: [1, 2] } });
      const file = await fetch(`${base}/static/hello.txt`);
      assert.equal(file.status, 200);
      assert.equal(await file.text(), 'hello from a file\n');
      const sent = await fetch(`${base}/file`);
      assert.equal(await sent.text(), 'hello from a file\n');
      // A property the stub does not wrap: read from the real package, loaded then.
      const otel = await fetch(`${base}/otel`);
      assert.deepEqual(await otel.json(), { startSpan: 'function' });
      const typed = await fetch(`${base}/type`);
      assert.equal(typed.headers.get('content-type'), 'text/html; charset=utf-8');
      // Node's own https and zlib, stubbed in prom-client's files.
      const push = (await (await fetch(`${base}/push`)).json()) as { pushed: string; overHttps: string };
      assert.match(push.pushed, /^pushed_total 1$/m);
      assert.equal(push.overHttps, 'ECONNREFUSED');
      // Node's own module, stubbed in pino's files: pino resolves the target with createRequire.
      const transport = (await (await fetch(`${base}/pino-transport`)).json()) as { error: string | null };
      assert.match(transport.error ?? '', /no-such-transport/);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('leaves the vendor files unloaded until then: the bundle holds none of their code', () => {
    const main = readFileSync(join(app, 'dist', 'main.js'), 'utf8');
    const markers: Record<string, RegExp> = {
      'body-parser.js': /function bodyParser\d*\(/,
      'serve-static.js': /function serveStatic\d*\(/,
      'send.js': /function SendStream\d*\(/,
      'opentelemetry-api.js': /\bProxyTracerProvider=class\b/,
      'mime-types.js': /"application\/json":\{/,
    };
    for (const [file, marker] of Object.entries(markers)) {
      assert.doesNotMatch(main, marker, `dist/main.js holds the code of vendor/${file}`);
      assert.match(readFileSync(join(app, 'dist', 'vendor', file), 'utf8'), marker);
    }
  });
});

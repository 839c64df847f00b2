/**
 * Builds dist/, what the image ships and every test runs:
 *   - dist/main.js: the sidecar and every package it always needs, bundled into one file (some 550
 *     source files). Node then resolves, reads and compiles one file instead of hundreds, which was
 *     most of a start.
 *   - dist/vendor/<file>.js: each package the sidecar needs only on some paths, bundled on its own
 *     and loaded by the first require that needs it (see ON_DEMAND and DEFERRED).
 *   - dist/THIRD-PARTY-NOTICES.txt: the name, version, licence and licence text of every package
 *     bundled, since their own files are not shipped.
 * dist/ needs no node_modules: the image carries dist/, package.json (the version) and LICENSE.
 *
 *   npm run build
 */
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

const ROOT = join(__dirname, '..');
const DIST = join(ROOT, 'dist');
const NOTICES_FILE = 'THIRD-PARTY-NOTICES.txt';

/**
 * Packages the sidecar's own code requires only where it uses them: the Kubernetes client (the
 * Kubernetes source, label mode, `status` on Kubernetes; 5 MB of code) and node-forge (PKCS#12 key
 * stores for the JobManager's REST TLS).
 */
const ON_DEMAND: Record<string, string> = {
  '@kubernetes/client-node': 'kubernetes-client-node.js',
  'node-forge': 'node-forge.js',
};

/**
 * Packages that a dependency requires when it loads, but whose code the sidecar never runs: express
 * parses no request bodies and serves no files here, nor looks content types up (src/http/send.ts
 * writes them out), and prom-client reads OpenTelemetry's API only for exemplars, which the sidecar
 * does not enable. Each stands in the bundle as a stub that loads the real package on first use;
 * `members` are the functions the dependency reads from it at load time (express's
 * `bodyParser.json`, ...), which the stub wraps so that reading them loads nothing.
 */
const DEFERRED: Record<string, { file: string; members: string[] }> = {
  'body-parser': { file: 'body-parser.js', members: ['json', 'raw', 'text', 'urlencoded'] },
  'serve-static': { file: 'serve-static.js', members: [] },
  send: { file: 'send.js', members: [] },
  // With mime-db, its database: most of a MiB of heap once loaded.
  'mime-types': { file: 'mime-types.js', members: [] },
  '@opentelemetry/api': { file: 'opentelemetry-api.js', members: [] },
};

/**
 * Node's own modules that a dependency requires when it loads, for code the sidecar never runs,
 * stubbed the same way in that dependency's files only: prom-client's Pushgateway (the sidecar
 * pushes nothing) requires https, with TLS, and zlib; pino's transports (the sidecar writes to
 * stdout) require module. Together about half a MiB of memory once loaded. The sidecar's own code
 * loads https and TLS where an https REST URL needs them.
 */
const DEFERRED_BUILTINS: Record<string, { importedFrom: string; members: string[] }> = {
  https: { importedFrom: 'prom-client', members: [] },
  zlib: { importedFrom: 'prom-client', members: ['gzipSync'] },
  module: { importedFrom: 'pino', members: ['createRequire'] },
};

/** The Node.js line the bundle may assume (package.json engines: >=20.19). */
const TARGET = 'node20.19';

/**
 * Whitespace and syntax are minified (no comments, so the source V8 keeps in memory is smaller and
 * ASCII, stored one byte per character); identifiers are not, so stack traces keep their names.
 */
export const BUNDLE_OPTIONS: BuildOptions = {
  // Paths in the metafile are relative to this, whatever the caller's working directory.
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  target: TARGET,
  format: 'cjs',
  logLevel: 'warning',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  metafile: true,
};

/**
 * A stub module for a deferred module: calling it, or one of `members`, calls the real module,
 * required from `specifier` then (a vendor file relative to dist/main.js, or a built-in); reading
 * any other property loads it and reads the real one.
 */
function deferredStub(specifier: string, members: string[]): string {
  const load = `() => require(${JSON.stringify(specifier)})`;
  return [
    `const load = ${load};`,
    'function stub(...args) { return load().apply(this, args); }',
    ...members.map((m) => `stub[${JSON.stringify(m)}] = function (...args) { return load()[${JSON.stringify(m)}].apply(this, args); };`),
    'module.exports = new Proxy(stub, { get: (target, key) => (Object.hasOwn(target, key) ? target[key] : load()[key]) });',
  ].join('\n');
}

/** Resolves each on-demand package to its vendor file and each deferred one to its stub; both stay outside the bundle's own code. */
export const splitPackages: Plugin = {
  name: 'split-packages',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      // A stub's own require of its vendor file or built-in.
      if (args.namespace === 'deferred' || args.namespace === 'deferred-builtin') return { path: args.path, external: true };
      const onDemand = ON_DEMAND[args.path];
      if (onDemand !== undefined) return { path: `./vendor/${onDemand}`, external: true };
      if (args.path in DEFERRED) return { path: args.path, namespace: 'deferred' };
      const builtin = DEFERRED_BUILTINS[args.path];
      if (builtin !== undefined && args.importer.includes(join('node_modules', builtin.importedFrom) + sep)) {
        return { path: args.path, namespace: 'deferred-builtin' };
      }
      return undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'deferred' }, (args) => {
      const { file, members } = DEFERRED[args.path]!;
      return { contents: deferredStub(`./vendor/${file}`, members), loader: 'js' };
    });
    b.onLoad({ filter: /.*/, namespace: 'deferred-builtin' }, (args) => ({
      contents: deferredStub(args.path, DEFERRED_BUILTINS[args.path]!.members),
      loader: 'js',
    }));
  },
};

/** The package directory (below node_modules) each bundled input file belongs to. */
function packageDirs(metafiles: Metafile[]): Set<string> {
  const dirs = new Set<string>();
  for (const metafile of metafiles) {
    for (const input of Object.keys(metafile.inputs)) {
      const parts = input.split(/[\\/]/);
      const i = parts.lastIndexOf('node_modules');
      if (i < 0) continue;
      const depth = parts[i + 1]!.startsWith('@') ? 3 : 2;
      dirs.add(join(ROOT, ...parts.slice(0, i + depth)));
    }
  }
  return dirs;
}

/** One section per bundled package: name, version, licence, and its licence file's text. */
function thirdPartyNotices(metafiles: Metafile[]): string {
  const sections = [...packageDirs(metafiles)]
    .map((dir) => {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string; license?: unknown };
      const licenceFile = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
      const text = licenceFile === undefined ? '(no licence file in the package)' : readFileSync(join(dir, licenceFile), 'utf8').trim();
      const licence = typeof pkg.license === 'string' ? pkg.license : 'see the text';
      return { id: `${pkg.name}@${pkg.version}`, body: `${pkg.name}@${pkg.version} (${licence})\n\n${text}` };
    })
    .sort((a, b) => a.id.localeCompare(b.id));
  const unique = sections.filter((s, i) => i === 0 || s.id !== sections[i - 1]!.id);
  return [
    'flink-ha-sidecar bundles the following packages into dist/. Their licences follow.',
    ...unique.map((s) => `${'='.repeat(78)}\n${s.body}`),
    '',
  ].join('\n\n');
}

/** Every vendor file: the on-demand packages' and the deferred ones', by package name. */
export const VENDOR_FILES: Record<string, string> = {
  ...ON_DEMAND,
  ...Object.fromEntries(Object.entries(DEFERRED).map(([name, d]) => [name, d.file])),
};

/** Builds the program into `outDir` (emptied first); returns each file written with its size in bytes. */
export async function buildDist(outDir: string): Promise<{ file: string; bytes: number }[]> {
  rmSync(outDir, { recursive: true, force: true });
  const program = await build({
    ...BUNDLE_OPTIONS,
    entryPoints: [join(ROOT, 'src', 'main.ts')],
    outfile: join(outDir, 'main.js'),
    plugins: [splitPackages],
  });
  chmodSync(join(outDir, 'main.js'), 0o755);
  const metafiles = [program.metafile!];
  for (const [name, file] of Object.entries(VENDOR_FILES)) {
    const vendor = await build({
      ...BUNDLE_OPTIONS,
      stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: ROOT, sourcefile: `${name}.js` },
      outfile: join(outDir, 'vendor', file),
    });
    metafiles.push(vendor.metafile!);
  }
  const notices = thirdPartyNotices(metafiles);
  writeFileSync(join(outDir, NOTICES_FILE), notices);
  return [
    ...metafiles.flatMap((m) => Object.entries(m.outputs).map(([file, { bytes }]) => ({ file: resolve(ROOT, file), bytes }))),
    { file: join(outDir, NOTICES_FILE), bytes: Buffer.byteLength(notices) },
  ];
}

if (require.main === module) {
  buildDist(DIST)
    .then((files) => {
      for (const { file, bytes } of files) console.log(`  ${relative(ROOT, file).split(sep).join('/')}  ${(bytes / 1024).toFixed(0)} KiB`);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}

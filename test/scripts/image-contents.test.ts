/**
 * What the image's final stage holds runs on its own. The image cannot be built without a Docker
 * engine, so its /app is laid out here as the Dockerfile lays it out: dist/ compiled by
 * `tsc -p tsconfig.build.json` (the build stage's `npm run build`), node_modules holding only the
 * packages `npm ci --omit=dev` installs from package-lock.json (every entry not marked dev, hard
 * links to the installed copies, which must match the lockfile's versions), and package.json. In a
 * directory outside the repository, so no devDependency can be found by walking up, the sidecar
 * must start, print its version and reject bad settings; and nothing the compiled code requires
 * may be a package that is missing from `dependencies`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';

const PROJECT_ROOT = resolve(__dirname, '..', '..');

interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  link?: boolean;
}

const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };

/** Hard-links a package's files into `to`, leaving out its own node_modules (the lockfile lists those apart). */
function linkPackage(from: string, to: string, top = true): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (top && entry.name === 'node_modules') continue;
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) linkPackage(source, target, false);
    else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
    else linkSync(source, target);
  }
}

/** Every file under `dir` whose name ends with `suffix`. */
function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name), suffix) : e.name.endsWith(suffix) ? [join(dir, e.name)] : [],
  );
}

/** `pino` of `pino/file`, `@scope/name` of `@scope/name/sub`. */
const packageOf = (specifier: string): string =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

describe("the image's /app: dist/, production node_modules and package.json", () => {
  let root: string;
  let app: string;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'image-contents-'));
    app = join(root, 'app');
    mkdirSync(app);
    const tsc = spawnSync(
      process.execPath,
      [join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', join(app, 'dist')],
      { cwd: PROJECT_ROOT, encoding: 'utf8' },
    );
    assert.equal(tsc.status, 0, `tsc -p tsconfig.build.json failed:\n${tsc.stdout}${tsc.stderr}`);

    for (const [path, entry] of Object.entries(lock.packages)) {
      if (!path.startsWith('node_modules/') || entry.dev || entry.link) continue;
      const installed = join(PROJECT_ROOT, path);
      if (!existsSync(join(installed, 'package.json'))) {
        // npm ci skips an optional package for another platform; anything else must be installed.
        assert.ok(entry.optional, `${path} is in package-lock.json but not installed: run npm ci`);
        continue;
      }
      const version = (JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { version?: string }).version;
      assert.equal(version, entry.version, `${path}: installed ${version}, package-lock.json has ${entry.version}: run npm ci`);
      linkPackage(installed, join(app, path));
    }
    writeFileSync(join(app, 'package.json'), readFileSync(join(PROJECT_ROOT, 'package.json')));
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['dist/main.js', ...args], {
      cwd: app,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_ENV: 'production', FLINK_CONF_DIR: join(root, 'no-flink-conf') },
      timeout: 30_000,
    });

  it('holds no package that only the devDependencies need, and none can be found from it', () => {
    const resolveFromApp = createRequire(join(app, 'package.json')).resolve;
    const devOnly = Object.keys(pkg.devDependencies).filter((name) => lock.packages[`node_modules/${name}`]?.dev);
    assert.ok(devOnly.includes('typescript') && devOnly.includes('tsx'), devOnly.join(', '));
    for (const name of devOnly) {
      assert.ok(!existsSync(join(app, 'node_modules', name)), `${name} is in node_modules`);
      if (!name.startsWith('@types/')) {
        assert.throws(() => resolveFromApp(name), { code: 'MODULE_NOT_FOUND' }, `${name} resolves from the image's /app`);
      }
    }
    for (const name of Object.keys(pkg.dependencies)) {
      assert.ok(lstatSync(join(app, 'node_modules', name)).isDirectory(), `${name} is in node_modules`);
    }
  });

  it('requires at run time only Node.js built-ins and the packages of `dependencies`', () => {
    const builtins = new Set(builtinModules);
    const required = new Set<string>();
    for (const file of filesUnder(join(app, 'dist'), '.js')) {
      const code = readFileSync(file, 'utf8');
      for (const m of code.matchAll(/\b(?:require|import)\(\s*["']([^"'.][^"']*)["']\s*\)/g)) required.add(m[1]!);
    }
    assert.ok(required.size > 0);
    for (const specifier of required) {
      if (specifier.startsWith('node:') || builtins.has(specifier)) continue;
      assert.ok(packageOf(specifier) in pkg.dependencies, `dist/ requires ${specifier}, which is not in dependencies`);
    }
  });

  it('loads every package the code requires, those it loads lazily too', () => {
    const packages = Object.keys(pkg.dependencies);
    const script = `for (const name of ${JSON.stringify(packages)}) require(name);`;
    const result = spawnSync(process.execPath, ['-e', script], {
      cwd: app,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_ENV: 'production' },
      timeout: 30_000,
    });
    assert.equal(result.status, 0, result.stderr);
  });

  it('starts: `node dist/main.js --version` prints the version', () => {
    const result = run('--version');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), `flink-ha-sidecar ${pkg.version}`);
  });

  it('loads every module and checks its settings: invalid settings exit 2', () => {
    const result = run('--port=x');
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /--port \/ SIDECAR_PORT: "x" is not a port number/);
  });

  it('prints its help', () => {
    const result = run('--help');
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /SIDECAR_PORT/);
  });
});

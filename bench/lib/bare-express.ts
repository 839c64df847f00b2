/**
 * The floor the benches measure the sidecar against, in the same run: a bare express 5 app
 * (bare-express-app.cjs) in a process of its own, answering GET /readyz 200.
 *
 * Two forms: `bundled`, built by esbuild with the options that build dist/main.js, so it loads as
 * the sidecar does (one file); or required from node_modules, as an express app usually is.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import { BUNDLE_OPTIONS } from '../../scripts/build.js';
import { removeOnExit, trackChild } from '../../test/support/exit-cleanup.js';
import { monotonicNow } from '../../test/support/sidecar-process.js';

const APP = join(__dirname, 'bare-express-app.cjs');
const PROJECT_ROOT = join(__dirname, '..', '..');

export interface BareExpress {
  url: string;
  pid: number;
  /** Spawn and listen times on the scale of performance.timeOrigin + performance.now(). */
  spawnedAtMs: number;
  listeningAtMs: number;
  stop(): Promise<void>;
}

export interface BareExpressOptions {
  body?: string;
  bundled: boolean;
  /** The Node.js binary; this process's by default. */
  node?: string;
  nodeArgs?: string[];
  /** taskset's CPU list, to pin the process. */
  cpus?: string;
  env?: Record<string, string>;
}

let bundleDir: string | null = null;

/** The app bundled once per process, into a directory of its own removed at exit. */
async function bundledApp(): Promise<string> {
  if (bundleDir === null) {
    const dir = mkdtempSync(join(tmpdir(), 'bare-express-'));
    removeOnExit(dir, 'BENCH_KEEP_DIR');
    await build({ ...BUNDLE_OPTIONS, metafile: false, entryPoints: [APP], outfile: join(dir, 'app.js') });
    bundleDir = dir;
  }
  return join(bundleDir, 'app.js');
}

export async function startBareExpress(o: BareExpressOptions): Promise<BareExpress> {
  const app = o.bundled ? await bundledApp() : APP;
  const node = o.node ?? process.execPath;
  const args = [...(o.nodeArgs ?? []), app];
  const [command, commandArgs] = o.cpus === undefined ? [node, args] : ['taskset', ['-c', o.cpus, node, ...args]];
  const spawnedAtMs = monotonicNow();
  const child: ChildProcess = spawn(command, commandArgs, {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', ...(o.body === undefined ? {} : { BODY: o.body }), ...o.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  trackChild(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const first = await new Promise<{ port: number; listeningAtMs: number }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line) as { port: number; listeningAtMs: number }));
    child.once('exit', (code) => reject(new Error(`bare express exited (${code})`)));
  });
  return {
    url: `http://127.0.0.1:${first.port}`,
    pid: child.pid ?? -1,
    spawnedAtMs,
    listeningAtMs: first.listeningAtMs,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

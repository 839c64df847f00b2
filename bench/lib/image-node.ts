/**
 * The Node.js binary of the image's line (the current LTS), as scripts/test-current-lts.sh installs
 * it outside the clone; null when it is not installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeOnExit } from '../../test/support/exit-cleanup.js';

export function imageNode(): string | null {
  const cache = process.env.FLINK_HA_SIDECAR_CACHE ?? join(homedir(), '.cache', 'flink-ha-sidecar');
  const node = join(cache, 'node-lts', 'node_modules', '.bin', 'node');
  return existsSync(node) ? node : null;
}

/**
 * A compile cache for dist/main.js made as the Dockerfile's compile-cache stage makes it
 * (`NODE_COMPILE_CACHE=<dir> node dist/main.js --version`), in a directory removed at exit.
 */
export function makeCompileCache(node: string, main: string): string {
  const cache = mkdtempSync(join(tmpdir(), 'flink-ha-sidecar-compile-cache-'));
  removeOnExit(cache, 'BENCH_KEEP_DIR');
  const made = spawnSync(node, [main, '--version'], { env: { PATH: process.env.PATH ?? '', NODE_COMPILE_CACHE: cache } });
  if (made.status !== 0) throw new Error(`${node} ${main} --version failed: ${made.stderr.toString()}`);
  return cache;
}

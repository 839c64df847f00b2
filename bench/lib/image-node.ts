/**
 * The Node.js binary of the image's line (the current LTS), as scripts/test-current-lts.sh installs
 * it outside the clone; null when it is not installed.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function imageNode(): string | null {
  const cache = process.env.FLINK_HA_SIDECAR_CACHE ?? join(homedir(), '.cache', 'flink-ha-sidecar');
  const node = join(cache, 'node-lts', 'node_modules', '.bin', 'node');
  return existsSync(node) ? node : null;
}

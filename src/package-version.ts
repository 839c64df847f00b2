import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The `version` of the sidecar's package.json, read synchronously (call it once, at start-up).
 * src/package-version.ts and dist/package-version.js both sit one level below package.json.
 */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

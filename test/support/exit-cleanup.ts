/**
 * What the test process leaves behind if a test never reaches its own clean-up (it failed, timed
 * out or was interrupted): every child registered here is SIGKILLed and every directory removed when
 * the process exits or is interrupted. One set of exit hooks for all the test support.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const liveChildren = new Set<ChildProcess>();
/** Each directory with the variable that, set to 1, keeps it for a look after a failure. */
const dirsToRemove = new Map<string, string>();
let exitHooksInstalled = false;

/** Whether `keepVariable` asks to keep directories (e.g. ZOOKEEPER_TEST_KEEP_DIR=1). */
export const isKept = (keepVariable: string): boolean => process.env[keepVariable] === '1';

/** Kills child when this process exits or is interrupted, unless it has exited by then. */
export function trackChild(child: ChildProcess): void {
  installExitHooks();
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  // spawn failures (a command not on PATH) emit 'error' and no 'exit'.
  child.once('error', () => liveChildren.delete(child));
}

/** Removes dir when this process exits or is interrupted, unless `keepVariable` is 1 then. */
export function removeOnExit(dir: string, keepVariable: string): void {
  installExitHooks();
  dirsToRemove.set(dir, keepVariable);
}

/** The directory was removed (or kept) by its owner: nothing to do for it at exit. */
export function forgetDir(dir: string): void {
  dirsToRemove.delete(dir);
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  // 'exit' allows only synchronous work: SIGKILL is the one signal that needs no waiting for. A
  // killed process may still be writing its directory, so removal is best effort.
  const cleanUp = (): void => {
    for (const child of liveChildren) child.kill('SIGKILL');
    liveChildren.clear();
    for (const [dir, keepVariable] of dirsToRemove) {
      if (!isKept(keepVariable)) rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    }
    dirsToRemove.clear();
  };
  process.on('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanUp();
      // Keep the default behaviour (die by this signal) unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

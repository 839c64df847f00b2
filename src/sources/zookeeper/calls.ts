import type { Client, Event, Stat } from 'node-zookeeper-client';
import { ZooKeeperError } from '../../errors.js';

/**
 * Promise forms of the three reads the sidecar makes. Each passes a watcher so the read also arms
 * ZooKeeper's one-shot watch; callers pass the same function for a path every time, because
 * node-zookeeper-client registers each distinct function as another listener.
 */
export type Watcher = (event: Event) => void;

/** Without a watcher the read arms nothing (one-shot readers such as the status command). */
export function getChildren(client: Client, path: string, watcher?: Watcher): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const done = (err: unknown, children: string[]) => (err ? reject(wrap(err, path)) : resolve(children));
    call(path, reject, () => (watcher ? client.getChildren(path, watcher, done) : client.getChildren(path, done)));
  });
}

/** Resolves to the node's Stat, or null when the node does not exist (the watch then waits for it). */
export function exists(client: Client, path: string, watcher?: Watcher): Promise<Stat | null> {
  return new Promise((resolve, reject) => {
    // The typings say Stat, but the client passes null for a missing node.
    const done = (err: unknown, stat: Stat | undefined) => (err ? reject(wrap(err, path)) : resolve(stat ?? null));
    call(path, reject, () => (watcher ? client.exists(path, watcher, done) : client.exists(path, done)));
  });
}

export function getData(client: Client, path: string, watcher?: Watcher): Promise<{ data: Buffer | null; stat: Stat }> {
  return new Promise((resolve, reject) => {
    const done = (err: unknown, data: Buffer, stat: Stat) => (err ? reject(wrap(err, path)) : resolve({ data, stat }));
    call(path, reject, () => (watcher ? client.getData(path, watcher, done) : client.getData(path, done)));
  });
}

type Exception = Error & { name: string; code?: number };

/** True when a read failed because the node does not exist. */
export function isNoNode(err: unknown): boolean {
  return err instanceof ZooKeeperError && err.code === 'NO_NODE';
}

/** The client throws synchronously on invalid paths and when it is closed; keep those as rejections. */
function call(path: string, reject: (e: Error) => void, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    reject(wrap(err, path));
  }
}

function wrap(err: unknown, path: string): ZooKeeperError {
  // Anything can be thrown: an Exception, another Error, or a value without these fields.
  const e = err as Partial<Exception> | null | undefined;
  const code = typeof e?.code === 'number' && typeof e.name === 'string' ? e.name : 'CLIENT_ERROR';
  return new ZooKeeperError(String(e?.message ?? err), code, path, { cause: err });
}

/** The 8-byte session id as 16 lowercase hex digits: ids exceed 2^53, so they never become numbers. */
export function sessionIdHex(bytes: Buffer | undefined | null): string {
  return bytes ? Buffer.from(bytes).toString('hex').padStart(16, '0') : '0000000000000000';
}

/**
 * Waiting for a line from a child process: the first item at index `since` or later (already
 * received or still to come) that matches. The owner keeps `waiters` and calls each of them
 * whenever an item arrives or the process exits.
 */
export interface ItemWait<T> {
  items: readonly T[];
  since: number;
  matches: (item: T) => boolean;
  hasExited: () => boolean;
  waiters: Set<() => void>;
  timeoutMs: number;
  /** The rejection when the process exits first, and when the time runs out. */
  exitedError: () => Error;
  timeoutError: () => Error;
}

export function waitForItem<T>(w: ItemWait<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    let next = w.since;
    const settled = (): boolean => {
      for (; next < w.items.length; next++) {
        const item = w.items[next]!;
        if (w.matches(item)) {
          resolve(item);
          return true;
        }
      }
      if (w.hasExited()) {
        reject(w.exitedError());
        return true;
      }
      return false;
    };
    if (settled()) return;
    const waiter = (): void => {
      if (!settled()) return;
      clearTimeout(timer);
      w.waiters.delete(waiter);
    };
    const timer = setTimeout(() => {
      w.waiters.delete(waiter);
      reject(w.timeoutError());
    }, w.timeoutMs);
    w.waiters.add(waiter);
  });
}

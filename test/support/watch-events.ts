import type { IncomingMessage } from 'node:http';

/** One event of a Kubernetes watch stream: `type` (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR) and its object. */
export interface WatchStreamEvent<T> {
  type: string;
  object: T;
}

/**
 * Reads a watch response (one JSON event per line, lines split across chunks as they come) and
 * hands each event to `onEvent`, which says whether to read on: false stops reading the stream.
 */
export function onWatchEvents<T>(res: IncomingMessage, onEvent: (event: WatchStreamEvent<T>) => boolean): void {
  res.setEncoding('utf8');
  let buffered = '';
  let stopped = false;
  res.on('data', (chunk: string) => {
    if (stopped) return;
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line === '') continue;
      if (!onEvent(JSON.parse(line) as WatchStreamEvent<T>)) {
        stopped = true;
        return;
      }
    }
  });
}

import type { Logger } from 'pino';
import type { ConfigMapVersion, Layout } from '../../core/model.js';
import { KubernetesError } from '../kubernetes/kubernetes-error.js';
import type { ConfigMapApi, WatchEvent } from './configmap-api.js';
import { decodeConfigMap, type ConfigMapLike } from './decode.js';

export interface ConfigMapWatcherOptions {
  api: ConfigMapApi;
  name: string;
  layout: Layout;
  clock: () => number;
  logger: Logger;
  /** A version of the ConfigMap (null: it does not exist); continuous when no version was missed since the last. */
  onObserved: (atMs: number, version: ConfigMapVersion | null, continuous: boolean) => void;
  onFailed: (atMs: number, err: KubernetesError) => void;
  /** Retries after a failure wait from this, doubling up to maxBackoffMs (with jitter). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

type WatchEnd = { kind: 'clean'; resourceVersion: string } | { kind: 'gone' } | { kind: 'failed'; err: KubernetesError };

/**
 * Lists one ConfigMap by name and watches it from the list's resourceVersion, reporting every
 * version. A watch the server ends cleanly is resumed where it stopped (nothing missed); 410 Gone
 * relists at once; a failure is reported (the source cannot be trusted until the next list) and
 * relisted with backoff. Never polls: after the list, only watch events cause reports.
 */
export class ConfigMapWatcher {
  private stopped = true;
  private stopWatch: (() => void) | null = null;
  private wakeUp: (() => void) | null = null;

  constructor(private readonly options: ConfigMapWatcherOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.stopWatch?.();
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    const { initialBackoffMs = 500, maxBackoffMs = 10_000 } = this.options;
    let failures = 0;
    let gone = 0;
    while (!this.stopped) {
      let failed: KubernetesError | null;
      try {
        // Backoff restarts once a watch works (an event or a clean end), not after a list alone:
        // a watch refused right after every list would otherwise be retried in a tight loop.
        failed = await this.listAndWatch(() => {
          failures = 0;
          gone = 0;
        });
      } catch (err) {
        failed = err instanceof KubernetesError ? err : new KubernetesError(String(err), 'invalid-response', null, { cause: err });
      }
      if (this.stopped) return;
      if (failed === null) {
        // 410 Gone: relist at once, but not in a loop if the server keeps answering it.
        gone += 1;
        if (gone > 1) await this.sleep(initialBackoffMs);
        continue;
      }
      this.report(failed);
      // The first retry is immediate: most failures are one dropped connection.
      const delay = failures === 0 ? 0 : Math.min(maxBackoffMs, initialBackoffMs * 2 ** (failures - 1)) * (0.8 + Math.random() * 0.4);
      failures += 1;
      await this.sleep(delay);
    }
  }

  /** One list, then watches until a watch fails (resolves with the error) or is gone (null). */
  private async listAndWatch(onWatchWorked: () => void): Promise<KubernetesError | null> {
    const { api, name, clock } = this.options;
    const listed = await api.list(name);
    if (this.stopped) return null;
    this.observe(listed.configMap, false);
    let resourceVersion = listed.resourceVersion;
    for (;;) {
      const end = await this.watchOnce(resourceVersion, onWatchWorked);
      if (this.stopped) return null;
      if (end.kind === 'failed') return end.err;
      if (end.kind === 'gone') {
        this.options.logger.info({ configMap: name, atMs: clock() }, 'watch expired (410 Gone): listing again');
        return null;
      }
      resourceVersion = end.resourceVersion;
    }
  }

  private watchOnce(from: string, onWorked: () => void): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      let resourceVersion = from;
      let settled = false;
      const finish = (end: WatchEnd) => {
        if (settled) return;
        settled = true;
        this.stopWatch?.();
        this.stopWatch = null;
        resolve(end);
      };
      const onEvent = (event: WatchEvent): void => {
        if (settled) return;
        if (event.type !== 'ERROR') onWorked();
        switch (event.type) {
          case 'ADDED':
          case 'MODIFIED':
            resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
            this.observe(event.object, true);
            return;
          case 'DELETED':
            resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
            this.observe(null, true);
            return;
          case 'BOOKMARK':
            resourceVersion = event.resourceVersion || resourceVersion;
            return;
          case 'ERROR':
            finish(
              event.code === 410
                ? { kind: 'gone' }
                : { kind: 'failed', err: new KubernetesError(`watch ended with an error: ${event.message}`, 'http-status', event.code) },
            );
        }
      };
      const onEnd = (err: KubernetesError | null) => {
        if (err === null) onWorked();
        finish(err === null ? { kind: 'clean', resourceVersion } : { kind: 'failed', err });
      };
      this.options.api.watch(this.options.name, from, onEvent, onEnd).then(
        (stop) => {
          if (settled || this.stopped) stop();
          else this.stopWatch = stop;
        },
        (err: unknown) =>
          finish({
            kind: 'failed',
            err: err instanceof KubernetesError ? err : new KubernetesError(String(err), 'connection-error', null),
          }),
      );
    });
  }

  private observe(configMap: ConfigMapLike | null, continuous: boolean): void {
    const version = configMap === null ? null : decodeConfigMap(configMap, this.options.layout);
    this.options.onObserved(this.options.clock(), version, continuous);
  }

  private report(err: KubernetesError): void {
    this.options.logger.warn(
      { configMap: this.options.name, reason: err.reason, httpStatus: err.httpStatus, err: err.message },
      'watching the HA ConfigMap failed',
    );
    this.options.onFailed(this.options.clock(), err);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}

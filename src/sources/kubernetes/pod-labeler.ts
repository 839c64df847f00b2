/**
 * Keeps this pod's role label where the core wants it (`state.podLabel.desired`), one API call at a
 * time, in an order that keeps at most one pod of the cluster labelled leader as far as the
 * sidecars can enforce it:
 *
 * - becoming leader: list the cluster's pods that carry the leader label, take it off every other
 *   one (an old leader that is partitioned, stopped or on a dead node cannot take off its own), and
 *   only then label this pod;
 * - no longer leader (standby, unknown, shutting down): patch this pod's label first, before
 *   anything else;
 * - failures: retried with jittered exponential backoff, reported as events (the core counts them
 *   and fails readiness once they have lasted too long); a change of the desired label cuts a
 *   backoff short.
 *
 * It never decides the label: the core does, from the role (which already holds through a
 * tolerated ZooKeeper suspension). It does not load the Kubernetes client either: the KubeClient
 * comes in ready-made.
 */
import type { Logger } from 'pino';
import type { PodLabelError, PodLabelOperation, PodLabelState, PodLabelValue, SidecarEvent, SidecarState } from '../../core/model.js';
import type { StoreListener } from '../../store.js';
import { realTimers, type TimerHandle, type Timers } from '../../timers.js';
import type { KubeClient, PodSummary } from './kube-client.js';
import { KubernetesError } from './kubernetes-error.js';
import type { LabelRoutingSettings } from './settings.js';

/** The ReplicaSet controller deletes pods with a lower cost first (Kubernetes 1.22+). */
export const POD_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';
/** The leader's cost; other pods have none (0). */
export const LEADER_DELETION_COST = '100';

/** The part of the Store the labeler uses. */
export interface LabelerStore {
  readonly state: SidecarState;
  dispatch: (event: SidecarEvent) => void;
  subscribe: (listener: StoreListener) => () => void;
}

export interface PodLabelerOptions {
  client: KubeClient;
  store: LabelerStore;
  settings: Pick<LabelRoutingSettings, 'roleLabel' | 'leaderValue' | 'standbyValue' | 'clusterLabel'> & { podName: string };
  /** Milliseconds on the clock the store's events are timed with. */
  clock: () => number;
  /** What backoffs, resyncs and the stop timeout are scheduled with; the real timers by default. */
  timers?: Timers;
  logger: Logger;
  /** First retry delay after a failure; doubles per consecutive failure up to maxBackoffMs. Default 250. */
  initialBackoffMs?: number;
  /** Default 5000. */
  maxBackoffMs?: number;
  /**
   * How often the labels are looked at again to undo changes made by others: a standby reads its
   * pod; the leader sweeps the cluster's leader labels again and re-applies its own (an old leader's
   * patch that landed after the sweep, by a sidecar that then lost the API, stays no longer than
   * this). Default 30000.
   */
  resyncIntervalMs?: number;
  /** A number in [0, 1) for jitter; Math.random by default. */
  random?: () => number;
}

type Step = 'read' | 'become-leader' | 'label-self' | 'idle';

/** Conflicts (409) mean a pod changed between our list and patch: look again at once, a few times. */
const MAX_IMMEDIATE_CONFLICT_RETRIES = 3;
/** The longest delay setTimeout keeps (a longer one fires at once): "until woken". */
const MAX_TIMER_MS = 2_147_483_647;

export class PodLabeler {
  private readonly o: Required<Omit<PodLabelerOptions, 'random'>> & { random: () => number };
  private readonly log: Logger;
  private unsubscribe: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private isStopping = false;
  /** Set when the desired label changes; a pending backoff is cut short. */
  private hasDesiredChanged = false;
  private wakeUp: (() => void) | null = null;
  /** True while the loop has nothing to do (no request in flight). */
  private isIdle = false;
  private onIdle: (() => void) | null = null;
  /** The value of the cluster label on our pod at the last read; undefined before any read. */
  private clusterValue: string | null | undefined = undefined;
  private nextResyncAtMs = 0;
  private operation: { operation: PodLabelOperation; podName: string | null } = { operation: 'read-own-pod', podName: null };

  constructor(options: PodLabelerOptions) {
    this.o = {
      initialBackoffMs: 250,
      maxBackoffMs: 5000,
      resyncIntervalMs: 30_000,
      random: Math.random,
      timers: realTimers,
      ...options,
    };
    this.log = options.logger;
  }

  /** Starts following the store. Returns at once; the first step is a read of our pod. */
  start(): void {
    if (this.loop !== null) return;
    this.unsubscribe = this.o.store.subscribe((next, previous) => {
      if (next.podLabel.desired !== previous.podLabel.desired) {
        this.hasDesiredChanged = true;
        this.wakeUp?.();
      }
    });
    this.loop = this.run().catch((err: unknown) => {
      // Every step catches its own errors; reaching this is a bug. Rethrown, it reaches main's
      // unhandledRejection handler, which exits so that Kubernetes restarts the sidecar rather than
      // leaving a label that nobody keeps current.
      this.log.fatal({ err }, 'the pod labeler stopped unexpectedly');
      throw err;
    });
  }

  /**
   * Waits (at most `timeoutMs`) until our pod's role label is confirmed absent, then stops: call
   * after dispatching `shutdownStarted`, which makes the desired label absent, and before the probe
   * server drains. A request still in flight after that is abandoned, not awaited.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.loop === null || this.isStopping) return;
    const isRemoved = (s: SidecarState): boolean => s.podLabel.desired === 'absent' && s.podLabel.applied === 'absent';
    // Idle as well as removed: a patch still in flight (to leader, say) would land after a check of the state alone.
    let timer: TimerHandle | undefined;
    await new Promise<void>((resolve) => {
      timer = this.o.timers.setTimeout(resolve, Math.max(0, timeoutMs));
      this.onIdle = () => {
        if (isRemoved(this.o.store.state)) resolve();
      };
      if (this.isIdle) this.onIdle();
    });
    if (timer) this.o.timers.clearTimeout(timer);
    this.onIdle = null;
    if (!isRemoved(this.o.store.state)) {
      this.log.warn(
        { label: this.o.settings.roleLabel, applied: this.o.store.state.podLabel.applied, timeoutMs },
        'stopping without having removed the role label',
      );
    }
    this.isStopping = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    let failures = 0;
    let conflicts = 0;
    while (!this.isStopping) {
      // Changes seen from here on cut the next sleep short; the step below already sees earlier ones.
      this.hasDesiredChanged = false;
      const step = this.nextStep();
      if (step === 'idle') {
        this.isIdle = true;
        this.onIdle?.();
        // Shutting down there is no resync: wait for a change of the desired label or stop().
        await this.sleep(this.o.store.state.shuttingDown ? MAX_TIMER_MS : this.nextResyncAtMs - this.o.clock());
        this.isIdle = false;
        continue;
      }
      try {
        await this.perform(step);
        this.nextResyncAtMs = this.o.clock() + this.o.resyncIntervalMs;
        // A read alone does not end a spell of failures: the backoff keeps growing until the label is right.
        if (step !== 'read') {
          failures = 0;
          conflicts = 0;
        }
      } catch (err) {
        const e = asKubernetesError(err);
        if (e.reason === 'conflict' && conflicts < MAX_IMMEDIATE_CONFLICT_RETRIES) {
          conflicts += 1;
          this.log.debug({ err: e.message }, 'a pod changed under the label update; looking again');
          continue;
        }
        conflicts = 0;
        failures += 1;
        this.reportFailure(e, failures);
        if (this.isStopping) break;
        await this.sleep(this.backoffMs(failures));
      }
    }
  }

  private nextStep(): Step {
    const label: PodLabelState = this.o.store.state.podLabel;
    const isShuttingDown = this.o.store.state.shuttingDown;
    // Read our pod first: its label may already be right, and a leader needs its cluster label.
    // Removing our label on the way out needs neither.
    if (this.clusterValue === undefined && !isShuttingDown) return 'read';
    if (label.desired !== label.applied) {
      if (label.desired !== 'leader') return 'label-self';
      return this.clusterValue === undefined ? 'read' : 'become-leader';
    }
    if (!isShuttingDown && this.o.clock() >= this.nextResyncAtMs) return label.desired === 'leader' ? 'become-leader' : 'read';
    return 'idle';
  }

  private async perform(step: Exclude<Step, 'idle'>): Promise<void> {
    switch (step) {
      case 'read':
        return this.readOwnPod();
      case 'become-leader':
        return this.becomeLeader();
      case 'label-self': {
        const desired = this.o.store.state.podLabel.desired;
        if (desired === 'leader') return;
        return this.labelOwnPod(desired);
      }
    }
  }

  private async readOwnPod(): Promise<void> {
    this.operation = { operation: 'read-own-pod', podName: this.o.settings.podName };
    const pod = await this.o.client.getPod(this.o.settings.podName);
    const clusterValue = pod.labels[this.o.settings.clusterLabel] ?? null;
    if (clusterValue === null && this.clusterValue !== null) {
      this.log.warn(
        { pod: pod.name, clusterLabel: this.o.settings.clusterLabel },
        'this pod has no cluster label: it cannot become the labelled leader until it has one (POD_CLUSTER_LABEL)',
      );
    }
    this.clusterValue = clusterValue;
    const value = this.classify(pod);
    const before = this.o.store.state.podLabel.applied;
    if (before !== null && before !== value) {
      this.log.warn({ pod: pod.name, expected: before, found: value }, 'the role label was changed by someone else');
    }
    this.o.store.dispatch({ type: 'podLabelRead', atMs: this.o.clock(), value });
  }

  /** Takes the leader label off every other pod of the cluster, then puts it on ours. */
  private async becomeLeader(): Promise<void> {
    const { roleLabel, leaderValue, clusterLabel, podName } = this.o.settings;
    this.operation = { operation: 'list-leader-pods', podName: null };
    if (this.clusterValue === null || this.clusterValue === undefined) {
      // Read the pod again before the next attempt: the label may have been added meanwhile.
      this.clusterValue = undefined;
      throw new KubernetesError(
        `pod ${podName} has no label ${clusterLabel}, so the pods of its cluster cannot be told apart from others ` +
          'and stale leader labels cannot be removed safely; give every JM pod of the cluster that label (POD_CLUSTER_LABEL)',
        'cluster-label-missing',
        null,
      );
    }
    const selector = `${roleLabel}=${leaderValue},${clusterLabel}=${this.clusterValue}`;
    const labelled = await this.o.client.listPods(selector);
    for (const pod of labelled) {
      if (pod.name === podName) continue;
      if (!this.isStillDesired('leader')) return;
      await this.removeStaleLeaderLabel(pod);
    }
    if (!this.isStillDesired('leader')) return;
    await this.labelOwnPod('leader');
  }

  private async removeStaleLeaderLabel(pod: PodSummary): Promise<void> {
    this.operation = { operation: 'unlabel-stale-leader', podName: pod.name };
    try {
      // The resourceVersion makes this a no-op (409) if the pod changed since the list, e.g. its
      // own sidecar relabelled it standby meanwhile: the list is then read again.
      await this.o.client.patchPodLabels(
        pod.name,
        { [this.o.settings.roleLabel]: null },
        { resourceVersion: pod.resourceVersion, annotations: { [POD_DELETION_COST]: null } },
      );
    } catch (err) {
      if (err instanceof KubernetesError && err.reason === 'not-found') return;
      throw err;
    }
    this.log.warn({ pod: pod.name, label: this.o.settings.roleLabel }, 'removed a stale leader label from another pod of the cluster');
    this.o.store.dispatch({ type: 'staleLeaderLabelRemoved', atMs: this.o.clock(), podName: pod.name });
  }

  private async labelOwnPod(value: Exclude<PodLabelValue, 'unrecognized'>): Promise<void> {
    const { roleLabel, leaderValue, standbyValue, podName } = this.o.settings;
    this.operation = { operation: 'label-own-pod', podName };
    const text = value === 'leader' ? leaderValue : value === 'standby' ? standbyValue : null;
    // The leader's pod costs more to delete, so a rolling update or scale-down of the ReplicaSet
    // removes standbys first: one failover per rollout instead of up to two.
    const cost = value === 'leader' ? LEADER_DELETION_COST : null;
    await this.o.client.patchPodLabels(podName, { [roleLabel]: text }, { annotations: { [POD_DELETION_COST]: cost } });
    if (this.o.store.state.podLabel.applied !== value) {
      this.log.info({ pod: podName, label: roleLabel, value: text }, text === null ? 'role label removed' : `role label set: ${text}`);
    }
    this.o.store.dispatch({ type: 'podLabelApplied', atMs: this.o.clock(), value });
  }

  private reportFailure(e: KubernetesError, consecutive: number): void {
    const error: Omit<PodLabelError, 'atMs'> = {
      ...this.operation,
      httpStatus: e.httpStatus,
      reason: e.reason,
      detail: e.message,
    };
    const hint = e.reason === 'forbidden' ? ' (the service account needs get, list and patch on pods in its namespace)' : '';
    // Every failure is an event (the core counts them); the log says it once per spell, then every tenth.
    if (consecutive === 1 || consecutive % 10 === 0) {
      this.log.warn({ ...error, consecutive }, `updating the role label failed; retrying${hint}`);
    }
    this.o.store.dispatch({ type: 'podLabelPatchFailed', atMs: this.o.clock(), ...error });
  }

  private isStillDesired(value: PodLabelState['desired']): boolean {
    return !this.isStopping && this.o.store.state.podLabel.desired === value;
  }

  private classify(pod: PodSummary): PodLabelValue {
    const text = pod.labels[this.o.settings.roleLabel];
    if (text === undefined) return 'absent';
    if (text === this.o.settings.leaderValue) return 'leader';
    if (text === this.o.settings.standbyValue) return 'standby';
    return 'unrecognized';
  }

  /** Exponential with equal jitter: between half and all of min(max, initial * 2^(n-1)) ms, so sidecars retrying together spread out. */
  private backoffMs(consecutiveFailures: number): number {
    const ceiling = Math.min(this.o.maxBackoffMs, this.o.initialBackoffMs * 2 ** Math.min(30, consecutiveFailures - 1));
    return Math.round(ceiling / 2 + (this.o.random() * ceiling) / 2);
  }

  /** Sleeps up to `ms`; a change of the desired label, or stop, ends it early. */
  private sleep(ms: number): Promise<void> {
    if (this.isStopping || this.hasDesiredChanged) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.o.timers.clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      const timer = this.o.timers.setTimeout(done, Math.max(0, ms));
      this.wakeUp = done;
    });
  }
}

function asKubernetesError(err: unknown): KubernetesError {
  if (err instanceof KubernetesError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new KubernetesError(message, 'internal-error', null, { cause: err });
}

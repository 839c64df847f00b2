import { reduce } from './core/reduce.js';
import type { SidecarEvent, SidecarState } from './core/model.js';

export type StoreListener = (next: SidecarState, previous: SidecarState, event: SidecarEvent) => void;

/**
 * Holds the current state. Sources dispatch events; the HTTP layer, metrics and logs read
 * `state` or listen. Listeners run synchronously after each change, in order of subscription.
 * An event dispatched from inside a listener is queued and applied once every listener has seen
 * the change at hand, so each listener sees every change, in order, as (next, previous) pairs
 * that follow one another.
 */
export class Store {
  private current: SidecarState;
  private readonly listeners: StoreListener[] = [];
  private readonly queue: SidecarEvent[] = [];
  private dispatching = false;

  constructor(initial: SidecarState) {
    this.current = initial;
  }

  get state(): SidecarState {
    return this.current;
  }

  dispatch = (event: SidecarEvent): void => {
    this.queue.push(event);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) this.apply(next);
    } finally {
      this.dispatching = false;
      // A listener that threw leaves the rest of the queue unapplied: drop it, as the throw
      // reaches the dispatcher of the first event.
      this.queue.length = 0;
    }
  };

  subscribe(listener: StoreListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  private apply(event: SidecarEvent): void {
    const previous = this.current;
    const next = reduce(previous, event);
    if (next === previous) return;
    this.current = next;
    for (const listener of [...this.listeners]) listener(next, previous, event);
  }
}

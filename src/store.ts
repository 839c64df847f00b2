import { reduce } from './core/reduce.js';
import type { SidecarEvent, SidecarState } from './core/model.js';

export type StoreListener = (next: SidecarState, previous: SidecarState, event: SidecarEvent) => void;

/**
 * Holds the current state. Sources dispatch events; the HTTP layer, metrics and logs read
 * `state` or listen. Listeners run synchronously after each change, in order of subscription.
 */
export class Store {
  private current: SidecarState;
  private readonly listeners: StoreListener[] = [];

  constructor(initial: SidecarState) {
    this.current = initial;
  }

  get state(): SidecarState {
    return this.current;
  }

  dispatch = (event: SidecarEvent): void => {
    const previous = this.current;
    const next = reduce(previous, event);
    if (next === previous) return;
    this.current = next;
    for (const listener of this.listeners) listener(next, previous, event);
  };

  subscribe(listener: StoreListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }
}

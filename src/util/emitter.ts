/**
 * A small typed event emitter that runs in Node and browsers. Listener errors are caught and
 * reported to `error` listeners so one bad listener cannot break the emitter's owner.
 * @module
 */

/** Map of event name to payload type. */
export type EventMap = Record<string, unknown>;

/**
 * What an emitter's event map may be: any object type, so interfaces of known event names
 * need no string index signature (and a misspelt event name does not compile).
 */
export type EventsOf<Events> = { [K in keyof Events]: unknown };

/** Listener of one event. */
export type Listener<T> = (payload: T) => void;

/** Typed event emitter. */
export class Emitter<Events extends EventsOf<Events>> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Adds a listener. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return this;
  }

  /** Adds a listener that runs once. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const wrapper: Listener<Events[K]> = (payload) => {
      this.off(event, wrapper);
      listener(payload);
    };
    return this.on(event, wrapper);
  }

  /** Removes a listener. */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    this.listeners.get(event)?.delete(listener as Listener<never>);
    return this;
  }

  /** Number of listeners of `event`. */
  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  /** Calls the listeners of `event`. Returns true if there were any. */
  protected emit<K extends keyof Events>(event: K, payload: Events[K]): boolean {
    const set = this.listeners.get(event);
    if (set === undefined || set.size === 0) return false;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (error) {
        if (event !== 'error') this.reportListenerError(error);
      }
    }
    return true;
  }

  /** Where a throwing listener is reported; owners route it to their `error` event. */
  protected reportListenerError(_error: unknown): void {}
}

/**
 * The abort signal the library passes between its own layers: what they read of an `AbortSignal`
 * (`aborted`, `reason`, abort listeners), and a small implementation of it for each call. A call's
 * `AbortController` (with its `EventTarget`) cost about an eighth of the client's CPU per call under load;
 * this one is a plain object with an array of listeners. A caller's own `AbortSignal` is accepted wherever
 * a {@link Signal} is, and is followed by the call's signal (see `CallDeadlines`).
 */

/** An abort signal as the library's layers read it; every `AbortSignal` is one. */
export interface Signal {
  /** Whether it has fired. */
  readonly aborted: boolean;
  /** Why it fired (`undefined` until then). */
  readonly reason: unknown;
  /** Calls `listener` once when it fires (listeners added after it fired are never called). */
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  /** Stops calling `listener`. */
  removeEventListener(type: 'abort', listener: () => void): void;
  /** Throws `reason` if it has fired (p-retry reads this). */
  throwIfAborted(): void;
}

/** A signal that one owner fires, once, with {@link LightSignal.abort}. */
export class LightSignal implements Signal {
  #aborted = false;
  #reason: unknown;
  /** At most a few at a time: the request in flight and a wait. */
  #listeners: Array<() => void> | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.#aborted) return;
    if (this.#listeners === undefined) this.#listeners = [listener];
    else this.#listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.#listeners;
    if (listeners === undefined) return;
    const index = listeners.lastIndexOf(listener);
    if (index < 0) return;
    // The common case (one listener, one request): no array made by splice.
    if (listeners.length === 1) this.#listeners = undefined;
    else listeners.splice(index, 1);
  }

  throwIfAborted(): void {
    if (this.#aborted) throw this.#reason;
  }

  /** Fires the signal with `reason` (once: later calls do nothing); each listener is called once. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners === undefined) return;
    for (const listener of listeners) listener();
  }
}

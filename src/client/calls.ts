/**
 * The deadline and abort signal of each call in flight (openPort, acquire, connect...). Calls are kept
 * in a set that close() aborts, instead of each listening on a client-lifetime signal: nothing
 * accumulates over millions of calls.
 */
import { type LicenseError, TimeoutError } from '../errors.js';

/** One call's signal, and the function that must be called when the call ends. */
export interface CallSignal {
  readonly signal: AbortSignal;
  done(): void;
}

/** The calls in flight and their deadlines. */
export class CallDeadlines {
  readonly #calls = new Set<AbortController>();
  readonly #timeout: () => number;
  #closed: LicenseError | undefined;

  /** @param timeout - the operation timeout in ms, read at each call (it can change on a reload). */
  constructor(timeout: () => number) {
    this.#timeout = timeout;
  }

  /**
   * A signal that fires on the caller's signal, at the operation timeout plus `extra` ms (a `wait`), or
   * when {@link CallDeadlines.abortAll} runs. The deadline's reason is this library's `TimeoutError`.
   */
  start(signal: AbortSignal | undefined, extra: number, operation: string): CallSignal {
    const controller = new AbortController();
    const ms = this.#timeout() + extra;
    const onCaller = () => controller.abort(signal?.reason);
    const timer = setTimeout(() => {
      controller.abort(new TimeoutError(`${operation} did not finish within ${ms} ms (operationTimeout).`));
    }, ms);
    this.#calls.add(controller);
    if (this.#closed !== undefined) controller.abort(this.#closed);
    if (signal?.aborted === true) onCaller();
    else signal?.addEventListener('abort', onCaller, { once: true });
    return {
      signal: controller.signal,
      done: () => {
        clearTimeout(timer);
        this.#calls.delete(controller);
        signal?.removeEventListener('abort', onCaller);
      },
    };
  }

  /** Aborts every call in flight, and every call started from now on, with `reason`. */
  abortAll(reason: LicenseError): void {
    this.#closed = reason;
    for (const call of this.#calls) call.abort(reason);
  }
}

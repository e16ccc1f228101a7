/**
 * The deadline and abort signal of each call in flight (openPort, acquire, connect...). Calls are kept
 * in one map that close() aborts, instead of each listening on a client-lifetime signal, and one timer
 * armed for the earliest deadline serves them all: nothing accumulates over millions of calls.
 */
import { type LicenseError, TimeoutError } from '../errors.js';
import { LightSignal, type Signal } from '../signal.js';
import { DeadlineTimer } from '../timing.js';

/** One call's signal, and the function that must be called when the call ends. */
export interface CallSignal {
  readonly signal: Signal;
  done(): void;
}

interface Call {
  /** Epoch ms of the call's deadline. */
  readonly deadline: number;
  readonly ms: number;
  readonly operation: string;
}

/** The calls in flight and their deadlines. */
export class CallDeadlines {
  readonly #calls = new Map<LightSignal, Call>();
  readonly #timeout: () => number;
  #closed: LicenseError | undefined;
  readonly #deadlines = new DeadlineTimer((now) => this.#sweep(now));

  /** @param timeout - the operation timeout in ms, read at each call (it can change on a reload). */
  constructor(timeout: () => number) {
    this.#timeout = timeout;
  }

  /**
   * A signal that fires on the caller's signal, at the operation timeout plus `extra` ms (a `wait`), or
   * when {@link CallDeadlines.abortAll} runs. The deadline's reason is this library's `TimeoutError`.
   */
  start(signal: AbortSignal | undefined, extra: number, operation: string): CallSignal {
    // A plain signal, not an AbortController: one per call is a measurable share of a call's CPU.
    const own = new LightSignal();
    const ms = this.#timeout() + extra;
    const deadline = Date.now() + ms;
    this.#calls.set(own, { deadline, ms, operation });
    this.#deadlines.schedule(deadline);
    if (this.#closed !== undefined) own.abort(this.#closed);
    if (signal === undefined) {
      return {
        signal: own,
        done: () => this.#end(own),
      };
    }
    const onCaller = () => own.abort(signal.reason);
    if (signal.aborted) onCaller();
    else signal.addEventListener('abort', onCaller, { once: true });
    return {
      signal: own,
      done: () => {
        this.#end(own);
        signal.removeEventListener('abort', onCaller);
      },
    };
  }

  #end(own: LightSignal): void {
    this.#calls.delete(own);
    if (this.#calls.size === 0) this.#deadlines.clear();
  }

  /** Aborts every call in flight, and every call started from now on, with `reason`. */
  abortAll(reason: LicenseError): void {
    this.#closed = reason;
    for (const call of this.#calls.keys()) call.abort(reason);
  }

  /** Aborts every call past its deadline; returns the earliest deadline left. */
  #sweep(now: number): number {
    let next = Number.POSITIVE_INFINITY;
    for (const [own, call] of this.#calls) {
      if (call.deadline <= now) {
        if (!own.aborted) {
          own.abort(
            new TimeoutError(`${call.operation} did not finish within ${call.ms} ms (operationTimeout).`),
          );
        }
      } else if (call.deadline < next) {
        next = call.deadline;
      }
    }
    return next;
  }
}

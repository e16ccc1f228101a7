/**
 * The deadline and abort signal of each call in flight (openPort, acquire, connect...). Calls are kept
 * in one table that close() aborts, instead of each listening on a client-lifetime signal, and one timer
 * armed for the earliest deadline serves them all: nothing accumulates over millions of calls.
 */
import { type LicenseError, TimeoutError } from '../errors.js';
import { IdTable } from '../id-table.js';
import { LightSignal, type Signal } from '../signal.js';
import { DeadlineTimer } from '../timing.js';

/** One call's signal, and the function that must be called when the call ends. */
export interface CallSignal {
  readonly signal: Signal;
  done(): void;
}

/**
 * One call in flight: its signal, its deadline and its end, in one object (a call's bookkeeping is a
 * measurable share of its CPU when thousands are in flight).
 */
class Call extends LightSignal implements CallSignal {
  /** Epoch ms of the call's deadline. */
  readonly deadline: number;
  /** The call's number in its {@link CallDeadlines} (1, 2, ...). */
  readonly number: number;
  readonly ms: number;
  readonly operation: string;
  readonly #owner: CallDeadlines;
  /** The caller's own signal, followed by this one. */
  readonly #caller: AbortSignal | undefined;
  readonly #onCaller: (() => void) | undefined;

  constructor(
    owner: CallDeadlines,
    number: number,
    caller: AbortSignal | undefined,
    ms: number,
    operation: string,
  ) {
    super();
    this.#owner = owner;
    this.number = number;
    this.ms = ms;
    this.deadline = Date.now() + ms;
    this.operation = operation;
    this.#caller = caller;
    if (caller === undefined) return;
    this.#onCaller = () => this.abort(caller.reason);
    if (caller.aborted) this.#onCaller();
    else caller.addEventListener('abort', this.#onCaller, { once: true });
  }

  get signal(): Signal {
    return this;
  }

  done(): void {
    this.#owner.end(this);
    if (this.#onCaller !== undefined) this.#caller?.removeEventListener('abort', this.#onCaller);
  }
}

/** The calls in flight and their deadlines. */
export class CallDeadlines {
  /** By number (an {@link IdTable}: a busy `Set` kept ended calls alive into the old generation). */
  readonly #calls = new IdTable<Call>();
  #nextCall = 1;
  readonly #timeout: () => number;
  #closed: LicenseError | undefined;
  readonly #deadlines = new DeadlineTimer((now) => this.#sweep(now));

  readonly #settleReceived: (() => boolean) | undefined;
  /** Whether the sweep due now already let the answers on hand settle first. */
  #settled = false;

  /**
   * @param timeout - the operation timeout in ms, read at each call (it can change on a reload).
   * @param settleReceived - handles the answers received and waiting for their turn; returns whether any
   * were. A call whose answer came before its deadline is then not timed out.
   */
  constructor(timeout: () => number, settleReceived?: () => boolean) {
    this.#timeout = timeout;
    this.#settleReceived = settleReceived;
  }

  /**
   * A signal that fires on the caller's signal, at the operation timeout plus `extra` ms (a `wait`), or
   * when {@link CallDeadlines.abortAll} runs. The deadline's reason is this library's `TimeoutError`.
   */
  start(signal: AbortSignal | undefined, extra: number, operation: string): CallSignal {
    // A plain signal, not an AbortController: one per call is a measurable share of a call's CPU.
    const call = new Call(this, this.#nextCall++, signal, this.#timeout() + extra, operation);
    this.#calls.set(call.number, call);
    this.#deadlines.schedule(call.deadline);
    if (this.#closed !== undefined) call.abort(this.#closed);
    return call;
  }

  /** @internal A call ended (its `done()`). */
  end(call: Call): void {
    this.#calls.delete(call.number);
    if (this.#calls.size === 0) {
      this.#deadlines.clear();
      this.#settled = false;
    }
  }

  /** Aborts every call in flight, and every call started from now on, with `reason`. */
  abortAll(reason: LicenseError): void {
    this.#closed = reason;
    for (const call of this.#calls.values()) call.abort(reason);
  }

  /** Aborts every call past its deadline; returns the earliest deadline left. */
  #sweep(now: number): number {
    if (!this.#settled && this.#settleReceived !== undefined) {
      let due = false;
      for (const call of this.#calls.values()) {
        if (call.deadline <= now && !call.aborted) {
          due = true;
          break;
        }
      }
      // Answers that came in time: their calls end (done()) once their continuations ran; look again then.
      if (due && this.#settleReceived()) {
        this.#settled = true;
        return now;
      }
    }
    this.#settled = false;
    let next = Number.POSITIVE_INFINITY;
    for (const call of this.#calls.values()) {
      if (call.deadline <= now) {
        if (!call.aborted) {
          call.abort(
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

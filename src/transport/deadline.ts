/**
 * A deadline around one network step (the greeting, a doctor probe...), so that a peer that never
 * answers costs a bounded time, never a hang.
 */
import { abortError, type LicenseError, TimeoutError } from '../errors.js';

/**
 * The longest delay `setTimeout` takes (2^31-1 ms, about 24.8 days). A longer one fires after 1 ms with a
 * `TimeoutOverflowWarning`, so longer deadlines are reached in steps of at most this.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Marks the errors {@link withDeadline} makes, so a step can tell its own timeout from other failures. */
export class StepTimeoutError extends TimeoutError {
  static override readonly kind: string = 'StepTimeoutError';
}

/**
 * Settles like `promise`, or rejects with a {@link StepTimeoutError} after `ms`, or with the abort error
 * when `signal` fires. `onGiveUp` runs when the deadline or the abort wins, to destroy what is in flight.
 */
export function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  options: {
    what: string;
    signal?: AbortSignal | undefined;
    onGiveUp?: () => void;
    /** The error at the deadline; a {@link StepTimeoutError} naming `what` by default. */
    onTimeout?: () => LicenseError;
  },
): Promise<T> {
  const { signal, what } = options;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const giveUp = (err: LicenseError) => {
      if (!finish()) return;
      options.onGiveUp?.();
      reject(err);
    };
    const onAbort = () => giveUp(abortError(signal as AbortSignal, what));
    const timer = setTimeout(
      () => giveUp(options.onTimeout?.() ?? new StepTimeoutError(`${what} did not finish within ${ms} ms.`)),
      ms,
    );
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        if (finish()) resolve(value);
      },
      (err: unknown) => {
        if (finish()) reject(err);
      },
    );
  });
}

/**
 * One timer for many deadlines (a connection's requests, a client's calls): it is armed for the
 * earliest one, and when it fires `onDue(now)` handles what is due and returns the next deadline
 * (`Infinity` for none). A timer per deadline costs more than the request it guards when thousands are
 * pipelined.
 */
export class DeadlineTimer {
  readonly #onDue: (now: number) => number;
  #timer: NodeJS.Timeout | undefined;
  #at = Number.POSITIVE_INFINITY;

  constructor(onDue: (now: number) => number) {
    this.#onDue = onDue;
  }

  /** Makes sure the timer fires by `at` (epoch ms); a deadline beyond {@link MAX_TIMER_MS} is re-armed in steps. */
  schedule(at: number): void {
    if (at >= this.#at) return;
    clearTimeout(this.#timer);
    this.#at = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#at = Number.POSITIVE_INFINITY;
        const next = this.#onDue(Date.now());
        if (next < Number.POSITIVE_INFINITY) this.schedule(next);
      },
      Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())),
    );
  }

  /** Stops the timer (nothing is waiting any more). */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = Number.POSITIVE_INFINITY;
  }
}

/**
 * A deadline around one network step (the greeting, a doctor probe...), so that a peer that never
 * answers costs a bounded time, never a hang.
 */
import { abortError, type LicenseError, TimeoutError } from '../errors.js';

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

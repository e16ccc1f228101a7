/**
 * Time, in one place: the longest timer Node.js can hold, cancellable sleeps, deadlines around a step, one
 * timer for many deadlines, the backoff policy, and abort-signal plumbing. Every layer takes its timers
 * from here, so a rule about time (a clamp, an `unref`) is written once.
 */
import * as nodeTimers from 'node:timers';
import { abortError, type LicenseError, TimeoutError } from './errors.js';
import type { Signal } from './signal.js';

/**
 * Runs `callback` at the end of this turn of the event loop (after its I/O callbacks): Node's
 * `setImmediate` as it was when this module loaded. Test frameworks' fake timers replace the global one
 * (vitest's `useFakeTimers()`) and the `node:timers` module's own (node:test's `mock.timers`), and the work
 * scheduled here (the requests of a turn sent together, a share of answers handled per turn) must go on
 * without a test advancing its clock. Held in a constant because the CommonJS build would otherwise read
 * `timers.setImmediate` at each call, and get the fake.
 */
export const atEndOfTurn: (callback: () => void) => void = nodeTimers.setImmediate;

/**
 * The longest delay `setTimeout` takes (2^31-1 ms, about 24.8 days). A longer one fires after 1 ms with a
 * `TimeoutOverflowWarning`, so longer deadlines are reached in steps of at most this.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay that `setTimeout` can hold: at least 0, at most {@link MAX_TIMER_MS}. */
export function timerDelay(ms: number): number {
  return Math.min(MAX_TIMER_MS, Math.max(0, ms));
}

/**
 * Calls `listener` once when `signal` aborts, and returns the function that stops listening. Nothing
 * happens for no signal. (A signal that has already aborted is the caller's to check.)
 */
export function onAbort(signal: Signal | undefined, listener: () => void): () => void {
  if (signal === undefined) return () => {};
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}

/**
 * Resolves after `ms` (at once for 0), or rejects with the signal's reason when `signal` aborts. The timer
 * never keeps the process alive by itself (it is `unref`'d: the caller awaiting it has its own deadline).
 */
export function delay(ms: number, signal: Signal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const stop = onAbort(signal, () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
    const timer = setTimeout(() => {
      stop();
      resolve();
    }, timerDelay(ms));
    timer.unref();
  });
}

/**
 * Settles like `promise`, or rejects with the abort error of `signal` (made by `onAbort`) when it fires
 * first. The promise itself goes on; only this wait for it ends.
 */
export function raceAbort<T>(
  promise: Promise<T>,
  signal: Signal | undefined,
  abortErrorOf: (signal: Signal) => unknown,
): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(abortErrorOf(signal));
  return new Promise<T>((resolve, reject) => {
    const stop = onAbort(signal, () => reject(abortErrorOf(signal)));
    promise.then(
      (value) => {
        stop();
        resolve(value);
      },
      (err: unknown) => {
        stop();
        reject(err);
      },
    );
  });
}

/** Marks the errors {@link withDeadline} makes, so a step can tell its own timeout from other failures. */
export class StepTimeoutError extends TimeoutError {
  static override readonly kind: string = 'StepTimeoutError';
}

/**
 * Settles like `promise`, or rejects with a {@link StepTimeoutError} after `ms`, or with the abort error
 * when `signal` fires. `onGiveUp` runs when the deadline or the abort wins, to destroy what is in flight.
 * A deadline around one network step (the greeting, a doctor probe...), so that a peer that never answers
 * costs a bounded time, never a hang.
 */
export function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  options: {
    what: string;
    signal?: Signal | undefined;
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
      stop();
      return true;
    };
    const giveUp = (err: LicenseError) => {
      if (!finish()) return;
      options.onGiveUp?.();
      reject(err);
    };
    const stop = onAbort(signal, () => giveUp(abortError(signal as Signal, what)));
    const timer = setTimeout(
      () => giveUp(options.onTimeout?.() ?? new StepTimeoutError(`${what} did not finish within ${ms} ms.`)),
      timerDelay(ms),
    );
    if (signal?.aborted) {
      giveUp(abortError(signal, what));
      return;
    }
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
 * pipelined. A deadline beyond {@link MAX_TIMER_MS} is reached in steps.
 */
export class DeadlineTimer {
  readonly #onDue: (now: number) => number;
  #timer: NodeJS.Timeout | undefined;
  #at = Number.POSITIVE_INFINITY;

  constructor(onDue: (now: number) => number) {
    this.#onDue = onDue;
  }

  /** Makes sure the timer fires by `at` (epoch ms). */
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
      timerDelay(at - Date.now()),
    );
  }

  /** Stops the timer (nothing is waiting any more). */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = Number.POSITIVE_INFINITY;
  }
}

/** Bounds of an exponential backoff, in ms. */
export interface Backoff {
  readonly min: number;
  readonly max: number;
}

/**
 * The one backoff policy, as p-retry applies it (factor 2, `randomize`): the wait before retry `attempt`
 * (1-based) is `min · 2^(attempt-1)` times a random factor in [1, 2), at most `max`, so that many clients do
 * not retry in lock step. For the waits that p-retry does not make itself (the first one of a loop).
 */
export function retryDelay(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const base = backoff.min * 2 ** (Math.max(1, Math.min(attempt, 64)) - 1);
  return Math.min(backoff.max, Math.round((1 + random()) * base));
}

/**
 * The p-retry options of a retry loop with `backoff` that never gives up by itself (its signal ends it);
 * its waits follow {@link retryDelay}.
 */
export function retryForever(backoff: Backoff, signal: Signal) {
  return {
    retries: Number.POSITIVE_INFINITY,
    minTimeout: backoff.min,
    maxTimeout: backoff.max,
    factor: 2,
    randomize: true,
    unref: true,
    // p-retry reads only what a Signal has (aborted, reason, throwIfAborted, abort listeners).
    signal: signal as AbortSignal,
  } as const;
}

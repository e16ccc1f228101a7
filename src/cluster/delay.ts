/**
 * A cancellable sleep for retry loops.
 */

/**
 * Resolves after `ms` (at once for 0), or rejects with the signal's reason when `signal` aborts. The timer
 * never keeps the process alive by itself (it is `unref`'d: the caller awaiting it has its own deadline).
 */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    timer.unref();
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

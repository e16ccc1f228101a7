/**
 * Sends licenses kept in the license cache back to their server when their period is over: one timer for
 * the whole cache, armed for the entry due first.
 */
import type { CachedLicense, LicenseCache } from '../leases/license-cache.js';
import { timerDelay } from '../timing.js';

/** The timer that empties a {@link LicenseCache} of what is due. */
export class CacheReturns {
  readonly #cache: LicenseCache;
  readonly #giveBack: (due: readonly CachedLicense[]) => void;
  #timer: NodeJS.Timeout | undefined;

  /** @param giveBack - called with the entries whose period is over (already out of the cache). */
  constructor(cache: LicenseCache, giveBack: (due: readonly CachedLicense[]) => void) {
    this.#cache = cache;
    this.#giveBack = giveBack;
  }

  /** Arms the timer for the entry due first (after a license was cached). */
  arm(): void {
    clearTimeout(this.#timer);
    const next = this.#cache.nextExpiry();
    if (next === undefined) return;
    this.#timer = setTimeout(
      () => {
        const due = this.#cache.expired();
        if (due.length > 0) this.#giveBack(due);
        this.arm();
      },
      timerDelay(next - Date.now()) + 1,
    );
    this.#timer.unref();
  }

  /** Stops the timer (the client is closing). */
  stop(): void {
    clearTimeout(this.#timer);
  }
}

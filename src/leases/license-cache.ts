/**
 * The license cache of `LICENSE_CACHE_PERIOD`: a license whose port closed is kept (still held and
 * renewed at its server) for the period, and handed to the next port that asks for the same type with
 * no round trip; unused past the period, it goes back to the server. Pure: the clock is injected.
 */

/** One cached license. */
export interface CachedLicense {
  readonly leaseId: string;
  readonly feature: string;
  /** Epoch ms after which it goes back to the server. */
  readonly expiresAt: number;
}

/** Licenses of closed ports, waiting for the next port. */
export class LicenseCache {
  readonly #now: () => number;
  #periodMs: number;
  readonly #entries: CachedLicense[] = [];

  /** @param periodMs - how long a license stays cached; 0 turns the cache off. */
  constructor(periodMs: number, now: () => number) {
    this.#periodMs = periodMs;
    this.#now = now;
  }

  /** Whether licenses are cached at all. */
  get enabled(): boolean {
    return this.#periodMs > 0;
  }

  /** Changes the period for licenses cached from now on (a configuration reload). */
  setPeriod(periodMs: number): void {
    this.#periodMs = periodMs;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Caches a license; returns false (and caches nothing) when the cache is off. */
  put(leaseId: string, feature: string): boolean {
    if (!this.enabled) return false;
    const now = this.#now();
    this.#entries.push({ leaseId, feature, expiresAt: now + this.#periodMs });
    return true;
  }

  /**
   * Takes a cached license of the first of `features` that has one (so `['FULL', 'LITE']` prefers FULL),
   * the oldest first: it is the nearest to going back to the server. Expired entries, and those `usable`
   * refuses (a lease whose server is being reconnected), are not handed out and stay cached.
   */
  take(
    features: readonly string[],
    usable: (leaseId: string) => boolean = () => true,
  ): CachedLicense | undefined {
    const now = this.#now();
    for (const feature of features) {
      const index = this.#entries.findIndex(
        (e) => e.feature === feature && e.expiresAt > now && usable(e.leaseId),
      );
      if (index >= 0) return this.#entries.splice(index, 1)[0];
    }
    return undefined;
  }

  /** Removes a license from the cache (its lease was lost); returns whether it was there. */
  remove(leaseId: string): boolean {
    // Every release asks; nearly always nothing is cached (no closure made for nothing).
    if (this.#entries.length === 0) return false;
    const index = this.#entries.findIndex((e) => e.leaseId === leaseId);
    if (index >= 0) this.#entries.splice(index, 1);
    return index >= 0;
  }

  /** Removes and returns the licenses whose period is over. */
  expired(): CachedLicense[] {
    const now = this.#now();
    const due = this.#entries.filter((e) => e.expiresAt <= now);
    for (const entry of due) this.remove(entry.leaseId);
    return due;
  }

  /** Removes and returns everything (the client is closing). */
  drain(): CachedLicense[] {
    return this.#entries.splice(0);
  }

  /** When the next cached license is due to go back, if any. */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const entry of this.#entries)
      if (next === undefined || entry.expiresAt < next) next = entry.expiresAt;
    return next;
  }

  /** A copy of the entries, oldest first. */
  entries(): CachedLicense[] {
    return [...this.#entries];
  }
}

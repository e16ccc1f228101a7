/**
 * Limits that keep a hostile or broken client from hurting the others: failed authentications per
 * remote address within a window. (Per-connection limits live in the session.)
 */

/** Counts failed authentications per remote address over a sliding window. */
export class AuthFailureGuard {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #failures = new Map<string, number[]>();

  constructor(options: { limit: number; windowMs: number; now?: () => number }) {
    this.#limit = options.limit;
    this.#windowMs = options.windowMs;
    this.#now = options.now ?? Date.now;
  }

  /** Records one failure from `address`. */
  record(address: string): void {
    const list = this.#recent(address);
    list.push(this.#now());
    this.#failures.set(address, list);
  }

  /** Whether `address` has used up its failures for now. */
  blocked(address: string): boolean {
    return this.#recent(address).length >= this.#limit;
  }

  /** Forgets everything (a server restart). */
  clear(): void {
    this.#failures.clear();
  }

  #recent(address: string): number[] {
    const since = this.#now() - this.#windowMs;
    const list = (this.#failures.get(address) ?? []).filter((t) => t > since);
    if (list.length === 0) this.#failures.delete(address);
    else this.#failures.set(address, list);
    return list;
  }
}

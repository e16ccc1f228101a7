/**
 * A MemoryStore behind a random delay before and after each call (0 to 3 ms each way), so that calls made
 * one after the other can complete in another order, as on a database; it checks after every call that no
 * pool is past its total, and can be made unreachable (`down`).
 */
import {
  type AcquireRequest,
  type LicenseStore,
  MemoryStore,
  StoreUnavailableError,
} from '../../src/server/index.js';
export class SlowStore implements LicenseStore {
  readonly inner: MemoryStore;
  readonly overbooked: string[] = [];
  calls = 0;
  /** While set, every call fails as a store that cannot be reached does. */
  down = false;

  constructor(leaseTtl = 30_000) {
    this.inner = new MemoryStore({ leaseTtl });
  }

  get leaseTtl(): number {
    return this.inner.leaseTtl;
  }

  async #slow<T>(call: () => Promise<T>): Promise<T> {
    this.calls += 1;
    await pause();
    if (this.down) throw new StoreUnavailableError('the database refused the connection');
    const value = await call();
    for (const pool of this.inner.countsNow()) {
      if (pool.inUse > pool.total) this.overbooked.push(`${pool.feature} ${pool.inUse}/${pool.total}`);
    }
    await pause();
    return value;
  }

  setTotal(account: string, feature: string, total: number) {
    return this.#slow(() => this.inner.setTotal(account, feature, total));
  }
  acquire(request: AcquireRequest) {
    return this.#slow(() => this.inner.acquire(request));
  }
  cancel(account: string, id: string) {
    return this.#slow(() => this.inner.cancel(account, id));
  }
  renew(account: string, ids: readonly string[], owner: number) {
    return this.#slow(() => this.inner.renew(account, ids, owner));
  }
  release(account: string, ids: readonly string[]) {
    return this.#slow(() => this.inner.release(account, ids));
  }
  revoke(account: string, ids?: readonly string[]) {
    return this.#slow(() => this.inner.revoke(account, ids));
  }
  revokeAll() {
    return this.#slow(() => this.inner.revokeAll());
  }
  expire() {
    return this.#slow(() => this.inner.expire());
  }
  drain() {
    return this.#slow(() => this.inner.drain());
  }
  dropOwner(owner: number) {
    return this.#slow(() => this.inner.dropOwner(owner));
  }
  counts(account?: string) {
    return this.#slow(() => this.inner.counts(account));
  }
  leases() {
    return this.#slow(() => this.inner.leases());
  }
  waiters() {
    return this.#slow(() => this.inner.waiters());
  }
  nextDeadline() {
    return this.#slow(() => this.inner.nextDeadline());
  }
  close() {
    return this.inner.close();
  }
}
function pause(): Promise<void> {
  const ms = Math.floor(Math.random() * 4);
  return new Promise((resolve) => (ms === 0 ? setImmediate(resolve) : setTimeout(resolve, ms)));
}

/**
 * MemoryStore: the embedded {@link LicenseStore}, the pools of one server process in its own memory
 * ({@link LicensePools}). What it holds is lost when the process ends; clients reclaim their leases by id
 * from whichever server they reach next.
 */
import type { PoolStatus } from './options.js';
import type {
  AcquireOutcome,
  AcquireRequest,
  DrainResult,
  ExpireResult,
  LeaseRecord,
  Waiter,
} from './pool-types.js';
import { LicensePools } from './pools.js';
import {
  kAnswersNow,
  type LeaseFilter,
  type LicenseStore,
  type ReleaseResult,
  type RenewResult,
  type StoreNow,
} from './store.js';

/** Options of a {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** How long (ms) a lease lives without a renewal. @defaultValue 30000 */
  readonly leaseTtl?: number;
  /** The clock (epoch ms); tests inject a fake one. @defaultValue Date.now */
  readonly now?: () => number;
}

/**
 * The in-memory {@link LicenseStore}: what `LicenseServer` uses unless given another store. Each call
 * completes before it returns its promise, so calls take effect in the order they are made.
 *
 * @example
 * ```ts
 * const store = new MemoryStore({ leaseTtl: 30_000 });
 * await store.setTotal('alice', 'FULL', 2);
 * await store.acquire({ account: 'alice', id: 'p1', feature: 'FULL', count: 1, owner: 1, requestId: 1 });
 * // { kind: 'granted', lease: { id: 'p1', ... }, reclaimed: false }
 * ```
 */
export class MemoryStore implements LicenseStore {
  readonly #pools: LicensePools;

  /** @throws RangeError when `leaseTtl` is not a positive number. */
  constructor(options: MemoryStoreOptions = {}) {
    this.#pools = new LicensePools({ now: options.now ?? Date.now, leaseTtl: options.leaseTtl ?? 30_000 });
  }

  get leaseTtl(): number {
    return this.#pools.leaseTtl;
  }

  setTotal(account: string, feature: string, total: number): Promise<LeaseRecord[]> {
    return settle(() => this.#pools.setTotal(account, feature, total));
  }

  acquire(request: AcquireRequest): Promise<AcquireOutcome> {
    return settle(() => this.#pools.acquire(request));
  }

  cancel(account: string, id: string): Promise<Waiter | undefined> {
    return settle(() => this.#pools.cancel(account, id));
  }

  renew(account: string, ids: readonly string[], owner: number): Promise<RenewResult> {
    return settle(() => this.#pools.renew(account, ids, owner));
  }

  release(account: string, ids: readonly string[]): Promise<ReleaseResult> {
    return settle(() => this.#pools.release(account, ids));
  }

  revoke(account: string, ids?: readonly string[]): Promise<LeaseRecord[]> {
    return settle(() => {
      const wanted = ids === undefined ? undefined : new Set(ids);
      const taken = this.#pools
        .leases()
        .filter((lease) => lease.account === account && (wanted === undefined || wanted.has(lease.id)));
      return this.#pools.release(
        account,
        taken.map((lease) => lease.id),
      ).leases;
    });
  }

  revokeAll(): Promise<LeaseRecord[]> {
    return settle(() => this.#pools.revokeAll());
  }

  expire(): Promise<ExpireResult> {
    return settle(() => this.#pools.expire());
  }

  drain(): Promise<DrainResult> {
    return settle(() => this.#pools.drain());
  }

  dropOwner(owner: number): Promise<Waiter[]> {
    return settle(() => this.#pools.dropOwner(owner));
  }

  counts(account?: string): Promise<PoolStatus[]> {
    return settle(() => this.countsNow(account));
  }

  leases(filter: LeaseFilter = {}): Promise<LeaseRecord[]> {
    return settle(() => this.leasesNow(filter));
  }

  waiters(): Promise<Waiter[]> {
    return settle(() => this.#pools.waiters());
  }

  nextDeadline(): Promise<number | undefined> {
    return settle(() => this.#pools.nextDeadline());
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * @internal What the server asks of this store without a promise: a MemoryStore decides at once. Only a
   * MemoryStore as such has it: a subclass may do more in its methods, so the server goes through them.
   */
  get [kAnswersNow](): StoreNow | undefined {
    if (Object.getPrototypeOf(this) !== MemoryStore.prototype) return undefined;
    const pools = this.#pools;
    return {
      acquire: (request) => pools.acquire(request),
      release: (account, ids) => pools.release(account, ids),
      waiting: () => pools.waiting,
    };
  }

  /** {@link MemoryStore.counts} without a promise (what FakeLicenseServer reads). */
  countsNow(account?: string): PoolStatus[] {
    const pools = this.#pools;
    const accounts = account === undefined ? pools.accounts() : [account];
    return accounts.flatMap((name) =>
      pools.features(name).map((feature) =>
        Object.freeze({
          account: name,
          feature,
          total: pools.total(name, feature) ?? 0,
          inUse: pools.inUse(name, feature),
          queued: pools.queued(name, feature),
        }),
      ),
    );
  }

  /** Seats in use, without a promise: of one feature or all, of one account or all. */
  inUseNow(account?: string, feature?: string): number {
    return this.#pools.inUse(account, feature);
  }

  /** {@link MemoryStore.leases} without a promise. */
  leasesNow(filter: LeaseFilter = {}): LeaseRecord[] {
    const { account, feature } = filter;
    return this.#pools
      .leases()
      .filter(
        (lease) =>
          (account === undefined || lease.account === account) &&
          (feature === undefined || lease.feature === feature),
      );
  }
}

/** Runs `work` now and hands its result (or what it threw) over as a promise. */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (err) {
    return Promise.reject(err);
  }
}

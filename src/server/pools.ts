/**
 * The fake server's license bookkeeping: one pool of seats per account and feature, the leases held from it,
 * and a FIFO queue of waiters per pool. Pure logic with an injected clock: no sockets, no timers. The server
 * owns the one timer ({@link LicensePools.nextDeadline}) and the pushes ({@link LicensePools.drain}).
 */
import { type Book, EMPTY_BOOK, HeldLease, newBook, type QueueEntry } from './pool-books.js';
import type {
  AcquireOutcome,
  AcquireRequest,
  DrainResult,
  ExpireResult,
  LeaseRecord,
  LicensePoolsOptions,
  Waiter,
} from './pool-types.js';

/** The account name the unauthenticated mode books every lease under. */
export const ANONYMOUS_ACCOUNT = '';

function describeAccount(account: string): string {
  return account === ANONYMOUS_ACCOUNT ? 'the anonymous pool' : `account ${JSON.stringify(account)}`;
}

/**
 * The license pools of one fake server.
 *
 * Rules it keeps: a pool never grants past its total; a lease id is unique per account (two accounts may use
 * the same id); a re-sent acquire for a held id returns the same lease (`reclaimed: true`), also from another
 * connection, and never takes a second seat; a re-sent acquire for a waiting id keeps its place in the queue;
 * each pool's queue is strict FIFO (a head that does not fit blocks those behind it, and a new request never
 * overtakes a waiter). Time only moves through the injected clock: call {@link LicensePools.expire} when
 * {@link LicensePools.nextDeadline} comes, and {@link LicensePools.drain} after anything that frees seats or
 * removes waiters (release, expire, setTotal, cancel, dropOwner).
 *
 * @example
 * ```ts
 * const pools = new LicensePools({ now: () => clock, leaseTtl: 30_000 });
 * pools.setTotal('alice', 'FULL', 2);
 * pools.acquire({ account: 'alice', id: 'p1', feature: 'FULL', count: 1, owner: 7, requestId: 1 });
 * // { kind: 'granted', lease: { id: 'p1', ... }, reclaimed: false }
 * ```
 */
export class LicensePools {
  readonly #now: () => number;
  readonly #leaseTtl: number;
  /** account -> its books, made by its first total; in the order accounts got one. */
  readonly #books = new Map<string, Book>();
  /** Requests waiting, in every queue (the sum of the books' `waiting` sizes). */
  #waitingCount = 0;
  /** Leases granted so far: the next one's place in the grant order. */
  #granted = 0;

  /** @throws RangeError when `leaseTtl` is not a positive number. */
  constructor(options: LicensePoolsOptions) {
    if (!(Number.isFinite(options.leaseTtl) && options.leaseTtl > 0)) {
      throw new RangeError(`leaseTtl must be a positive number of milliseconds, not ${options.leaseTtl}.`);
    }
    this.#now = options.now;
    this.#leaseTtl = options.leaseTtl;
  }

  /** How long (ms) a lease lives without a renewal. */
  get leaseTtl(): number {
    return this.#leaseTtl;
  }

  /**
   * Sets how many seats of `feature` the account has. When the new total is below the seats in use, the
   * most recently granted leases are revoked until the rest fit, and returned. A bigger total may let queued
   * waiters in: call {@link LicensePools.drain}.
   *
   * @throws RangeError when `total` is not a whole number, 0 or more.
   */
  setTotal(account: string, feature: string, total: number): LeaseRecord[] {
    if (!Number.isSafeInteger(total) || total < 0) {
      throw new RangeError(`The total of ${feature} must be a whole number, 0 or more, not ${total}.`);
    }
    let book = this.#books.get(account);
    if (book === undefined) {
      book = newBook();
      this.#books.set(account, book);
    }
    book.totals.set(feature, total);
    const revoked: LeaseRecord[] = [];
    if ((book.used.get(feature) ?? 0) <= total) return revoked;
    const newestFirst = [...book.leases.values()].filter((lease) => lease.feature === feature).reverse();
    for (const lease of newestFirst) {
      if ((book.used.get(feature) ?? 0) <= total) break;
      this.#removeLease(book, lease);
      revoked.push({ ...lease });
    }
    return revoked;
  }

  /** The account's total seats of `feature`, or `undefined` when it has no such license type. */
  total(account: string, feature: string): number | undefined {
    return this.#books.get(account)?.totals.get(feature);
  }

  /** The accounts that have a total for some license type, sorted. */
  accounts(): string[] {
    return [...this.#books.keys()].sort();
  }

  /** The license types the account has a total for, sorted. */
  features(account: string): string[] {
    return [...(this.#books.get(account)?.totals.keys() ?? [])].sort();
  }

  /**
   * Seats in use (the sum of lease counts): of one account and feature, of every feature of one account,
   * or (with `account` undefined) of every account, optionally only of `feature`.
   */
  inUse(account?: string, feature?: string): number {
    if (account !== undefined && feature !== undefined) {
      return this.#books.get(account)?.used.get(feature) ?? 0;
    }
    let sum = 0;
    for (const [name, book] of this.#books) {
      if (account !== undefined && name !== account) continue;
      for (const [type, used] of book.used) if (feature === undefined || type === feature) sum += used;
    }
    return sum;
  }

  /** How many requests wait, in every queue. */
  get waiting(): number {
    return this.#waitingCount;
  }

  /** How many requests wait for the account's `feature`. */
  queued(account: string, feature: string): number {
    return this.#books.get(account)?.queues.get(feature)?.length ?? 0;
  }

  /**
   * Grants, queues or refuses an acquire. See {@link AcquireOutcome}.
   *
   * A re-sent acquire for an id that is waiting keeps its place and takes the new owner and request id, and a
   * new deadline when it asks to wait (otherwise the old deadline stays). The earlier waiter comes back as
   * `replaced`, whatever the outcome, whenever it no longer waits as it did: its request must be answered.
   */
  acquire(req: AcquireRequest): AcquireOutcome {
    const book = this.#books.get(req.account);
    // No books: no seats of any type at all.
    if (book === undefined) return this.#acquire(req, EMPTY_BOOK);
    const before = book.waiting.get(req.id)?.waiter;
    const outcome = this.#acquire(req, book);
    if (before === undefined || book.waiting.get(req.id)?.waiter === before) return outcome;
    return { ...outcome, replaced: { ...before } };
  }

  /** {@link Pools.acquire} in the account's `book` (`EMPTY_BOOK` for an account without one). */
  #acquire(req: AcquireRequest, book: Book): AcquireOutcome {
    const { account, id, feature, count, owner, requestId } = req;
    if (!Number.isSafeInteger(count) || count < 1) {
      return conflict(`An acquire must ask for a whole number of seats, at least 1, not ${count}.`);
    }
    const now = this.#now();
    const wait = req.wait !== undefined && req.wait > 0 ? req.wait : 0;
    const held = book.leases.get(id);
    if (held !== undefined) {
      if (held.feature !== feature || held.count !== count) {
        return conflict(
          `Lease id ${JSON.stringify(id)} of ${describeAccount(account)} is already held for ${held.count} ${held.feature} seat(s); it cannot be acquired again for ${count} ${feature}. Use a new lease id.`,
        );
      }
      held.expiresAt = now + this.#leaseTtl;
      held.owner = owner;
      return { kind: 'granted', lease: { ...held }, reclaimed: true };
    }
    const pending = book.waiting.get(id);
    if (pending !== undefined) {
      const waiter = pending.waiter;
      if (waiter.feature !== feature || waiter.count !== count) {
        return conflict(
          `Lease id ${JSON.stringify(id)} of ${describeAccount(account)} is already waiting for ${waiter.count} ${waiter.feature} seat(s); it cannot wait for ${count} ${feature} too. Use a new lease id.`,
        );
      }
      if (!this.#canEverFit(waiter)) {
        // Its pool shrank below it since it queued: it leaves, and is answered as a new request would be.
        this.#removeWaiter(book, pending);
      } else {
        pending.waiter = { ...waiter, owner, requestId, deadline: wait > 0 ? now + wait : waiter.deadline };
        pending.reported = (book.queues.get(feature)?.indexOf(pending) ?? -1) + 1;
        return { kind: 'queued', position: pending.reported };
      }
    }
    const total = book.totals.get(feature);
    // No seats of this type at all, absent or a pool of 0: "not licensed", not "busy".
    if (total === undefined || total === 0) return { kind: 'unknown-feature' };
    if (count > total) {
      return conflict(
        `${count} ${feature} seat(s) were asked for, but ${describeAccount(account)} has only ${total} in all, so this can never be granted.`,
      );
    }
    const queue = book.queues.get(feature);
    const inUse = book.used.get(feature) ?? 0;
    if (queue === undefined && inUse + count <= total) {
      return {
        kind: 'granted',
        lease: { ...this.#grant(book, account, id, feature, count, owner, now) },
        reclaimed: false,
      };
    }
    if (wait === 0) return { kind: 'exhausted', total, inUse };
    const entry: QueueEntry = {
      waiter: { id, account, feature, count, owner, deadline: now + wait, requestId },
      reported: (queue?.length ?? 0) + 1,
    };
    if (queue === undefined) book.queues.set(feature, [entry]);
    else queue.push(entry);
    book.waiting.set(id, entry);
    this.#waitingCount += 1;
    return { kind: 'queued', position: entry.reported };
  }

  /** Takes a waiting request out of its queue; returns it, or `undefined` when the id was not waiting. */
  cancel(account: string, id: string): Waiter | undefined {
    const book = this.#books.get(account);
    const entry = book?.waiting.get(id);
    if (book === undefined || entry === undefined) return undefined;
    this.#removeWaiter(book, entry);
    return { ...entry.waiter };
  }

  /** Extends each held lease to now + leaseTtl and makes `owner` its owner; ids not held are `unknown`. */
  renew(account: string, ids: readonly string[], owner: number): { renewed: string[]; unknown: string[] } {
    const renewed: string[] = [];
    const unknown: string[] = [];
    const expiresAt = this.#now() + this.#leaseTtl;
    const book = this.#books.get(account);
    for (const id of new Set(ids)) {
      const lease = book?.leases.get(id);
      if (lease === undefined) {
        unknown.push(id);
        continue;
      }
      lease.expiresAt = expiresAt;
      lease.owner = owner;
      renewed.push(id);
    }
    return { renewed, unknown };
  }

  /** Frees the seats of each held lease; ids not held (waiting ones included) are `unknown`. */
  release(
    account: string,
    ids: readonly string[],
  ): { released: string[]; unknown: string[]; leases: LeaseRecord[] } {
    const released: string[] = [];
    const unknown: string[] = [];
    const leases: LeaseRecord[] = [];
    const book = this.#books.get(account);
    // One id (the common case) needs no set to drop its repeats.
    for (const id of ids.length === 1 ? ids : new Set(ids)) {
      const lease = book?.leases.get(id);
      if (book === undefined || lease === undefined) {
        unknown.push(id);
        continue;
      }
      this.#removeLease(book, lease);
      released.push(id);
      // A plain copy: the books' own object is a HeldLease, which callers (MemoryStore's) should not see.
      leases.push({ ...lease });
    }
    return { released, unknown, leases };
  }

  /** Removes leases whose `expiresAt` is at or before now, and waiters whose deadline is. */
  expire(): ExpireResult {
    const now = this.#now();
    const expired: LeaseRecord[] = [];
    const timedOut: Waiter[] = [];
    // In grant order, as the lists are, whatever account each is of.
    for (const lease of this.#allLeases()) {
      if (lease.expiresAt > now) continue;
      this.#removeLease(this.#books.get(lease.account) as Book, lease);
      expired.push({ ...lease });
    }
    for (const book of this.#books.values()) {
      for (const queue of [...book.queues.values()]) {
        for (const entry of [...queue]) {
          if (entry.waiter.deadline > now) continue;
          this.#removeWaiter(book, entry);
          timedOut.push({ ...entry.waiter });
        }
      }
    }
    return { expired, timedOut };
  }

  /**
   * Takes out the waiters whose pool shrank below what they ask for, grants every queue head that now fits,
   * in FIFO order per pool (a head that does not fit blocks those behind it), and reports the new 1-based
   * position of every waiter whose position changed since it was last told one.
   */
  drain(): DrainResult {
    const result: DrainResult = { granted: [], positions: [], refused: [] };
    const now = this.#now();
    for (const book of this.#books.values()) {
      for (const [feature, queue] of [...book.queues]) {
        const total = book.totals.get(feature) ?? 0;
        for (const entry of queue.filter((e) => e.waiter.count > total)) {
          this.#removeWaiter(book, entry);
          result.refused.push({ waiter: { ...entry.waiter }, total: book.totals.get(feature) });
        }
        for (let head = queue[0]; head !== undefined; head = queue[0]) {
          const { account, id, count, owner } = head.waiter;
          if ((book.used.get(feature) ?? 0) + count > total) break;
          this.#removeWaiter(book, head);
          const lease = this.#grant(book, account, id, feature, count, owner, now);
          result.granted.push({ waiter: { ...head.waiter }, lease: { ...lease } });
        }
        queue.forEach((entry, index) => {
          if (entry.reported === index + 1) return;
          entry.reported = index + 1;
          result.positions.push({ waiter: { ...entry.waiter }, position: index + 1 });
        });
      }
    }
    return result;
  }

  /**
   * A connection closed: its waiters leave their queues and are returned. Its leases stay until their TTL,
   * so a reconnecting client can reclaim them by id.
   */
  dropOwner(owner: number): Waiter[] {
    const dropped: Waiter[] = [];
    for (const book of this.#books.values()) {
      for (const queue of [...book.queues.values()]) {
        for (const entry of [...queue]) {
          if (entry.waiter.owner !== owner) continue;
          this.#removeWaiter(book, entry);
          dropped.push({ ...entry.waiter });
        }
      }
    }
    return dropped;
  }

  /** Takes every lease away (the server is draining) and returns them, in grant order. */
  revokeAll(): LeaseRecord[] {
    const all = this.#allLeases();
    for (const lease of all) this.#removeLease(this.#books.get(lease.account) as Book, lease);
    return all.map((lease) => ({ ...lease }));
  }

  /** A copy of every lease, in grant order. */
  leases(): LeaseRecord[] {
    return this.#allLeases().map((lease) => ({ ...lease }));
  }

  /** A copy of every waiter, pool by pool, each pool in queue order. */
  waiters(): Waiter[] {
    const all: Waiter[] = [];
    for (const book of this.#books.values()) {
      for (const queue of book.queues.values()) for (const entry of queue) all.push({ ...entry.waiter });
    }
    return all;
  }

  /** The earliest lease expiry or waiter deadline (epoch ms), so the server can arm one timer; or `undefined`. */
  nextDeadline(): number | undefined {
    let next = Number.POSITIVE_INFINITY;
    for (const book of this.#books.values()) {
      for (const lease of book.leases.values()) next = Math.min(next, lease.expiresAt);
      for (const entry of book.waiting.values()) next = Math.min(next, entry.waiter.deadline);
    }
    return Number.isFinite(next) ? next : undefined;
  }

  #allLeases(): HeldLease[] {
    const all: HeldLease[] = [];
    for (const book of this.#books.values()) for (const lease of book.leases.values()) all.push(lease);
    return all.sort(HeldLease.inGrantOrder);
  }

  /** Records a new lease in the account's `book`. */
  #grant(
    book: Book,
    account: string,
    id: string,
    feature: string,
    count: number,
    owner: number,
    now: number,
  ): HeldLease {
    this.#granted += 1;
    const lease = new HeldLease(this.#granted, id, account, feature, count, now, this.#leaseTtl, owner);
    book.leases.set(id, lease);
    book.used.set(feature, (book.used.get(feature) ?? 0) + count);
    return lease;
  }

  /** Forgets a lease of the account's `book`. */
  #removeLease(book: Book, lease: HeldLease): void {
    book.leases.delete(lease.id);
    const left = (book.used.get(lease.feature) ?? 0) - lease.count;
    if (left > 0) book.used.set(lease.feature, left);
    else book.used.delete(lease.feature);
  }

  #removeWaiter(book: Book, entry: QueueEntry): void {
    const { id, feature } = entry.waiter;
    if (book.waiting.delete(id)) this.#waitingCount -= 1;
    const queue = book.queues.get(feature);
    if (queue === undefined) return;
    const index = queue.indexOf(entry);
    if (index >= 0) queue.splice(index, 1);
    if (queue.length === 0) book.queues.delete(feature);
  }

  /** Whether the waiter's pool is (still) big enough to grant it some day. */
  #canEverFit({ account, feature, count }: Waiter): boolean {
    return count <= (this.total(account, feature) ?? 0);
  }
}

function conflict(message: string): AcquireOutcome {
  return { kind: 'conflict', message };
}

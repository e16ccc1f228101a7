/**
 * The fake server's license bookkeeping: one pool of seats per account and feature, the leases held from it,
 * and a FIFO queue of waiters per pool. Pure logic with an injected clock: no sockets, no timers. The server
 * owns the one timer ({@link LicensePools.nextDeadline}) and the pushes ({@link LicensePools.drain}).
 */
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

interface QueueEntry {
  waiter: Waiter;
  /** The position last told to the client, so {@link LicensePools.drain} reports only changes. */
  reported: number;
}

/**
 * The map key of an (account, lease id) or (account, feature) pair: a plain string, one per pair. The
 * second part's length comes first, so no account name and id can make the key of another pair. (It was
 * `JSON.stringify([a, b])`: a tenth of the server's CPU under load.)
 */
const pairKey = (a: string, b: string): string => `${b.length}:${b}:${a}`;

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
  /** account -> feature -> total seats. */
  readonly #totals = new Map<string, Map<string, number>>();
  /** pairKey(account, id) -> live lease; insertion order is grant order. */
  readonly #leases = new Map<string, LeaseRecord>();
  /** pairKey(account, feature) -> seats in use. */
  readonly #used = new Map<string, number>();
  /** pairKey(account, feature) -> FIFO queue; never left empty. */
  readonly #queues = new Map<string, QueueEntry[]>();
  /** pairKey(account, id) -> queue entry. */
  readonly #waiting = new Map<string, QueueEntry>();

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
    let byFeature = this.#totals.get(account);
    if (byFeature === undefined) {
      byFeature = new Map();
      this.#totals.set(account, byFeature);
    }
    byFeature.set(feature, total);
    const pool = pairKey(account, feature);
    const revoked: LeaseRecord[] = [];
    if (this.#usedOf(pool) <= total) return revoked;
    const newestFirst = [...this.#leases.values()]
      .filter((lease) => lease.account === account && lease.feature === feature)
      .reverse();
    for (const lease of newestFirst) {
      if (this.#usedOf(pool) <= total) break;
      this.#removeLease(lease);
      revoked.push({ ...lease });
    }
    return revoked;
  }

  /** The account's total seats of `feature`, or `undefined` when it has no such license type. */
  total(account: string, feature: string): number | undefined {
    return this.#totals.get(account)?.get(feature);
  }

  /** The accounts that have a total for some license type, sorted. */
  accounts(): string[] {
    return [...this.#totals.keys()].sort();
  }

  /** The license types the account has a total for, sorted. */
  features(account: string): string[] {
    return [...(this.#totals.get(account)?.keys() ?? [])].sort();
  }

  /**
   * Seats in use (the sum of lease counts): of one account and feature, of every feature of one account,
   * or (with `account` undefined) of every account, optionally only of `feature`.
   */
  inUse(account?: string, feature?: string): number {
    if (account !== undefined && feature !== undefined) return this.#usedOf(pairKey(account, feature));
    let sum = 0;
    for (const lease of this.#leases.values()) {
      if (
        (account === undefined || lease.account === account) &&
        (feature === undefined || lease.feature === feature)
      ) {
        sum += lease.count;
      }
    }
    return sum;
  }

  /** How many requests wait, in every queue. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** How many requests wait for the account's `feature`. */
  queued(account: string, feature: string): number {
    return this.#queues.get(pairKey(account, feature))?.length ?? 0;
  }

  /**
   * Grants, queues or refuses an acquire. See {@link AcquireOutcome}.
   *
   * A re-sent acquire for an id that is waiting keeps its place and takes the new owner and request id, and a
   * new deadline when it asks to wait (otherwise the old deadline stays). The earlier waiter comes back as
   * `replaced`, whatever the outcome, whenever it no longer waits as it did: its request must be answered.
   */
  acquire(req: AcquireRequest): AcquireOutcome {
    const key = pairKey(req.account, req.id);
    const before = this.#waiting.get(key)?.waiter;
    const outcome = this.#acquire(req, key);
    if (before === undefined || this.#waiting.get(key)?.waiter === before) return outcome;
    return { ...outcome, replaced: { ...before } };
  }

  /** {@link Pools.acquire}, with `key` = `pairKey(account, id)` made once. */
  #acquire(req: AcquireRequest, key: string): AcquireOutcome {
    const { account, id, feature, count, owner, requestId } = req;
    if (!Number.isSafeInteger(count) || count < 1) {
      return conflict(`An acquire must ask for a whole number of seats, at least 1, not ${count}.`);
    }
    const now = this.#now();
    const wait = req.wait !== undefined && req.wait > 0 ? req.wait : 0;
    const held = this.#leases.get(key);
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
    const pending = this.#waiting.get(key);
    if (pending !== undefined) {
      const waiter = pending.waiter;
      if (waiter.feature !== feature || waiter.count !== count) {
        return conflict(
          `Lease id ${JSON.stringify(id)} of ${describeAccount(account)} is already waiting for ${waiter.count} ${waiter.feature} seat(s); it cannot wait for ${count} ${feature} too. Use a new lease id.`,
        );
      }
      if (!this.#canEverFit(waiter)) {
        // Its pool shrank below it since it queued: it leaves, and is answered as a new request would be.
        this.#removeWaiter(pending);
      } else {
        pending.waiter = { ...waiter, owner, requestId, deadline: wait > 0 ? now + wait : waiter.deadline };
        pending.reported = this.#positionOf(pending);
        return { kind: 'queued', position: pending.reported };
      }
    }
    const total = this.total(account, feature);
    // No seats of this type at all, absent or a pool of 0: "not licensed", not "busy".
    if (total === undefined || total === 0) return { kind: 'unknown-feature' };
    if (count > total) {
      return conflict(
        `${count} ${feature} seat(s) were asked for, but ${describeAccount(account)} has only ${total} in all, so this can never be granted.`,
      );
    }
    const pool = pairKey(account, feature);
    const queue = this.#queues.get(pool);
    const inUse = this.#usedOf(pool);
    if (queue === undefined && inUse + count <= total) {
      return {
        kind: 'granted',
        lease: { ...this.#grant(account, id, feature, count, owner, now, key, pool) },
        reclaimed: false,
      };
    }
    if (wait === 0) return { kind: 'exhausted', total, inUse };
    const entry: QueueEntry = {
      waiter: { id, account, feature, count, owner, deadline: now + wait, requestId },
      reported: (queue?.length ?? 0) + 1,
    };
    if (queue === undefined) this.#queues.set(pool, [entry]);
    else queue.push(entry);
    this.#waiting.set(key, entry);
    return { kind: 'queued', position: entry.reported };
  }

  /** Takes a waiting request out of its queue; returns it, or `undefined` when the id was not waiting. */
  cancel(account: string, id: string): Waiter | undefined {
    const entry = this.#waiting.get(pairKey(account, id));
    if (entry === undefined) return undefined;
    this.#removeWaiter(entry);
    return { ...entry.waiter };
  }

  /** Extends each held lease to now + leaseTtl and makes `owner` its owner; ids not held are `unknown`. */
  renew(account: string, ids: readonly string[], owner: number): { renewed: string[]; unknown: string[] } {
    const renewed: string[] = [];
    const unknown: string[] = [];
    const expiresAt = this.#now() + this.#leaseTtl;
    for (const id of new Set(ids)) {
      const lease = this.#leases.get(pairKey(account, id));
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
    // One id (the common case) needs no set to drop its repeats.
    for (const id of ids.length === 1 ? ids : new Set(ids)) {
      const key = pairKey(account, id);
      const lease = this.#leases.get(key);
      if (lease === undefined) {
        unknown.push(id);
        continue;
      }
      this.#removeLease(lease, key);
      released.push(id);
      // No longer held here, so no longer changed here: it is handed over as it is, not copied.
      leases.push(lease);
    }
    return { released, unknown, leases };
  }

  /** Removes leases whose `expiresAt` is at or before now, and waiters whose deadline is. */
  expire(): ExpireResult {
    const now = this.#now();
    const expired: LeaseRecord[] = [];
    for (const lease of [...this.#leases.values()]) {
      if (lease.expiresAt > now) continue;
      this.#removeLease(lease);
      expired.push({ ...lease });
    }
    const timedOut: Waiter[] = [];
    for (const queue of [...this.#queues.values()]) {
      for (const entry of [...queue]) {
        if (entry.waiter.deadline > now) continue;
        this.#removeWaiter(entry);
        timedOut.push({ ...entry.waiter });
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
    for (const [pool, queue] of [...this.#queues]) {
      for (const entry of queue.filter((e) => !this.#canEverFit(e.waiter))) {
        this.#removeWaiter(entry);
        const { account, feature } = entry.waiter;
        result.refused.push({ waiter: { ...entry.waiter }, total: this.total(account, feature) });
      }
      for (let head = queue[0]; head !== undefined; head = queue[0]) {
        const { account, id, feature, count, owner } = head.waiter;
        if (this.#usedOf(pool) + count > (this.total(account, feature) ?? 0)) break;
        this.#removeWaiter(head);
        const lease = this.#grant(account, id, feature, count, owner, now, pairKey(account, id), pool);
        result.granted.push({ waiter: { ...head.waiter }, lease: { ...lease } });
      }
      queue.forEach((entry, index) => {
        if (entry.reported === index + 1) return;
        entry.reported = index + 1;
        result.positions.push({ waiter: { ...entry.waiter }, position: index + 1 });
      });
    }
    return result;
  }

  /**
   * A connection closed: its waiters leave their queues and are returned. Its leases stay until their TTL,
   * so a reconnecting client can reclaim them by id.
   */
  dropOwner(owner: number): Waiter[] {
    const dropped: Waiter[] = [];
    for (const queue of [...this.#queues.values()]) {
      for (const entry of [...queue]) {
        if (entry.waiter.owner !== owner) continue;
        this.#removeWaiter(entry);
        dropped.push({ ...entry.waiter });
      }
    }
    return dropped;
  }

  /** Takes every lease away (the server is draining) and returns them, in grant order. */
  revokeAll(): LeaseRecord[] {
    const all = [...this.#leases.values()];
    for (const lease of all) this.#removeLease(lease);
    return all.map((lease) => ({ ...lease }));
  }

  /** A copy of every lease, in grant order. */
  leases(): LeaseRecord[] {
    return [...this.#leases.values()].map((lease) => ({ ...lease }));
  }

  /** A copy of every waiter, pool by pool, each pool in queue order. */
  waiters(): Waiter[] {
    return [...this.#queues.values()].flatMap((queue) => queue.map((entry) => ({ ...entry.waiter })));
  }

  /** The earliest lease expiry or waiter deadline (epoch ms), so the server can arm one timer; or `undefined`. */
  nextDeadline(): number | undefined {
    let next = Number.POSITIVE_INFINITY;
    for (const lease of this.#leases.values()) next = Math.min(next, lease.expiresAt);
    for (const entry of this.#waiting.values()) next = Math.min(next, entry.waiter.deadline);
    return Number.isFinite(next) ? next : undefined;
  }

  #usedOf(pool: string): number {
    return this.#used.get(pool) ?? 0;
  }

  /** Records a new lease; `key` is `pairKey(account, id)` and `pool` is `pairKey(account, feature)`. */
  #grant(
    account: string,
    id: string,
    feature: string,
    count: number,
    owner: number,
    now: number,
    key: string,
    pool: string,
  ): LeaseRecord {
    const lease: LeaseRecord = {
      id,
      account,
      feature,
      count,
      grantedAt: now,
      expiresAt: now + this.#leaseTtl,
      owner,
    };
    this.#leases.set(key, lease);
    this.#used.set(pool, this.#usedOf(pool) + count);
    return lease;
  }

  /** Forgets a lease; `key` is `pairKey(lease.account, lease.id)` when the caller has it. */
  #removeLease(lease: LeaseRecord, key = pairKey(lease.account, lease.id)): void {
    this.#leases.delete(key);
    const pool = pairKey(lease.account, lease.feature);
    const left = this.#usedOf(pool) - lease.count;
    if (left > 0) this.#used.set(pool, left);
    else this.#used.delete(pool);
  }

  #removeWaiter(entry: QueueEntry): void {
    const { account, id, feature } = entry.waiter;
    this.#waiting.delete(pairKey(account, id));
    const pool = pairKey(account, feature);
    const queue = this.#queues.get(pool);
    if (queue === undefined) return;
    const index = queue.indexOf(entry);
    if (index >= 0) queue.splice(index, 1);
    if (queue.length === 0) this.#queues.delete(pool);
  }

  /** Whether the waiter's pool is (still) big enough to grant it some day. */
  #canEverFit({ account, feature, count }: Waiter): boolean {
    return count <= (this.total(account, feature) ?? 0);
  }

  #positionOf(entry: QueueEntry): number {
    const { account, feature } = entry.waiter;
    return (this.#queues.get(pairKey(account, feature))?.indexOf(entry) ?? -1) + 1;
  }
}

function conflict(message: string): AcquireOutcome {
  return { kind: 'conflict', message };
}

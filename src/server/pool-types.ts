/**
 * The shapes `LicensePools` (pools.ts) takes and hands out; pools.ts re-exports them.
 */

/** One granted lease. `LicensePools` hands out copies: changing one changes nothing in the pool. */
export interface LeaseRecord {
  /** The lease id the client chose; unique within {@link LeaseRecord.account}. */
  readonly id: string;
  /** The account the seats are booked to (`ANONYMOUS_ACCOUNT` when unauthenticated). */
  readonly account: string;
  /** The license type, such as `'FULL'`. */
  readonly feature: string;
  /** How many seats the lease holds. */
  readonly count: number;
  /** When the lease was first granted (epoch ms); a reclaim does not change it. */
  readonly grantedAt: number;
  /** When the lease lapses unless renewed (epoch ms). */
  expiresAt: number;
  /** The connection that last acquired or renewed the lease: where pushes about it go. */
  owner: number;
  /**
   * The lease's fencing token, from a store several servers share (protocol 1.1): it grows whenever the lease
   * moves to another connection or node, and a release naming an older one is ignored. `undefined` from a
   * store only one server uses.
   */
  readonly epoch?: number;
  /**
   * The server (node) the lease is held through, in a store several servers share: a lease with owner -1
   * is held through another one. `undefined` from a store only one server uses.
   */
  readonly node?: string;
}

/** One acquire waiting in a pool's queue. */
export interface Waiter {
  /** The lease id the client chose; it becomes the lease's id when granted. */
  readonly id: string;
  /** The account whose pool the waiter waits on. */
  readonly account: string;
  /** The license type waited for. */
  readonly feature: string;
  /** How many seats are asked for. */
  readonly count: number;
  /** The connection that sent the acquire (the latest one, after a re-send). */
  readonly owner: number;
  /** When the waiter gives up (epoch ms). */
  readonly deadline: number;
  /** The request id of the acquire to answer when the waiter is granted or times out. */
  readonly requestId: number;
}

/**
 * What `LicensePools.acquire` decided. `replaced` is the waiter with the same id that this acquire took over
 * (or pushed out of a queue its pool can no longer grant): its request is to be answered now, so that nobody
 * waits on it for ever.
 */
export type AcquireOutcome = AcquireDecision & {
  /** The earlier waiter with this id, whose request is to be answered now. */
  readonly replaced?: Waiter;
};

/** The decision part of an {@link AcquireOutcome}. */
export type AcquireDecision =
  /**
   * Granted now. `reclaimed` when the id was already held by this account (an idempotent re-acquire, such as
   * a reconnecting client): the same lease, its TTL refreshed, its owner updated, no second seat taken.
   */
  | {
      /** `'granted'` */
      kind: 'granted';
      /** The lease granted (or reclaimed). */
      lease: LeaseRecord;
      /** Whether it was already held (no new seat). */
      reclaimed: boolean;
    }
  /** Put in (or kept in) the queue, at this 1-based position. Only when the request allows a wait. */
  | {
      /** `'queued'` */
      kind: 'queued';
      /** 1 is next. */
      position: number;
    }
  /** Every seat is taken (or others are queued first) and the request does not wait. */
  | {
      /** `'exhausted'` */
      kind: 'exhausted';
      /** The pool's seats. */
      total: number;
      /** Seats held. */
      inUse: number;
    }
  /** The account has no license of this type: no pool of it, or a pool of 0 seats. */
  | {
      /** `'unknown-feature'` */
      kind: 'unknown-feature';
    }
  /** The request can never be granted as asked; `message` says why. */
  | {
      /** `'conflict'` */
      kind: 'conflict';
      /** Why, for the client. */
      message: string;
    };

/** An acquire as `LicensePools.acquire` takes it. */
export interface AcquireRequest {
  /** The account to book the seats to. */
  readonly account: string;
  /** The client-chosen lease id; unique per account. */
  readonly id: string;
  /** The license type, such as `'FULL'`. */
  readonly feature: string;
  /** How many seats; a whole number, at least 1. */
  readonly count: number;
  /** The connection the request came on. */
  readonly owner: number;
  /** How long (ms) the request may wait in the queue; absent or `<= 0`: it does not wait. */
  readonly wait?: number | undefined;
  /** The request id to answer when a queued request is granted later. */
  readonly requestId: number;
}

/** What `LicensePools` needs. */
export interface LicensePoolsOptions {
  /** The clock (epoch ms); tests inject a fake one. */
  readonly now: () => number;
  /** How long (ms) a lease lives without a renewal. */
  readonly leaseTtl: number;
}

/** What `LicensePools.expire` removed. */
export interface ExpireResult {
  /** Leases whose `expiresAt` had come: their seats are free again. */
  expired: LeaseRecord[];
  /** Waiters whose deadline had come, in queue order. */
  timedOut: Waiter[];
}

/** What `LicensePools.drain` did. */
export interface DrainResult {
  /** Queue heads granted, in grant order. */
  granted: Array<{
    /** The waiter granted. */
    waiter: Waiter;
    /** Its new lease. */
    lease: LeaseRecord;
  }>;
  /** Every waiter left whose 1-based position differs from the one last reported to it. */
  positions: Array<{
    /** The waiter that moved. */
    waiter: Waiter;
    /** Its new position, 1 next. */
    position: number;
  }>;
  /**
   * Waiters taken out of their queue because their pool shrank (or went away) below what they ask for: they
   * could never be granted, and would block the waiters behind them until their deadline.
   */
  refused: Array<{
    /** The waiter refused. */
    waiter: Waiter;
    /** Its pool's size now (`undefined` when the pool is gone). */
    total: number | undefined;
  }>;
}

/**
 * LicenseStore: where a {@link LicenseServer} keeps its pools, leases and queues. The engine (sessions,
 * SCRAM, pushes, timers) only talks to this interface, so a store on a database can take the place of the
 * in-memory one without touching the engine. {@link MemoryStore} (memory-store.ts) is the embedded default.
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

/** What {@link LicenseStore.renew} did. */
export interface RenewResult {
  /** Ids whose lease now lasts until now + the TTL. */
  readonly renewed: string[];
  /** Ids that are not held (expired, revoked, released or never granted). */
  readonly unknown: string[];
  /** Renewed leases that moved to this connection, and their new {@link LeaseRecord.epoch}. */
  readonly moved?: ReadonlyMap<string, number>;
}

/** What {@link LicenseStore.release} did. */
export interface ReleaseResult {
  /** Ids whose seats are free again. */
  readonly released: string[];
  /** Ids that were not held (waiting ones included). */
  readonly unknown: string[];
  /** The leases released, as they were. */
  readonly leases: LeaseRecord[];
}

/**
 * @internal A store's decisions without a promise, for a store that makes them at once (a
 * {@link MemoryStore}): the server's hot requests then skip the promise hops (see {@link kAnswersNow}).
 */
export interface StoreNow {
  /** {@link LicenseStore.acquire}, decided now. */
  acquire(request: AcquireRequest): AcquireOutcome;
  /** {@link LicenseStore.release} (no epochs: a store of one server has none), done now. */
  release(account: string, ids: readonly string[]): ReleaseResult;
  /** How many requests wait in a queue now: with none, a {@link LicenseStore.drain} has nothing to do. */
  waiting(): number;
}

/** @internal The module-private key of a store's {@link StoreNow}, when it has one. */
export const kAnswersNow: unique symbol = Symbol('lv-license-client.store.answers-now');

/** Which leases {@link LicenseStore.leases} returns; an absent field matches everything. */
export interface LeaseFilter {
  /** Only this account's leases. */
  readonly account?: string | undefined;
  /** Only leases of this license type. */
  readonly feature?: string | undefined;
}

/**
 * The state of a license server's pools, behind an async interface. Every call is atomic: it sees the state
 * every earlier call left and leaves a state every rule below holds in. The rules:
 *
 * - a pool never grants past its total; a lease id is unique per account;
 * - a re-sent acquire for a held id returns the same lease (`reclaimed`), never a second seat;
 * - each pool's queue is strict FIFO, and a re-sent acquire for a waiting id keeps its place
 *   (the earlier request is returned as `replaced`, for the engine to answer);
 * - a lease lives {@link LicenseStore.leaseTtl} ms from its grant or last renewal, and is never renewed
 *   or reclaimed once it has expired. A store may tie a lease's life to its connection's instead
 *   (PostgresStore does, so that a heartbeat is one row however many seats it renews): a renewal then
 *   keeps every lease its connection holds, named or not, but never one that had expired, and a new lease
 *   lives until its connection's next renewal is due (at least two thirds of the TTL) rather than a whole
 *   TTL from its grant.
 *
 * Owners are connection numbers of the one server that uses the store; a store shared by several servers
 * tells them apart itself. The engine calls {@link LicenseStore.drain} after anything that frees seats or
 * removes waiters, and {@link LicenseStore.expire} when {@link LicenseStore.nextDeadline} comes.
 *
 * @example
 * ```ts
 * import { LicenseServer, MemoryStore } from 'lv-license-client/server';
 *
 * const store = new MemoryStore({ leaseTtl: 30_000 });
 * const server = await LicenseServer.start({ store, licenses: { FULL: 8 } });
 * ```
 */
export interface LicenseStore {
  /** How long (ms) a lease lives without a renewal. */
  readonly leaseTtl: number;
  /**
   * The id of the pool when several servers share it (protocol 1.1 announces it in `hello`, so that clients
   * reclaim a lost node's leases on another node at once); `undefined` for a store only one server uses.
   */
  readonly cluster?: string | undefined;
  /**
   * Sets how many seats of `feature` the account has. Below the seats in use, the newest leases are taken
   * back until the rest fit, and returned (the engine pushes `lease-revoked` to their holders).
   *
   * @throws RangeError when `total` is not a whole number, 0 or more.
   */
  setTotal(account: string, feature: string, total: number): Promise<LeaseRecord[]>;
  /**
   * Grants, queues or refuses an acquire. See {@link AcquireOutcome}. The engine may call it again before an
   * earlier call is answered (a connection's run of acquires): the acquires of one pool are decided in the
   * order of the calls.
   */
  acquire(request: AcquireRequest): Promise<AcquireOutcome>;
  /** Takes a waiting request out of its queue; returns it, or `undefined` when the id was not waiting. */
  cancel(account: string, id: string): Promise<Waiter | undefined>;
  /** Extends each held lease and makes `owner` its owner. */
  renew(account: string, ids: readonly string[], owner: number): Promise<RenewResult>;
  /**
   * Frees the seats of each held lease. `epochs` (in the order of `ids`; `null`: not known) fences a store
   * several servers share: a lease whose {@link LeaseRecord.epoch} is newer has moved since, and stays,
   * unless `owner` (the connection the release came on) holds it. Without an epoch, such a store releases
   * only leases held through this server.
   */
  release(
    account: string,
    ids: readonly string[],
    epochs?: ReadonlyArray<number | null>,
    owner?: number,
  ): Promise<ReleaseResult>;
  /**
   * Takes leases back (an operator's decision, an ended subscription): the given ids of `account`, or every
   * lease of it when `ids` is absent. Returns the leases taken, for the engine to tell their holders.
   */
  revoke(account: string, ids?: readonly string[]): Promise<LeaseRecord[]>;
  /** Takes every lease back (the server is draining) and returns them. */
  revokeAll(): Promise<LeaseRecord[]>;
  /** Removes the leases and waiters whose time has come, and returns them. */
  expire(): Promise<ExpireResult>;
  /**
   * Refuses waiters their pool can never grant, grants the queue heads that fit, reports position moves.
   * Each pool is decided on its own, in no promised order: a store may decide them in transactions of
   * their own (PostgresStore does, holding no lock between two pools), so another call can come between
   * two pools of one drain.
   */
  drain(): Promise<DrainResult>;
  /** A connection closed: its waiters leave their queues (and are returned); its leases stay until their TTL. */
  dropOwner(owner: number): Promise<Waiter[]>;
  /** Every pool of `account` (or of every account), sorted by account, then license type. */
  counts(account?: string): Promise<PoolStatus[]>;
  /** The leases held, in grant order. */
  leases(filter?: LeaseFilter): Promise<LeaseRecord[]>;
  /** The requests waiting, pool by pool, each in queue order. */
  waiters(): Promise<Waiter[]>;
  /** The earliest lease expiry or waiter deadline (epoch ms), or `undefined` when nothing will expire. */
  nextDeadline(): Promise<number | undefined>;
  /**
   * A store shared by several servers calls `listener` when another of them changed something that may let
   * this server's waiters in (a release, a bigger pool); the server then runs its grant pass. Returns the
   * function that stops it. A store only one server uses need not have it.
   */
  watch?(listener: () => void): () => void;
  /**
   * A store shared by several servers: this server took back `leases` held through other servers (owner
   * -1); their holders are to hear of it. The store hands each its server's share through
   * {@link LicenseStore.takeNotices} there.
   */
  tellHolders?(leases: readonly LeaseRecord[], notice: RevocationNotice): Promise<void>;
  /** The revocations other servers took of leases held through this one, for it to push; each once. */
  takeNotices?(): Promise<HolderNotice[]>;
  /**
   * Lets go of what the store holds (connections, timers). A server closes the store it made itself, never
   * one it was given: that one's owner closes it.
   */
  close(): Promise<void>;
}

/** A lease another server took back, held through this one: its holder is to be told. */
export interface HolderNotice {
  /** The lease, as this server knows it (its owner is this server's connection). */
  readonly lease: LeaseRecord;
  /** What to tell its holder. */
  readonly notice: RevocationNotice;
}

/** Why a lease was taken back, as its holder is told (`lease-revoked`). */
export interface RevocationNotice {
  /** The LV_* code of the push. */
  readonly code: number;
  /** The push's message. */
  readonly message: string;
}

/**
 * What a store throws when it cannot be reached (a database down or out of connections), as opposed to a
 * bug. The server answers the request with -22 (`LV_NO_SERVER_AVAILABLE`), so the client asks its next
 * server, and logs the cause; anything else a store throws is answered with -68 (`LV_EXCEPTION`).
 *
 * @example
 * ```ts
 * throw new StoreUnavailableError('PostgreSQL at db1:5432 refused the connection', { cause: err });
 * ```
 */
export class StoreUnavailableError extends Error {
  /** `'StoreUnavailableError'` */
  override readonly name = 'StoreUnavailableError';
}

/**
 * The shapes LicensePools (pools.ts) keeps its books in: one account's totals, seats in use, leases and
 * queues, and a lease as the books hold it. Internal to the server.
 */
import type { LeaseRecord, Waiter } from './pool-types.js';

export interface QueueEntry {
  waiter: Waiter;
  /** The position last told to the client, so `LicensePools.drain` reports only changes. */
  reported: number;
}

/**
 * A lease as the books hold it: a {@link LeaseRecord} that also knows its place in the grant order of every
 * account (for the lists), in a private field, which no copy (`{ ...lease }`) carries.
 */
export class HeldLease implements LeaseRecord {
  readonly id: string;
  readonly account: string;
  readonly feature: string;
  readonly count: number;
  readonly grantedAt: number;
  expiresAt: number;
  owner: number;
  readonly #seq: number;

  constructor(
    seq: number,
    id: string,
    account: string,
    feature: string,
    count: number,
    now: number,
    ttl: number,
    owner: number,
  ) {
    this.#seq = seq;
    this.id = id;
    this.account = account;
    this.feature = feature;
    this.count = count;
    this.grantedAt = now;
    this.expiresAt = now + ttl;
    this.owner = owner;
  }

  /** Sorts leases in grant order. */
  static inGrantOrder(a: HeldLease, b: HeldLease): number {
    return a.#seq - b.#seq;
  }
}

/**
 * One account's books: its totals, seats in use, leases and queues, each by feature or lease id. Maps by
 * account, then by the id or feature a request names, take the strings as they came: a key made of both
 * (a string built for each lookup, then hashed) cost about half of the pools' time under load.
 */
export interface Book {
  /** feature -> total seats. */
  readonly totals: Map<string, number>;
  /** feature -> seats in use (absent: none). */
  readonly used: Map<string, number>;
  /** lease id -> live lease; insertion order is grant order. */
  readonly leases: Map<string, HeldLease>;
  /** feature -> FIFO queue; never left empty. */
  readonly queues: Map<string, QueueEntry[]>;
  /** lease id -> its queue entry. */
  readonly waiting: Map<string, QueueEntry>;
}

/** Empty books, for an account that gets its first total. */
export function newBook(): Book {
  return { totals: new Map(), used: new Map(), leases: new Map(), queues: new Map(), waiting: new Map() };
}

/** The books of an account that has none (no total set): nothing is ever added to it. */
export const EMPTY_BOOK: Book = Object.freeze(newBook());

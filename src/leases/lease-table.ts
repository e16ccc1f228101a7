/**
 * The leases the client holds: which server each is on, and where each stands in its lifecycle. Pure
 * bookkeeping. A lease's phase changes only through {@link LeaseTable.transition}, along the moves of
 * {@link LEASE_MOVES}; docs/failover.md draws its diagram from that table.
 */
import type { LicenseError } from '../errors.js';
import { LeaseIdTable } from '../id-table.js';

/**
 * Where a lease stands, as the application sees it (`lease.state`, `status().leases[].state`):
 * - `held`: granted and renewed by heartbeats;
 * - `reconnecting`: its server is unreachable (or it is being reclaimed or moved); the app keeps its port
 *   through the grace period;
 * - `lost`: it could not be kept anywhere; the port's next call fails with LV_LICENSES_EXPIRED;
 * - `released`: given back.
 */
export type LeaseState = 'held' | 'reconnecting' | 'lost' | 'released';

/**
 * Where a lease stands, as the client's machinery sees it: {@link LeaseState}, with the two steps that
 * have a request in flight told apart.
 * - `reclaiming`: being taken again under its id on its own server (after a reconnect);
 * - `migrating`: being acquired under its id on another server.
 */
export type LeasePhase = 'held' | 'reconnecting' | 'reclaiming' | 'migrating' | 'lost' | 'released';

/** Every legal move of a lease; anything else is refused. */
export const LEASE_MOVES: Readonly<Record<LeasePhase, readonly LeasePhase[]>> = Object.freeze({
  // reclaiming: the server forgot it (a renewal answered "unknown"); migrating: the server revoked it.
  held: ['reconnecting', 'reclaiming', 'migrating', 'released'],
  reconnecting: ['reclaiming', 'migrating', 'released'],
  // reconnecting: still unreachable; migrating: the seat is gone there.
  reclaiming: ['held', 'reconnecting', 'migrating', 'released'],
  // held: on another server, or back home after all.
  migrating: ['held', 'lost', 'released'],
  lost: ['released'],
  released: [],
});

/** What the application sees of a phase. */
export function leaseStateOf(phase: LeasePhase): LeaseState {
  return phase === 'reclaiming' || phase === 'migrating' ? 'reconnecting' : phase;
}

/** The client's record of one lease. */
export interface TrackedLease {
  readonly id: string;
  readonly feature: string;
  readonly count: number;
  /** `host:port` of the server that holds it (changed only through {@link LeaseTable.move}). */
  readonly server: string;
  /** Where it stands (changed only through {@link LeaseTable.transition}). */
  readonly state: LeasePhase;
  /** Why it was lost (set by the move to `lost`). */
  readonly lostError?: LicenseError | undefined;
}

type Writable = { server: string; state: LeasePhase; lostError?: LicenseError | undefined };

/** The client's leases by id. */
export class LeaseTable {
  /** By id (a {@link LeaseIdTable}: a busy `Map` kept ended leases alive into the old generation). */
  readonly #records = new LeaseIdTable<TrackedLease>();
  /** The same records by server, so per-server work does not scan every lease (10,000 ports and more). */
  readonly #byServer = new Map<string, Set<TrackedLease>>();

  get size(): number {
    return this.#records.size;
  }

  add(record: TrackedLease): void {
    this.delete(record.id);
    this.#records.set(record);
    this.#index(record);
  }

  get(id: string): TrackedLease | undefined {
    return this.#records.get(id);
  }

  /** Forgets a lease (after it was released or lost for good). */
  delete(id: string): void {
    const record = this.#records.get(id);
    if (record === undefined) return;
    this.#records.delete(id);
    this.#unindex(record);
  }

  /**
   * Moves a lease to `to` (with `why` for a move to `lost`), if {@link LEASE_MOVES} allows it from where
   * it is. Returns whether it moved: a
   * step that finishes after the lease moved on (released by the app while it was being reclaimed, say)
   * learns so here, and undoes what it did at the server.
   */
  transition(record: TrackedLease, to: LeasePhase, why?: LicenseError): boolean {
    if (!LEASE_MOVES[record.state].includes(to)) return false;
    (record as Writable).state = to;
    if (to === 'lost') (record as Writable).lostError = why;
    return true;
  }

  /** Records that a lease is now held by another server (a migration). */
  move(record: TrackedLease, server: string): void {
    if (record.server === server) return;
    this.#unindex(record);
    (record as Writable).server = server;
    if (this.#records.get(record.id) === record) this.#index(record);
  }

  /** The leases on one server, optionally only those in the given phases. */
  onServer(server: string, states?: readonly LeasePhase[]): TrackedLease[] {
    const records = [...(this.#byServer.get(server) ?? [])];
    return states === undefined ? records : records.filter((r) => states.includes(r.state));
  }

  /** Whether any lease on `server` is in one of `states` (all phases when none are given), without copying. */
  hasOn(server: string, states?: readonly LeasePhase[]): boolean {
    for (const record of this.#byServer.get(server) ?? []) {
      if (states === undefined || states.includes(record.state)) return true;
    }
    return false;
  }

  /** Seats held per server (leases that are neither lost nor released). */
  seatsByServer(): Map<string, number> {
    const seats = new Map<string, number>();
    for (const r of this.#records.values()) {
      if (r.state !== 'lost' && r.state !== 'released') {
        seats.set(r.server, (seats.get(r.server) ?? 0) + r.count);
      }
    }
    return seats;
  }

  all(): TrackedLease[] {
    return this.#records.values();
  }

  #index(record: TrackedLease): void {
    const set = this.#byServer.get(record.server) ?? new Set<TrackedLease>();
    set.add(record);
    this.#byServer.set(record.server, set);
  }

  #unindex(record: TrackedLease): void {
    const set = this.#byServer.get(record.server);
    set?.delete(record);
    if (set?.size === 0) this.#byServer.delete(record.server);
  }
}

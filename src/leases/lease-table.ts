/**
 * The leases the client holds: which server each is on, and in what state. Pure bookkeeping.
 */
import type { LicenseError } from '../errors.js';

/**
 * Where a lease stands:
 * - `held`: granted and renewed by heartbeats;
 * - `reconnecting`: its server is unreachable; the client is reconnecting to reclaim it (the app keeps
 *   its port through the grace period);
 * - `lost`: it could not be kept anywhere; the port's next call fails with LV_LICENSES_EXPIRED;
 * - `released`: given back.
 */
export type LeaseState = 'held' | 'reconnecting' | 'lost' | 'released';

/** The client's record of one lease. */
export interface LeaseRecord {
  readonly id: string;
  readonly feature: string;
  readonly count: number;
  /** `host:port` of the server that holds it (changed only through {@link LeaseTable.move}). */
  readonly server: string;
  state: LeaseState;
  /** Epoch ms of the grant (or the last migration). */
  acquiredAt: number;
  /** Why it was lost. */
  lostError?: LicenseError | undefined;
}

/** The client's leases by id. */
export class LeaseTable {
  readonly #records = new Map<string, LeaseRecord>();
  /** The same records by server, so per-server work does not scan every lease (10,000 ports and more). */
  readonly #byServer = new Map<string, Set<LeaseRecord>>();

  get size(): number {
    return this.#records.size;
  }

  add(record: LeaseRecord): void {
    this.delete(record.id);
    this.#records.set(record.id, record);
    this.#index(record);
  }

  get(id: string): LeaseRecord | undefined {
    return this.#records.get(id);
  }

  /** Forgets a lease (after it was released or lost for good). */
  delete(id: string): void {
    const record = this.#records.get(id);
    if (record === undefined) return;
    this.#records.delete(id);
    this.#unindex(record);
  }

  /** Records that a lease is now held by another server (a migration). */
  move(record: LeaseRecord, server: string): void {
    if (record.server === server) return;
    this.#unindex(record);
    (record as { server: string }).server = server;
    if (this.#records.get(record.id) === record) this.#index(record);
  }

  /** The leases on one server, optionally only those in the given states. */
  onServer(server: string, states?: readonly LeaseState[]): LeaseRecord[] {
    const records = [...(this.#byServer.get(server) ?? [])];
    return states === undefined ? records : records.filter((r) => states.includes(r.state));
  }

  /** Whether any lease on `server` is in one of `states` (all states when none are given), without copying. */
  hasOn(server: string, states?: readonly LeaseState[]): boolean {
    for (const record of this.#byServer.get(server) ?? []) {
      if (states === undefined || states.includes(record.state)) return true;
    }
    return false;
  }

  /** Seats held per server (leases that are held or reconnecting). */
  seatsByServer(): Map<string, number> {
    const seats = new Map<string, number>();
    for (const r of this.#records.values()) {
      if (r.state === 'held' || r.state === 'reconnecting') {
        seats.set(r.server, (seats.get(r.server) ?? 0) + r.count);
      }
    }
    return seats;
  }

  all(): LeaseRecord[] {
    return [...this.#records.values()];
  }

  #index(record: LeaseRecord): void {
    const set = this.#byServer.get(record.server) ?? new Set<LeaseRecord>();
    set.add(record);
    this.#byServer.set(record.server, set);
  }

  #unindex(record: LeaseRecord): void {
    const set = this.#byServer.get(record.server);
    set?.delete(record);
    if (set?.size === 0) this.#byServer.delete(record.server);
  }
}

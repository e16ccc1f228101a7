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
  /** `host:port` of the server that holds it. */
  server: string;
  state: LeaseState;
  /** Epoch ms of the grant (or the last migration). */
  acquiredAt: number;
  /** Why it was lost. */
  lostError?: LicenseError | undefined;
}

/** The client's leases by id. */
export class LeaseTable {
  readonly #records = new Map<string, LeaseRecord>();

  get size(): number {
    return this.#records.size;
  }

  add(record: LeaseRecord): void {
    this.#records.set(record.id, record);
  }

  get(id: string): LeaseRecord | undefined {
    return this.#records.get(id);
  }

  /** Forgets a lease (after it was released or lost for good). */
  delete(id: string): void {
    this.#records.delete(id);
  }

  /** The leases on one server, optionally only those in the given states. */
  onServer(server: string, states?: readonly LeaseState[]): LeaseRecord[] {
    return [...this.#records.values()].filter(
      (r) => r.server === server && (states === undefined || states.includes(r.state)),
    );
  }

  /** Seats held per server (leases that are held or reconnecting). */
  seatsByServer(): Map<string, number> {
    const seats = new Map<string, number>();
    for (const r of this.#records.values()) {
      if (r.state === 'held' || r.state === 'reconnecting')
        seats.set(r.server, (seats.get(r.server) ?? 0) + r.count);
    }
    return seats;
  }

  all(): LeaseRecord[] {
    return [...this.#records.values()];
  }
}

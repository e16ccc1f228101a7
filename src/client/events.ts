/**
 * The events of a LicenseClient: typed, each with one object payload.
 */
import type { LicenseError } from '../errors.js';
import type { Lease } from './lease.js';
import type { Port } from './port.js';

/**
 * Events of {@link LicenseClient}. Background trouble is reported here, never thrown: the library never
 * exits the process, never leaves an unhandled rejection and never throws from a timer.
 */
export interface LicenseClientEvents {
  /** An authenticated connection to a server is up (`reconnected` after a loss). */
  connect: [info: { server: string; reconnected: boolean }];
  /** A connection was lost; the client reconnects on its own. */
  disconnect: [info: { server: string; error: LicenseError }];
  /** A call or a reconnect is tried again after a failure. */
  retry: [info: { server?: string | undefined; attempt: number; error: LicenseError; operation: string }];
  /** Work went to the next server because one failed or was out of licenses. */
  failover: [info: { from: string; to: string; operation: string; error: LicenseError }];
  /** After a reconnect, a lease was taken back on the same server, by its id: no second seat. */
  'lease-reclaimed': [info: { lease: Lease; server: string }];
  /** A lease moved to another server because its own stayed gone past the grace period. */
  'lease-migrated': [info: { lease: Lease; from: string; to: string }];
  /** A lease could not be kept anywhere; its port's next call rejects with `LicensesExpiredError`. */
  'lease-lost': [info: { lease: Lease; error: LicenseError; port?: Port | undefined }];
  /** Where a waiting acquire stands in a server's queue (1 = next). */
  'queue-position': [info: { lease: string; feature: string; position: number; server: string }];
  /** Background trouble only (a rejected configuration reload, for example). */
  error: [error: LicenseError];
}

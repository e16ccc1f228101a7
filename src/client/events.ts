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
  connect: [
    info: {
      /** `host:port` of the server. */
      server: string;
      /** `true` when this connection replaces one that was lost. */
      reconnected: boolean;
    },
  ];
  /** A connection was lost; the client reconnects on its own. */
  disconnect: [
    info: {
      /** `host:port` of the server. */
      server: string;
      /** Why the connection was lost. */
      error: LicenseError;
    },
  ];
  /** A call or a reconnect is tried again after a failure. */
  retry: [
    info: {
      /** `host:port` of the server, when one server is retried (a reconnect). */
      server?: string | undefined;
      /** The attempt that failed: 1, 2, 3... */
      attempt: number;
      /** Why it failed. */
      error: LicenseError;
      /** `openPort`, `acquire`, `loadVoiceChannel` (delayed acquisition), `reconnect`... */
      operation: string;
    },
  ];
  /** Work went to the next server because one failed or was out of licenses. */
  failover: [
    info: {
      /** `host:port` of the server that failed or was out of licenses. */
      from: string;
      /** `host:port` of the server that served the call. */
      to: string;
      /** `openPort`, `acquire`, `loadVoiceChannel`, `migrate`... */
      operation: string;
      /** What `from` answered. */
      error: LicenseError;
    },
  ];
  /** After a reconnect, a lease was taken back on the same server, by its id: no second seat. */
  'lease-reclaimed': [
    info: {
      /** The lease, still held. */
      lease: Lease;
      /** `host:port` of the server that kept it. */
      server: string;
    },
  ];
  /** A lease moved to another server because its own stayed gone past the grace period. */
  'lease-migrated': [
    info: {
      /** The lease; its `server` is now `to`. */
      lease: Lease;
      /** `host:port` of the server that was lost. */
      from: string;
      /** `host:port` of the server that holds it now. */
      to: string;
    },
  ];
  /** A lease could not be kept anywhere; its port's next call rejects with `LicensesExpiredError`. */
  'lease-lost': [
    info: {
      /** The lease, now in state `lost`. */
      lease: Lease;
      /** A `LicensesExpiredError` (-41) saying why. */
      error: LicenseError;
      /** The port that held the lease, if a port did. */
      port?: Port | undefined;
    },
  ];
  /** Where a waiting acquire stands in a server's queue (1 = next). */
  'queue-position': [
    info: {
      /** The id of the waiting lease. */
      lease: string;
      /** The license feature waited for (`FULL`, `TTS`...). */
      feature: string;
      /** 1 = next in line. */
      position: number;
      /** `host:port` of the server whose queue it is. */
      server: string;
    },
  ];
  /** Background trouble only (a rejected configuration reload, for example). */
  error: [error: LicenseError];
}

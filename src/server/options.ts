/**
 * The options of a {@link LicenseServer}, and what its calls report.
 */

import type { Feature } from '../protocol/features.js';
import type { AccountSource } from './account-source.js';
import type { AccountsSpec } from './accounts.js';
import type { ServerEvent } from './events.js';
import type { LicenseStore } from './store.js';

/** TLS material for the server: PEM strings or buffers. */
export interface ServerTlsOptions {
  /** The server's certificate chain (PEM). */
  cert: string | Buffer;
  /** The private key of `cert` (PEM). */
  key: string | Buffer;
  /** CA to verify client certificates with; set with `requestCert` for mutual TLS. */
  ca?: string | Buffer;
  /** Ask clients for a certificate (and refuse those without a valid one). @defaultValue false */
  requestCert?: boolean;
}

/** Options of {@link LicenseServer.start}. */
export interface LicenseServerOptions {
  /** TCP port; 0 picks a free one. @defaultValue 0 */
  port?: number;
  /** Address to listen on. @defaultValue '127.0.0.1' */
  host?: string;
  /**
   * Accounts for authentication mode: in code, as the path of a `license_authentication.conf` file, or an
   * {@link AccountSource} (such as `PostgresAccounts`, the accounts in the database every node shares).
   * Without accounts the server runs in unauthenticated mode with one pool, {@link LicenseServerOptions.licenses}.
   */
  accounts?: AccountsSpec | string | AccountSource;
  /**
   * The pool of unauthenticated mode; a type it does not list has no seats. Not given: the pool the store
   * has already (another node of a shared store set it), or else the default.
   * @defaultValue `{ FULL: 4, LITE: 2, TTS: 2, AMD: 1 }`
   */
  licenses?: Readonly<Partial<Record<Feature, number>>>;
  /**
   * How long a lease lives without renewal, in ms: the TTL of the {@link MemoryStore} the server makes.
   * A server given a {@link LicenseServerOptions.store} uses that store's TTL instead. @defaultValue 30000
   */
  leaseTtl?: number;
  /**
   * Where the pools, leases and queues live. The server sets the pools' sizes in it from
   * {@link LicenseServerOptions.accounts} (or {@link LicenseServerOptions.licenses}) at start and on every
   * reload. A store given here is not closed by the server. @defaultValue a new {@link MemoryStore}
   */
  store?: LicenseStore;
  /** Serve TLS instead of plain TCP. */
  tls?: ServerTlsOptions;
  /** Connections at once; more are refused with LV_NO_SERVER_AVAILABLE. @defaultValue 1000 */
  maxConnections?: number;
  /** The largest frame accepted. @defaultValue 65536 */
  maxFrameBytes?: number;
  /**
   * Requests one `batch` frame may carry (protocol 1.2), announced in the `hello` result; at most 256.
   * 0 turns batching off: the server then speaks protocol 1.1, announces no `batch`, and answers a `batch`
   * request with -13 (LV_NOT_IMPLEMENTED), as a server from before batching does. @defaultValue 128
   */
  maxBatch?: number;
  /** A connection that has not authenticated (or said hello) within this many ms is closed. @defaultValue 10000 */
  authTimeout?: number;
  /** Failed authentications before a connection is closed. @defaultValue 3 */
  maxAuthFailuresPerConnection?: number;
  /** Failed authentications per remote address per minute before it is refused. @defaultValue 20 */
  maxAuthFailuresPerAddress?: number;
  /** SCRAM iteration count for accounts given with a plain password. @defaultValue 4096 */
  scramIterations?: number;
  /** The software name in the greeting. @defaultValue 'lv-license-client/<version>' */
  name?: string;
  /**
   * The clock that decides billing cycles (epoch ms): when a cancelled subscription has ended. Tests jump
   * it across a billing day; lease TTLs keep the real clock. @defaultValue Date.now
   */
  billingClock?: () => number;
  /**
   * Re-read the accounts whenever their source changes, as {@link LicenseServer.reload} does: the file
   * (when {@link LicenseServerOptions.accounts} is a path), or an {@link AccountSource} (another node or the
   * CLI changed the database). @defaultValue false for a path, true for an {@link AccountSource}
   */
  watch?: boolean;
  /**
   * Receives one line per connection, grant, release and other event (what `lv-license serve` prints on a
   * terminal); for a line that reports an event, the event too (what its JSON log writes).
   */
  log?: (line: string, event?: ServerEvent) => void;
}

/** What {@link LicenseServer.reload} changed. */
export interface ReloadSummary {
  /** Accounts now. */
  readonly accounts: number;
  /** Accounts that were removed (their sessions were closed). */
  readonly removed: readonly string[];
  /** Leases revoked because their pool shrank or went away. */
  readonly revoked: number;
}

/** One pool, as {@link LicenseServer.pools} reports it. */
export interface PoolStatus {
  /** The account (`''` in unauthenticated mode). */
  readonly account: string;
  /** The license type, such as `'FULL'`. */
  readonly feature: string;
  /** Seats in the pool. */
  readonly total: number;
  /** Seats held by leases. */
  readonly inUse: number;
  /** Acquires waiting in its queue. */
  readonly queued: number;
}

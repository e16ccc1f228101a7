/**
 * The options and results of LicenseClient's calls.
 */
import type { ServerHealthSnapshot } from '../cluster/health.js';
import type { LeaseState } from '../leases/lease-table.js';
import type { PortLicenseType } from './license-types.js';
import type { LicenseClientOptions } from './options.js';

/** Options of {@link LicenseClient.openPort}. */
export interface OpenPortOptions {
  /** The license the port holds; defaults to the client's `licenseType` (the conf's `LICENSE_TYPE`). */
  licenseType?: PortLicenseType | undefined;
  /**
   * Wait up to this many ms in a server's queue when every license is in use. A queue left because its
   * connection went (a restart, a cut) is joined again, on that server or another, for what is left.
   */
  wait?: number | undefined;
  /**
   * Aborts the call (and leaves a server's queue); the `OpenPortError` then has `status` -3 (LV_RESET) for
   * an abort and -6 (LV_TIME_OUT) for `AbortSignal.timeout()`. (At the client's own `operationTimeout`
   * the status is what the servers said, such as -26 or -30.)
   */
  signal?: AbortSignal | undefined;
}

/** Options of {@link LicenseClient.acquire}. */
export interface AcquireOptions {
  /** Seats to take. @defaultValue 1 */
  count?: number | undefined;
  /**
   * Wait up to this many ms in a server's queue when every license is in use. A queue left because its
   * connection went (a restart, a cut) is joined again, on that server or another, for what is left.
   */
  wait?: number | undefined;
  /**
   * Aborts the call and leaves a server's queue: it rejects with LV_RESET (-3) for an abort and with
   * LV_TIME_OUT (-6) for `AbortSignal.timeout()`. (At the client's own `operationTimeout` it rejects with
   * what the servers said, such as -26 or -30.)
   */
  signal?: AbortSignal | undefined;
}

/** What {@link LicenseClient.status} reports. */
export interface ClientStatus {
  /** Whether `close()` has been called. */
  readonly closed: boolean;
  /** Every configured server, in priority order, with its health and the seats this client holds there. */
  readonly servers: ReadonlyArray<
    ServerHealthSnapshot & {
      /** Seats this client holds on the server. */
      readonly seats: number;
      /**
       * Set on a server a configuration reload removed: it is listed (after the configured ones) while this
       * client still holds seats there, until they have moved to a configured server or been lost.
       */
      readonly removed?: true;
    }
  >;
  /** Every lease this client holds (ports' licenses included). */
  readonly leases: ReadonlyArray<{
    /** The lease id. */
    readonly id: string;
    /** The license feature (`FULL`, `LITE`, `TTS`...). */
    readonly feature: string;
    /** Seats held. */
    readonly count: number;
    /** `host:port` of the server that holds it. */
    readonly server: string;
    /** `held`, `reconnecting`, `lost` or `released`. */
    readonly state: LeaseState;
    /** The id of the port holding it, if a port does. */
    readonly port: number | undefined;
  }>;
  /** Licenses kept by closed ports for the next port (`LICENSE_CACHE_PERIOD`). */
  readonly cache: ReadonlyArray<{
    /** The lease id. */
    readonly lease: string;
    /** The license feature. */
    readonly feature: string;
    /** Epoch ms when it goes back to the server unless a port takes it. */
    readonly expiresAt: number;
  }>;
}

/** Overrides of {@link LicenseClient.fromConfigFile}. */
export interface FromConfigFileOptions extends LicenseClientOptions {
  /** Apply edits of the file (servers, credentials, license settings) without a restart. @defaultValue false */
  watch?: boolean;
}
